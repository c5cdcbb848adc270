package allocator

import (
	"fmt"

	"mesh/mesos"
)

// Convert applies an operation's conversion to an agent; see Allocator.
func (d *DRF) Convert(frameworkID, agentID string, from, to mesos.Resources) error {
	d.mu.Lock()
	err := d.convert(frameworkID, agentID, from, to)
	d.mu.Unlock()
	if err == nil {
		d.Trigger()
	}
	return err
}

func (d *DRF) convert(frameworkID, agentID string, from, to mesos.Resources) error {
	a := d.agents[agentID]
	if a == nil {
		return fmt.Errorf("%w: %s", ErrUnknownAgent, agentID)
	}
	plainFrom, plainTo := from.Unallocate(), to.Unallocate()
	if !a.total.Contains(plainFrom) {
		return fmt.Errorf("%w: %s is not on agent %s", ErrNotFree, plainFrom, agentID)
	}
	if frameworkID == "" && !a.free.Contains(plainFrom) {
		return fmt.Errorf("%w: %s on agent %s", ErrNotFree, plainFrom, agentID)
	}
	d.total = d.total.sub(scalarsOf(a.total))
	a.total = a.total.Subtract(plainFrom...).Add(plainTo...)
	d.total = d.total.add(scalarsOf(a.total))
	if frameworkID != "" {
		fromR := d.withRoles(frameworkID, from)
		held := a.allocated[frameworkID]
		left := held.Subtract(fromR...)
		d.untrack(frameworkID, held.Subtract(left...))
		if left.IsEmpty() {
			delete(a.allocated, frameworkID)
		} else {
			a.allocated[frameworkID] = left
		}
		d.track(frameworkID, a, d.withRoles(frameworkID, to))
	}
	d.recomputeFree(a)
	return nil
}
