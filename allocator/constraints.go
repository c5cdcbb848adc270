package allocator

import (
	"mesh/mesos"
)

// ConstraintAware is implemented by allocators that honour frameworks'
// offer constraints (Mesos 1.10): an agent whose (pseudo)attributes hold
// none of a role's constraint groups is not offered to the framework in
// that role. The server feeds it every agent's AgentInfo and every
// framework's compiled constraints.
type ConstraintAware interface {
	// SetAgentInfo records the hostname, attributes and fault domain of an
	// agent, whether or not the agent is added yet; nil forgets them.
	SetAgentInfo(agentID string, info *mesos.AgentInfo)
	// SetOfferConstraints replaces a framework's constraints; nil removes
	// them.
	SetOfferConstraints(frameworkID string, f *mesos.OfferConstraintsFilter)
}

var _ ConstraintAware = (*DRF)(nil)

// extras is the DRF's bookkeeping for offer constraints and for the
// "why was I not offered" recorder, kept apart from the core allocation
// state. It is guarded by DRF.mu like the rest.
type extras struct {
	agentInfo   map[string]*mesos.AgentInfo
	constraints map[string]*mesos.OfferConstraintsFilter // framework ID → filter
	why         whyState
}

// SetAgentInfo records an agent's info for offer constraints.
func (d *DRF) SetAgentInfo(agentID string, info *mesos.AgentInfo) {
	d.mu.Lock()
	if info == nil {
		delete(d.ext.agentInfo, agentID)
	} else {
		if d.ext.agentInfo == nil {
			d.ext.agentInfo = map[string]*mesos.AgentInfo{}
		}
		d.ext.agentInfo[agentID] = info
	}
	d.mu.Unlock()
	d.Trigger()
}

// SetOfferConstraints replaces a framework's offer constraints.
func (d *DRF) SetOfferConstraints(frameworkID string, f *mesos.OfferConstraintsFilter) {
	d.mu.Lock()
	if f == nil {
		delete(d.ext.constraints, frameworkID)
	} else {
		if d.ext.constraints == nil {
			d.ext.constraints = map[string]*mesos.OfferConstraintsFilter{}
		}
		d.ext.constraints[frameworkID] = f
	}
	d.mu.Unlock()
	d.Trigger()
}

// excluded reports whether a framework's constraints keep it from being
// offered agentID in role. Without any constraints it costs one length
// check, so passes of frameworks without constraints pay nothing.
func (d *DRF) excluded(frameworkID, role, agentID string) bool {
	if len(d.ext.constraints) == 0 {
		return false
	}
	f := d.ext.constraints[frameworkID]
	if !f.Constrains(role) {
		return false
	}
	return f.Excludes(role, d.ext.agentInfo[agentID])
}

// unmetConstraint says which constraint of a framework's role the agent
// fails, for the why recorder.
func (d *DRF) unmetConstraint(frameworkID, role, agentID string) string {
	return d.ext.constraints[frameworkID].Unmet(role, d.ext.agentInfo[agentID])
}
