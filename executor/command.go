package executor

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"syscall"
	"time"

	"github.com/google/uuid"
	"github.com/hashicorp/go-hclog"

	"mesh/mesos"
	execapi "mesh/mesos/executor"
)

// Timing of the command executor.
const (
	// minSubscribeBackoff is the first wait before resubscribing.
	minSubscribeBackoff = 100 * time.Millisecond
	// ackWaitNoCheckpoint bounds the wait for the terminal update's
	// acknowledgement when the executor cannot outlive its agent.
	ackWaitNoCheckpoint = time.Minute
	// stopGrace is how long a task gets after SIGTERM when the executor
	// itself is told to stop (the agent is destroying its container).
	stopGrace = 2 * time.Second
)

// RunCommandExecutor runs mesh's command executor: it subscribes to the
// agent, runs the one task the agent launches, reports its status, and
// returns once the task's terminal update is acknowledged (or once it
// gives up: ctx ended, the agent stayed away for longer than the recovery
// timeout, or it told the executor to shut down).
func RunCommandExecutor(ctx context.Context, cfg CommandExecutorConfig) error {
	cfg.setDefaults()
	if cfg.FrameworkID == "" || cfg.ExecutorID == "" || cfg.AgentEndpoint == "" {
		return errors.New("command executor needs a framework id, an executor id and the agent's endpoint")
	}
	e := &commandExecutor{
		cfg:     cfg,
		log:     cfg.Logger.Named("executor").With("executor_id", cfg.ExecutorID, "framework_id", cfg.FrameworkID),
		agent:   newAgentClient(cfg),
		items:   make(chan streamItem, 16),
		quit:    make(chan struct{}),
		exited:  make(chan ExitStatus, 1),
		fetched: make(chan error, 1),
		checks:  newTaskChecks(),
	}
	return e.run(ctx)
}

// streamItem is an event of subscription gen, or (ev == nil) the end of
// that subscription with the reason.
type streamItem struct {
	gen int
	ev  *execapi.Event
	err error
}

// commandExecutor is the state of the command executor. Everything but
// the channels is owned by the run loop's goroutine.
type commandExecutor struct {
	cfg   CommandExecutorConfig
	log   hclog.Logger
	agent *agentClient

	// Subscription. gen identifies the current attempt; items of older
	// attempts are dropped.
	items        chan streamItem
	quit         chan struct{}
	wg           sync.WaitGroup
	gen          int
	streamCancel context.CancelFunc
	connected    bool
	everSubbed   bool
	inSubscribe  map[string]bool // uuids the current SUBSCRIBE carried
	lostAt       time.Time       // since when the agent is unreachable
	backoff      time.Duration
	reconnect    *time.Timer

	frameworkInfo mesos.FrameworkInfo

	// The task.
	task *mesos.TaskInfo
	// fetchCancel is set while the task's URIs are being fetched, which
	// ends on fetched.
	fetchCancel   context.CancelFunc
	fetched       chan error
	taskAcked     bool // an update of the task was acknowledged
	proc          *taskProcess
	exited        chan ExitStatus
	killRequested bool
	killDeadline  time.Time
	escalate      *time.Timer
	// checks runs the task's check, health check and max_completion_time
	// (command_checks.go).
	checks taskChecks
	// last is the latest update sent, which check reports repeat.
	last *mesos.TaskStatus

	// unacked are the updates the agent has not acknowledged, oldest
	// first; they are resent with every SUBSCRIBE.
	unacked  []mesos.TaskStatus
	terminal *mesos.TaskStatus

	shutdown bool  // SHUTDOWN received or ctx ended
	abandon  error // set when the executor gives up on the agent
	// stopAsked is set once the executor is told to stop (SIGTERM).
	stopAsked bool
	giveUp    *time.Timer // bounds the wait for the terminal ack
	giveUpAt  time.Time
}

func timerC(t *time.Timer) <-chan time.Time {
	if t == nil {
		return nil
	}
	return t.C
}

func (e *commandExecutor) run(ctx context.Context) error {
	defer e.stop()
	e.lostAt = time.Now()
	e.connect()
	stopping := ctx.Done()
	for !e.finished() {
		select {
		case <-stopping:
			stopping = nil
			e.stopAsked = true
			e.log.Info("executor asked to stop")
			e.beginShutdown(stopGrace)
			e.armGiveUp(stopGrace + 3*time.Second)
		case it := <-e.items:
			e.handleItem(it)
		case st := <-e.exited:
			e.taskExited(st)
		case err := <-e.fetched:
			e.fetchDone(err)
		case <-timerC(e.escalate):
			e.escalate = nil
			if e.proc != nil {
				e.log.Info("task did not stop in its grace period; sending SIGKILL", "pid", e.proc.pid)
				_ = e.proc.signal(syscall.SIGKILL)
			}
		case <-timerC(e.reconnect):
			e.reconnect = nil
			e.connect()
		case <-e.checks.notify:
			e.checkReports()
		case <-timerC(e.checks.maxTime):
			e.maxCompletionTimeReached()
		case <-timerC(e.giveUp):
			if e.proc != nil {
				_ = e.proc.signal(syscall.SIGKILL)
			}
			return errors.New("gave up waiting for the agent to acknowledge the task's terminal update")
		}
	}
	if e.abandon != nil {
		return e.abandon
	}
	e.log.Info("executor done")
	return nil
}

// finished reports whether the executor has nothing left to do.
func (e *commandExecutor) finished() bool {
	if e.proc != nil || e.fetchCancel != nil {
		return false
	}
	if e.abandon != nil {
		return true
	}
	if e.terminal != nil {
		// Told to stop with no agent to report to (it is down, or
		// cleaning up): the sandbox's record of the task's end is what
		// the agent will read.
		if e.stopAsked && !e.connected {
			return true
		}
		return !e.isUnacked(e.terminal.UUID)
	}
	return e.task == nil && e.shutdown
}

// stop ends the subscription goroutine and makes sure no task process
// outlives the executor.
func (e *commandExecutor) stop() {
	close(e.quit)
	if e.streamCancel != nil {
		e.streamCancel()
	}
	e.wg.Wait()
	e.checks.stop()
	if e.fetchCancel != nil {
		e.fetchCancel()
	}
	for _, t := range []*time.Timer{e.escalate, e.reconnect, e.giveUp} {
		if t != nil {
			t.Stop()
		}
	}
	if e.proc != nil {
		_ = e.proc.signal(syscall.SIGKILL)
	}
}

// connect starts a SUBSCRIBE attempt in a goroutine that feeds e.items.
func (e *commandExecutor) connect() {
	e.gen++
	gen := e.gen
	sub := &execapi.Subscribe{}
	if e.task != nil && !e.taskAcked {
		sub.UnacknowledgedTasks = []mesos.TaskInfo{*e.task}
	}
	e.inSubscribe = map[string]bool{}
	for i := range e.unacked {
		st := e.unacked[i]
		sub.UnacknowledgedUpdates = append(sub.UnacknowledgedUpdates, execapi.Update{Status: &st})
		e.inSubscribe[string(st.UUID)] = true
	}
	ctx, cancel := context.WithCancel(context.Background())
	e.streamCancel = cancel
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		body, err := e.agent.subscribe(ctx, sub)
		if err == nil {
			err = readEvents(body, func(ev *execapi.Event) bool {
				return e.deliver(streamItem{gen: gen, ev: ev})
			})
			body.Close()
		}
		e.deliver(streamItem{gen: gen, err: err})
	}()
}

func (e *commandExecutor) deliver(it streamItem) bool {
	select {
	case e.items <- it:
		return true
	case <-e.quit:
		return false
	}
}

// disconnect drops the current subscription and schedules another, or
// gives up when the agent has been away too long.
func (e *commandExecutor) disconnect(why error) {
	if e.streamCancel != nil {
		e.streamCancel()
		e.streamCancel = nil
	}
	e.gen++ // whatever the old stream still delivers is stale
	wasConnected := e.connected
	e.connected = false
	if e.lostAt.IsZero() {
		e.lostAt = time.Now()
	}
	if wasConnected {
		e.log.Warn("lost the agent", "error", why)
	} else {
		e.log.Debug("cannot subscribe to the agent", "error", why)
	}
	switch {
	case !e.cfg.Checkpoint && e.everSubbed:
		e.giveUpOnAgent(fmt.Errorf("lost the agent and checkpointing is off: %w", why))
		return
	case time.Since(e.lostAt) > e.cfg.RecoveryTimeout:
		e.giveUpOnAgent(fmt.Errorf("agent unreachable for more than the recovery timeout (%s): %w", e.cfg.RecoveryTimeout, why))
		return
	}
	e.backoff = min(max(2*e.backoff, minSubscribeBackoff), e.cfg.SubscriptionBackoffMax)
	d := e.backoff/2 + rand.N(e.backoff/2+1)
	e.reconnect = time.NewTimer(d)
}

// giveUpOnAgent kills the task and makes the executor exit once it is
// gone.
func (e *commandExecutor) giveUpOnAgent(err error) {
	e.log.Error("giving up on the agent; killing the task", "error", err)
	e.abandon = err
	e.beginShutdown(stopGrace)
}

func (e *commandExecutor) handleItem(it streamItem) {
	if it.gen != e.gen {
		return
	}
	if it.ev == nil {
		e.disconnect(it.err)
		return
	}
	ev := it.ev
	switch ev.Type {
	case execapi.EventSubscribed:
		e.subscribed(ev.Subscribed)
	case execapi.EventLaunch:
		if ev.Launch != nil {
			e.launch(ev.Launch.Task)
		}
	case execapi.EventLaunchGroup:
		if ev.LaunchGroup != nil {
			for _, t := range ev.LaunchGroup.TaskGroup.Tasks {
				e.send(e.status(t.TaskID, mesos.TaskFailed, "the command executor cannot run task groups", mesos.ReasonTaskInvalid))
			}
		}
	case execapi.EventKill:
		if ev.Kill != nil {
			e.kill(ev.Kill)
		}
	case execapi.EventAcknowledged:
		if ev.Acknowledged != nil {
			e.acknowledged(ev.Acknowledged)
		}
	case execapi.EventShutdown:
		e.log.Info("agent asked the executor to shut down")
		e.beginShutdown(e.shutdownGrace())
	case execapi.EventError:
		if ev.Error != nil {
			e.log.Warn("agent reported an error", "message", ev.Error.Message)
		}
	case execapi.EventMessage:
		e.log.Debug("ignoring framework message")
	case execapi.EventHeartbeat:
	default:
		e.log.Debug("ignoring unknown event", "type", ev.Type)
	}
}

func (e *commandExecutor) subscribed(s *execapi.Subscribed) {
	e.connected = true
	e.everSubbed = true
	e.lostAt = time.Time{}
	e.backoff = 0
	if s != nil {
		e.frameworkInfo = s.FrameworkInfo
	}
	e.log.Info("subscribed to the agent", "unacknowledged_updates", len(e.unacked))
	// Updates made while the SUBSCRIBE was in flight were not in it.
	for _, st := range append([]mesos.TaskStatus(nil), e.unacked...) {
		if !e.inSubscribe[string(st.UUID)] && e.connected {
			e.post(st)
		}
	}
}

// status builds a status update of this executor with a fresh uuid.
func (e *commandExecutor) status(task mesos.TaskID, state mesos.TaskState, msg, reason string) mesos.TaskStatus {
	u := uuid.New()
	st := mesos.TaskStatus{
		TaskID:     task,
		State:      state,
		Message:    msg,
		Reason:     reason,
		Source:     mesos.SourceExecutor,
		ExecutorID: &mesos.ExecutorID{Value: e.cfg.ExecutorID},
		Timestamp:  float64(time.Now().UnixNano()) / 1e9,
		UUID:       mesos.Bytes(u[:]),
	}
	e.withCheckStatus(&st)
	return st
}

// send queues an update until it is acknowledged and posts it if the
// executor is subscribed; otherwise the next SUBSCRIBE carries it.
func (e *commandExecutor) send(st mesos.TaskStatus) {
	e.unacked = append(e.unacked, st)
	if e.task != nil && st.TaskID == e.task.TaskID {
		last := st
		e.last = &last
	}
	e.log.Info("task status", "task_id", st.TaskID.Value, "state", st.State, "message", st.Message)
	if e.connected {
		e.post(st)
	}
}

func (e *commandExecutor) post(st mesos.TaskStatus) {
	if err := e.agent.update(context.Background(), st); err != nil {
		// Resubscribing resends every unacknowledged update, in order.
		e.disconnect(fmt.Errorf("send %s update: %w", st.State, err))
	}
}

func (e *commandExecutor) isUnacked(id mesos.Bytes) bool {
	for _, st := range e.unacked {
		if string(st.UUID) == string(id) {
			return true
		}
	}
	return false
}

func (e *commandExecutor) acknowledged(a *execapi.Acknowledged) {
	for i, st := range e.unacked {
		if string(st.UUID) == string(a.UUID) && st.TaskID == a.TaskID {
			e.unacked = append(e.unacked[:i:i], e.unacked[i+1:]...)
			if e.task != nil && a.TaskID == e.task.TaskID {
				e.taskAcked = true
			}
			return
		}
	}
	e.log.Debug("acknowledgement of an unknown update", "task_id", a.TaskID.Value)
}

func (e *commandExecutor) launch(info mesos.TaskInfo) {
	if e.task != nil {
		if info.TaskID != e.task.TaskID {
			e.send(e.status(info.TaskID, mesos.TaskFailed,
				"the command executor runs one task and already runs "+e.task.TaskID.Value, mesos.ReasonTaskInvalid))
		}
		return
	}
	if e.shutdown {
		e.log.Warn("ignoring a launch during shutdown", "task_id", info.TaskID.Value)
		return
	}
	e.task = &info
	e.send(e.status(info.TaskID, mesos.TaskStarting, "", ""))
	if info.Command != nil && len(info.Command.URIs) > 0 {
		// Fetched while the executor keeps serving the agent (a kill
		// cancels the fetch).
		ctx, cancel := context.WithCancel(context.Background())
		e.fetchCancel = cancel
		f := &fetcher{dir: e.cfg.Directory, localFiles: e.cfg.TaskRootfs == "", cache: e.cfg.FetcherCache}
		uris := info.Command.URIs
		go func() {
			err := f.fetchAll(ctx, uris)
			if err == nil && e.cfg.TaskRootfs != "" {
				// The executor is root here: the task's user owns what
				// was fetched for it.
				err = chownTree(e.cfg.Directory, e.cfg.TaskUser)
			}
			e.fetched <- err
		}()
		return
	}
	e.startTask()
}

// fetchDone starts the task once its URIs are fetched, or ends it.
func (e *commandExecutor) fetchDone(err error) {
	e.fetchCancel()
	e.fetchCancel = nil
	te := TaskExit{TaskID: e.task.TaskID.Value, ExitCode: -1}
	switch {
	case e.killRequested:
		e.finish(mesos.TaskKilled, "Task killed while its URIs were being fetched", "", te)
	case err != nil:
		e.log.Error("cannot fetch the task's URIs", "task_id", e.task.TaskID.Value, "error", err)
		e.finish(mesos.TaskFailed, "Failed to fetch all URIs for container: "+err.Error(), mesos.ReasonContainerLaunchFailed, te)
	default:
		e.startTask()
	}
}

// startTask starts the launched task's command.
func (e *commandExecutor) startTask() {
	info := *e.task
	log := e.log.With("task_id", info.TaskID.Value)
	e.armMaxCompletionTime()
	proc, err := startTask(&info, e.cfg.Directory, e.cfg.Sandbox, e.taskRoot())
	if err != nil {
		msg := "Failed to launch task: " + err.Error()
		log.Error("cannot start the task", "error", err)
		e.finish(mesos.TaskFailed, msg, mesos.ReasonCommandExecutorFailed, TaskExit{TaskID: info.TaskID.Value, ExitCode: -1})
		return
	}
	e.proc = proc
	go func() { e.exited <- proc.wait() }()
	log.Info("task started", "pid", proc.pid)
	e.send(e.status(info.TaskID, mesos.TaskRunning, "", ""))
	e.startCheckers()
}

// killGrace is the task's grace period between SIGTERM and SIGKILL.
func killGrace(p *mesos.KillPolicy) (time.Duration, bool) {
	if p == nil || p.GracePeriod == nil {
		return 0, false
	}
	return max(time.Duration(p.GracePeriod.Nanoseconds), 0), true
}

func (e *commandExecutor) taskGrace() time.Duration {
	if e.task != nil {
		if g, ok := killGrace(e.task.KillPolicy); ok {
			return g
		}
	}
	return DefaultKillGracePeriod
}

// shutdownGrace leaves the task enough time to stop before the agent
// destroys the container at the end of its shutdown grace period.
func (e *commandExecutor) shutdownGrace() time.Duration {
	g := e.taskGrace()
	if limit := e.cfg.ShutdownGracePeriod - time.Second; limit > 0 && g > limit {
		g = limit
	}
	return g
}

func (e *commandExecutor) kill(k *execapi.Kill) {
	if e.task == nil || k.TaskID != e.task.TaskID {
		e.log.Warn("kill of a task this executor does not run", "task_id", k.TaskID.Value)
		return
	}
	if e.proc == nil && e.fetchCancel == nil {
		return
	}
	grace, ok := killGrace(k.KillPolicy)
	if !ok {
		grace = e.taskGrace()
	}
	e.killTask(grace)
}

// killTask sends SIGTERM to the task's group and arms SIGKILL after grace.
// A second kill may shorten the grace period, never lengthen it.
func (e *commandExecutor) killTask(grace time.Duration) {
	if e.proc == nil {
		if e.fetchCancel != nil && !e.killRequested {
			// Not started yet: stop fetching; fetchDone reports the kill.
			e.killRequested = true
			e.fetchCancel()
		}
		return
	}
	deadline := time.Now().Add(grace)
	if e.killRequested {
		if deadline.Before(e.killDeadline) {
			e.killDeadline = deadline
			if e.escalate != nil {
				e.escalate.Stop()
			}
			e.escalate = time.NewTimer(grace)
		}
		return
	}
	e.killRequested = true
	e.killDeadline = deadline
	e.checks.pause()
	e.checks.stopMaxTime()
	if !e.checks.killedByMaxTime && e.frameworkInfo.HasCapability(mesos.CapabilityTaskKillingState) {
		e.send(e.status(e.task.TaskID, mesos.TaskKilling, "", ""))
	}
	e.log.Info("killing the task", "task_id", e.task.TaskID.Value, "grace_period", grace)
	if grace <= 0 {
		_ = e.proc.signal(syscall.SIGKILL)
		return
	}
	if err := e.proc.signal(syscall.SIGTERM); err != nil {
		e.log.Warn("cannot send SIGTERM to the task", "error", err)
	}
	e.escalate = time.NewTimer(grace)
}

func (e *commandExecutor) beginShutdown(grace time.Duration) {
	e.shutdown = true
	e.killTask(grace)
}

// taskExited records how the task ended and reports it.
func (e *commandExecutor) taskExited(st ExitStatus) {
	pid := e.proc.pid
	e.proc = nil
	if e.escalate != nil {
		e.escalate.Stop()
		e.escalate = nil
	}
	state, reason := e.endState(st)
	te := TaskExit{TaskID: e.task.TaskID.Value, Pid: pid, ExitCode: st.Code, Killed: e.killRequested}
	if st.Signal != 0 {
		te.Signal = SignalName(st.Signal)
	}
	e.finish(state, "Command "+st.String(), reason, te)
}

// finish records the task's end in the sandbox, then reports it.
func (e *commandExecutor) finish(state mesos.TaskState, msg, reason string, te TaskExit) {
	te.State, te.Message, te.Reason = state, msg, reason
	te.Time = float64(time.Now().UnixNano()) / 1e9
	if err := WriteTaskExit(e.cfg.Directory, te); err != nil {
		e.log.Error("cannot record the task's exit status", "error", err)
	}
	e.checks.stop()
	st := e.status(e.task.TaskID, state, msg, reason)
	if state == mesos.TaskKilled && e.checks.killedByHealth {
		// Says why it was killed, as Mesos' command executor does.
		unhealthy := false
		st.Healthy = &unhealthy
	}
	e.terminal = &st
	e.send(st)
	wait := ackWaitNoCheckpoint
	if e.cfg.Checkpoint {
		wait = e.cfg.RecoveryTimeout
	}
	e.armGiveUp(wait)
}

// armGiveUp bounds the wait for the terminal acknowledgement; an earlier
// bound wins.
func (e *commandExecutor) armGiveUp(d time.Duration) {
	at := time.Now().Add(d)
	if e.giveUp != nil {
		if e.giveUpAt.Before(at) {
			return
		}
		e.giveUp.Stop()
	}
	e.giveUp, e.giveUpAt = time.NewTimer(d), at
}
