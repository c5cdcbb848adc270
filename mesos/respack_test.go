package mesos

import (
	"reflect"
	"strings"
	"testing"
	"unsafe"
)

func TestResourcePacker_PacksEqualCopies(t *testing.T) {
	ports := Resource{Name: strings.Clone("ports"), Type: strings.Clone("RANGES"), Ranges: &Ranges{Range: []Range{{31000, 31099}, {32000, 32000}}}}
	a := Resources{
		{Name: strings.Clone("cpus"), Type: strings.Clone("SCALAR"), Scalar: &Scalar{Value: 1.5}, Role: strings.Clone("*")},
		{Name: strings.Clone("mem"), Type: strings.Clone("SCALAR"), Scalar: &Scalar{Value: 512}},
		ports,
		{Name: "empty", Type: "RANGES", Ranges: &Ranges{Range: []Range{}}},
		{Name: "set", Type: "SET", Set: &Set{Item: []string{"x"}}},
	}
	b := Resources{{Name: "cpus", Type: "SCALAR", Scalar: &Scalar{Value: 2}}}
	var p ResourcePacker
	pa, pb := p.Pack(a), p.Pack(b)
	if !reflect.DeepEqual(pa, a) || !reflect.DeepEqual(pb, b) {
		t.Fatalf("packed copies differ:\n%+v\n%+v", pa, pb)
	}
	if &pa[0] == &a[0] || pa[0].Scalar == a[0].Scalar || pa[2].Ranges == a[2].Ranges || &pa[2].Ranges.Range[0] == &a[2].Ranges.Range[0] {
		t.Fatal("a packed copy shares its resources, scalars or ranges with the original")
	}
	if pa[3].Ranges.Range == nil {
		t.Fatal("an empty list of ranges became none")
	}
	if cap(pa) != len(pa) || cap(pa[2].Ranges.Range) != len(pa[2].Ranges.Range) {
		t.Fatal("a packed copy has room to grow into its neighbour's")
	}
	if uintptr(unsafe.Pointer(&pb[0])) != uintptr(unsafe.Pointer(&pa[0]))+uintptr(len(pa))*unsafe.Sizeof(Resource{}) {
		t.Fatal("two packed copies do not lie side by side")
	}
	if unsafe.StringData(pa[0].Name) != unsafe.StringData("cpus") || unsafe.StringData(pa[0].Type) != unsafe.StringData("SCALAR") ||
		unsafe.StringData(pa[0].Role) != unsafe.StringData("*") {
		t.Fatal("the usual names and types are not the constants")
	}
	if again := p.Pack(a); &again[0] != &pa[0] {
		t.Fatal("packing the same resources twice made two copies")
	}
	if empty := p.Pack(nil); empty != nil {
		t.Fatalf("packing nothing gave %v", empty)
	}
}
