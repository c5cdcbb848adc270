package server

import (
	"mesh/allocator"
	"mesh/mesos"
)

// compileOfferConstraints validates a SUBSCRIBE's or UPDATE_FRAMEWORK's
// offer constraints against the framework's roles, as the Mesos master
// does: a role the framework is not subscribed to, an empty group, an
// unknown predicate or a bad regex is an error that says so.
func compileOfferConstraints(roles []string, c *mesos.OfferConstraints) (*mesos.OfferConstraintsFilter, error) {
	if err := mesos.ValidateOfferConstraintsRoles(roles, c); err != nil {
		return nil, err
	}
	return mesos.CompileOfferConstraints(c)
}

// setOfferConstraints hands a framework's compiled constraints to the
// allocator. An allocator that cannot honour them is told nothing; the
// server logs that once per framework so the operator knows.
func (m *master) setOfferConstraints(fid string, f *mesos.OfferConstraintsFilter) {
	ca, ok := m.alloc.(allocator.ConstraintAware)
	if !ok {
		if f != nil {
			m.logger.Warn("allocator ignores offer constraints", "framework_id", fid, "allocator", m.s.cfg.Allocator)
		}
		return
	}
	ca.SetOfferConstraints(fid, f)
}

// setAgentInfo tells the allocator an agent's attributes, hostname and
// fault domain, which offer constraints test. The copy it keeps leaves
// the agent's resources out (the allocator counts those itself): they
// would keep for every agent the array its registration was decoded
// into, ten resources' room for the two or four an agent has (1.5 KiB).
func (m *master) setAgentInfo(info mesos.AgentInfo) {
	if ca, ok := m.alloc.(allocator.ConstraintAware); ok && info.ID != nil {
		info.Resources = nil
		ca.SetAgentInfo(info.ID.Value, &info)
	}
}
