// Package allocator decides which framework is offered which agent's
// resources. It is pure: events in, offers out through a callback; it
// knows nothing of raft, HTTP or the state machine, and its clock is
// injected so tests control time.
package allocator

import (
	"time"

	"mesh/mesos"
)

// Allocation is one offer's worth of resources: one framework, one role,
// one agent.
type Allocation struct {
	FrameworkID string
	Role        string
	AgentID     string
	Resources   mesos.Resources // each resource carries allocation_info.role = Role
}

// OfferCallback receives every allocation of one round at once, so the
// caller can commit them as one batch.
type OfferCallback func(round []Allocation)

// Clock is the time source; tests inject a fake one.
type Clock interface {
	Now() time.Time
}

// Config configures an allocator.
type Config struct {
	// Interval is the period of the background allocation pass (default 1s).
	Interval time.Duration
	// Clock defaults to the wall clock.
	Clock Clock
	// Offer receives the allocations of each round. Required.
	Offer OfferCallback
	// MinCPUs and MinMem (MB) are the least an offer must contain of one of
	// them to be made (Mesos: 0.01 cpus or 32 MB).
	MinCPUs float64
	MinMem  float64
	// MinAllocatable, when set, replaces MinCPUs and MinMem: an offer
	// must hold one of these quantity sets (ParseMinAllocatable).
	MinAllocatable []map[string]float64
	// Ticker starts the clock of Run's periodic pass and returns its
	// channel and a stop function. Nil uses time.NewTicker; tests inject a
	// channel they feed by hand so no test waits on the wall clock.
	Ticker func(d time.Duration) (tick <-chan time.Time, stop func())
	// PassTime, when set, is told how long each pass took to compute
	// (not counting the Offer callback).
	PassTime func(took time.Duration)
}

// Allocator is the interface every allocation policy implements. All
// methods are safe for concurrent use.
type Allocator interface {
	// AddFramework registers an active framework subscribed to roles.
	AddFramework(frameworkID string, roles []string, suppressedRoles []string)
	// RemoveFramework forgets a framework and its filters.
	RemoveFramework(frameworkID string)
	// ActivateFramework / DeactivateFramework start and stop offers to a
	// framework that stays registered (its stream dropped).
	ActivateFramework(frameworkID string)
	DeactivateFramework(frameworkID string)
	// AddAgent registers an agent's total resources and what is already in
	// use on it, per framework (tasks running there).
	AddAgent(agentID string, total mesos.Resources, used map[string]mesos.Resources)
	// RemoveAgent forgets an agent.
	RemoveAgent(agentID string)
	// SetAgentActive stops (false) or resumes (true) offers of an agent's
	// resources, whether or not the agent is added yet: an operator's
	// DEACTIVATE_AGENT or DRAIN_AGENT outlives the agent's re-registration.
	SetAgentActive(agentID string, active bool)
	// Allocated records resources given to a framework outside an offer
	// round (e.g. recovered tasks).
	Allocated(frameworkID, agentID string, res mesos.Resources)
	// Recover returns resources (declined, unused, or freed by a finished
	// task) to the pool. refuse > 0 installs a decline filter: the same
	// framework is not offered those resources on that agent again for that
	// long.
	Recover(frameworkID, agentID string, res mesos.Resources, refuse time.Duration)
	// Convert applies an offer operation's conversion to an agent's
	// resources: from becomes to in its total and, when frameworkID is
	// set, in what that framework holds there (an ACCEPT's RESERVE or
	// CREATE turns offered resources into reserved ones or volumes).
	// Without a framework (the operator API) from must be free; Convert
	// fails, changing nothing, when it is not.
	Convert(frameworkID, agentID string, from, to mesos.Resources) error
	// Filter installs decline filters recorded earlier (by another
	// leader): until its Until, the framework is not offered, in the
	// filter's role, resources on its agent that its Resources contain.
	// The framework must have been added; the agents need not have been.
	// A framework's filters come in one call: a new leader restores
	// thousands of them per framework.
	Filter(frameworkID string, filters ...RecordedFilter)
	// SetWeight sets a role's weight (1 unless set; a weight that is not
	// a positive finite number restores 1).
	SetWeight(role string, w float64)
	// SetGPUAware says whether a framework declared the GPU_RESOURCES
	// capability; an agent with GPUs is offered only to those that did,
	// so that GPU machines are not filled with work that needs none.
	SetGPUAware(frameworkID string, aware bool)
	// SetQuota sets a role's quota guarantee and limit; one with neither
	// removes it.
	SetQuota(role string, q Quota)
	// Suppress stops offers to a framework for roles (none = every role).
	Suppress(frameworkID string, roles []string)
	// Revive resumes offers for roles (none = every role) and clears the
	// framework's decline filters.
	Revive(frameworkID string, roles []string)
	// Trigger asks for an allocation pass soon (coalesced).
	Trigger()
	// AllocateNow runs one allocation pass synchronously.
	AllocateNow()
	// Run drives the periodic and triggered passes until stop is closed.
	Run(stop <-chan struct{})
	// Compact copies what the allocator keeps for long (its decline
	// filters) into packed arrays, and returns how many filters it
	// copied. The server calls it when it comes to rest.
	Compact() int
}

// RecordedFilter is a decline filter recorded in the replicated state.
type RecordedFilter struct {
	AgentID   string
	Role      string
	Resources mesos.Resources
	Until     time.Time
}
