package server

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"

	"mesh/fsm"
	"mesh/mesos"
	"mesh/mesos/agentapi"
	"mesh/mesos/scheduler"
)

// errNotAvailable: an operation's resources are not among those it may
// take (the offers' or the agent's free ones).
var errNotAvailable = errors.New("the resources are not available")

// opContext is what an offer operation is checked against, whether a
// framework asked for it in an ACCEPT or an operator through the operator
// API. The checks of each operation type live in one function (checkReserve,
// checkUnreserve, checkCreate, checkDestroy, checkResize) that both paths
// call, so that authorization can be wired in one place.
type opContext struct {
	st      *fsm.State
	agentID string
	// fw is the framework of an ACCEPT, nil for the operator API.
	fw *fsm.Framework
	// role is the role the ACCEPT's offers are allocated to ("" for the
	// operator API); operation resources without allocation_info take it.
	role string
	// principal is who asks: the framework's principal, or the
	// operator's ("" when unauthenticated).
	principal string
	// available is what the operation may take: what is left of the
	// offers (with allocation_info), or what is free on the agent.
	available mesos.Resources
}

// convert checks one operation and returns what it does to the agent's
// resources. An error says what was wrong, in the words the framework or
// operator will read.
func (c *opContext) convert(op *mesos.OfferOperation) (mesos.Conversion, error) {
	var conv mesos.Conversion
	var err error
	switch op.Type {
	case mesos.OperationReserve:
		if op.Reserve == nil {
			return conv, errors.New("RESERVE without 'reserve'")
		}
		conv, err = c.checkReserve(c.resources(op.Reserve.Resources))
	case mesos.OperationUnreserve:
		if op.Unreserve == nil {
			return conv, errors.New("UNRESERVE without 'unreserve'")
		}
		conv, err = c.checkUnreserve(c.resources(op.Unreserve.Resources))
	case mesos.OperationCreate:
		if op.Create == nil {
			return conv, errors.New("CREATE without 'create'")
		}
		conv, err = c.checkCreate(c.resources(op.Create.Volumes))
	case mesos.OperationDestroy:
		if op.Destroy == nil {
			return conv, errors.New("DESTROY without 'destroy'")
		}
		conv, err = c.checkDestroy(c.resources(op.Destroy.Volumes))
	case mesos.OperationGrowVolume, mesos.OperationShrinkVolume:
		conv, err = c.checkResize(op)
	default:
		return conv, fmt.Errorf("%s is not a reservation or volume operation", operationName(op.Type))
	}
	if err != nil {
		return conv, fmt.Errorf("Invalid %s operation: %w", op.Type, err)
	}
	if !c.available.Contains(conv.From) {
		return conv, fmt.Errorf("Invalid %s operation: %w: %s is not in %s", op.Type, errNotAvailable, conv.From, c.available)
	}
	return conv, nil
}

// resources upgrades resources from the format before reservation
// refinement and, in an ACCEPT, gives them the offers' allocation role.
func (c *opContext) resources(rs []mesos.Resource) mesos.Resources {
	out := mesos.UpgradeResources(rs)
	if c.fw != nil {
		return out.WithDefaultAllocation(c.role)
	}
	return out.Unallocate()
}

// checkRoles checks that a framework may act on resources reserved for
// role: one it is subscribed to, and the one the offers are allocated to.
func (c *opContext) checkRoles(rs mesos.Resources) error {
	for i := range rs {
		r := &rs[i]
		if err := rs[i : i+1].Validate(); err != nil {
			return err
		}
		role := r.ReservationRole()
		if role != "*" {
			if err := mesos.ValidateRole(role); err != nil {
				return err
			}
		}
		if c.fw == nil {
			continue // the operator may act for any role
		}
		if role != "*" && !slices.Contains(c.fw.Info.AllRoles(), role) {
			return fmt.Errorf("the resources are reserved for role '%s', to which the framework is not subscribed (its roles: %s)",
				role, strings.Join(c.fw.Info.AllRoles(), ", "))
		}
		if r.AllocationRole() != c.role {
			return fmt.Errorf("resource %s is allocated to role '%s' but the offers to role '%s'", rs[i:i+1], r.AllocationRole(), c.role)
		}
	}
	return nil
}

// checkReserve checks a RESERVE (ACCEPT) or RESERVE_RESOURCES (operator).
func (c *opContext) checkReserve(rs mesos.Resources) (mesos.Conversion, error) {
	if err := c.checkRoles(rs); err != nil {
		return mesos.Conversion{}, err
	}
	for i := range rs {
		r := &rs[i]
		n := len(r.Reservations)
		if n == 0 {
			continue // ReserveConversion says what is wrong
		}
		if p := r.Reservations[n-1].Principal; c.fw != nil && p != c.principal {
			return mesos.Conversion{}, fmt.Errorf("the reservation's principal '%s' is not the framework's principal '%s'", p, c.principal)
		}
		if c.fw != nil && n > 1 && !c.fw.Info.HasCapability(mesos.CapabilityReservationRefinement) {
			return mesos.Conversion{}, errors.New("refining a reservation needs the RESERVATION_REFINEMENT capability")
		}
		if c.fw != nil && r.ReservationRole() != c.role {
			return mesos.Conversion{}, fmt.Errorf("the reservation is for role '%s' but the offers are allocated to role '%s'", r.ReservationRole(), c.role)
		}
	}
	return mesos.ReserveConversion(rs)
}

// checkUnreserve checks an UNRESERVE or UNRESERVE_RESOURCES.
func (c *opContext) checkUnreserve(rs mesos.Resources) (mesos.Conversion, error) {
	if err := c.checkRoles(rs); err != nil {
		return mesos.Conversion{}, err
	}
	return mesos.UnreserveConversion(rs)
}

// checkCreate checks a CREATE or CREATE_VOLUMES.
func (c *opContext) checkCreate(rs mesos.Resources) (mesos.Conversion, error) {
	if err := c.checkRoles(rs); err != nil {
		return mesos.Conversion{}, err
	}
	conv, err := mesos.CreateConversion(rs)
	if err != nil {
		return conv, err
	}
	if a := c.st.Agent(c.agentID); a != nil {
		for _, v := range a.AgentTotal() {
			for _, r := range rs {
				if v.PersistenceID() != "" && v.PersistenceID() == r.PersistenceID() {
					return conv, fmt.Errorf("persistence id '%s' is already in use on agent %s", r.PersistenceID(), c.agentID)
				}
			}
		}
	}
	return conv, nil
}

// checkDestroy checks a DESTROY or DESTROY_VOLUMES.
func (c *opContext) checkDestroy(rs mesos.Resources) (mesos.Conversion, error) {
	if err := c.checkRoles(rs); err != nil {
		return mesos.Conversion{}, err
	}
	conv, err := mesos.DestroyConversion(rs)
	if err != nil {
		return conv, err
	}
	inUse := c.st.VolumesInUse(c.agentID)
	for _, r := range rs {
		if inUse[r.PersistenceID()] {
			return conv, fmt.Errorf("persistent volume '%s' is in use by a task on agent %s", r.PersistenceID(), c.agentID)
		}
	}
	return conv, nil
}

// checkResize checks a GROW_VOLUME or SHRINK_VOLUME.
func (c *opContext) checkResize(op *mesos.OfferOperation) (mesos.Conversion, error) {
	if op.Type == mesos.OperationGrowVolume {
		g := op.GrowVolume
		if g == nil || g.Volume == nil || g.Addition == nil {
			return mesos.Conversion{}, errors.New("GROW_VOLUME needs 'grow_volume' with a volume and an addition")
		}
		rs := c.resources([]mesos.Resource{*g.Volume, *g.Addition})
		if err := c.checkRoles(rs); err != nil {
			return mesos.Conversion{}, err
		}
		return mesos.GrowConversion(&rs[0], &rs[1])
	}
	s := op.ShrinkVolume
	if s == nil || s.Volume == nil {
		return mesos.Conversion{}, errors.New("SHRINK_VOLUME needs 'shrink_volume' with a volume and an amount to subtract")
	}
	rs := c.resources([]mesos.Resource{*s.Volume})
	if err := c.checkRoles(rs); err != nil {
		return mesos.Conversion{}, err
	}
	if c.st.VolumesInUse(c.agentID)[rs[0].PersistenceID()] {
		return mesos.Conversion{}, fmt.Errorf("persistent volume '%s' is in use by a task on agent %s", rs[0].PersistenceID(), c.agentID)
	}
	return mesos.ShrinkConversion(&rs[0], s.Subtract)
}

// isVolumeOperation reports whether t is one of the operations mesh
// applies to an agent's reservations and volumes.
func isVolumeOperation(t string) bool {
	switch t {
	case mesos.OperationReserve, mesos.OperationUnreserve, mesos.OperationCreate, mesos.OperationDestroy,
		mesos.OperationGrowVolume, mesos.OperationShrinkVolume:
		return true
	}
	return false
}

// appliedOperation records a checked operation; one with an id gets the
// uuid its OPERATION_FINISHED carries.
func appliedOperation(op *mesos.OfferOperation, conv mesos.Conversion) fsm.AppliedOperation {
	out := fsm.AppliedOperation{Type: op.Type, Conversion: conv}
	if op.ID != nil && op.ID.Value != "" {
		u := uuid.New()
		out.OperationID, out.UUID = op.ID.Value, mesos.Bytes(u[:])
	}
	return out
}

// operationsCommitted follows a committed entry of operations on an
// agent: the allocator converts the same resources, the agent hears of its
// new checkpointed resources, and each operation with an id gets its
// OPERATION_FINISHED. fid is "" for the operator API.
func (m *master) operationsCommitted(fid, agentID string, ops []fsm.AppliedOperation) {
	for _, op := range ops {
		if err := m.alloc.Convert(fid, agentID, op.Conversion.From, op.Conversion.To); err != nil {
			m.logger.Warn("allocator could not follow an operation", "agent_id", agentID, "type", op.Type, "error", err)
		}
	}
	m.sendCheckpointedResources(agentID)
	for _, op := range ops {
		if op.OperationID == "" || fid == "" {
			continue
		}
		m.sendOperationStatus(fid, &fsm.Operation{FrameworkID: fid, OperationID: op.OperationID, AgentID: agentID,
			State: mesos.OperationFinished, UUID: op.UUID, Converted: op.Conversion.To})
	}
}

// sendOperationStatus sends a recorded operation's status; the framework
// acknowledges it by its uuid.
func (m *master) sendOperationStatus(fid string, op *fsm.Operation) {
	s := mesos.OperationStatus{OperationID: &mesos.OperationID{Value: op.OperationID}, State: op.State,
		AgentID: &mesos.AgentID{Value: op.AgentID}, ConvertedResources: mesos.Resources(op.Converted).ForWire()}
	if len(op.UUID) > 0 {
		s.UUID = &mesos.UUID{Value: op.UUID}
	}
	m.sendToFramework(fid, &scheduler.Event{Type: scheduler.EventUpdateOperationStatus,
		UpdateOperationStatus: &scheduler.UpdateOperationStatus{Status: s}})
}

// sendCheckpointedResources tells an agent its dynamic reservations and
// persistent volumes as the replicated state holds them. The state is
// read and the command queued under mu, as a registration does when it
// installs the agent's stream: of two accounts, the later read is the
// later queued, so the agent ends with what the state holds.
func (m *master) sendCheckpointedResources(agentID string) {
	m.mu.Lock()
	ac := m.agents[agentID]
	a := m.s.fsm.State().Agent(agentID)
	if ac != nil && a != nil {
		ac.send(checkpointEvent(a, m.term))
	}
	m.mu.Unlock()
	if ac == nil {
		m.logger.Debug("agent not connected; it hears of its resources when it registers", "agent_id", agentID)
	}
}

// checkpointEvent is the CHECKPOINT_RESOURCES command of agent a's
// reservations and volumes.
func checkpointEvent(a *fsm.Agent, term uint64) *agentapi.Event {
	return &agentapi.Event{Type: agentapi.EventCheckpointResources, Term: term,
		CheckpointResources: &agentapi.CheckpointResources{Resources: nonNilResources(a.Checkpointed)}}
}

func nonNilResources(rs mesos.Resources) []mesos.Resource {
	if rs == nil {
		return []mesos.Resource{}
	}
	return rs
}

// recordedOperationStatus answers a reconciliation of an operation the
// state records, nil when it records none.
func recordedOperationStatus(st *fsm.State, fid, opID string) *mesos.OperationStatus {
	op := st.Operation(fid, opID)
	if op == nil {
		return nil
	}
	return &mesos.OperationStatus{OperationID: &mesos.OperationID{Value: op.OperationID}, State: op.State,
		AgentID: &mesos.AgentID{Value: op.AgentID}, ConvertedResources: mesos.Resources(op.Converted).ForWire()}
}

// agentTotal is a registering agent's total for the allocator: its own
// resources with the reservations and volumes the state records. What the
// agent reports it holds is only compared: the state's record wins.
func (m *master) agentTotal(a *fsm.Agent, reported mesos.Resources) mesos.Resources {
	if a == nil {
		return nil
	}
	total, missing := mesos.WithCheckpointed(a.Info.Resources, a.Checkpointed)
	if len(missing) > 0 {
		m.logger.Warn("agent's resources cannot hold its recorded reservations and volumes; they are not offered",
			"agent_id", a.ID, "missing", missing.String())
	}
	if reported != nil && !(reported.Contains(a.Checkpointed) && mesos.Resources(a.Checkpointed).Contains(reported)) {
		m.logger.Info("agent reported other reservations and volumes than recorded; the record wins",
			"agent_id", a.ID, "reported", reported.String(), "recorded", mesos.Resources(a.Checkpointed).String())
	}
	return total
}

// resendOperationStatuses sends a (re)subscribed framework every
// operation status it has not acknowledged yet, with its uuid.
func (m *master) resendOperationStatuses(fid string) {
	for _, op := range m.s.fsm.State().OperationsByFramework(fid) {
		m.sendOperationStatus(fid, op)
	}
}
