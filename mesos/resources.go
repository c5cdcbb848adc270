package mesos

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
)

// Resources is a list of resources with Mesos' arithmetic: entries of the
// same name, type, reservation and allocation merge; scalars are fixed point
// with three decimals.
type Resources []Resource

// roundScalar keeps scalars in three-decimal fixed point, as Mesos does, so
// that repeated arithmetic never drifts.
func roundScalar(v float64) float64 { return math.Round(v*1000) / 1000 }

// RoundScalar rounds v to the thousandths a scalar resource holds, as
// Mesos does.
func RoundScalar(v float64) float64 { return roundScalar(v) }

// ReservationRole returns the role a resource is reserved for, "*" when it
// is unreserved.
func (r *Resource) ReservationRole() string {
	if n := len(r.Reservations); n > 0 {
		return r.Reservations[n-1].Role
	}
	if r.Role != "" {
		return r.Role
	}
	return "*"
}

// IsReserved reports whether the resource carries a reservation.
func (r *Resource) IsReserved() bool { return r.ReservationRole() != "*" }

// AllocationRole returns the role the resource is allocated to, or "".
func (r *Resource) AllocationRole() string {
	if r.AllocationInfo == nil {
		return ""
	}
	return r.AllocationInfo.Role
}

// resKey identifies which resources can be merged by Add. It is a
// comparable value, so comparing two resources' keys allocates nothing.
type resKey struct {
	name, typ, reservation, allocation string
	revocable                          bool
	// stack tells apart reservation stacks that end in the same role
	// (reservationKey); volume a disk's persistence and volume
	// (volumeKey). Both are empty in the common case, built for nothing.
	stack, volume string
}

// key identifies which resources can be merged by Add.
func (r *Resource) key() resKey {
	return resKey{name: r.Name, typ: r.Type, reservation: r.ReservationRole(), allocation: r.AllocationRole(),
		revocable: r.Revocable != nil, stack: reservationKey(r.Reservations), volume: volumeKey(r.Disk)}
}

// sameKey reports whether a.key() == b.key(), cheapest test first.
func sameKey(a, b *Resource) bool {
	if a.Name != b.Name || a.Type != b.Type || (a.Revocable == nil) != (b.Revocable == nil) {
		return false
	}
	return a.key() == b.key()
}

// isEmpty reports whether the resource holds nothing.
func (r *Resource) isEmpty() bool {
	switch r.Type {
	case ValueScalar:
		return r.Scalar == nil || r.Scalar.Value <= 0
	case ValueRanges:
		return r.Ranges == nil || len(r.Ranges.Range) == 0
	case ValueSet:
		return r.Set == nil || len(r.Set.Item) == 0
	}
	return true
}

// Clone returns a deep copy of r.
func (r Resource) Clone() Resource {
	c := r
	if r.Scalar != nil {
		s := *r.Scalar
		c.Scalar = &s
	}
	if r.Ranges != nil {
		c.Ranges = &Ranges{Range: append([]Range(nil), r.Ranges.Range...)}
	}
	if r.Set != nil {
		c.Set = &Set{Item: append([]string(nil), r.Set.Item...)}
	}
	if r.AllocationInfo != nil {
		a := *r.AllocationInfo
		c.AllocationInfo = &a
	}
	if r.Reservation != nil {
		x := *r.Reservation
		c.Reservation = &x
	}
	if r.Reservations != nil {
		c.Reservations = append([]ReservationInfo(nil), r.Reservations...)
	}
	return c
}

// Clone returns a deep copy of rs. The copies' scalars and allocation
// infos are allocated together, one block each, rather than one by one.
func (rs Resources) Clone() Resources {
	if rs == nil {
		return nil
	}
	var nScalars, nInfos int
	for i := range rs {
		if rs[i].Scalar != nil {
			nScalars++
		}
		if rs[i].AllocationInfo != nil {
			nInfos++
		}
	}
	scalars := make([]Scalar, 0, nScalars)
	infos := make([]AllocationInfo, 0, nInfos)
	out := make(Resources, len(rs))
	for i := range rs {
		r := rs[i]
		scalar, info := r.Scalar, r.AllocationInfo
		r.Scalar, r.AllocationInfo = nil, nil
		out[i] = r.Clone()
		if scalar != nil {
			scalars = append(scalars, *scalar)
			out[i].Scalar = &scalars[len(scalars)-1]
		}
		if info != nil {
			infos = append(infos, *info)
			out[i].AllocationInfo = &infos[len(infos)-1]
		}
	}
	return out
}

// Validate checks each resource: a name, a value that matches the type,
// finite non-negative scalars, ordered disjoint ranges, unique set items.
func (rs Resources) Validate() error {
	for i := range rs {
		if err := rs[i].Validate(); err != nil {
			return err
		}
	}
	return nil
}

// Validate checks one resource.
func (r *Resource) Validate() error {
	if r.Name == "" {
		return fmt.Errorf("resource has no name")
	}
	switch r.Type {
	case ValueScalar:
		if r.Scalar == nil || r.Ranges != nil || r.Set != nil {
			return fmt.Errorf("resource %q of type SCALAR needs exactly a scalar value", r.Name)
		}
		if math.IsNaN(r.Scalar.Value) || math.IsInf(r.Scalar.Value, 0) || r.Scalar.Value < 0 {
			return fmt.Errorf("resource %q has an invalid scalar value %v", r.Name, r.Scalar.Value)
		}
	case ValueRanges:
		if r.Ranges == nil || r.Scalar != nil || r.Set != nil {
			return fmt.Errorf("resource %q of type RANGES needs exactly a ranges value", r.Name)
		}
		rg := r.Ranges.Range
		if !slices.IsSortedFunc(rg, compareBegin) {
			rg = slices.SortedFunc(slices.Values(rg), compareBegin)
		}
		for i, x := range rg {
			if x.Begin > x.End {
				return fmt.Errorf("resource %q has range [%d-%d] whose begin is after its end", r.Name, x.Begin, x.End)
			}
			if i > 0 && x.Begin <= rg[i-1].End {
				return fmt.Errorf("resource %q has overlapping ranges", r.Name)
			}
		}
	case ValueSet:
		if r.Set == nil || r.Scalar != nil || r.Ranges != nil {
			return fmt.Errorf("resource %q of type SET needs exactly a set value", r.Name)
		}
		seen := map[string]bool{}
		for _, it := range r.Set.Item {
			if seen[it] {
				return fmt.Errorf("resource %q has duplicate set item %q", r.Name, it)
			}
			seen[it] = true
		}
	default:
		return fmt.Errorf("resource %q has unsupported type %q", r.Name, r.Type)
	}
	if len(r.Reservations) > 0 {
		for _, rv := range r.Reservations {
			if rv.Role == "*" || rv.Role == "" {
				return fmt.Errorf("resource %q cannot be reserved for role %q", r.Name, rv.Role)
			}
		}
	}
	if r.Reservation != nil && (r.Role == "" || r.Role == "*") {
		return fmt.Errorf("resource %q has a reservation but no role", r.Name)
	}
	return nil
}

// compareBegin orders ranges by their first value.
func compareBegin(a, b Range) int { return cmp.Compare(a.Begin, b.Begin) }

// normalizeRanges sorts and merges overlapping or adjacent ranges into a
// new slice; in is not modified.
func normalizeRanges(in []Range) []Range {
	if len(in) == 0 {
		return nil
	}
	return normalizeOwnedRanges(append([]Range(nil), in...))
}

// normalizeOwnedRanges is normalizeRanges on a slice the caller owns: it
// sorts and merges rg in place and returns it shortened.
func normalizeOwnedRanges(rg []Range) []Range {
	if len(rg) == 0 {
		return nil
	}
	if !slices.IsSortedFunc(rg, compareBegin) {
		slices.SortFunc(rg, compareBegin)
	}
	out := rg[:1]
	for _, x := range rg[1:] {
		last := &out[len(out)-1]
		if last.End == math.MaxUint64 || x.Begin <= last.End+1 {
			if x.End > last.End {
				last.End = x.End
			}
			continue
		}
		out = append(out, x)
	}
	return out
}

// subtractRanges removes b from a; both normalized. It walks both in one
// pass and returns a new slice (nil when nothing is left).
func subtractRanges(a, b []Range) []Range {
	var out []Range
	j := 0
	for _, x := range a {
		// Skip what ends before x starts.
		for j < len(b) && b[j].End < x.Begin {
			j++
		}
		cur := x
		k := j
		for ; k < len(b) && b[k].Begin <= cur.End; k++ {
			if b[k].Begin > cur.Begin {
				out = append(out, Range{cur.Begin, b[k].Begin - 1})
			}
			if b[k].End >= cur.End {
				cur.Begin, cur.End = 1, 0 // nothing left of x
				break
			}
			cur.Begin = b[k].End + 1
		}
		if cur.Begin <= cur.End {
			out = append(out, cur)
		}
	}
	return out
}

// containsRanges reports whether a covers every value of b.
func containsRanges(a, b []Range) bool {
	return len(subtractRanges(normalizeRanges(b), normalizeRanges(a))) == 0
}

// addTo merges r into acc in place (acc has the same key).
func addTo(acc *Resource, r *Resource) {
	switch acc.Type {
	case ValueScalar:
		if acc.Scalar == nil {
			acc.Scalar = &Scalar{}
		}
		acc.Scalar.Value = roundScalar(acc.Scalar.Value + r.Scalar.Value)
	case ValueRanges:
		if acc.Ranges == nil {
			acc.Ranges = &Ranges{}
		}
		acc.Ranges.Range = normalizeOwnedRanges(append(acc.Ranges.Range, r.Ranges.Range...))
	case ValueSet:
		if acc.Set == nil {
			acc.Set = &Set{}
		}
		have := map[string]bool{}
		for _, it := range acc.Set.Item {
			have[it] = true
		}
		for _, it := range r.Set.Item {
			if !have[it] {
				acc.Set.Item = append(acc.Set.Item, it)
				have[it] = true
			}
		}
	}
}

// Add returns rs plus other; rs is not modified.
func (rs Resources) Add(other ...Resource) Resources {
	if len(other) == 0 {
		return rs.Clone()
	}
	out := make(Resources, len(rs), len(rs)+len(other))
	for i := range rs {
		out[i] = rs[i].Clone()
	}
	for i := range other {
		out = out.addOne(&other[i])
	}
	if len(out) == 0 && rs == nil {
		return nil
	}
	return out
}

// Sum adds lists of resources up: what Resources(nil).Add of all their
// resources gives, without gathering them into one list first.
func Sum(lists ...[]Resource) Resources {
	var out Resources
	for _, l := range lists {
		for i := range l {
			out = out.addOne(&l[i])
		}
	}
	return out
}

func (rs Resources) addOne(r *Resource) Resources {
	if r.Validate() != nil {
		return rs
	}
	// Round before the emptiness check: 0.0001 is nothing in fixed point.
	c := r.Clone()
	if c.Type == ValueScalar {
		c.Scalar.Value = roundScalar(c.Scalar.Value)
	}
	if c.Type == ValueRanges {
		c.Ranges.Range = normalizeOwnedRanges(c.Ranges.Range)
	}
	if c.isEmpty() {
		return rs
	}
	k := c.key()
	for i := range rs {
		// name and type first: most resources differ in them, and a key
		// costs building its strings
		if rs[i].Name == c.Name && rs[i].Type == c.Type && rs[i].key() == k {
			addTo(&rs[i], &c)
			return rs
		}
	}
	return append(rs, c)
}

// Subtract returns rs minus other, dropping what becomes empty; rs is not
// modified. Subtracting more than is there leaves nothing, never less.
//
// rs is normalized first (entries of one key merged, invalid entries
// dropped, as Add does), so the result never holds two entries of one key.
func (rs Resources) Subtract(other ...Resource) Resources {
	var out Resources
	if rs.Normalized() {
		out = rs.Clone() // what Add would make of it, cheaper
	} else {
		out = Resources(nil).Add(rs...)
	}
	for i := range other {
		r := &other[i]
		k := r.key()
		for j := range out {
			if out[j].key() != k {
				continue
			}
			switch r.Type {
			case ValueScalar:
				// A negative or NaN amount would add; ignore it.
				if r.Scalar != nil && r.Scalar.Value > 0 {
					out[j].Scalar.Value = math.Max(0, roundScalar(out[j].Scalar.Value-r.Scalar.Value))
				}
			case ValueRanges:
				if r.Ranges != nil {
					var sub []Range
					for _, x := range r.Ranges.Range {
						if x.Begin <= x.End {
							sub = append(sub, x)
						}
					}
					out[j].Ranges.Range = subtractRanges(out[j].Ranges.Range, normalizeRanges(sub))
				}
			case ValueSet:
				if r.Set != nil {
					drop := map[string]bool{}
					for _, it := range r.Set.Item {
						drop[it] = true
					}
					var keep []string
					for _, it := range out[j].Set.Item {
						if !drop[it] {
							keep = append(keep, it)
						}
					}
					out[j].Set.Item = keep
				}
			}
			break
		}
	}
	kept := out[:0]
	for _, r := range out {
		if !r.isEmpty() {
			kept = append(kept, r)
		}
	}
	return kept
}

// Contains reports whether rs holds at least every resource in other,
// matched by name, type, reservation and allocation. An invalid resource in
// other (negative scalar, value not matching its type, ...) is never
// contained; an empty one always is.
func (rs Resources) Contains(other Resources) bool {
	for i := range other {
		if other[i].Validate() != nil {
			return false
		}
	}
	if rs.Normalized() && other.Normalized() {
		return rs.ContainsNormalized(other)
	}
	need := Resources(nil).Add(other...)
	have := Resources(nil).Add(rs...)
	for i := range need {
		n := &need[i]
		k := n.key()
		found := false
		for j := range have {
			h := &have[j]
			if h.key() != k {
				continue
			}
			found = true
			switch n.Type {
			case ValueScalar:
				if roundScalar(h.Scalar.Value-n.Scalar.Value) < 0 {
					return false
				}
			case ValueRanges:
				if !containsRanges(h.Ranges.Range, n.Ranges.Range) {
					return false
				}
			case ValueSet:
				have := map[string]bool{}
				for _, it := range h.Set.Item {
					have[it] = true
				}
				for _, it := range n.Set.Item {
					if !have[it] {
						return false
					}
				}
			}
			break
		}
		if !found {
			return false
		}
	}
	return true
}

// Normalized reports whether rs is already in the form Add leaves it:
// every entry valid and non-empty, scalars in fixed point, ranges sorted
// and merged, sets of at most 16 items, no two entries of one key (and at
// most 8 entries). Resources the allocator keeps are, so comparing them
// needs no normalized copies.
func (rs Resources) Normalized() bool {
	if len(rs) > 8 {
		return false // the pairwise key check below is for short lists
	}
	for i := range rs {
		r := &rs[i]
		if r.Validate() != nil || r.isEmpty() {
			return false
		}
		switch r.Type {
		case ValueScalar:
			if roundScalar(r.Scalar.Value) != r.Scalar.Value {
				return false
			}
		case ValueSet:
			if len(r.Set.Item) > 16 {
				return false // containsNormalized compares items pairwise
			}
		case ValueRanges:
			for k := 1; k < len(r.Ranges.Range); k++ {
				if r.Ranges.Range[k-1].End == math.MaxUint64 || r.Ranges.Range[k].Begin <= r.Ranges.Range[k-1].End+1 {
					return false
				}
			}
		}
		for j := range i {
			if sameKey(&rs[j], r) {
				return false
			}
		}
	}
	return true
}

// ContainsNormalized is Contains for two lists that are Normalized (the
// caller checked each once, rather than once per comparison); it
// allocates nothing. On lists that are not, its answer is meaningless.
func (have Resources) ContainsNormalized(need Resources) bool {
	for i := range need {
		n := &need[i]
		var h *Resource
		for j := range have {
			if sameKey(&have[j], n) {
				h = &have[j]
				break
			}
		}
		if h == nil {
			return false
		}
		switch n.Type {
		case ValueScalar:
			if roundScalar(h.Scalar.Value-n.Scalar.Value) < 0 {
				return false
			}
		case ValueRanges:
			if !coversRanges(h.Ranges.Range, n.Ranges.Range) {
				return false
			}
		case ValueSet:
			for _, it := range n.Set.Item {
				if !slices.Contains(h.Set.Item, it) {
					return false
				}
			}
		}
	}
	return true
}

// coversRanges reports whether a covers every value of b; both sorted and
// merged.
func coversRanges(a, b []Range) bool {
	i := 0
	for _, x := range b {
		for i < len(a) && a[i].End < x.Begin {
			i++
		}
		// Merged ranges leave gaps between them, so x lies in a[i] or is
		// not covered.
		if i == len(a) || a[i].Begin > x.Begin || a[i].End < x.End {
			return false
		}
	}
	return true
}

// Scalar returns the sum of the named scalar across every role.
func (rs Resources) Scalar(name string) float64 {
	var v float64
	for i := range rs {
		if rs[i].Name == name && rs[i].Type == ValueScalar && rs[i].Scalar != nil {
			v += rs[i].Scalar.Value
		}
	}
	return roundScalar(v)
}

// Ranges returns the named ranges across every role, merged.
func (rs Resources) Ranges(name string) []Range {
	var out []Range
	for i := range rs {
		if rs[i].Name == name && rs[i].Type == ValueRanges && rs[i].Ranges != nil {
			out = append(out, rs[i].Ranges.Range...)
		}
	}
	return normalizeRanges(out)
}

// Names returns the distinct resource names, sorted.
func (rs Resources) Names() []string {
	seen := map[string]bool{}
	var out []string
	for i := range rs {
		if !seen[rs[i].Name] {
			seen[rs[i].Name] = true
			out = append(out, rs[i].Name)
		}
	}
	sort.Strings(out)
	return out
}

// Allocate returns a copy of rs with every resource's allocation_info set
// to role.
func (rs Resources) Allocate(role string) Resources {
	out := rs.Clone()
	info := &AllocationInfo{Role: role} // shared: nothing changes one in place
	for i := range out {
		out[i].AllocationInfo = info
	}
	return out
}

// HasAllocationInfo reports whether any entry of rs carries
// allocation_info.
func (rs Resources) HasAllocationInfo() bool {
	for i := range rs {
		if rs[i].AllocationInfo != nil {
			return true
		}
	}
	return false
}

// Unallocate returns a copy of rs with allocation_info removed.
func (rs Resources) Unallocate() Resources {
	out := Resources(nil)
	for i := range rs {
		c := rs[i].Clone()
		c.AllocationInfo = nil
		out = out.addOne(&c)
	}
	return out
}

// AllocatableTo returns the resources a framework in role may be offered:
// unreserved ones and those reserved for role or for one of its ancestors
// ("eng" reservations go to "eng/web" too, as in Mesos).
func (rs Resources) AllocatableTo(role string) Resources {
	var out Resources
	for i := range rs {
		rr := rs[i].ReservationRole()
		if rr == "*" || rr == role || IsStrictSubrole(role, rr) {
			out = append(out, rs[i].Clone())
		}
	}
	return out
}

// WithDefaultAllocation returns a copy where resources lacking
// allocation_info take role (Mesos: task resources inherit the offer's).
func (rs Resources) WithDefaultAllocation(role string) Resources {
	out := rs.Clone()
	for i := range out {
		if out[i].AllocationInfo == nil {
			out[i].AllocationInfo = &AllocationInfo{Role: role}
		}
	}
	return out
}

// ForWire renders resources so that frameworks written before
// RESERVATION_REFINEMENT read them too: unreserved resources carry
// "role":"*", and a single dynamic reservation is also written the old
// way ("role" and "reservation"), beside the "reservations" stack that
// newer frameworks read (UpgradeResources reads either back).
func (rs Resources) ForWire() Resources {
	out := rs.Clone()
	for i := range out {
		r := &out[i]
		switch {
		case r.Role == "" && len(r.Reservations) == 0:
			r.Role = "*"
		case len(r.Reservations) == 1 && r.Reservations[0].Type == ReservationDynamic && r.Reservation == nil:
			rv := r.Reservations[0]
			r.Role = rv.Role
			r.Reservation = &ReservationInfo{Principal: rv.Principal, Labels: rv.Labels}
		}
	}
	return out
}

// IsEmpty reports whether rs holds nothing.
func (rs Resources) IsEmpty() bool {
	for i := range rs {
		if !rs[i].isEmpty() {
			return false
		}
	}
	return true
}

// String renders rs in the --resources grammar, e.g. "cpus:2;mem:1024".
func (rs Resources) String() string {
	var parts []string
	for i := range rs {
		r := &rs[i]
		name := r.Name
		if role := r.ReservationRole(); role != "*" {
			name += "(" + role + ")"
		}
		switch {
		case r.Type == ValueScalar && r.Scalar != nil:
			parts = append(parts, fmt.Sprintf("%s:%g", name, r.Scalar.Value))
		case r.Type == ValueRanges && r.Ranges != nil:
			var rg []string
			for _, x := range r.Ranges.Range {
				rg = append(rg, fmt.Sprintf("%d-%d", x.Begin, x.End))
			}
			parts = append(parts, fmt.Sprintf("%s:[%s]", name, strings.Join(rg, ",")))
		case r.Type == ValueSet && r.Set != nil:
			parts = append(parts, fmt.Sprintf("%s:{%s}", name, strings.Join(r.Set.Item, ",")))
		}
	}
	return strings.Join(parts, ";")
}

// ScalarResource builds an unreserved scalar resource.
func ScalarResource(name string, v float64) Resource {
	return Resource{Name: name, Type: ValueScalar, Scalar: &Scalar{Value: v}}
}

// RangesResource builds an unreserved ranges resource.
func RangesResource(name string, rg ...Range) Resource {
	return Resource{Name: name, Type: ValueRanges, Ranges: &Ranges{Range: rg}}
}
