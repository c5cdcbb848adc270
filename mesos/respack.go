package mesos

import "mesh/slab"

// ResourcePacker copies Resources into arrays it shares among them: the
// resources themselves, their scalars and their ranges, each kind in
// arrays of many. A process that keeps many small Resources for long
// (decline filters: one per framework and agent) made each of them, and
// each scalar in it, while it was busy with everything else; Go never
// moves an object, and every heap page holding one of them stayed in
// use. Copies packed side by side leave those pages free to return.
//
// A packed Resources has capacity equal to its length, so appending to it
// never writes into its neighbours'; like any shared Resources it must
// not be changed in place. Fields other than the scalar and the ranges
// (sets, reservations, disk) are kept as they were, shared with the
// original: they are rare. The usual names and types are the packer's
// constants rather than each Resources' own copy.
//
// A packer packs the same Resources (the same first element) once and
// returns that copy again, so resources shared before are shared after.
type ResourcePacker struct {
	resources []Resource
	scalars   []Scalar
	ranges    []Ranges
	rangeVals []Range
	packed    map[*Resource]Resources
}

// Slab sizes: each array is about 32 KB, past which Go gives an
// allocation pages of its own.
const (
	packResources = 224
	packScalars   = 4096
	packRanges    = 1024
	packRangeVals = 2048
)

// Pack returns a packed copy of rs (rs itself when empty).
func (p *ResourcePacker) Pack(rs Resources) Resources {
	if len(rs) == 0 {
		return rs
	}
	if c, ok := p.packed[&rs[0]]; ok && len(c) == len(rs) {
		return c
	}
	out := slab.Copy(&p.resources, rs, packResources)
	for i := range out {
		r := &out[i]
		r.Name, r.Type, r.Role = usualString(r.Name), usualString(r.Type), usualString(r.Role)
		if r.Scalar != nil {
			r.Scalar = slab.One(&p.scalars, *r.Scalar, packScalars)
		}
		if r.Ranges != nil {
			// An empty list of ranges stays as it was, nil or not.
			g := Ranges{Range: slab.Copy(&p.rangeVals, r.Ranges.Range, packRangeVals)}
			r.Ranges = slab.One(&p.ranges, g, packRanges)
		}
	}
	if p.packed == nil {
		p.packed = map[*Resource]Resources{}
	}
	p.packed[&rs[0]] = out
	return out
}

// usualString is the constant equal to s among the names, types and
// role nearly every resource repeats, else s.
func usualString(s string) string {
	switch s {
	case "cpus":
		return "cpus"
	case "mem":
		return "mem"
	case "disk":
		return "disk"
	case "gpus":
		return "gpus"
	case "ports":
		return "ports"
	case "SCALAR":
		return "SCALAR"
	case "RANGES":
		return "RANGES"
	case "SET":
		return "SET"
	case "*":
		return "*"
	}
	return s
}
