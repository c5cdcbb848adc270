package allocator

import (
	"cmp"
	"math"
	"slices"

	"mesh/mesos"
)

// kinds are the scalar resources that count toward a dominant share, as
// in Mesos' DRF sorter. Ports and other non-scalar resources never do.
var kinds = [...]string{"cpus", "mem", "disk", "gpus"}

// vec holds one amount per entry of kinds.
type vec [len(kinds)]float64

// scalarsOf sums the DRF-relevant scalars of rs, whatever their
// reservation or allocation role.
func scalarsOf(rs mesos.Resources) vec {
	var v vec
	for i := range rs {
		r := &rs[i]
		if r.Type != mesos.ValueScalar || r.Scalar == nil {
			continue
		}
		for k, name := range kinds {
			if r.Name == name {
				v[k] += r.Scalar.Value
			}
		}
	}
	return v.round()
}

// round keeps v in the same three-decimal fixed point as mesos.Resources,
// so adding and later subtracting the same offer returns exactly to zero
// and ties between equal clients stay exact.
func (v vec) round() vec {
	for k := range v {
		v[k] = math.Round(v[k]*1000) / 1000
	}
	return v
}

// add returns v + o.
func (v vec) add(o vec) vec {
	for k := range v {
		v[k] += o[k]
	}
	return v.round()
}

// sub returns v - o, never below zero.
func (v vec) sub(o vec) vec {
	for k := range v {
		v[k] = max(0, v[k]-o[k])
	}
	return v.round()
}

// isZero reports whether every amount is zero.
func (v vec) isZero() bool { return v == vec{} }

// share is v's dominant share of total: the largest fraction over the
// kinds the cluster has at all.
func (v vec) share(total vec) float64 {
	var s float64
	for k := range v {
		if total[k] > 0 {
			s = max(s, v[k]/total[k])
		}
	}
	return s
}

// client is one entry of a sorter: a role, or a framework within a role.
type client struct {
	name   string
	alloc  vec
	weight float64
	count  uint64  // allocations made to the client so far: first tie-break
	share  float64 // cached alloc.share(total) / weight
}

// sorter orders clients by weighted dominant share, then by allocation
// count, then by name: a total order, so a pass is reproducible whatever
// the order clients were added in. It is a plain value with no lock; the
// DRF builds fresh sorters for each pass under its own lock.
type sorter struct {
	total   vec
	clients []*client
	byName  map[string]*client
	dirty   bool
}

// newSorter returns an empty sorter measuring shares against total.
func newSorter(total vec) *sorter {
	return &sorter{total: total, byName: map[string]*client{}}
}

// add inserts a client with what it already holds. Adding a name twice
// keeps the first.
func (s *sorter) add(name string, alloc vec, weight float64, count uint64) {
	if _, ok := s.byName[name]; ok {
		return
	}
	if !(weight > 0) || math.IsInf(weight, 0) {
		weight = 1
	}
	c := &client{name: name, alloc: alloc, weight: weight, count: count}
	c.share = alloc.share(s.total) / weight
	s.clients = append(s.clients, c)
	s.byName[name] = c
	s.dirty = true
}

// contains reports whether name is a client.
func (s *sorter) contains(name string) bool {
	_, ok := s.byName[name]
	return ok
}

// len returns the number of clients.
func (s *sorter) len() int { return len(s.clients) }

// allocated records that name was given v. Once the sorter is sorted the
// client is moved straight to its new place (an allocation only moves a
// client later in the order), rather than re-sorting every client; a
// caller ranging over the slice sorted returned must therefore stop
// ranging once it has reported an allocation.
func (s *sorter) allocated(name string, v vec) {
	c, ok := s.byName[name]
	if !ok {
		return
	}
	// Where c stands before the change: the order is total, so c is found.
	i := -1
	if !s.dirty {
		i, _ = slices.BinarySearchFunc(s.clients, c, compareClients)
	}
	c.alloc = c.alloc.add(v)
	c.count++
	c.share = c.alloc.share(s.total) / c.weight
	if i >= 0 {
		s.moveLater(i)
	}
}

// moveLater puts the client at i, whose share or count grew, back in
// order among the sorted clients after it.
func (s *sorter) moveLater(i int) {
	c := s.clients[i]
	rest := s.clients[i+1:]
	n, _ := slices.BinarySearchFunc(rest, c, compareClients)
	copy(s.clients[i:i+n], rest[:n])
	s.clients[i+n] = c
}

// sorted returns the clients, least dominant share first. The slice is the
// sorter's own and stays in order as allocations are reported.
func (s *sorter) sorted() []*client {
	if s.dirty {
		slices.SortFunc(s.clients, compareClients)
		s.dirty = false
	}
	return s.clients
}

// compareClients is the DRF order: share, then fewer allocations, then name.
func compareClients(a, b *client) int {
	if c := cmp.Compare(a.share, b.share); c != 0 {
		return c
	}
	if c := cmp.Compare(a.count, b.count); c != 0 {
		return c
	}
	return cmp.Compare(a.name, b.name)
}
