package executor

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/hashicorp/go-hclog"

	"mesh/mesos"
	execapi "mesh/mesos/executor"
)

// Timing of mesh's executors.
const (
	// minSubscribeBackoff is the first wait before resubscribing.
	minSubscribeBackoff = 100 * time.Millisecond
	// ackWaitNoCheckpoint bounds the wait for the terminal updates'
	// acknowledgements when the executor cannot outlive its agent.
	ackWaitNoCheckpoint = time.Minute
	// stopGrace is how long a task gets after SIGTERM when the executor
	// itself is told to stop (the agent is destroying its container).
	stopGrace = 2 * time.Second
)

// sessionHandler is what an executor does with the events of its
// session with the agent. The session calls it from the run loop.
type sessionHandler interface {
	// unackedTasks are the launched tasks of which no update was
	// acknowledged yet; every SUBSCRIBE carries them.
	unackedTasks() []mesos.TaskInfo
	// launch is the agent's LAUNCH of one task.
	launch(info mesos.TaskInfo)
	// launchGroup is the agent's LAUNCH_GROUP of a task group.
	launchGroup(tasks []mesos.TaskInfo)
	// kill is the framework's KILL of a task.
	kill(k *execapi.Kill)
	// shutdownTasks is the agent's SHUTDOWN.
	shutdownTasks()
	// acknowledged says that an update of task was acknowledged.
	acknowledged(task mesos.TaskID)
	// abandon kills the tasks: the executor gives up on the agent.
	abandon(err error)
}

// streamItem is an event of subscription gen, or (ev == nil) the end of
// that subscription with the reason.
type streamItem struct {
	gen int
	ev  *execapi.Event
	err error
}

// agentSession is an executor's connection to its agent: it subscribes
// with the unacknowledged tasks and updates, reads the events, resubscribes
// after a disconnection within the recovery timeout (or gives up on the
// agent), and sends the status updates until they are acknowledged. It
// hands the events of the tasks to its handler. Everything but the
// channels is owned by the executor's run loop.
type agentSession struct {
	cfg   CommandExecutorConfig
	log   hclog.Logger
	agent *agentClient
	h     sessionHandler

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

	executorInfo  mesos.ExecutorInfo
	frameworkInfo mesos.FrameworkInfo

	// unacked are the updates the agent has not acknowledged, oldest
	// first; they are resent with every SUBSCRIBE.
	unacked []mesos.TaskStatus

	abandoned error // set when the executor gives up on the agent
	// stopAsked is set once the executor is told to stop (SIGTERM).
	stopAsked bool
	giveUp    *time.Timer // bounds the wait for the terminal acks
	giveUpAt  time.Time
}

// prepare completes cfg's defaults, checks that it names the executor
// and its agent, and returns the executor's logger, named name; what is
// the executor in the error.
func (c *CommandExecutorConfig) prepare(what, name string) (hclog.Logger, error) {
	c.setDefaults()
	if c.FrameworkID == "" || c.ExecutorID == "" || c.AgentEndpoint == "" {
		return nil, errors.New(what + " needs a framework id, an executor id and the agent's endpoint")
	}
	return c.Logger.Named(name).With("executor_id", c.ExecutorID, "framework_id", c.FrameworkID), nil
}

func newAgentSession(cfg CommandExecutorConfig, log hclog.Logger, h sessionHandler) *agentSession {
	return &agentSession{
		cfg:   cfg,
		log:   log,
		agent: newAgentClient(cfg),
		h:     h,
		items: make(chan streamItem, 16),
		quit:  make(chan struct{}),
	}
}

func timerC(t *time.Timer) <-chan time.Time {
	if t == nil {
		return nil
	}
	return t.C
}

// start makes the first SUBSCRIBE attempt.
func (s *agentSession) start() {
	s.lostAt = time.Now()
	s.connect()
}

// stop ends the subscription goroutine and the session's timers.
func (s *agentSession) stop() {
	close(s.quit)
	if s.streamCancel != nil {
		s.streamCancel()
	}
	s.wg.Wait()
	for _, t := range []*time.Timer{s.reconnect, s.giveUp} {
		if t != nil {
			t.Stop()
		}
	}
}

// askStop records that the executor is told to stop and bounds the wait
// for the tasks' ends and their acknowledgements.
func (s *agentSession) askStop() {
	s.stopAsked = true
	s.log.Info("executor asked to stop")
	s.armGiveUp(stopGrace + 3*time.Second)
}

// resubscribe is the end of the wait before the next SUBSCRIBE.
func (s *agentSession) resubscribe() {
	s.reconnect = nil
	s.connect()
}

// result is what the executor's run returns once it has finished.
func (s *agentSession) result() error {
	if s.abandoned != nil {
		return s.abandoned
	}
	s.log.Info("executor done")
	return nil
}

// connect starts a SUBSCRIBE attempt in a goroutine that feeds s.items.
func (s *agentSession) connect() {
	s.gen++
	gen := s.gen
	sub := &execapi.Subscribe{UnacknowledgedTasks: s.h.unackedTasks()}
	s.inSubscribe = map[string]bool{}
	for i := range s.unacked {
		st := s.unacked[i]
		sub.UnacknowledgedUpdates = append(sub.UnacknowledgedUpdates, execapi.Update{Status: &st})
		s.inSubscribe[string(st.UUID)] = true
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.streamCancel = cancel
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		body, err := s.agent.subscribe(ctx, sub)
		if err == nil {
			err = readEvents(body, func(ev *execapi.Event) bool {
				return s.deliver(streamItem{gen: gen, ev: ev})
			})
			body.Close()
		}
		s.deliver(streamItem{gen: gen, err: err})
	}()
}

func (s *agentSession) deliver(it streamItem) bool {
	select {
	case s.items <- it:
		return true
	case <-s.quit:
		return false
	}
}

// disconnect drops the current subscription and schedules another, or
// gives up when the agent has been away too long.
func (s *agentSession) disconnect(why error) {
	if s.streamCancel != nil {
		s.streamCancel()
		s.streamCancel = nil
	}
	s.gen++ // whatever the old stream still delivers is stale
	wasConnected := s.connected
	s.connected = false
	if s.lostAt.IsZero() {
		s.lostAt = time.Now()
	}
	if wasConnected {
		s.log.Warn("lost the agent", "error", why)
	} else {
		s.log.Debug("cannot subscribe to the agent", "error", why)
	}
	switch {
	case !s.cfg.Checkpoint && s.everSubbed:
		s.giveUpOnAgent(fmt.Errorf("lost the agent and checkpointing is off: %w", why))
		return
	case time.Since(s.lostAt) > s.cfg.RecoveryTimeout:
		s.giveUpOnAgent(fmt.Errorf("agent unreachable for more than the recovery timeout (%s): %w", s.cfg.RecoveryTimeout, why))
		return
	}
	s.backoff = min(max(2*s.backoff, minSubscribeBackoff), s.cfg.SubscriptionBackoffMax)
	d := s.backoff/2 + rand.N(s.backoff/2+1)
	s.reconnect = time.NewTimer(d)
}

// giveUpOnAgent has the handler kill the tasks; the executor exits once
// they are gone.
func (s *agentSession) giveUpOnAgent(err error) {
	s.abandoned = err
	s.h.abandon(err)
}

// handleItem acts on an event or the end of a subscription.
func (s *agentSession) handleItem(it streamItem) {
	if it.gen != s.gen {
		return
	}
	if it.ev == nil {
		s.disconnect(it.err)
		return
	}
	s.handleEvent(it.ev)
}

func (s *agentSession) handleEvent(ev *execapi.Event) {
	switch ev.Type {
	case execapi.EventSubscribed:
		s.subscribed(ev.Subscribed)
	case execapi.EventLaunch:
		if ev.Launch != nil {
			s.h.launch(ev.Launch.Task)
		}
	case execapi.EventLaunchGroup:
		if ev.LaunchGroup != nil {
			s.h.launchGroup(ev.LaunchGroup.TaskGroup.Tasks)
		}
	case execapi.EventKill:
		if ev.Kill != nil {
			s.h.kill(ev.Kill)
		}
	case execapi.EventAcknowledged:
		if ev.Acknowledged != nil {
			s.acknowledged(ev.Acknowledged)
		}
	case execapi.EventShutdown:
		s.log.Info("agent asked the executor to shut down")
		s.h.shutdownTasks()
	case execapi.EventError:
		if ev.Error != nil {
			s.log.Warn("agent reported an error", "message", ev.Error.Message)
		}
	case execapi.EventMessage:
		s.log.Debug("ignoring framework message")
	case execapi.EventHeartbeat:
	default:
		s.log.Debug("ignoring unknown event", "type", ev.Type)
	}
}

func (s *agentSession) subscribed(sub *execapi.Subscribed) {
	s.connected = true
	s.everSubbed = true
	s.lostAt = time.Time{}
	s.backoff = 0
	if sub != nil {
		s.executorInfo = sub.ExecutorInfo
		s.frameworkInfo = sub.FrameworkInfo
	}
	s.log.Info("subscribed to the agent", "unacknowledged_updates", len(s.unacked))
	// Updates made while the SUBSCRIBE was in flight were not in it.
	for _, st := range append([]mesos.TaskStatus(nil), s.unacked...) {
		if !s.inSubscribe[string(st.UUID)] && s.connected {
			s.post(st)
		}
	}
}

// status builds a status update of this executor with a fresh uuid.
func (s *agentSession) status(task mesos.TaskID, state mesos.TaskState, msg, reason string) mesos.TaskStatus {
	u := uuid.New()
	return mesos.TaskStatus{
		TaskID:     task,
		State:      state,
		Message:    msg,
		Reason:     reason,
		Source:     mesos.SourceExecutor,
		ExecutorID: &mesos.ExecutorID{Value: s.cfg.ExecutorID},
		Timestamp:  float64(time.Now().UnixNano()) / 1e9,
		UUID:       mesos.Bytes(u[:]),
	}
}

// send queues an update until it is acknowledged and posts it if the
// executor is subscribed; otherwise the next SUBSCRIBE carries it.
func (s *agentSession) send(st mesos.TaskStatus) {
	s.unacked = append(s.unacked, st)
	s.log.Info("task status", "task_id", st.TaskID.Value, "state", st.State, "message", st.Message)
	if s.connected {
		s.post(st)
	}
}

func (s *agentSession) post(st mesos.TaskStatus) {
	if err := s.agent.update(context.Background(), st); err != nil {
		// Resubscribing resends every unacknowledged update, in order.
		s.disconnect(fmt.Errorf("send %s update: %w", st.State, err))
	}
}

func (s *agentSession) isUnacked(id mesos.Bytes) bool {
	for _, st := range s.unacked {
		if string(st.UUID) == string(id) {
			return true
		}
	}
	return false
}

func (s *agentSession) acknowledged(a *execapi.Acknowledged) {
	for i, st := range s.unacked {
		if string(st.UUID) == string(a.UUID) && st.TaskID == a.TaskID {
			s.unacked = append(s.unacked[:i:i], s.unacked[i+1:]...)
			s.h.acknowledged(a.TaskID)
			return
		}
	}
	s.log.Debug("acknowledgement of an unknown update", "task_id", a.TaskID.Value)
}

// awaitTerminalAcks bounds the wait for the acknowledgement of the
// terminal updates sent: the recovery timeout when the executor can
// outlive its agent, a minute otherwise.
func (s *agentSession) awaitTerminalAcks() {
	wait := ackWaitNoCheckpoint
	if s.cfg.Checkpoint {
		wait = s.cfg.RecoveryTimeout
	}
	s.armGiveUp(wait)
}

// armGiveUp bounds the wait for the terminal acknowledgements; an earlier
// bound wins.
func (s *agentSession) armGiveUp(d time.Duration) {
	at := time.Now().Add(d)
	if s.giveUp != nil {
		if s.giveUpAt.Before(at) {
			return
		}
		s.giveUp.Stop()
	}
	s.giveUp, s.giveUpAt = time.NewTimer(d), at
}

// shutdownGrace caps a grace period so that the tasks stop before the
// agent destroys the container at the end of its shutdown grace period.
func (s *agentSession) shutdownGrace(g time.Duration) time.Duration {
	if limit := s.cfg.ShutdownGracePeriod - time.Second; limit > 0 && g > limit {
		g = limit
	}
	return g
}

// recordTaskExit completes te with the task's end and writes it in the
// task's sandbox dir, where the agent reads it.
func (s *agentSession) recordTaskExit(dir string, te TaskExit, state mesos.TaskState, msg, reason string) {
	te.State, te.Message, te.Reason = state, msg, reason
	te.Time = float64(time.Now().UnixNano()) / 1e9
	if err := WriteTaskExit(dir, te); err != nil {
		s.log.Error("cannot record the task's exit status", "task_id", te.TaskID, "error", err)
	}
}
