package allocator

import "errors"

// ErrUnknownAllocator is returned by New for a name nothing registered.
var ErrUnknownAllocator = errors.New("unknown allocator")

// ErrNoOfferCallback is returned by New when Config.Offer is nil: an
// allocator that cannot hand out its allocations would hold them forever.
var ErrNoOfferCallback = errors.New("allocator config has no Offer callback")
