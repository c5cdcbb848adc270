package server

import (
	"net/http"
	"strings"

	"mesh/fsm"
	"mesh/mesos"
	"mesh/mesos/agentapi"
	"mesh/mesos/scheduler"
)

// Framework messages travel between frameworks and their executors
// through the leader and the executor's agent. As in Mesos they are best
// effort and not state: nothing is written to the log, and one that
// cannot be delivered (the agent or the framework is not connected, the
// executor is not running) is dropped with a warning. An executor's exit
// is state: it removes the executor's record, and the agent sends it
// until the leader answers.

// message answers MESSAGE: the framework's message goes to the agent of
// its executor, which hands it to the executor.
func (m *master) message(fid string, msg *scheduler.Message) {
	aid, eid := idValue(msg.AgentID), ""
	if msg.ExecutorID != nil {
		eid = msg.ExecutorID.Value
	}
	ev := &agentapi.Event{Type: agentapi.EventMessage, Term: m.term, Message: &agentapi.Message{
		FrameworkID: mesos.FrameworkID{Value: fid}, ExecutorID: mesos.ExecutorID{Value: eid}, Data: msg.Data}}
	if !m.sendToAgent(aid, ev) {
		m.s.metrics.droppedMessages.WithLabelValues("framework_to_executor").Inc()
		m.logger.Warn("cannot send a framework message: the agent is not registered or is disconnected",
			"framework_id", fid, "agent_id", aid, "executor_id", eid)
	}
}

// executorMessage relays an executor's message, which its agent sent, to
// the executor's framework.
func (m *master) executorMessage(aid string, msg *agentapi.Message) error {
	if err := m.agentSubscribed(aid); err != nil {
		return err
	}
	fid := msg.FrameworkID.Value
	ev := &scheduler.Event{Type: scheduler.EventMessage, Message: &scheduler.Message{
		AgentID: &mesos.AgentID{Value: aid}, ExecutorID: &mesos.ExecutorID{Value: msg.ExecutorID.Value}, Data: msg.Data}}
	if !m.sendToFramework(fid, ev) {
		m.s.metrics.droppedMessages.WithLabelValues("executor_to_framework").Inc()
		m.logger.Warn("cannot send an executor's message: the framework is not connected",
			"framework_id", fid, "agent_id", aid, "executor_id", msg.ExecutorID.Value)
	}
	return nil
}

// executorExited removes the record of an executor that ended, which
// frees its resources, and tells its framework with a FAILURE event. The
// executor's unfinished tasks end by their own status updates. An exit
// the agent sends again, or of an executor the state does not record,
// changes nothing and tells nobody, so the framework hears of it once.
func (m *master) executorExited(aid string, ee *agentapi.ExecutorExited) error {
	if err := m.agentSubscribed(aid); err != nil {
		return err
	}
	fid, eid := ee.FrameworkID.Value, ee.ExecutorID.Value
	if m.s.fsm.State().Executor(aid, fid, eid) == nil {
		m.logger.Debug("ignoring the exit of an executor the state does not record", "framework_id", fid, "agent_id", aid, "executor_id", eid)
		return nil
	}
	res, err := m.apply(fsm.ExecutorRemoveRequestType, &fsm.ExecutorRemoveRequest{Executors: []fsm.ExecutorRef{
		{AgentID: aid, FrameworkID: fid, ExecutorID: eid}}})
	if err != nil {
		return err
	}
	removed := res.(*fsm.ExecutorRemoveResult).Removed
	if len(removed) == 0 {
		return nil
	}
	m.recoverExecutors(removed)
	m.alloc.Trigger()
	m.logger.Info("executor exited", "framework_id", fid, "agent_id", aid, "executor_id", eid, "status", ee.Status)
	status := ee.Status
	if !m.sendToFramework(fid, &scheduler.Event{Type: scheduler.EventFailure, Failure: &scheduler.Failure{
		AgentID: &mesos.AgentID{Value: aid}, ExecutorID: &mesos.ExecutorID{Value: eid}, Status: &status}}) {
		m.logger.Warn("cannot tell the framework its executor exited: the framework is not connected",
			"framework_id", fid, "agent_id", aid, "executor_id", eid)
	}
	return nil
}

// agentSubscribed is nil when agent aid is subscribed to this leader,
// else the 403 its calls get.
func (m *master) agentSubscribed(aid string) error {
	m.mu.Lock()
	_, known := m.agents[aid]
	m.mu.Unlock()
	if !known {
		return httpErrorf(http.StatusForbidden, "agent %s is not subscribed to this leader", aid)
	}
	return nil
}

// agentExecutorCall serves an agent's EXECUTOR_EXITED and MESSAGE calls:
// 200 once handed on (or dropped), 400 when the call is incomplete, 403
// when the agent is not subscribed to this leader.
func (m *master) agentExecutorCall(w http.ResponseWriter, call *agentapi.Call) error {
	aid := idValue(call.AgentID)
	var err error
	switch {
	case aid == "":
		err = httpErrorf(http.StatusBadRequest, "expecting 'agent_id' to be present")
	case call.Type == agentapi.CallExecutorExited && call.ExecutorExited != nil &&
		(call.ExecutorExited.FrameworkID.Value == "" || call.ExecutorExited.ExecutorID.Value == ""):
		err = httpErrorf(http.StatusBadRequest, "expecting 'executor_exited.framework_id' and 'executor_exited.executor_id' to be present")
	case call.Type == agentapi.CallExecutorExited && call.ExecutorExited != nil:
		err = m.executorExited(aid, call.ExecutorExited)
	case call.Type == agentapi.CallMessage && call.Message != nil:
		err = m.executorMessage(aid, call.Message)
	default:
		err = httpErrorf(http.StatusBadRequest, "expecting '%s' to be present", strings.ToLower(call.Type))
	}
	if err == nil {
		w.WriteHeader(http.StatusOK)
	}
	return err
}
