package server

import (
	"errors"
	"net/http"

	"mesh/fsm"
	"mesh/mesos"
	mapi "mesh/mesos/master"
)

// The operator API's reservation and volume calls (RESERVE_RESOURCES,
// UNRESERVE_RESOURCES, CREATE_VOLUMES, DESTROY_VOLUMES, GROW_VOLUME,
// SHRINK_VOLUME). Each is the offer operation of the same name applied to
// an agent's free resources: the agent's outstanding offers are rescinded
// first, as the Mesos master does, so that what they held is free. Each
// is checked by the same function as in an ACCEPT (opContext), answered
// 202 Accepted once committed, 400 with what was wrong for bad input, and
// 409 Conflict when the resources are not free (in use, or offered again
// meanwhile).

// isVolumeCall reports whether t is one of these calls.
func isVolumeCall(t string) bool {
	switch t {
	case mapi.CallReserveResources, mapi.CallUnreserveResources, mapi.CallCreateVolumes, mapi.CallDestroyVolumes,
		mapi.CallGrowVolume, mapi.CallShrinkVolume:
		return true
	}
	return false
}

// volumeCallOperation turns a call into the agent it is for and the offer
// operation it asks for.
func volumeCallOperation(c *mapi.Call) (*mesos.AgentID, mesos.OfferOperation) {
	var op mesos.OfferOperation
	switch c.Type {
	case mapi.CallReserveResources:
		op.Type = mesos.OperationReserve
		op.Reserve = &struct {
			Resources []mesos.Resource `json:"resources,omitempty"`
		}{Resources: c.ReserveResources.Resources}
		return c.ReserveResources.AgentID, op
	case mapi.CallUnreserveResources:
		op.Type = mesos.OperationUnreserve
		op.Unreserve = &struct {
			Resources []mesos.Resource `json:"resources,omitempty"`
		}{Resources: c.UnreserveResources.Resources}
		return c.UnreserveResources.AgentID, op
	case mapi.CallCreateVolumes:
		op.Type = mesos.OperationCreate
		op.Create = &struct {
			Volumes []mesos.Resource `json:"volumes,omitempty"`
		}{Volumes: c.CreateVolumes.Volumes}
		return c.CreateVolumes.AgentID, op
	case mapi.CallDestroyVolumes:
		op.Type = mesos.OperationDestroy
		op.Destroy = &struct {
			Volumes []mesos.Resource `json:"volumes,omitempty"`
		}{Volumes: c.DestroyVolumes.Volumes}
		return c.DestroyVolumes.AgentID, op
	case mapi.CallGrowVolume:
		op.Type = mesos.OperationGrowVolume
		op.GrowVolume = &mesos.GrowVolume{Volume: c.GrowVolume.Volume, Addition: c.GrowVolume.Addition}
		return c.GrowVolume.AgentID, op
	default:
		op.Type = mesos.OperationShrinkVolume
		op.ShrinkVolume = &mesos.ShrinkVolume{Volume: c.ShrinkVolume.Volume, Subtract: c.ShrinkVolume.Subtract}
		return c.ShrinkVolume.AgentID, op
	}
}

// operatorVolumeCall carries out one of these calls.
func (m *master) operatorVolumeCall(c *mapi.Call) error {
	aid, op := volumeCallOperation(c)
	if aid == nil || aid.Value == "" {
		// GROW_VOLUME and SHRINK_VOLUME make it optional in the proto;
		// mesh has no resource providers to find the volume by.
		return httpErrorf(http.StatusBadRequest, "%s needs an agent_id", c.Type)
	}
	return m.agentOperation(aid.Value, op)
}

// agentOperation applies one operation to an agent's free resources.
func (m *master) agentOperation(aid string, op mesos.OfferOperation) error {
	a := m.s.fsm.State().Agent(aid)
	switch {
	case a == nil:
		return httpErrorf(http.StatusBadRequest, "Unknown agent %q", aid)
	case a.State == fsm.AgentGone:
		return httpErrorf(http.StatusBadRequest, "Agent %q is gone", aid)
	}
	m.mu.Lock()
	connected := m.agents[aid] != nil
	m.mu.Unlock()
	if !connected {
		return httpErrorf(http.StatusConflict, "Agent %q is not connected: its resources can change once it registers again", aid)
	}
	// The agent is offered to nobody while its offers are rescinded and
	// the operation applied, lest the allocator offer the resources again
	// at once.
	m.alloc.SetAgentActive(aid, false)
	// A pass computed before may still be committing its offers: the
	// next pass waits for it.
	m.alloc.AllocateNow()
	defer func() {
		if cur := m.s.fsm.State().Agent(aid); cur != nil && !cur.Deactivated {
			m.alloc.SetAgentActive(aid, true)
		}
	}()
	m.removeOffers(m.s.fsm.State().OffersByAgent(aid), true, 0)
	st := m.s.fsm.State()
	free := a.AgentTotal().Subtract(st.AgentUsed(aid)...)
	for _, o := range st.OffersByAgent(aid) {
		free = free.Subtract(o.Resources.Unallocate()...)
	}
	oc := &opContext{st: st, agentID: aid, available: free}
	conv, err := oc.convert(&op)
	switch {
	case errors.Is(err, errNotAvailable):
		return httpErrorf(http.StatusConflict, "%v", err)
	case err != nil:
		return httpErrorf(http.StatusBadRequest, "%v", err)
	}
	// The allocator first: once it has converted them, the resources
	// cannot be offered before the entry commits.
	if err := m.alloc.Convert("", aid, conv.From, conv.To); err != nil {
		return httpErrorf(http.StatusConflict, "Invalid %s operation: the resources are not free on agent %s (offered again or in use): %v", op.Type, aid, err)
	}
	_, err = m.apply(fsm.AgentOperationsRequestType, &fsm.AgentOperationsRequest{AgentID: aid,
		Operations: []fsm.AppliedOperation{{Type: op.Type, Conversion: conv}}})
	if err != nil {
		if undo := m.alloc.Convert("", aid, conv.To, conv.From); undo != nil {
			m.logger.Warn("allocator could not undo an operation that did not commit", "agent_id", aid, "error", undo)
		}
		switch {
		case transient(err):
			return httpErrorf(http.StatusServiceUnavailable, "the %s operation may not have been committed: %v", op.Type, err)
		case errors.Is(err, fsm.ErrOperationConflict), errors.Is(err, fsm.ErrVolumeInUse), errors.Is(err, fsm.ErrVolumeExists):
			return httpErrorf(http.StatusConflict, "Invalid %s operation: %v", op.Type, err)
		}
		return httpErrorf(http.StatusBadRequest, "Invalid %s operation: %v", op.Type, err)
	}
	m.logger.Info("operator operation applied", "agent_id", aid, "type", op.Type)
	m.sendCheckpointedResources(aid)
	return nil
}
