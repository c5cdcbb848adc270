package server

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/google/uuid"

	"mesh/fsm"
	"mesh/httpbound"
	"mesh/mesos"
	"mesh/mesos/agentapi"
	"mesh/mesos/scheduler"
)

// validateFrameworkInfo performs the FrameworkInfo-level checks whose
// failure Mesos reports inside the stream (200 + ERROR), not as a 4xx.
func validateFrameworkInfo(info *mesos.FrameworkInfo, suppressed []string) error {
	multi := info.HasCapability(mesos.CapabilityMultiRole)
	if multi && info.Role != "" {
		return errors.New("'FrameworkInfo.role' must not be set when the framework is MULTI_ROLE capable")
	}
	if !multi && len(info.Roles) > 0 {
		return errors.New("'FrameworkInfo.roles' is set but the framework is not MULTI_ROLE capable")
	}
	seen := map[string]bool{}
	for _, r := range info.AllRoles() {
		if err := mesos.ValidateRole(r); err != nil {
			return fmt.Errorf("role %q is not a valid role name: %w", r, err)
		}
		if seen[r] {
			return fmt.Errorf("role %q appears more than once in 'FrameworkInfo.roles'", r)
		}
		seen[r] = true
	}
	for _, r := range suppressed {
		if !seen[r] {
			return fmt.Errorf("suppressed role %q is not one of the framework's roles", r)
		}
	}
	if t := info.FailoverTimeoutSeconds(); t < 0 || t != t {
		return fmt.Errorf("'FrameworkInfo.failover_timeout' must be a non-negative number, got %v", t)
	}
	return nil
}

// subscribe registers or re-registers a framework and serves its stream
// until it ends, its events encoded as mediaType. It never returns an
// HTTP error once the stream started: FrameworkInfo-level failures are an
// ERROR event inside a 200 stream.
func (m *master) subscribe(w http.ResponseWriter, r *http.Request, call *scheduler.Call, mediaType string) {
	began := time.Now()
	info := *call.Subscribe.FrameworkInfo
	client := "" // a new framework: only the queue's bound applies
	if info.ID != nil && info.ID.Value != "" {
		client = "framework " + info.ID.Value
	}
	release, err := m.fwAdm.enter(r.Context(), client, httpbound.BytesRead(r))
	if err != nil {
		writeError(w, err)
		return
	}
	// The slot is held while the registration is committed, not while the
	// stream is served.
	releaseOnce := sync.OnceFunc(release)
	defer releaseOnce()
	streamID := uuid.NewString()
	// The stream starts (200) only once the framework's registration is
	// decided: a registration that could not be committed (leadership
	// lost, no quorum) is a 503 the framework retries, never an ERROR
	// event, which tells a scheduler to abort.
	var rw *eventWriter
	start := func() *eventWriter {
		if rw == nil {
			w.Header().Set("Content-Type", mediaType)
			w.Header().Set("Mesos-Stream-Id", streamID)
			w.Header().Set("Cache-Control", "no-cache")
			w.WriteHeader(http.StatusOK)
			rw = newEventWriter(w, mediaType)
		}
		return rw
	}
	fail := func(msg string) {
		writeEvent(start(), &scheduler.Event{Type: scheduler.EventError, Error: &scheduler.Error{Message: msg}})
	}
	if err := validateFrameworkInfo(&info, call.Subscribe.SuppressedRoles); err != nil {
		fail(err.Error())
		return
	}
	constraints, err := compileOfferConstraints(info.AllRoles(), call.Subscribe.OfferConstraints)
	if err != nil {
		fail(err.Error())
		return
	}
	now := time.Now().UnixNano()
	st := m.s.fsm.State()
	req := &fsm.FrameworkRegisterRequest{}
	var fw fsm.Framework
	isNew := false
	if info.ID != nil && info.ID.Value != "" {
		old := st.Framework(info.ID.Value)
		switch {
		case old != nil && old.Removed:
			fail("Framework has been removed")
			return
		case old != nil:
			if old.Info.Principal != info.Principal {
				fail("Changing framework's principal is not allowed")
				return
			}
			// user and checkpoint are immutable: keep the old values.
			info.User = old.Info.User
			info.Checkpoint = old.Info.Checkpoint
			fw = *old
		default:
			// Accepted even if never seen: a framework failing over to a
			// leader that lost it (Mesos behaves the same).
			fw = fsm.Framework{ID: info.ID.Value, RegisteredAt: now}
		}
		fw.ReregisteredAt = now
	} else {
		m.mu.Lock()
		seq := m.frameworkSeq
		m.frameworkSeq++
		m.mu.Unlock()
		fw = fsm.Framework{ID: frameworkID(m.clusterID, seq), RegisteredAt: now}
		req.New, req.Seq = true, seq
		isNew = true
		info.ID = &mesos.FrameworkID{Value: fw.ID}
	}
	fw.Info = info
	fw.Connected = true
	fw.FailoverDeadline = 0
	fw.DisconnectedAt = 0
	fw.SuppressedRoles = call.Subscribe.SuppressedRoles
	fw.OfferConstraints = call.Subscribe.OfferConstraints
	req.Framework = fw
	if _, err := m.apply(fsm.FrameworkRegisterRequestType, req); err != nil {
		switch {
		case errors.Is(err, fsm.ErrFrameworkRemoved):
			fail("Framework has been removed")
		case transient(err):
			writeError(w, httpErrorf(http.StatusServiceUnavailable, "failed to register framework: %v; retry", err))
		default:
			fail("failed to register framework: " + err.Error())
		}
		return
	}
	releaseOnce()
	start()

	fc := newFrameworkConn(fw.ID, streamID)
	m.mu.Lock()
	old := m.frameworks[fw.ID]
	m.frameworks[fw.ID] = fc
	if t := m.failoverTimers[fw.ID]; t != nil {
		t.Stop()
		delete(m.failoverTimers, fw.ID)
	}
	m.mu.Unlock()
	if old != nil {
		// One stream per framework: the old one learns it was replaced and
		// its offers are discarded without RESCIND.
		old.close(&scheduler.Event{Type: scheduler.EventError, Error: &scheduler.Error{Message: "Framework failed over"}})
		m.discardOffers(fw.ID, false)
	}
	m.logger.Info("framework subscribed", "framework_id", fw.ID, "name", info.Name, "resubscribe", !isNew,
		"took", time.Since(began).Round(time.Microsecond))

	// The allocator knows the framework before the framework reads its
	// SUBSCRIBED: a SUPPRESS or REVIVE sent at once goes to the allocator
	// as it comes, and one that came first was undone by the framework's
	// addition here (its offers were suppressed in the state and not in
	// the allocator). What the allocator offers meanwhile waits in the
	// stream's outbox, served after SUBSCRIBED.
	m.setOfferConstraints(fw.ID, constraints)
	m.alloc.AddFramework(fw.ID, info.AllRoles(), call.Subscribe.SuppressedRoles)
	m.alloc.SetGPUAware(fw.ID, info.HasCapability(mesos.CapabilityGPUResources))
	m.restoreFilters(fw.ID)
	m.alloc.ActivateFramework(fw.ID)

	writeEvent(rw, &scheduler.Event{Type: scheduler.EventSubscribed, Subscribed: &scheduler.Subscribed{
		FrameworkID:              &mesos.FrameworkID{Value: fw.ID},
		HeartbeatIntervalSeconds: m.s.cfg.HeartbeatInterval.Seconds(),
		MasterInfo:               &m.info,
	}})
	writeEvent(rw, &scheduler.Event{Type: scheduler.EventHeartbeat})
	if m.afterSubscribed != nil {
		m.afterSubscribed(fw.ID)
	}
	// Updates still waiting for an acknowledgement go out again at once
	// rather than at the agent's next retry (delivery is at least once).
	for _, t := range m.s.fsm.State().TasksByFramework(fw.ID) {
		if t.Completed || len(t.PendingAck) == 0 {
			continue // nothing awaits an acknowledgement (Status builds a copy: skip it)
		}
		if ts := t.Status(); ts != nil && bytes.Equal(ts.UUID, t.PendingAck) {
			fc.delivered.shouldSend(ts.UUID, false, time.Now())
			fc.send(&scheduler.Event{Type: scheduler.EventUpdate, Update: &scheduler.Update{Status: *ts}})
		}
	}
	m.resendOperationStatuses(fw.ID)
	m.alloc.Trigger()

	defer m.s.metrics.stream("framework")()
	serveStream(r.Context(), m.ctx, w, rw, fc.out, &scheduler.Event{Type: scheduler.EventHeartbeat}, m.s.cfg.HeartbeatInterval)
	// However the stream ended (the framework left, or the leader closed
	// it for not reading), the framework is now disconnected; when it was
	// replaced by a newer stream or removed this is a no-op.
	m.frameworkDisconnected(fc)
}

// frameworkDisconnected handles a stream that dropped: the framework is
// deactivated, its offers rescinded, and its failover timer started.
func (m *master) frameworkDisconnected(fc *frameworkConn) {
	m.mu.Lock()
	current := m.frameworks[fc.id] == fc
	if current {
		delete(m.frameworks, fc.id)
	}
	m.mu.Unlock()
	if !current || !m.leading() {
		return
	}
	m.alloc.DeactivateFramework(fc.id)
	m.discardOffers(fc.id, false)
	fw := m.s.fsm.State().Framework(fc.id)
	if fw == nil || fw.Removed {
		return
	}
	timeout := secondsToDuration(fw.Info.FailoverTimeoutSeconds())
	m.logger.Info("framework disconnected", "framework_id", fc.id, "failover_timeout", timeout)
	if timeout == 0 {
		m.removeFramework(fc.id, "Framework disconnected with a failover_timeout of 0")
		return
	}
	now := time.Now()
	deadline := now.Add(timeout)
	if _, err := m.apply(fsm.FrameworkDisconnectRequestType, &fsm.FrameworkDisconnectRequest{
		FrameworkID: fc.id, At: now.UnixNano(), Deadline: deadline.UnixNano(),
	}); err != nil {
		m.logger.Warn("failed to record framework disconnect", "framework_id", fc.id, "error", err)
		return
	}
	m.armFailoverTimer(fc.id, deadline)
}

// armFailoverTimer removes the framework at deadline unless it resubscribes.
func (m *master) armFailoverTimer(fid string, deadline time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if t := m.failoverTimers[fid]; t != nil {
		t.Stop()
	}
	m.failoverTimers[fid] = time.AfterFunc(time.Until(deadline), func() {
		m.mu.Lock()
		connected := m.frameworks[fid] != nil
		delete(m.failoverTimers, fid)
		m.mu.Unlock()
		if connected || !m.leading() {
			return
		}
		m.logger.Info("framework failover timeout expired", "framework_id", fid)
		m.removeFramework(fid, "Framework failover timeout expired")
	})
}

// removeFramework removes a framework for good (TEARDOWN or failover
// expiry): its stream closes, its offers and tasks' resources return to
// the pool and every agent is told to shut it down.
func (m *master) removeFramework(fid, reason string) {
	m.mu.Lock()
	fc := m.frameworks[fid]
	delete(m.frameworks, fid)
	if t := m.failoverTimers[fid]; t != nil {
		t.Stop()
		delete(m.failoverTimers, fid)
	}
	m.mu.Unlock()
	if fc != nil {
		fc.close(nil)
	}
	res, err := m.apply(fsm.FrameworkRemoveRequestType, &fsm.FrameworkRemoveRequest{
		FrameworkID: fid, At: time.Now().UnixNano(), Message: reason,
	})
	if err != nil {
		m.logger.Warn("failed to remove framework", "framework_id", fid, "error", err)
		return
	}
	removed := res.(*fsm.FrameworkRemoveResult)
	agents := map[string]bool{}
	for _, o := range removed.Offers {
		m.alloc.Recover(fid, o.AgentID, o.Resources, 0)
	}
	for i := range removed.Tasks {
		t := &removed.Tasks[i]
		m.alloc.Recover(fid, t.AgentID, t.Info.Resources, 0)
		agents[t.AgentID] = true
	}
	m.recoverExecutors(removed.Executors)
	m.alloc.RemoveFramework(fid)
	m.mu.Lock()
	for aid := range m.agents {
		agents[aid] = true
	}
	m.mu.Unlock()
	for aid := range agents {
		m.sendToAgent(aid, &agentapi.Event{Type: agentapi.EventShutdownFramework,
			ShutdownFramework: &agentapi.ShutdownFramework{FrameworkID: mesos.FrameworkID{Value: fid}}})
	}
	m.logger.Info("framework removed", "framework_id", fid, "reason", reason, "tasks_killed", len(removed.Tasks))
}
