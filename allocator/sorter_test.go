package allocator

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"mesh/mesos"
)

func names(cs []*client) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.name)
	}
	return out
}

func TestSorter_OrdersByShareThenCountThenName(t *testing.T) {
	s := newSorter(vec{10, 1000, 0, 0})
	s.add("c", vec{1, 0, 0, 0}, 1, 0)      // 10%
	s.add("b", vec{0, 100, 0, 0}, 1, 3)    // 10%, more allocations
	s.add("a", vec{0, 100, 0, 0}, 1, 3)    // 10%, same count: name
	s.add("z", vec{0, 0, 0, 0}, 1, 9)      // 0%
	s.add("heavy", vec{5, 10, 0, 0}, 1, 0) // 50%
	if got, want := names(s.sorted()), []string{"z", "c", "a", "b", "heavy"}; !slices.Equal(got, want) {
		t.Fatalf("order = %v, want %v", got, want)
	}
	s.allocated("z", vec{2, 0, 0, 0}) // 20%
	if got, want := names(s.sorted()), []string{"c", "a", "b", "z", "heavy"}; !slices.Equal(got, want) {
		t.Fatalf("order after allocation = %v, want %v", got, want)
	}
}

func TestSorter_WeightDividesShare(t *testing.T) {
	s := newSorter(vec{10, 0, 0, 0})
	s.add("light", vec{2, 0, 0, 0}, 1, 0) // 20%
	s.add("heavy", vec{3, 0, 0, 0}, 2, 0) // 30% / 2 = 15%
	s.add("bad", vec{1, 0, 0, 0}, -1, 0)  // invalid weight counts as 1: 10%
	if got, want := names(s.sorted()), []string{"bad", "heavy", "light"}; !slices.Equal(got, want) {
		t.Fatalf("order = %v, want %v", got, want)
	}
}

func TestScalarsOf_CountsOnlyDRFScalars(t *testing.T) {
	rs := mesos.Resources{
		mesos.ScalarResource("cpus", 1.5),
		mesos.ScalarResource("gpus", 1),
		mesos.ScalarResource("bananas", 7),
		mesos.RangesResource("ports", mesos.Range{Begin: 1, End: 9}),
	}
	rs = append(rs, reserved("ops", 0.5, 64)...)
	if got, want := scalarsOf(rs), (vec{2, 64, 0, 1}); got != want {
		t.Fatalf("scalarsOf = %v, want %v", got, want)
	}
}

// TestSorter_StaysInOrderAsAllocationsArrive: moving an allocated client
// to its new place keeps the same order a full sort gives, whatever the
// allocations.
func TestSorter_StaysInOrderAsAllocationsArrive(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for round := range 200 {
		s := newSorter(vec{100, 1000, 100, 0})
		for i := range 1 + r.IntN(30) {
			s.add(fmt.Sprintf("c%02d", i), vec{float64(r.IntN(5)), float64(r.IntN(50))}, float64(1+r.IntN(3)), uint64(r.IntN(3)))
		}
		s.sorted()
		for range 50 {
			c := s.clients[r.IntN(len(s.clients))]
			s.allocated(c.name, vec{float64(r.IntN(3)), float64(r.IntN(30))})
			got := names(s.sorted())
			want := slices.Clone(s.clients)
			slices.SortFunc(want, compareClients)
			if !slices.Equal(got, names(want)) {
				t.Fatalf("round %d: order %v after allocating to %s, a full sort gives %v", round, got, c.name, names(want))
			}
		}
	}
}
