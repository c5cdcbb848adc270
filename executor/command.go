package executor

import (
	"context"
	"errors"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"

	"mesh/mesos"
	execapi "mesh/mesos/executor"
)

// RunCommandExecutor runs mesh's command executor: it subscribes to the
// agent, runs the one task the agent launches, reports its status, and
// returns once the task's terminal update is acknowledged (or once it
// gives up: ctx ended, the agent stayed away for longer than the recovery
// timeout, or it told the executor to shut down).
func RunCommandExecutor(ctx context.Context, cfg CommandExecutorConfig) error {
	log, err := cfg.prepare("command executor", "executor")
	if err != nil {
		return err
	}
	e := &commandExecutor{
		cfg:     cfg,
		log:     log,
		exited:  make(chan ExitStatus, 1),
		fetched: make(chan error, 1),
		checks:  newTaskChecks(),
	}
	e.s = newAgentSession(cfg, e.log, e)
	return e.run(ctx)
}

// commandExecutor is the state of the command executor. Everything but
// the channels is owned by the run loop's goroutine.
type commandExecutor struct {
	cfg CommandExecutorConfig
	log hclog.Logger
	// s is the session with the agent (session.go).
	s *agentSession

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

	terminal *mesos.TaskStatus
	shutdown bool // SHUTDOWN received or ctx ended
}

func (e *commandExecutor) run(ctx context.Context) error {
	defer e.stop()
	e.s.start()
	stopping := ctx.Done()
	for !e.finished() {
		select {
		case <-stopping:
			stopping = nil
			e.s.askStop()
			e.beginShutdown(stopGrace)
		case it := <-e.s.items:
			e.s.handleItem(it)
		case <-timerC(e.s.reconnect):
			e.s.resubscribe()
		case <-timerC(e.s.giveUp):
			if e.proc != nil {
				_ = e.proc.signal(syscall.SIGKILL)
			}
			return errors.New("gave up waiting for the agent to acknowledge the task's terminal update")
		case st := <-e.exited:
			e.taskExited(st)
		case err := <-e.fetched:
			e.fetchDone(err)
		case <-timerC(e.escalate):
			e.escalateKill()
		case <-e.checks.reports.notify:
			e.checkReports()
		case <-timerC(e.checks.maxTime):
			e.maxCompletionTimeReached()
		}
	}
	return e.s.result()
}

// escalateKill sends SIGKILL to a task that outlived its grace period.
func (e *commandExecutor) escalateKill() {
	e.escalate = nil
	if e.proc != nil {
		e.log.Info("task did not stop in its grace period; sending SIGKILL", "pid", e.proc.pid)
		_ = e.proc.signal(syscall.SIGKILL)
	}
}

// finished reports whether the executor has nothing left to do.
func (e *commandExecutor) finished() bool {
	if e.proc != nil || e.fetchCancel != nil {
		return false
	}
	if e.s.abandoned != nil {
		return true
	}
	if e.terminal != nil {
		// Told to stop with no agent to report to (it is down, or
		// cleaning up): the sandbox's record of the task's end is what
		// the agent will read.
		if e.s.stopAsked && !e.s.connected {
			return true
		}
		return !e.s.isUnacked(e.terminal.UUID)
	}
	return e.task == nil && e.shutdown
}

// stop ends the session and makes sure no task process outlives the
// executor.
func (e *commandExecutor) stop() {
	e.s.stop()
	e.checks.stop()
	if e.fetchCancel != nil {
		e.fetchCancel()
	}
	if e.escalate != nil {
		e.escalate.Stop()
	}
	if e.proc != nil {
		_ = e.proc.signal(syscall.SIGKILL)
	}
}

// unackedTasks is the task until one of its updates is acknowledged.
func (e *commandExecutor) unackedTasks() []mesos.TaskInfo {
	if e.task != nil && !e.taskAcked {
		return []mesos.TaskInfo{*e.task}
	}
	return nil
}

// abandon kills the task; the executor exits once it is gone.
func (e *commandExecutor) abandon(err error) {
	e.log.Error("giving up on the agent; killing the task", "error", err)
	e.beginShutdown(stopGrace)
}

// launchGroup fails the tasks of a group: the command executor runs
// single tasks.
func (e *commandExecutor) launchGroup(tasks []mesos.TaskInfo) {
	for _, t := range tasks {
		e.send(e.status(t.TaskID, mesos.TaskFailed, "the command executor cannot run task groups", mesos.ReasonTaskInvalid))
	}
}

// shutdownTasks is the agent's SHUTDOWN: the task is killed.
func (e *commandExecutor) shutdownTasks() {
	e.beginShutdown(e.shutdownGrace())
}

func (e *commandExecutor) acknowledged(task mesos.TaskID) {
	if e.task != nil && task == e.task.TaskID {
		e.taskAcked = true
	}
}

// status builds a status update of this executor with a fresh uuid.
func (e *commandExecutor) status(task mesos.TaskID, state mesos.TaskState, msg, reason string) mesos.TaskStatus {
	st := e.s.status(task, state, msg, reason)
	e.withCheckStatus(&st)
	return st
}

// send sends an update of the session and keeps the task's latest.
func (e *commandExecutor) send(st mesos.TaskStatus) {
	if e.task != nil && st.TaskID == e.task.TaskID {
		last := st
		e.last = &last
	}
	e.s.send(st)
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
	return e.s.shutdownGrace(e.taskGrace())
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
	if !e.checks.killedByMaxTime && e.s.frameworkInfo.HasCapability(mesos.CapabilityTaskKillingState) {
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
	e.s.recordTaskExit(e.cfg.Directory, te, state, msg, reason)
	e.checks.stop()
	st := e.status(e.task.TaskID, state, msg, reason)
	if state == mesos.TaskKilled && e.checks.killedByHealth {
		// Says why it was killed, as Mesos' command executor does.
		unhealthy := false
		st.Healthy = &unhealthy
	}
	e.terminal = &st
	e.send(st)
	e.s.awaitTerminalAcks()
}
