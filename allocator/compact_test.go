package allocator

import (
	"reflect"
	"testing"
	"time"
)

// TestDRF_CompactKeepsFiltersAsTheyWere: after Compact every framework's
// filters read the same and filter the same, in copies of their own;
// filters that shared resources share the copy; and a filter added or
// expired afterwards changes no other.
func TestDRF_CompactKeepsFiltersAsTheyWere(t *testing.T) {
	d, rec, clock := newTestDRF(t)
	d.AddFramework("f1", []string{"r"}, nil)
	d.AddFramework("f2", []string{"r"}, nil)
	d.AddAgent("a1", res(4, 4096), nil)
	d.AddAgent("a2", res(4, 4096), nil)
	round := pass(t, d, rec)
	for _, a := range round {
		d.Recover(a.FrameworkID, a.AgentID, a.Resources, time.Hour)
	}
	round = pass(t, d, rec)
	for _, a := range round {
		d.Recover(a.FrameworkID, a.AgentID, a.Resources, time.Hour)
	}
	before := map[string]map[string][]filter{}
	for id, f := range d.frameworks {
		before[id] = map[string][]filter{}
		for aid, fs := range f.filters {
			before[id][aid] = append([]filter(nil), fs...)
		}
	}
	if len(before["f1"]) != 2 || len(before["f2"]) != 2 {
		t.Fatalf("the fixture filters %v, want both frameworks on both agents", before)
	}
	if n := d.Compact(); n != 4 {
		t.Fatalf("compacted %d filters, want 4", n)
	}
	for id, f := range d.frameworks {
		if !reflect.DeepEqual(f.filters, before[id]) {
			t.Fatalf("%s's filters changed: %+v, want %+v", id, f.filters, before[id])
		}
		for aid, fs := range f.filters {
			if &fs[0] == &before[id][aid][0] || &fs[0].res[0] == &before[id][aid][0].res[0] {
				t.Fatalf("%s's filter on %s was not copied", id, aid)
			}
		}
	}
	for _, aid := range []string{"a1", "a2"} {
		if a, b := d.frameworks["f1"].filters[aid][0].res, d.frameworks["f2"].filters[aid][0].res; &a[0] != &b[0] {
			t.Fatalf("the two frameworks' filters on %s no longer share their resources", aid)
		}
	}
	wantOwners(t, pass(t, d, rec))

	// A filter added to f1 on a1 leaves f2's, packed beside it, as it was.
	f2a1 := append([]filter(nil), d.frameworks["f2"].filters["a1"]...)
	d.Recover("f1", "a1", res(4, 4096), 2*time.Hour)
	if got := d.frameworks["f2"].filters["a1"]; !reflect.DeepEqual(got, f2a1) {
		t.Fatalf("f2's filters on a1 changed with f1's: %+v, want %+v", got, f2a1)
	}
	clock.Advance(time.Hour)
	wantOwners(t, pass(t, d, rec), "a1:f2", "a2:f1")
}
