package allocator

import "errors"

// ErrUnknownAllocator is returned by New for a name nothing registered.
var ErrUnknownAllocator = errors.New("unknown allocator")

// ErrNoOfferCallback is returned by New when Config.Offer is nil: an
// allocator that cannot hand out its allocations would hold them forever.
var ErrNoOfferCallback = errors.New("allocator config has no Offer callback")

// ErrNotFree is returned by Convert when the resources to convert are not
// free on the agent (held by a framework, or not there at all).
var ErrNotFree = errors.New("resources are not free on the agent")

// ErrUnknownAgent is returned for an agent the allocator does not know.
var ErrUnknownAgent = errors.New("agent is unknown to the allocator")
