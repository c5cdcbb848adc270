package client

import (
	"mesh/mesos"
	"mesh/mesos/scheduler"
)

// The builders below make the common calls. They leave framework_id unset;
// Client.Call fills it in from the subscription.

// SubscribeCall builds a SUBSCRIBE for info. When info carries an id (a
// resubscription) it is also set as the top-level framework_id, as the
// server requires both to match.
func SubscribeCall(info *mesos.FrameworkInfo) *scheduler.Call {
	call := &scheduler.Call{
		Type:      scheduler.CallSubscribe,
		Subscribe: &scheduler.Subscribe{FrameworkInfo: info},
	}
	if info != nil && info.ID != nil && info.ID.Value != "" {
		id := *info.ID
		call.FrameworkID = &id
	}
	return call
}

// Filters returns filters that refuse declined resources for seconds.
func Filters(seconds float64) *mesos.Filters {
	return &mesos.Filters{RefuseSeconds: &seconds}
}

// LaunchOp builds a LAUNCH operation for tasks.
func LaunchOp(tasks ...mesos.TaskInfo) mesos.OfferOperation {
	op := mesos.OfferOperation{Type: mesos.OperationLaunch}
	op.Launch = &struct {
		TaskInfos []mesos.TaskInfo `json:"task_infos,omitempty"`
	}{TaskInfos: tasks}
	return op
}

// AcceptCall builds an ACCEPT of offers with ops; filters may be nil.
func AcceptCall(offers []mesos.OfferID, ops []mesos.OfferOperation, filters *mesos.Filters) *scheduler.Call {
	return &scheduler.Call{
		Type:   scheduler.CallAccept,
		Accept: &scheduler.Accept{OfferIDs: offers, Operations: ops, Filters: filters},
	}
}

// DeclineCall builds a DECLINE of offers; filters may be nil.
func DeclineCall(filters *mesos.Filters, offers ...mesos.OfferID) *scheduler.Call {
	return &scheduler.Call{
		Type:    scheduler.CallDecline,
		Decline: &scheduler.Decline{OfferIDs: offers, Filters: filters},
	}
}

// AcknowledgeCall builds the ACKNOWLEDGE of status, or returns nil when the
// status carries no uuid: such updates come from the server itself and
// must not be acknowledged.
func AcknowledgeCall(status *mesos.TaskStatus) *scheduler.Call {
	if len(status.UUID) == 0 {
		return nil
	}
	task := status.TaskID
	ack := &scheduler.Acknowledge{TaskID: &task, UUID: append(mesos.Bytes(nil), status.UUID...)}
	if status.AgentID != nil {
		agent := *status.AgentID
		ack.AgentID = &agent
	}
	return &scheduler.Call{Type: scheduler.CallAcknowledge, Acknowledge: ack}
}

// KillCall builds a KILL of task; agent may be "".
func KillCall(task, agent string) *scheduler.Call {
	k := &scheduler.Kill{TaskID: &mesos.TaskID{Value: task}}
	if agent != "" {
		k.AgentID = &mesos.AgentID{Value: agent}
	}
	return &scheduler.Call{Type: scheduler.CallKill, Kill: k}
}

// ReconcileCall builds a RECONCILE of tasks; none means every task the
// server knows of (implicit reconciliation).
func ReconcileCall(tasks ...scheduler.ReconcileTask) *scheduler.Call {
	return &scheduler.Call{Type: scheduler.CallReconcile, Reconcile: &scheduler.Reconcile{Tasks: tasks}}
}

// ReviveCall builds a REVIVE of roles; none means every role.
func ReviveCall(roles ...string) *scheduler.Call {
	return &scheduler.Call{Type: scheduler.CallRevive, Revive: &scheduler.Revive{Roles: roles}}
}

// SuppressCall builds a SUPPRESS of roles; none means every role.
func SuppressCall(roles ...string) *scheduler.Call {
	return &scheduler.Call{Type: scheduler.CallSuppress, Suppress: &scheduler.Suppress{Roles: roles}}
}

// TeardownCall builds a TEARDOWN: the server kills every task and forgets
// the framework.
func TeardownCall() *scheduler.Call {
	return &scheduler.Call{Type: scheduler.CallTeardown}
}
