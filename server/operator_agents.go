package server

import (
	"fmt"
	"net/http"
	"time"

	"mesh/fsm"
	"mesh/mesos"
	"mesh/mesos/agentapi"
	"mesh/mesos/scheduler"
)

// markAgentGone carries out MARK_AGENT_GONE: the operator asserts that an
// agent is never coming back. Its offers are rescinded, its live tasks
// become TASK_GONE_BY_OPERATOR (TASK_LOST for frameworks that are not
// partition-aware) in the replicated state, and it may never register
// again. If it is still connected, it is told to shut every framework's
// executors down and its stream ends. Marking a gone agent again is a
// no-op; an unknown agent is a 404.
func (m *master) markAgentGone(aid string) error {
	a := m.s.fsm.State().Agent(aid)
	if a == nil {
		return httpErrorf(http.StatusNotFound, "Agent '%s' not found", aid)
	}
	if a.State == fsm.AgentGone {
		return nil
	}
	m.removeOffers(m.s.fsm.State().OffersByAgent(aid), true, 0)
	res, err := m.apply(fsm.AgentStateRequestType, &fsm.AgentStateRequest{
		AgentID: aid, State: fsm.AgentGone, At: time.Now().UnixNano(),
		TaskState: mesos.TaskLost, PartitionAwareState: mesos.TaskGoneByOperator,
		Reason: mesos.ReasonAgentRemovedByOperator, Message: "Agent has been marked gone by the operator",
	})
	if err != nil {
		if transient(err) {
			return httpErrorf(http.StatusServiceUnavailable, "agent %s was not marked gone (%v); retry", aid, err)
		}
		return httpErrorf(http.StatusConflict, "agent %s: %v", aid, err)
	}
	tasks := res.(*fsm.AgentStateResult).Tasks
	m.logger.Warn("agent marked gone by the operator", "agent_id", aid, "tasks_gone", len(tasks))
	fids := map[string]bool{}
	for _, t := range tasks {
		fids[t.FrameworkID] = true
		m.sendToFramework(t.FrameworkID, &scheduler.Event{Type: scheduler.EventUpdate, Update: &scheduler.Update{Status: *t.Status()}})
	}
	m.alloc.RemoveAgent(aid)
	m.kills.forget(aid)
	m.mu.Lock()
	if t := m.agentTimers[aid]; t != nil {
		t.Stop()
		delete(m.agentTimers, aid)
	}
	delete(m.reregistering, aid)
	ac := m.agents[aid]
	m.mu.Unlock()
	if ac != nil {
		// In order, after the shutdowns: the ERROR ends the agent's stream,
		// and its next registration is refused.
		for fid := range fids {
			ac.send(&agentapi.Event{Type: agentapi.EventShutdownFramework, Term: m.term,
				ShutdownFramework: &agentapi.ShutdownFramework{FrameworkID: mesos.FrameworkID{Value: fid}}})
		}
		ac.send(&agentapi.Event{Type: agentapi.EventError, Term: m.term,
			Error: &agentapi.Error{Message: fmt.Sprintf("agent %s has been marked gone by the operator", aid)}})
	}
	return nil
}
