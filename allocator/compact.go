package allocator

import (
	"mesh/mesos"
	"mesh/slab"
)

// A leader that placed 100,000 tasks holds a decline filter for nearly
// every framework on every agent it declined: made one by one while the
// leader was busy with everything else, each filter and its resources lie
// among the freed garbage of that work, and the heap pages they are on
// stay in use. Compact copies them into arrays of their own (see
// mesos.ResourcePacker), and rebuilds each framework's map of them, which
// never shrinks as filters expire.

// filterSlab is how many filters Compact allocates together (about 64 KB).
const filterSlab = 1024

// Compact packs the decline filters; see Allocator.
func (d *DRF) Compact() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	var packer mesos.ResourcePacker
	// An agent's latest filter resources first, so that the filters that
	// share them share the packed copy.
	for _, a := range d.agents {
		a.filtered = packer.Pack(a.filtered)
	}
	var filters []filter
	n := 0
	for _, f := range d.frameworks {
		m := make(map[string][]filter, len(f.filters))
		for agentID, fs := range f.filters {
			c := slab.Copy(&filters, fs, filterSlab)
			for i := range c {
				c[i].res = packer.Pack(c[i].res)
			}
			m[agentID] = c
			n += len(c)
		}
		f.filters = m
	}
	return n
}
