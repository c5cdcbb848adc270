package server

import (
	"context"
	"time"

	"mesh/fsm"
	"mesh/mesos"
	"mesh/mesos/agentapi"
	"mesh/mesos/scheduler"
)

// pendingAck is an acknowledgement waiting for the ack batcher.
type pendingAck struct {
	ack     fsm.StatusAck
	agentID string
}

// acknowledge queues a framework's acknowledgement. The call is answered
// 202 at once (Mesos: queued); the ack batcher commits acks in batches and
// relays each to its agent, whose status update manager then sends the
// task's next update. An ack lost with a failed leader is harmless: the
// agent resends the update and the framework acknowledges it again.
//
// The queue is bounded: when acknowledgements come faster than the
// batcher commits them for longer than ackQueueWait, the call is answered
// 429 and the framework retries (or the agent resends the update).
func (m *master) acknowledge(fid string, ack *scheduler.Acknowledge) error {
	p := pendingAck{ack: fsm.StatusAck{FrameworkID: fid, TaskID: ack.TaskID.Value, UUID: ack.UUID}, agentID: ack.AgentID.Value}
	// Queued or refused, a resend of this update goes to the framework
	// again from now on.
	defer m.ackQueued(fid, ack.UUID)
	select {
	case m.acks <- p:
		return nil
	default:
	}
	t := time.NewTimer(ackQueueWait)
	defer t.Stop()
	select {
	case m.acks <- p:
		return nil
	case <-t.C:
		return errOverloaded("%d acknowledgements wait to be committed; retry later", cap(m.acks))
	case <-m.ctx.Done():
		return ErrNotLeader
	}
}

// ackQueueWait bounds an acknowledgement's wait for room in the queue.
const ackQueueWait = time.Second

// maxAckBatch bounds one log entry of acknowledgements.
const maxAckBatch = 1024

// ackBatchers is how many batches of acknowledgements are committed at
// once: while one waits for its commit, the next is taken and proposed,
// and raft writes them together. Acknowledgements of one task cannot
// overtake each other: its agent sends the next update only once the
// previous one's acknowledgement has reached it.
const ackBatchers = 2

// runAckBatcher commits queued acknowledgements, many per log entry: one
// Apply of a thousand records costs about what one Apply of one does.
func (m *master) runAckBatcher(ctx context.Context) {
	for {
		batch := nextBatch(ctx, m.acks, maxAckBatch)
		if batch == nil {
			return
		}
		if err := m.commitAcks(batch); err != nil {
			m.logger.Warn("failed to commit acknowledgements; agents will resend", "count", len(batch), "error", err)
			continue
		}
		drained := map[string]bool{}
		for _, p := range batch {
			if !drained[p.agentID] {
				drained[p.agentID] = true
				m.checkDrained(p.agentID)
			}
		}
		// Acks for unknown or disconnected agents are dropped: the agent
		// resends the update and the framework acknowledges it again.
		for _, p := range batch {
			m.sendToAgent(p.agentID, &agentapi.Event{Type: agentapi.EventAcknowledge, Acknowledge: &agentapi.Acknowledge{
				FrameworkID: mesos.FrameworkID{Value: p.ack.FrameworkID}, TaskID: mesos.TaskID{Value: p.ack.TaskID}, UUID: p.ack.UUID,
			}})
		}
	}
}

// nextBatch waits for an item on ch, then takes whatever else waits there,
// up to max items in all; nil once ctx ends.
func nextBatch[T any](ctx context.Context, ch <-chan T, max int) []T {
	var batch []T
	select {
	case <-ctx.Done():
		return nil
	case p := <-ch:
		batch = append(batch, p)
	}
	for len(batch) < max {
		select {
		case p := <-ch:
			batch = append(batch, p)
		default:
			return batch
		}
	}
	return batch
}

// commitAcks commits the acknowledgements of a batch that change the
// state. The others (a framework acknowledges an update again each time
// an agent's resend reaches it) are only relayed to their agents: under
// load they are as many as the first ones, and committing them would
// change nothing.
func (m *master) commitAcks(batch []pendingAck) error {
	st := m.s.fsm.State()
	req := &fsm.StatusAckRequest{}
	for _, p := range batch {
		if !st.AckChangesNothing(p.ack) {
			req.Acks = append(req.Acks, p.ack)
		}
	}
	if len(req.Acks) == 0 {
		return nil
	}
	_, err := m.apply(fsm.StatusAckRequestType, req)
	return err
}

// kill asks the task's agent to kill it; an unknown task is reconciled.
func (m *master) kill(fw *fsm.Framework, k *scheduler.Kill) {
	t := m.s.fsm.State().Task(fw.ID, k.TaskID.Value)
	if t == nil || t.Completed {
		state := mesos.TaskLost
		m.masterUpdate(fw.ID, *k.TaskID, "", state, mesos.ReasonReconciliation, "Attempted to kill an unknown task")
		return
	}
	if k.AgentID != nil && k.AgentID.Value != "" && k.AgentID.Value != t.AgentID {
		m.logger.Info("ignoring kill with a mismatched agent", "framework_id", fw.ID, "task_id", t.TaskID)
		return
	}
	if t.State.IsTerminal() {
		return
	}
	policy := k.KillPolicy
	if policy == nil {
		policy = t.Info.KillPolicy
	}
	kill := agentapi.Kill{FrameworkID: mesos.FrameworkID{Value: fw.ID}, TaskID: t.Info.TaskID, KillPolicy: policy}
	m.kills.add(t.AgentID, kill)
	if !m.sendToAgent(t.AgentID, &agentapi.Event{Type: agentapi.EventKill, Kill: &kill}) {
		m.logger.Info("cannot kill task now: its agent is disconnected; the kill is sent when it registers",
			"task_id", t.TaskID, "agent_id", t.AgentID)
	}
}

// shutdownExecutor answers SHUTDOWN: a custom executor is shut down by
// its agent (SHUTDOWN, then destroyed after its grace period); a command
// executor's task is killed (its executor id is the task id).
func (m *master) shutdownExecutor(fw *fsm.Framework, sh *scheduler.Shutdown) {
	st := m.s.fsm.State()
	if e := st.Executor(sh.AgentID.Value, fw.ID, sh.ExecutorID.Value); e != nil {
		m.sendToAgent(e.AgentID, &agentapi.Event{Type: agentapi.EventShutdownExecutor, ShutdownExecutor: &agentapi.ShutdownExecutor{
			FrameworkID: mesos.FrameworkID{Value: fw.ID}, ExecutorID: e.Info.ExecutorID,
		}})
		return
	}
	for _, t := range st.TasksByFramework(fw.ID) {
		if t.AgentID != sh.AgentID.Value || t.Completed || t.State.IsTerminal() {
			continue
		}
		if t.Info.Executor == nil && t.TaskID == sh.ExecutorID.Value {
			m.sendToAgent(t.AgentID, &agentapi.Event{Type: agentapi.EventKill, Kill: &agentapi.Kill{
				FrameworkID: mesos.FrameworkID{Value: fw.ID}, TaskID: t.Info.TaskID,
			}})
		}
	}
}

// reconcile answers RECONCILE with master-generated updates, as spec §5.
func (m *master) reconcile(fw *fsm.Framework, rec *scheduler.Reconcile) {
	st := m.s.fsm.State()
	pa := fw.Info.HasCapability(mesos.CapabilityPartitionAware)
	now := float64(time.Now().UnixNano()) / 1e9
	send := func(s mesos.TaskStatus) {
		s.Source = mesos.SourceMaster
		s.Reason = mesos.ReasonReconciliation
		s.Timestamp = now
		m.sendToFramework(fw.ID, &scheduler.Event{Type: scheduler.EventUpdate, Update: &scheduler.Update{Status: s}})
	}
	latest := func(t *fsm.Task) {
		s := mesos.TaskStatus{TaskID: t.Info.TaskID, State: t.State, AgentID: &mesos.AgentID{Value: t.AgentID},
			Message: "Reconciliation: Latest task state"}
		if ts := t.Status(); ts != nil {
			s.ExecutorID = ts.ExecutorID
			s.Healthy = ts.Healthy
			s.CheckStatus = ts.CheckStatus
			s.UnreachableTime = ts.UnreachableTime
			s.ContainerStatus = ts.ContainerStatus
		}
		send(s)
	}
	if len(rec.Tasks) == 0 {
		for _, t := range st.TasksByFramework(fw.ID) {
			if !t.Completed {
				latest(t)
			}
		}
		return
	}
	// Agents known from the replicated state that have not come back since
	// this leader was elected may still bring unknown tasks back.
	m.mu.Lock()
	reregistering := make(map[string]bool, len(m.reregistering))
	for aid := range m.reregistering {
		reregistering[aid] = true
	}
	m.mu.Unlock()
	orLost := func(s mesos.TaskState) mesos.TaskState {
		if pa {
			return s
		}
		return mesos.TaskLost
	}
	for _, rt := range rec.Tasks {
		if t := st.Task(fw.ID, rt.TaskID.Value); t != nil && !t.Completed {
			latest(t)
			continue
		}
		s := mesos.TaskStatus{TaskID: *rt.TaskID}
		if rt.AgentID != nil && rt.AgentID.Value != "" {
			aid := rt.AgentID.Value
			s.AgentID = rt.AgentID
			if reregistering[aid] {
				continue // the agent may still bring the task back
			}
			switch a := st.Agent(aid); {
			case a == nil:
				s.State, s.Message = orLost(mesos.TaskUnknown), "Reconciliation: Task is unknown"
			case a.State == fsm.AgentUnreachable:
				s.State, s.Message = orLost(mesos.TaskUnreachable), "Reconciliation: Task is unreachable"
				s.UnreachableTime = &mesos.TimeInfo{Nanoseconds: a.UnreachableAt}
			case a.State == fsm.AgentGone:
				s.State, s.Message = orLost(mesos.TaskGoneByOperator), "Reconciliation: Task is gone"
			default:
				s.State, s.Message = orLost(mesos.TaskGone), "Reconciliation: Task is unknown to the agent"
			}
		} else {
			if len(reregistering) > 0 {
				continue
			}
			s.State, s.Message = orLost(mesos.TaskUnknown), "Reconciliation: Task is unknown"
		}
		send(s)
	}
}

// suppress stops offers for roles; a role the framework is not subscribed
// to drops the whole call, as Mesos does.
func (m *master) suppress(fw *fsm.Framework, roles []string) {
	if !subscribedTo(fw, roles) {
		return
	}
	m.alloc.Suppress(fw.ID, roles)
	m.recordSuppression(fw.ID, fsm.SuppressOffers, roles)
}

// revive resumes offers for roles and clears decline filters. The
// allocator takes it at once, as Mesos' does; the record, which a new
// leader reads, is committed after, so that the offers it brings do not
// wait for that commit behind whatever else raft's log holds (after a
// failover, thousands of agents' registrations).
func (m *master) revive(fw *fsm.Framework, roles []string) {
	if !subscribedTo(fw, roles) {
		return
	}
	m.alloc.Revive(fw.ID, roles)
	m.alloc.Trigger()
	m.recordSuppression(fw.ID, fsm.ReviveOffers, roles)
}

func subscribedTo(fw *fsm.Framework, roles []string) bool {
	have := map[string]bool{}
	for _, r := range fw.Info.AllRoles() {
		have[r] = true
	}
	for _, r := range roles {
		if !have[r] {
			return false
		}
	}
	return true
}

// runHistoryPruner keeps the replicated history within the configured
// limits: every HistoryPruneInterval it commits the removal of the oldest
// completed tasks and removed frameworks beyond them.
func (m *master) runHistoryPruner(ctx context.Context) {
	t := time.NewTicker(m.s.cfg.HistoryPruneInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		st := m.s.fsm.State()
		req := st.HistoryBeyond(m.s.cfg.MaxCompletedTasksPerFramework, m.s.cfg.MaxCompletedFrameworks)
		if now := time.Now().UnixNano(); st.FiltersExpired(now) {
			if req == nil {
				req = &fsm.HistoryPruneRequest{}
			}
			req.FiltersExpiredBy = now
		}
		if req == nil {
			continue
		}
		res, err := m.apply(fsm.HistoryPruneRequestType, req)
		if err != nil {
			m.logger.Warn("cannot prune completed tasks and frameworks; will retry", "error", err)
			continue
		}
		r := res.(*fsm.HistoryPruneResult)
		m.logger.Debug("pruned history", "tasks", r.Tasks, "frameworks", r.Frameworks, "filters", r.Filters)
	}
}
