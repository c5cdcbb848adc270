package server

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"mesh/fsm"
	"mesh/httpbound"
	"mesh/mesos"
	"mesh/mesos/agentapi"
	"mesh/mesos/codec"
	"mesh/mesos/scheduler"
)

// leaderCapabilities are what the leader offers an agent in REGISTERED.
var leaderCapabilities = []string{agentapi.CapabilityPongStream}

// agentSubscribe registers or re-registers an agent, reconciles the tasks
// it reports against the replicated state and serves its command stream.
func (m *master) agentSubscribe(w http.ResponseWriter, r *http.Request, sub *agentapi.Subscribe) error {
	info := sub.AgentInfo
	if info.Hostname == "" {
		return httpErrorf(400, "agent_info.hostname is required")
	}
	if info.Port <= 0 || info.Port > 65535 {
		return httpErrorf(400, "agent_info.port %d is not a valid port", info.Port)
	}
	if err := mesos.Resources(info.Resources).Validate(); err != nil {
		return httpErrorf(400, "agent resources are invalid: %v", err)
	}
	client := "" // a new agent: only the queue's bound applies
	if info.ID != nil && info.ID.Value != "" {
		client = "agent " + info.ID.Value
	}
	release, err := m.regAdm.enter(r.Context(), client, httpbound.BytesRead(r))
	if err != nil {
		return err
	}
	// The slot is held while the registration is committed and reconciled,
	// not while the stream is served.
	releaseOnce := sync.OnceFunc(release)
	defer releaseOnce()
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	unlockGate := func() {}
	if info.ID != nil && info.ID.Value != "" {
		// No launch to this agent commits from the state read here until
		// its new stream is the one commands go to and the allocator
		// counts it afresh (agentGate).
		gate := m.agentGate(info.ID.Value)
		gate.Lock()
		unlockGate = sync.OnceFunc(gate.Unlock)
		defer unlockGate()
	}
	st := m.s.fsm.State()
	if err := refuseIfDown(st, info, host); err != nil {
		return err
	}
	now := time.Now().UnixNano()
	req := &fsm.AgentRegisterRequest{}
	agent := fsm.Agent{Address: net.JoinHostPort(host, strconv.Itoa(int(info.Port))), Version: sub.Version, State: fsm.AgentActive}
	if info.ID != nil && info.ID.Value != "" {
		agent.ID = info.ID.Value
		if old := st.Agent(agent.ID); old != nil {
			if old.State == fsm.AgentGone {
				return httpErrorf(403, "agent %s has been removed from the cluster; clear its work dir to join as a new agent", agent.ID)
			}
			agent.RegisteredAt = old.RegisteredAt
		} else {
			agent.RegisteredAt = now
		}
		agent.ReregisteredAt = now
	} else {
		m.mu.Lock()
		seq := m.agentSeq
		m.agentSeq++
		m.mu.Unlock()
		agent.ID = agentID(m.clusterID, seq)
		agent.RegisteredAt = now
		req.New, req.Seq = true, seq
	}
	info.ID = &mesos.AgentID{Value: agent.ID}
	agent.Info = info
	req.Agent = agent
	if sub.HasCapability(agentapi.CapabilityExecutors) {
		if err := validReportedExecutors(sub.Executors); err != nil {
			return err
		}
		req.ReportsExecutors, req.Executors = true, sub.Executors
		for _, e := range sub.ExitingExecutors {
			if e.FrameworkID != nil {
				req.Exiting = append(req.Exiting, fsm.ExecutorRef{AgentID: agent.ID, FrameworkID: e.FrameworkID.Value, ExecutorID: e.ExecutorID.Value})
			}
		}
	}
	m.mu.Lock()
	connected := m.agents[agent.ID] != nil
	m.mu.Unlock()
	if connected {
		// Its previous stream is still open: the allocator forgets the
		// agent now, so that what this registration frees (tasks lost,
		// executors gone) is not offered from its old account.
		m.alloc.RemoveAgent(agent.ID)
	}
	if err := m.registerAgent(r.Context(), req); err != nil {
		return err
	}

	if updates := reconcileReported(st, agent.ID, sub.Tasks, now); len(updates) > 0 {
		if _, err := m.recordUpdates(agent.ID, updates); err != nil {
			m.logger.Warn("cannot record what a registering agent reported; it reports again when it registers next", "agent_id", agent.ID, "error", err)
		}
	}
	used, kills, orphans := agentUsage(m.s.fsm.State(), agent.ID, sub.Tasks)

	ac := newAgentConn(agent.ID, sub.HasCapability(agentapi.CapabilityPing))
	m.mu.Lock()
	old := m.agents[agent.ID]
	m.agents[agent.ID] = ac
	// The agent's reservations and volumes are read and queued with the
	// stream's install, under mu as sendCheckpointedResources does for
	// every later change: whatever commits in between reaches the agent
	// after this account, never before it.
	cur := m.s.fsm.State().Agent(agent.ID)
	if cur != nil {
		ac.send(checkpointEvent(cur, m.term))
	}
	delete(m.reregistering, agent.ID)
	if t := m.agentTimers[agent.ID]; t != nil {
		t.Stop()
		delete(m.agentTimers, agent.ID)
	}
	m.mu.Unlock()
	if old != nil {
		old.close() // its handler finds itself replaced and does nothing
	}
	if cur != nil && cur.Deactivated {
		m.alloc.SetAgentActive(agent.ID, false)
	}
	m.setAgentInfo(info)
	// Offers of the agent still outstanding (its previous stream was still
	// open, or a round made them as it went) are taken back before the
	// allocator counts its resources afresh, or they would be offered
	// twice.
	total := m.agentTotal(cur, sub.CheckpointedResources)
	m.countAgent(agent.ID, func() {
		m.removeOffers(m.s.fsm.State().OffersByAgent(agent.ID), true, 0)
		m.alloc.AddAgent(agent.ID, total, used)
	})
	// Launches to the agent go on from here: they find their offers
	// taken back, or the allocator counting what they take.
	unlockGate()
	m.alloc.Trigger()
	m.logger.Info("agent registered", "agent_id", agent.ID, "address", agent.Address, "reregistered", agent.ReregisteredAt != 0, "tasks", len(sub.Tasks))

	releaseOnce()
	if m.beforeRegistered != nil {
		m.beforeRegistered(agent.ID)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	rw := newEventWriter(w, codec.JSON)
	if err := writeEvent(rw, &agentapi.Event{Type: agentapi.EventRegistered, Term: m.term, Registered: &agentapi.Registered{
		AgentID: mesos.AgentID{Value: agent.ID}, MasterInfo: m.info,
		HeartbeatIntervalSeconds: m.s.cfg.HeartbeatInterval.Seconds(),
		Capabilities:             leaderCapabilities,
	}}); err != nil {
		m.agentDisconnected(ac)
		return nil
	}
	for fid := range orphans {
		ac.send(&agentapi.Event{Type: agentapi.EventShutdownFramework, Term: m.term,
			ShutdownFramework: &agentapi.ShutdownFramework{FrameworkID: mesos.FrameworkID{Value: fid}}})
	}
	for i := range kills {
		m.logger.Info("killing a task the agent still runs after it was reported gone", "agent_id", agent.ID,
			"framework_id", kills[i].FrameworkID.Value, "task_id", kills[i].TaskID.Value)
		ac.send(&agentapi.Event{Type: agentapi.EventKill, Term: m.term, Kill: &kills[i]})
	}
	st = m.s.fsm.State()
	for _, k := range m.kills.of(agent.ID, func(fid, tid string) bool {
		t := st.Task(fid, tid)
		return t != nil && taskLive(t)
	}) {
		m.logger.Info("sending again the kill of a task asked while its agent was away", "agent_id", agent.ID,
			"framework_id", k.FrameworkID.Value, "task_id", k.TaskID.Value)
		ac.send(&agentapi.Event{Type: agentapi.EventKill, Term: m.term, Kill: &k})
	}
	// A drain in progress goes on: its kills are sent again.
	m.killDrainingTasks(agent.ID)
	m.checkDrained(agent.ID)
	streamDone := m.s.metrics.stream("agent")
	stopPings := func() {}
	if ac.pings {
		stopPings = m.observeAgent(ac)
	}
	// However the stream ends, the agent is then disconnected; when a newer
	// stream replaced this one that is a no-op.
	end := sync.OnceFunc(func() {
		stopPings()
		streamDone()
		m.agentDisconnected(ac)
	})
	heartbeat := &agentapi.Event{Type: agentapi.EventHeartbeat, Term: m.term}
	if detachStream(w, rw.mediaType, ac.out, heartbeat, m.s.cfg.HeartbeatInterval, m.ctx, end) {
		return nil
	}
	serveStream(r.Context(), m.ctx, w, rw, ac.out, heartbeat, m.s.cfg.HeartbeatInterval)
	end()
	return nil
}

// countAgent has the allocator count an agent (add). A round computed
// while the allocator counted the agent before may still be committing
// offers of it, which add must find: then add waits for that round
// (roundMu). An agent this term's allocator never counted (every agent
// re-registering with a new leader) is in no round, and does not wait:
// a round holds roundMu while its offers are committed, and thousands of
// registrations waiting for round after round came in waves.
func (m *master) countAgent(aid string, add func()) {
	m.mu.Lock()
	before := m.counted[aid]
	m.counted[aid] = true
	m.mu.Unlock()
	if before {
		m.roundMu.Lock()
		defer m.roundMu.Unlock()
	}
	add()
}

// agentDisconnected stops offering a disconnected agent and gives it
// AgentReregisterTimeout to come back.
func (m *master) agentDisconnected(ac *agentConn) {
	ac.close()
	ac.endPongs()
	m.mu.Lock()
	current := m.agents[ac.id] == ac
	if current {
		delete(m.agents, ac.id)
	}
	m.mu.Unlock()
	if !current || !m.leading() {
		return
	}
	m.logger.Info("agent disconnected", "agent_id", ac.id, "reregister_timeout", m.s.cfg.AgentReregisterTimeout)
	m.forgetAgentOffers(ac.id)
	m.armAgentTimer(ac.id)
}

// forgetAgentOffers removes an agent from the allocator and takes back
// its outstanding offers, those of a round in flight included.
func (m *master) forgetAgentOffers(aid string) {
	m.alloc.RemoveAgent(aid)
	m.roundMu.Lock()
	defer m.roundMu.Unlock()
	m.removeOffers(m.s.fsm.State().OffersByAgent(aid), true, 0)
}

// armAgentTimer marks the agent unreachable, and its tasks lost, if it has
// not re-registered within AgentReregisterTimeout.
func (m *master) armAgentTimer(aid string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if t := m.agentTimers[aid]; t != nil {
		t.Stop()
	}
	m.agentTimers[aid] = time.AfterFunc(m.s.cfg.AgentReregisterTimeout, func() { m.agentTimedOut(aid) })
}

func (m *master) agentTimedOut(aid string) {
	m.mu.Lock()
	connected := m.agents[aid] != nil
	delete(m.agentTimers, aid)
	delete(m.reregistering, aid)
	m.mu.Unlock()
	if connected || !m.leading() {
		return
	}
	m.markAgentUnreachable(aid, fmt.Sprintf("Agent %s did not re-register within %s", aid, m.s.cfg.AgentReregisterTimeout))
}

// markAgentUnreachable commits the agent unreachable, its tasks lost, and
// tells the frameworks: each task's TASK_LOST, or TASK_UNREACHABLE (with
// its unreachable_time) for a partition-aware framework, then a FAILURE
// event naming the agent. When the agent re-registers, its tasks are
// reconciled (agentSubscribe), not killed, for partition-aware frameworks.
func (m *master) markAgentUnreachable(aid, msg string) {
	// An agent marked gone stays gone; one already unreachable (its
	// machine went DOWN, say) is not marked again.
	if a := m.s.fsm.State().Agent(aid); a == nil || a.State != fsm.AgentActive {
		return
	}
	res, err := m.apply(fsm.AgentStateRequestType, &fsm.AgentStateRequest{
		AgentID: aid, State: fsm.AgentUnreachable, At: time.Now().UnixNano(),
		TaskState: mesos.TaskLost, PartitionAwareState: mesos.TaskUnreachable,
		Reason: mesos.ReasonAgentRemoved, Message: msg,
	})
	if err != nil {
		m.logger.Warn("failed to mark agent unreachable", "agent_id", aid, "error", err)
		return
	}
	m.logger.Warn("agent unreachable", "agent_id", aid, "reason", msg, "tasks_lost", len(res.(*fsm.AgentStateResult).Tasks))
	for _, t := range res.(*fsm.AgentStateResult).Tasks {
		m.sendToFramework(t.FrameworkID, &scheduler.Event{Type: scheduler.EventUpdate, Update: &scheduler.Update{Status: *t.Status()}})
	}
	m.mu.Lock()
	var fids []string
	for fid := range m.frameworks {
		fids = append(fids, fid)
	}
	m.mu.Unlock()
	for _, fid := range fids {
		m.sendToFramework(fid, &scheduler.Event{Type: scheduler.EventFailure, Failure: &scheduler.Failure{AgentID: &mesos.AgentID{Value: aid}}})
	}
}

// recordUpdates commits a batch of status updates and acts on each:
// resources of newly terminal tasks return to the pool, the framework gets
// the update, and updates nobody will acknowledge are acknowledged to the
// agent at once so it stops resending them.
//
// An update the state has already recorded (an agent sends an update again
// until it is acknowledged) is not committed again: under load, when
// acknowledgements come back slower than agents resend, those repeats
// would otherwise multiply the log's traffic. It is passed on to the
// framework all the same, as Mesos does, unless it went on the
// framework's stream a moment ago (redelivery.go).
//
// resendAfter is how long the agent need not resend these updates: none
// of them would reach its framework again sooner (0: no such bound).
func (m *master) recordUpdates(agentID string, updates []fsm.StatusUpdate) (resendAfter time.Duration, err error) {
	results, err := m.commitNewUpdates(updates)
	if err != nil {
		return 0, err
	}
	quietest := time.Duration(-1)
	st := m.s.fsm.State()
	for i, u := range updates {
		r := results[i]
		if r.BecameTerminal {
			m.alloc.Recover(u.FrameworkID, r.AgentID, r.Resources, 0)
			m.kills.done(r.AgentID, u.FrameworkID, u.Status.TaskID.Value)
		}
		// Whether the framework is told is decided by what this update did,
		// not by the state after it: an update without a uuid that ends a
		// task (TASK_LOST for a task an agent no longer has) completes the
		// task in the same entry, and must still reach the framework.
		fw := st.Framework(u.FrameworkID)
		orphan := !r.Known || r.WasCompleted || fw == nil || fw.Removed
		if orphan {
			if len(u.Status.UUID) > 0 {
				m.sendToAgent(agentID, &agentapi.Event{Type: agentapi.EventAcknowledge, Acknowledge: &agentapi.Acknowledge{
					FrameworkID: mesos.FrameworkID{Value: u.FrameworkID}, TaskID: u.Status.TaskID, UUID: u.Status.UUID,
				}})
			}
			continue
		}
		status := u.Status
		if status.AgentID == nil {
			status.AgentID = &mesos.AgentID{Value: agentID}
		}
		quiet := m.forwardUpdate(u.FrameworkID, &scheduler.Update{Status: status}, r.Duplicate)
		if quietest < 0 || quiet < quietest {
			quietest = quiet
		}
	}
	m.checkDrained(agentID)
	return max(quietest, 0), nil
}

// commitNewUpdates commits the updates the state has not recorded yet and
// returns what each update did, the recorded ones answered from the state.
func (m *master) commitNewUpdates(updates []fsm.StatusUpdate) ([]fsm.StatusUpdateResult, error) {
	results := make([]fsm.StatusUpdateResult, len(updates))
	st := m.s.fsm.State()
	var fresh []fsm.StatusUpdate
	var at []int
	for i, u := range updates {
		if r, ok := st.RecordedStatusUpdate(u); ok {
			results[i] = r
			continue
		}
		fresh = append(fresh, u)
		at = append(at, i)
	}
	if len(fresh) == 0 {
		return results, nil
	}
	res, err := m.apply(fsm.StatusUpdateRequestType, &fsm.StatusUpdateRequest{Updates: fresh})
	if err != nil {
		return nil, err
	}
	for j, r := range res.([]fsm.StatusUpdateResult) {
		results[at[j]] = r
	}
	return results, nil
}

// agentUpdates handles an agent's UPDATE call: 200 once committed, with
// how long the agent need not resend them (recordUpdates).
func (m *master) agentUpdates(ctx context.Context, agentID string, upd *agentapi.Update, size int64) (*agentapi.UpdateResult, error) {
	if len(upd.Updates) == 0 {
		return &agentapi.UpdateResult{}, nil
	}
	release, err := m.adm.enter(ctx, "agent "+agentID, size)
	if err != nil {
		return nil, err
	}
	defer release()
	m.mu.Lock()
	_, known := m.agents[agentID]
	m.mu.Unlock()
	if !known {
		return nil, httpErrorf(403, "agent %s is not subscribed to this leader", agentID)
	}
	for i, u := range upd.Updates {
		if u.FrameworkID.Value == "" || u.Status.TaskID.Value == "" || !u.Status.State.Valid() {
			return nil, httpErrorf(400, "update %d needs framework_id, status.task_id and a valid status.state", i)
		}
		if n := len(u.Status.UUID); n != 0 && n != 16 {
			return nil, httpErrorf(400, "update %d: status.uuid must be 16 bytes, got %d", i, n)
		}
	}
	updates := make([]fsm.StatusUpdate, len(upd.Updates))
	for i, u := range upd.Updates {
		if u.Status.AgentID == nil {
			u.Status.AgentID = &mesos.AgentID{Value: agentID}
		}
		updates[i] = fsm.StatusUpdate{FrameworkID: u.FrameworkID.Value, Status: u.Status}
	}
	goneByOperator(m.s.fsm.State(), agentID, updates)
	quiet, err := m.recordUpdates(agentID, updates)
	if err != nil {
		return nil, err
	}
	return &agentapi.UpdateResult{ResendAfterSeconds: quiet.Seconds()}, nil
}
