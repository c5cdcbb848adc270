package agent

import (
	"time"

	"mesh/executor"
	"mesh/mesos"
	"mesh/mesos/agentapi"
	execapi "mesh/mesos/executor"
)

// Framework messages (both ways) go through the agent best effort, as in
// Mesos: they are not checkpointed, and one that cannot be delivered is
// dropped with a warning. The exits of executors are sent until the
// leader answers (executor_exits.go).

// relayTimeout bounds one best-effort call to the leader.
const relayTimeout = 10 * time.Second

// frameworkMessage hands a framework's message to its executor, if that
// executor is running and subscribed.
func (a *Agent) frameworkMessage(msg *agentapi.Message) {
	fid, eid := msg.FrameworkID.Value, msg.ExecutorID.Value
	run, _ := a.lookupRun(fid, eid)
	if run == nil {
		a.metrics.droppedMessages.Inc()
		a.log.Warn("dropping a framework message for an executor the agent does not run", "framework_id", fid, "executor_id", eid)
		return
	}
	if !run.deliverMessage(msg.Data) {
		a.metrics.droppedMessages.Inc()
		run.log.Warn("dropping a framework message: the executor is not running or not subscribed")
	}
}

// deliverMessage sends data to the executor as a MESSAGE event; false
// when the executor is not subscribed and running.
func (r *runner) deliverMessage(data mesos.Bytes) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.state != runRunning || r.stream == nil {
		return false
	}
	return r.stream.send(execapi.Event{Type: execapi.EventMessage, Message: &execapi.Message{Data: data}})
}

// relayExecutorMessage sends an executor's message to the leader, for its
// framework, in the background.
func (a *Agent) relayExecutorMessage(r *runner, data mesos.Bytes) {
	a.postBestEffort(r, &agentapi.Call{Type: agentapi.CallMessage, Message: &agentapi.Message{
		FrameworkID: mesos.FrameworkID{Value: r.fwID}, ExecutorID: mesos.ExecutorID{Value: r.id}, Data: data}})
}

// waitStatus encodes how an executor ended as waitpid does (what Mesos
// puts in ExitedExecutorMessage.status): the exit code shifted left by
// 8, or the signal's number; -1 when unknown.
func waitStatus(st executor.ExitStatus) int32 {
	switch {
	case st.Unknown:
		return -1
	case st.Signal != 0:
		return int32(st.Signal & 0x7f)
	case st.Code < 0:
		return -1
	}
	return int32(st.Code&0xff) << 8
}

// postBestEffort posts call to the leader once, in the background; a
// failure is logged and the call dropped.
func (a *Agent) postBestEffort(r *runner, call *agentapi.Call) {
	if a.stopping.Load() {
		return
	}
	a.goNamed("relay_"+call.Type, func() {
		if err := a.postToLeader(call); err != nil {
			a.metrics.droppedMessages.Inc()
			r.log.Warn("dropping a call for the leader", "call", call.Type, "error", err)
		}
	})
}
