package server

import (
	"errors"
	"net/http"

	"mesh/fsm"
	"mesh/mesos"
	"mesh/mesos/agentapi"
	mapi "mesh/mesos/master"
)

// Agent deactivation and draining (Mesos 1.9's DEACTIVATE_AGENT,
// REACTIVATE_AGENT and DRAIN_AGENT). Both live in the replicated state
// (fsm.Agent's Deactivated and Drain), so a new leader keeps the agent out
// of its offers and, when the agent re-registers, sends the kills of the
// tasks still live there again. A draining agent is DRAINED once every
// task on it is terminal and its terminal update acknowledged; the leader
// checks that whenever an update or an acknowledgement from or for that
// agent is committed, and when the agent registers.

// deactivateAgent carries out DEACTIVATE_AGENT: the agent's resources are
// offered to no framework and its outstanding offers are rescinded; its
// tasks run on.
func (m *master) deactivateAgent(aid string) error {
	if err := m.applyAgentDrain(&fsm.AgentDrainRequest{AgentID: aid, Op: fsm.AgentDeactivate}); err != nil {
		return err
	}
	m.stopOffering(aid)
	m.logger.Info("agent deactivated by the operator", "agent_id", aid)
	return nil
}

// reactivateAgent carries out REACTIVATE_AGENT on a deactivated or
// drained agent: its resources are offered again.
func (m *master) reactivateAgent(aid string) error {
	if err := m.applyAgentDrain(&fsm.AgentDrainRequest{AgentID: aid, Op: fsm.AgentReactivate}); err != nil {
		return err
	}
	m.alloc.SetAgentActive(aid, true)
	m.logger.Info("agent reactivated by the operator", "agent_id", aid)
	return nil
}

// drainAgent carries out DRAIN_AGENT: the agent is deactivated and every
// live task on it is killed, with its kill policy's grace period capped by
// max_grace_period. Draining an agent again replaces its drain config.
func (m *master) drainAgent(d *mapi.DrainAgent) error {
	aid := d.AgentID.Value
	req := &fsm.AgentDrainRequest{AgentID: aid, Op: fsm.AgentDrain, MarkGone: d.MarkGone}
	if d.MaxGracePeriod != nil {
		g := int64(d.MaxGracePeriod.Duration())
		if g < 0 {
			return httpErrorf(http.StatusBadRequest, "max_grace_period %s is negative", d.MaxGracePeriod.Duration())
		}
		req.MaxGracePeriod = &g
	}
	if err := m.applyAgentDrain(req); err != nil {
		return err
	}
	m.stopOffering(aid)
	m.logger.Info("agent draining", "agent_id", aid, "mark_gone", d.MarkGone)
	m.killDrainingTasks(aid)
	m.checkDrained(aid)
	return nil
}

// applyAgentDrain commits one drain command; a refusal is a 400 that
// says why, as Mesos answers.
func (m *master) applyAgentDrain(req *fsm.AgentDrainRequest) error {
	_, err := m.apply(fsm.AgentDrainRequestType, req)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, fsm.ErrUnknownAgent):
		return httpErrorf(http.StatusBadRequest, "Unknown agent %q", req.AgentID)
	case errors.Is(err, fsm.ErrAgentGone):
		return httpErrorf(http.StatusBadRequest, "Agent %q is gone", req.AgentID)
	case errors.Is(err, fsm.ErrAgentDraining), errors.Is(err, fsm.ErrAgentNotDeactivated):
		return httpErrorf(http.StatusBadRequest, "Agent %q: %v", req.AgentID, err)
	case transient(err):
		return httpErrorf(http.StatusServiceUnavailable, "agent %s: %v; retry", req.AgentID, err)
	}
	return httpErrorf(http.StatusConflict, "agent %s: %v", req.AgentID, err)
}

// stopOffering keeps an agent out of the allocator's passes and rescinds
// what was offered of it.
func (m *master) stopOffering(aid string) {
	m.alloc.SetAgentActive(aid, false)
	m.removeOffers(m.s.fsm.State().OffersByAgent(aid), true, 0)
}

// killDrainingTasks asks a draining agent to kill every task still live
// on it. A disconnected agent gets the kills when it registers again.
func (m *master) killDrainingTasks(aid string) {
	st := m.s.fsm.State()
	if !draining(st, aid) {
		return
	}
	a := st.Agent(aid)
	for _, t := range st.TasksByAgent(aid) {
		if t.Completed || t.State.IsTerminal() {
			continue
		}
		if !m.sendToAgent(aid, &agentapi.Event{Type: agentapi.EventKill, Kill: &agentapi.Kill{
			FrameworkID: mesos.FrameworkID{Value: t.FrameworkID}, TaskID: t.Info.TaskID,
			KillPolicy: drainKillPolicy(t.Info.KillPolicy, a.Drain.MaxGracePeriod),
		}}) {
			m.logger.Info("draining agent is disconnected: its tasks are killed when it comes back", "agent_id", aid)
			return
		}
	}
}

// drainKillPolicy is a task's kill policy with its grace period capped by
// max (nil: no cap). A task without a grace period of its own gets max,
// which caps the executor's default as Mesos does.
func drainKillPolicy(p *mesos.KillPolicy, max *int64) *mesos.KillPolicy {
	if max == nil || (p != nil && p.GracePeriod != nil && p.GracePeriod.Nanoseconds <= *max) {
		return p
	}
	c := mesos.KillPolicy{}
	if p != nil {
		c = *p
	}
	c.GracePeriod = &mesos.DurationInfo{Nanoseconds: *max}
	return &c
}

// checkDrained records a draining agent DRAINED once nothing is left on
// it, and marks it gone if the drain asked for that. It runs after every
// committed batch of updates or acknowledgements, so an agent that is not
// draining costs one read and no lock; drainMu serializes the rest so
// that a drain is completed, and its agent marked gone, once.
func (m *master) checkDrained(aid string) {
	if !draining(m.s.fsm.State(), aid) {
		return
	}
	m.drainMu.Lock()
	defer m.drainMu.Unlock()
	st := m.s.fsm.State()
	a := st.Agent(aid)
	if !draining(st, aid) || !st.Drained(aid) {
		return
	}
	if _, err := m.apply(fsm.AgentDrainRequestType, &fsm.AgentDrainRequest{AgentID: aid, Op: fsm.AgentDrained}); err != nil {
		m.logger.Warn("failed to record agent drained", "agent_id", aid, "error", err)
		return
	}
	m.logger.Info("agent drained", "agent_id", aid, "mark_gone", a.Drain.MarkGone)
	if a.Drain.MarkGone {
		if err := m.markAgentGone(aid); err != nil {
			m.logger.Warn("failed to mark drained agent gone", "agent_id", aid, "error", err)
		}
	}
	m.cutOffIfDown(aid)
}

// goneByOperator rewrites the terminal updates of an agent whose drain
// marks it gone as Mesos' agent does: TASK_GONE_BY_OPERATOR, which a
// framework that is not partition-aware gets as TASK_LOST. The rewrite
// depends only on the state and the update, so an update the agent sends
// again is rewritten alike and recognized as recorded.
func goneByOperator(st *fsm.State, aid string, updates []fsm.StatusUpdate) {
	if !draining(st, aid) || !st.Agent(aid).Drain.MarkGone {
		return
	}
	for i := range updates {
		u := &updates[i]
		if !u.Status.State.IsTerminal() {
			continue
		}
		u.Status.State = mesos.TaskLost
		if fw := st.Framework(u.FrameworkID); fw != nil && fw.Info.HasCapability(mesos.CapabilityPartitionAware) {
			u.Status.State = mesos.TaskGoneByOperator
		}
	}
}

// draining reports whether the agent is DRAINING.
func draining(st *fsm.State, aid string) bool {
	a := st.Agent(aid)
	return a != nil && a.Drain != nil && a.Drain.State == fsm.DrainDraining
}

// v1DrainInfo renders an agent's drain for GET_AGENTS.
func v1DrainInfo(d *fsm.DrainInfo) *mapi.DrainInfo {
	if d == nil {
		return nil
	}
	out := &mapi.DrainInfo{State: d.State, Config: mapi.DrainConfig{MarkGone: d.MarkGone}}
	if d.MaxGracePeriod != nil {
		out.Config.MaxGracePeriod = &mesos.DurationInfo{Nanoseconds: *d.MaxGracePeriod}
	}
	return out
}
