package server

import (
	"errors"
	"fmt"
	"net/http"
	"slices"

	"mesh/fsm"
	"mesh/mesos"
	"mesh/mesos/scheduler"
)

// This file answers the scheduler calls that touch what mesh does not
// run itself (offer operations, framework messages, resource requests)
// the way the Mesos master answers them, and UPDATE_FRAMEWORK.

// updateFramework changes a subscribed framework's FrameworkInfo and
// suppressed roles as Mesos' UPDATE_FRAMEWORK does: the new info must be
// valid and keep principal, user and checkpoint; offers made to roles the
// framework leaves are rescinded. A nil error is Mesos' 200 OK.
func (m *master) updateFramework(fw *fsm.Framework, u *scheduler.Subscribe) error {
	info := *u.FrameworkInfo
	if err := validateFrameworkInfo(&info, u.SuppressedRoles); err != nil {
		return httpErrorf(http.StatusBadRequest, "Supplied FrameworkInfo is not valid: %v", err)
	}
	if err := validateFrameworkUpdate(&fw.Info, &info); err != nil {
		return httpErrorf(http.StatusBadRequest, "FrameworkInfo update is not valid: %v", err)
	}
	constraints, err := compileOfferConstraints(info.AllRoles(), u.OfferConstraints)
	if err != nil {
		return httpErrorf(http.StatusBadRequest, "'UpdateFramework' call is not valid: %v", err)
	}
	next := *fw
	next.Info = info
	next.SuppressedRoles = u.SuppressedRoles
	next.OfferConstraints = u.OfferConstraints
	if _, err := m.apply(fsm.FrameworkRegisterRequestType, &fsm.FrameworkRegisterRequest{Framework: next}); err != nil {
		if errors.Is(err, fsm.ErrFrameworkRemoved) {
			return httpErrorf(http.StatusBadRequest, "Framework cannot be found")
		}
		return httpErrorf(http.StatusServiceUnavailable, "failed to update framework: %v; retry", err)
	}
	// The allocator learns the roles before the offers of roles left are
	// taken back: what they give back is then offered for the new roles
	// only. The offers are listed and taken back between rounds
	// (roundMu): a round's offers committed before are among them, and a
	// round after reads the new roles and offers none of the old
	// (offerRound).
	roles := info.AllRoles()
	m.setOfferConstraints(fw.ID, constraints)
	m.alloc.AddFramework(fw.ID, roles, u.SuppressedRoles)
	m.alloc.SetGPUAware(fw.ID, info.HasCapability(mesos.CapabilityGPUResources))
	m.roundMu.Lock()
	var gone []*fsm.Offer
	for _, o := range m.s.fsm.State().OffersByFramework(fw.ID) {
		if !slices.Contains(roles, o.Role) {
			gone = append(gone, o)
		}
	}
	m.removeOffers(gone, true, 0)
	m.roundMu.Unlock()
	m.logger.Info("framework updated", "framework_id", fw.ID, "roles", roles, "suppressed_roles", u.SuppressedRoles)
	return nil
}

// validateFrameworkUpdate lists what UPDATE_FRAMEWORK may not change.
func validateFrameworkUpdate(old, next *mesos.FrameworkInfo) error {
	if old.Principal != next.Principal {
		return errors.New("Changing framework's principal is not allowed.")
	}
	if old.User != next.User {
		return fmt.Errorf("Updating 'FrameworkInfo.user' is unsupported; attempted to update from '%s' to '%s'", old.User, next.User)
	}
	oc, nc := old.Checkpoint != nil && *old.Checkpoint, next.Checkpoint != nil && *next.Checkpoint
	if oc != nc {
		return fmt.Errorf("Updating 'FrameworkInfo.checkpoint' is unsupported; attempted to update from '%t' to '%t'", oc, nc)
	}
	return nil
}

// reconcileOperations answers RECONCILE_OPERATIONS from the replicated
// state: an operation it records (one with an id whose status is not
// acknowledged yet) gets its status again, without a uuid; for any other,
// as the Mesos master does for an operation it does not know, one
// UPDATE_OPERATION_STATUS says what is known of its agent. Implicit
// reconciliation (no operations listed) sends every recorded one.
func (m *master) reconcileOperations(fw *fsm.Framework, rec *scheduler.ReconcileOperations) {
	if rec == nil {
		return
	}
	st := m.s.fsm.State()
	if len(rec.Operations) == 0 {
		for _, op := range st.OperationsByFramework(fw.ID) {
			m.sendToFramework(fw.ID, &scheduler.Event{Type: scheduler.EventUpdateOperationStatus,
				UpdateOperationStatus: &scheduler.UpdateOperationStatus{Status: *recordedOperationStatus(st, fw.ID, op.OperationID)}})
		}
		return
	}
	m.mu.Lock()
	reregistering := make(map[string]bool, len(m.reregistering))
	for aid := range m.reregistering {
		reregistering[aid] = true
	}
	m.mu.Unlock()
	for _, op := range rec.Operations {
		if op.OperationID != nil {
			if s := recordedOperationStatus(st, fw.ID, op.OperationID.Value); s != nil {
				m.sendToFramework(fw.ID, &scheduler.Event{Type: scheduler.EventUpdateOperationStatus,
					UpdateOperationStatus: &scheduler.UpdateOperationStatus{Status: *s}})
				continue
			}
		}
		s := mesos.OperationStatus{OperationID: op.OperationID, AgentID: op.AgentID, ResourceProviderID: op.ResourceProviderID}
		if op.AgentID == nil || op.AgentID.Value == "" {
			s.State, s.Message = mesos.OperationUnknown, "Reconciliation: Operation is unknown and no 'agent_id' was provided"
		} else {
			aid := op.AgentID.Value
			a := st.Agent(aid)
			switch {
			case reregistering[aid]:
				s.State, s.Message = mesos.OperationRecovering, "Reconciliation: Agent is recovered but has not re-registered"
			case a == nil:
				s.State, s.Message = mesos.OperationUnknown, "Reconciliation: Both operation and agent are unknown"
			case a.State == fsm.AgentUnreachable:
				s.State, s.Message = mesos.OperationUnreachable, "Reconciliation: Agent is unreachable"
			case a.State == fsm.AgentGone:
				s.State, s.Message = mesos.OperationGoneByOperator, "Reconciliation: Agent marked gone by operator"
			default:
				s.State, s.Message = mesos.OperationUnknown, "Reconciliation: Operation is unknown"
			}
		}
		m.sendToFramework(fw.ID, &scheduler.Event{Type: scheduler.EventUpdateOperationStatus,
			UpdateOperationStatus: &scheduler.UpdateOperationStatus{Status: s}})
	}
}

// acknowledgeOperationStatus answers ACKNOWLEDGE_OPERATION_STATUS: the
// acknowledged operation is forgotten by the replicated state. An
// acknowledgement of an operation the state does not record (or with
// another uuid) is logged and dropped, as the Mesos master does; the call
// itself is accepted.
func (m *master) acknowledgeOperationStatus(fid string, a *scheduler.AcknowledgeOperationStatus) {
	if a.OperationID != nil && m.s.fsm.State().Operation(fid, a.OperationID.Value) != nil {
		res, err := m.apply(fsm.OperationAckRequestType, &fsm.OperationAckRequest{Acks: []fsm.OperationAck{
			{FrameworkID: fid, OperationID: a.OperationID.Value, UUID: a.UUID}}})
		if err != nil {
			m.logger.Warn("failed to record an operation status acknowledgement", "framework_id", fid, "error", err)
			return
		}
		if matched, _ := res.([]bool); len(matched) == 1 && matched[0] {
			return
		}
	}
	id := ""
	if a.OperationID != nil {
		id = a.OperationID.Value
	}
	m.logger.Warn("dropping an operation status acknowledgement: the operation is unknown",
		"framework_id", fid, "operation_id", id, "agent_id", idValue(a.AgentID))
}

func idValue(id *mesos.AgentID) string {
	if id == nil {
		return ""
	}
	return id.Value
}
