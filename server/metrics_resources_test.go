package server

import (
	"math"
	"math/rand/v2"
	"testing"

	"mesh/mesos"
)

// The metrics' scalar sums are what summing the whole resource lists
// (mesos.Sum) and reading the scalar gave, for lists of every shape:
// reserved, revocable, shared and disk resources, ranges and sets beside
// scalars, invalid and vanishing values.
func TestScalarSums_AsSummedResources(t *testing.T) {
	if len(scalarSums{}) != len(scalarKinds) {
		t.Fatalf("%d sums for %d scalar kinds", len(scalarSums{}), len(scalarKinds))
	}
	odd := []mesos.Resource{
		scalarResource("cpus", -1),
		scalarResource("mem", math.NaN()),
		scalarResource("disk", math.Inf(1)),
		scalarResource("gpus", 0.0004),
		{Name: "cpus", Type: mesos.ValueScalar},
		{Name: "mem", Type: mesos.ValueScalar, Scalar: &mesos.Scalar{Value: 5}, Ranges: &mesos.Ranges{}},
		{Name: "ports", Type: mesos.ValueRanges, Ranges: &mesos.Ranges{Range: []mesos.Range{{Begin: 31000, End: 31010}}}},
		{Name: "zones", Type: mesos.ValueSet, Set: &mesos.Set{Item: []string{"a"}}},
		{Name: "cpus", Type: mesos.ValueRanges, Ranges: &mesos.Ranges{Range: []mesos.Range{{Begin: 1, End: 2}}}},
	}
	rng := rand.New(rand.NewPCG(1, 2))
	names := []string{"cpus", "mem", "disk", "gpus", "bandwidth"}
	for round := 0; round < 200; round++ {
		var lists [][]mesos.Resource
		for range 1 + rng.IntN(30) {
			var l []mesos.Resource
			for range rng.IntN(5) {
				r := scalarResource(names[rng.IntN(len(names))], float64(rng.IntN(100000))/float64(1+rng.IntN(1000)))
				switch rng.IntN(5) {
				case 0:
					r.Reservations = []mesos.ReservationInfo{{Type: "STATIC", Role: "ops"}}
				case 1:
					r.Revocable = &struct{}{}
				case 2:
					r.Shared = &struct{}{}
					r.Disk = &mesos.DiskInfo{}
				}
				l = append(l, r)
			}
			if rng.IntN(4) == 0 {
				l = append(l, odd[rng.IntN(len(odd))])
			}
			lists = append(lists, l)
		}
		var got scalarSums
		for _, l := range lists {
			got.add(l)
		}
		want := mesos.Sum(lists...)
		for k, kind := range scalarKinds {
			if w := want.Scalar(kind.name); got.value(k) != w {
				t.Fatalf("round %d, %s: summed %v, want %v (mesos.Sum)", round, kind.name, got.value(k), w)
			}
		}
	}
}
