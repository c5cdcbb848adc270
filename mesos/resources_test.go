package mesos

import (
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
)

func mustParse(t *testing.T, s string) Resources {
	t.Helper()
	rs, err := ParseResources(s)
	if err != nil {
		t.Fatalf("ParseResources(%q): %v", s, err)
	}
	return rs
}

func TestResources_ScalarFixedPoint(t *testing.T) {
	var rs Resources
	for i := 0; i < 10; i++ {
		rs = rs.Add(ScalarResource("cpus", 0.1))
	}
	if got := rs.Scalar("cpus"); got != 1 {
		t.Fatalf("0.1 added ten times = %v, want exactly 1", got)
	}
	if len(rs) != 1 {
		t.Fatalf("ten additions of one key gave %d entries, want 1", len(rs))
	}
	for i := 0; i < 10; i++ {
		rs = rs.Subtract(ScalarResource("cpus", 0.1))
	}
	if !rs.IsEmpty() || len(rs) != 0 {
		t.Fatalf("1 minus 0.1 ten times = %s, want nothing", rs)
	}
	// Values below a thousandth vanish; half a thousandth rounds up.
	if got := Resources(nil).Add(ScalarResource("cpus", 0.0004)); len(got) != 0 {
		t.Fatalf("adding 0.0004 gave %s, want nothing", got)
	}
	if got := Resources(nil).Add(ScalarResource("cpus", 0.0005)).Scalar("cpus"); got != 0.001 {
		t.Fatalf("adding 0.0005 gave %v, want 0.001", got)
	}
}

func TestResources_AddDoesNotModifyReceiver(t *testing.T) {
	rs := mustParse(t, "cpus:1;ports:[1-5]")
	before := rs.Clone()
	_ = rs.Add(ScalarResource("cpus", 1), RangesResource("ports", Range{6, 9}))
	_ = rs.Subtract(ScalarResource("cpus", 1), RangesResource("ports", Range{2, 3}))
	if !reflect.DeepEqual(rs, before) {
		t.Fatalf("receiver changed: %s, want %s", rs, before)
	}
}

func TestResources_AddDropsInvalidAndEmpty(t *testing.T) {
	got := Resources(nil).Add(
		ScalarResource("cpus", -1),
		ScalarResource("mem", math.NaN()),
		ScalarResource("disk", 0),
		Resource{Name: "x", Type: ValueRanges}, // no value
		RangesResource("ports"),
	)
	if len(got) != 0 {
		t.Fatalf("got %s, want nothing", got)
	}
}

func TestResources_Ranges(t *testing.T) {
	rs := mustParse(t, "ports:[1-10,20-30]")
	cases := []struct {
		name string
		sub  Resource
		want []Range
	}{
		{"middle", RangesResource("ports", Range{3, 4}), []Range{{1, 2}, {5, 10}, {20, 30}}},
		{"edges", RangesResource("ports", Range{1, 1}, Range{30, 30}), []Range{{2, 10}, {20, 29}}},
		{"spanning gap", RangesResource("ports", Range{5, 25}), []Range{{1, 4}, {26, 30}}},
		{"absent values", RangesResource("ports", Range{11, 19}), []Range{{1, 10}, {20, 30}}},
		{"overlapping subtrahend", RangesResource("ports", Range{1, 5}, Range{3, 8}), []Range{{9, 10}, {20, 30}}},
		{"inverted range ignored", RangesResource("ports", Range{9, 1}), []Range{{1, 10}, {20, 30}}},
		{"everything", RangesResource("ports", Range{0, 100}), nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := rs.Subtract(tc.sub).Ranges("ports")
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
	if got := rs.Add(RangesResource("ports", Range{11, 19})).Ranges("ports"); !reflect.DeepEqual(got, []Range{{1, 30}}) {
		t.Fatalf("adding the gap gave %v, want [1-30]", got)
	}
	max := uint64(math.MaxUint64)
	top := Resources(nil).Add(RangesResource("p", Range{max - 1, max}), RangesResource("p", Range{0, max - 2}))
	if got := top.Ranges("p"); !reflect.DeepEqual(got, []Range{{0, max}}) {
		t.Fatalf("ranges up to MaxUint64 merged to %v", got)
	}
}

func TestResources_Contains(t *testing.T) {
	have := mustParse(t, "cpus:2;mem:1024;ports:[1-10,20-30];disks:{a,b};cpus(web):1")
	cases := []struct {
		name string
		need Resources
		want bool
	}{
		{"nothing", nil, true},
		{"equal", have, true},
		{"less", mustParse(t, "cpus:1.5;mem:1024"), true},
		{"more cpus", mustParse(t, "cpus:2.001"), false},
		{"sub ranges", mustParse(t, "ports:[2-3,25-30]"), true},
		{"range across gap", mustParse(t, "ports:[9-21]"), false},
		{"subset", mustParse(t, "disks:{b}"), true},
		{"other item", mustParse(t, "disks:{c}"), false},
		{"reserved", mustParse(t, "cpus(web):1"), true},
		{"unreserved cannot stand in for reserved", mustParse(t, "cpus(web):1.5"), false},
		{"other role", mustParse(t, "cpus(db):0.1"), false},
		{"unknown name", mustParse(t, "gpus:1"), false},
		{"split request adds up", Resources{ScalarResource("cpus", 1), ScalarResource("cpus", 1)}, true},
		{"split request too much", Resources{ScalarResource("cpus", 1.5), ScalarResource("cpus", 1)}, false},
		{"zero", Resources{ScalarResource("gpus", 0)}, true},
		{"negative never", Resources{ScalarResource("cpus", -1)}, false},
		{"NaN never", Resources{ScalarResource("cpus", math.NaN())}, false},
		{"wrong value type", Resources{{Name: "cpus", Type: ValueScalar, Ranges: &Ranges{}}}, false},
		{"allocated differs", mustParse(t, "cpus:1").Allocate("web"), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := have.Contains(tc.need); got != tc.want {
				t.Fatalf("%s contains %s = %v, want %v", have, tc.need, got, tc.want)
			}
		})
	}
	// Unnormalized holdings still count as a whole.
	split := Resources{ScalarResource("cpus", 1), ScalarResource("cpus", 1)}
	if !split.Contains(Resources{ScalarResource("cpus", 2)}) {
		t.Fatal("two separate cpus:1 entries do not contain cpus:2")
	}
}

func TestResources_SubtractNeverNegative(t *testing.T) {
	rs := mustParse(t, "cpus:1;mem:10")
	got := rs.Subtract(ScalarResource("cpus", 5), ScalarResource("mem", -3))
	if v := got.Scalar("cpus"); v != 0 {
		t.Fatalf("cpus after over-subtraction = %v, want 0", v)
	}
	if v := got.Scalar("mem"); v != 10 {
		t.Fatalf("subtracting a negative amount changed mem to %v, want 10", v)
	}
	for _, r := range got {
		if r.Name == "cpus" {
			t.Fatalf("an exhausted resource is kept: %s", got)
		}
	}
	// Unnormalized receivers: both entries of a key count.
	split := Resources{ScalarResource("cpus", 1), ScalarResource("cpus", 1)}
	if v := split.Subtract(ScalarResource("cpus", 1.5)).Scalar("cpus"); v != 0.5 {
		t.Fatalf("cpus:1+cpus:1 minus 1.5 = %v, want 0.5", v)
	}
}

func TestResources_Sets(t *testing.T) {
	rs := mustParse(t, "d:{a,b,c}")
	got := rs.Subtract(Resource{Name: "d", Type: ValueSet, Set: &Set{Item: []string{"b", "x"}}})
	if want := mustParse(t, "d:{a,c}"); !reflect.DeepEqual(got, want) {
		t.Fatalf("got %s, want %s", got, want)
	}
	if got := rs.Subtract(rs...); len(got) != 0 {
		t.Fatalf("set minus itself = %s, want nothing", got)
	}
	union := rs.Add(Resource{Name: "d", Type: ValueSet, Set: &Set{Item: []string{"c", "d"}}})
	if union.String() != "d:{a,b,c,d}" {
		t.Fatalf("union = %s", union)
	}
}

func TestResources_KeysByReservationAndAllocation(t *testing.T) {
	legacy := Resource{Name: "cpus", Type: ValueScalar, Scalar: &Scalar{1}, Role: "web"}
	stacked := Resource{Name: "cpus", Type: ValueScalar, Scalar: &Scalar{1}, Reservations: static("web")}
	un := ScalarResource("cpus", 1)
	rs := Resources(nil).Add(legacy, stacked, un)
	if len(rs) != 2 {
		t.Fatalf("legacy role and reservations of one role should merge, unreserved apart: %s", dump(rs))
	}
	if rs[0].ReservationRole() != "web" || rs[0].Scalar.Value != 2 || rs[1].IsReserved() {
		t.Fatalf("unexpected merge result %s", dump(rs))
	}

	a := Resources{un}.Allocate("a")
	b := Resources{un}.Allocate("b")
	both := a.Add(b...)
	if len(both) != 2 {
		t.Fatalf("allocations to two roles merged: %s", dump(both))
	}
	if both.Scalar("cpus") != 2 {
		t.Fatalf("Scalar sums across roles: got %v", both.Scalar("cpus"))
	}
	if got := both.Subtract(a...); !reflect.DeepEqual(got, b) {
		t.Fatalf("subtracting role a's share left %s, want %s", dump(got), dump(b))
	}
	if got := both.Unallocate(); len(got) != 1 || got.Scalar("cpus") != 2 || got[0].AllocationInfo != nil {
		t.Fatalf("Unallocate = %s, want one unallocated cpus:2", dump(got))
	}
	if got := Resources(nil).Add(legacy, un).AllocatableTo("db"); !reflect.DeepEqual(got, Resources{un}) {
		t.Fatalf("AllocatableTo(db) = %s, want the unreserved cpus only", dump(got))
	}
	defaulted := Resources{un}.WithDefaultAllocation("x").Add(Resources{un}.Allocate("y")...)
	if len(defaulted) != 2 || defaulted[0].AllocationRole() != "x" {
		t.Fatalf("WithDefaultAllocation: %s", dump(defaulted))
	}
}

func TestResources_Validate(t *testing.T) {
	bad := []Resource{
		{Type: ValueScalar, Scalar: &Scalar{1}},
		{Name: "cpus", Type: ValueScalar},
		{Name: "cpus", Type: ValueScalar, Scalar: &Scalar{math.Inf(1)}},
		{Name: "cpus", Type: ValueScalar, Scalar: &Scalar{-0.5}},
		{Name: "p", Type: ValueRanges, Ranges: &Ranges{Range: []Range{{5, 1}}}},
		{Name: "p", Type: ValueRanges, Ranges: &Ranges{Range: []Range{{1, 5}, {5, 6}}}},
		{Name: "s", Type: ValueSet, Set: &Set{Item: []string{"a", "a"}}},
		{Name: "t", Type: ValueText},
		{Name: "cpus", Type: ValueScalar, Scalar: &Scalar{1}, Reservations: static("*")},
		{Name: "cpus", Type: ValueScalar, Scalar: &Scalar{1}, Reservation: &ReservationInfo{Principal: "p"}},
	}
	for _, r := range bad {
		if err := r.Validate(); err == nil {
			t.Errorf("Validate(%s) = nil, want an error", dump(r))
		}
	}
	if err := mustParse(t, "cpus:1;ports:[1-2,4-5];s:{a,b};cpus(r):1").Validate(); err != nil {
		t.Errorf("valid resources: %v", err)
	}
}

func TestResources_StringAndForWire(t *testing.T) {
	rs := mustParse(t, "cpus:0.5;ports:[1-2,4-5];s:{a,b};mem(web):64")
	if got, want := rs.String(), "cpus:0.5;ports:[1-2,4-5];s:{a,b};mem(web):64"; got != want {
		t.Fatalf("String = %q, want %q", got, want)
	}
	// String never panics on malformed input.
	_ = Resources{{Name: "x", Type: ValueScalar}, {Name: "y", Type: ValueRanges}, {Name: "z", Type: ValueSet}}.String()
	w := rs.ForWire()
	if w[0].Role != "*" || w[3].Role != "" || rs[0].Role != "" {
		t.Fatalf("ForWire: %s (original %s)", dump(w), dump(rs))
	}
}

func TestResources_CloneIsDeep(t *testing.T) {
	rs := mustParse(t, "cpus:1;ports:[1-2];s:{a};mem(web):1").Allocate("web")
	c := rs.Clone()
	c[0].Scalar.Value = 9
	c[1].Ranges.Range[0].End = 9
	c[2].Set.Item[0] = "z"
	c[3].Reservations[0].Role = "zz"
	c[3].AllocationInfo.Role = "zz"
	if rs[0].Scalar.Value != 1 || rs[1].Ranges.Range[0].End != 2 || rs[2].Set.Item[0] != "a" ||
		rs[3].Reservations[0].Role != "web" || rs[3].AllocationInfo.Role != "web" {
		t.Fatalf("Clone shares memory: %s", dump(rs))
	}
}

// randomRanges returns up to 6 ranges within [0, 63], possibly
// overlapping, unsorted, adjacent or inverted (inverted ones are dropped
// by Subtract and make a resource invalid for Add).
func randomRanges(r *rand.Rand) []Range {
	var rg []Range
	for range r.IntN(7) {
		b := uint64(r.IntN(64))
		e := b + uint64(r.IntN(10))
		if r.IntN(10) == 0 {
			b, e = e+1, b // inverted
		}
		rg = append(rg, Range{b, min(e, 63)})
	}
	return rg
}

// bits is the set of values ranges cover, as a bit mask over [0, 63].
func bits(rg []Range) uint64 {
	var m uint64
	for _, x := range rg {
		for v := x.Begin; v <= x.End && v < 64; v++ {
			m |= 1 << v
		}
	}
	return m
}

func validRanges(rg []Range) bool {
	return (&Resource{Name: "p", Type: ValueRanges, Ranges: &Ranges{Range: rg}}).Validate() == nil
}

// TestResources_RangesArithmeticMatchesSets checks Add, Subtract and
// Contains of ranges against plain sets of values, on random ranges.
func TestResources_RangesArithmeticMatchesSets(t *testing.T) {
	r := rand.New(rand.NewPCG(12, 1))
	for i := range 5000 {
		a, b := randomRanges(r), randomRanges(r)
		ra := Resources(nil).Add(RangesResource("p", a...))
		wantA := bits(a)
		if !validRanges(a) {
			wantA = 0
		}
		if got := bits(ra.Ranges("p")); got != wantA {
			t.Fatalf("case %d: %v normalized to %v", i, a, ra.Ranges("p"))
		}
		if got := ra.Ranges("p"); !slices.IsSortedFunc(got, compareBegin) || len(normalizeRanges(got)) != len(got) {
			t.Fatalf("case %d: %v is not normalized", i, got)
		}
		var validB []Range
		for _, x := range b {
			if x.Begin <= x.End {
				validB = append(validB, x)
			}
		}
		if got, want := bits(ra.Subtract(RangesResource("p", b...)).Ranges("p")), wantA&^bits(validB); got != want {
			t.Fatalf("case %d: %v minus %v = %b, want %b", i, ra.Ranges("p"), b, got, want)
		}
		wantContains := bits(b)&^wantA == 0
		if !validRanges(b) {
			wantContains = false
		}
		if got := ra.Contains(Resources{RangesResource("p", b...)}); got != wantContains {
			t.Fatalf("case %d: %v contains %v = %v, want %v", i, ra.Ranges("p"), b, got, wantContains)
		}
		if validRanges(b) {
			sum := ra.Add(RangesResource("p", b...))
			if got := bits(sum.Ranges("p")); got != wantA|bits(b) {
				t.Fatalf("case %d: %v plus %v = %v", i, ra.Ranges("p"), b, sum.Ranges("p"))
			}
		}
	}
}

// TestResources_Normalized: only lists in the form Add leaves them are
// Normalized, and Add's result always is (for short lists).
func TestResources_Normalized(t *testing.T) {
	not := map[string]Resources{
		"two entries of one key": {ScalarResource("cpus", 1), ScalarResource("cpus", 1)},
		"unsorted ranges":        {RangesResource("ports", Range{5, 6}, Range{1, 2})},
		"adjacent ranges":        {RangesResource("ports", Range{1, 2}, Range{3, 4})},
		"beyond fixed point":     {ScalarResource("cpus", 0.0001)},
		"empty":                  {ScalarResource("cpus", 0)},
		"invalid":                {ScalarResource("cpus", -1)},
	}
	for name, rs := range not {
		if rs.Normalized() {
			t.Errorf("%s: %v is Normalized", name, rs)
		}
		if sum := Resources(nil).Add(rs...); !sum.Normalized() {
			t.Errorf("%s: Add's %v is not Normalized", name, sum)
		}
	}
	if rs := mustParse(t, "cpus:2;mem:1024;ports:[1-10,20-30];cpus(web):1"); !rs.Normalized() {
		t.Errorf("%v is not Normalized", rs)
	}
}

// FuzzSum_IsAddOfEveryList: Sum of parsed lists is what adding all their
// resources at once gives.
func FuzzSum_IsAddOfEveryList(f *testing.F) {
	f.Add("cpus:1;mem:128", "cpus:0.5;ports:[1-3]", "cpus(web):2;disks:{a}")
	f.Add("", "cpus:0.0001", "mem:1;mem:2")
	f.Add("ports:[5-9]", "ports:[1-4]", "cpus:1")
	f.Fuzz(func(t *testing.T, a, b, c string) {
		var lists [][]Resource
		var all []Resource
		for _, s := range []string{a, b, c} {
			rs, err := ParseResources(s)
			if err != nil {
				return
			}
			lists = append(lists, rs)
			all = append(all, rs...)
		}
		if got, want := Sum(lists...), Resources(nil).Add(all...); !reflect.DeepEqual(got, want) {
			t.Fatalf("Sum(%q, %q, %q) = %s, Add gives %s", a, b, c, dump(got), dump(want))
		}
	})
}
