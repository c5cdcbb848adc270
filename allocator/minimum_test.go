package allocator

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseMinAllocatable(t *testing.T) {
	got, err := ParseMinAllocatable("cpus:1;mem:128 | disk:1000")
	want := []map[string]float64{{"cpus": 1, "mem": 128}, {"disk": 1000}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("ParseMinAllocatable = %v, %v; want %v", got, err, want)
	}
	for in, msg := range map[string]string{
		"cpus":          "not name:amount",
		"cpus:x":        "must be a number",
		"cpus:-1":       "must be a number",
		"cpus:1;cpus:2": "named twice",
		"cpus:1||mem:1": "empty set",
		"":              "empty set",
		":1":            "not name:amount",
		"cpus:1e400":    "must be a number",
	} {
		if _, err := ParseMinAllocatable(in); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("ParseMinAllocatable(%q) = %v, want an error with %q", in, err, msg)
		}
	}
}

func FuzzParseMinAllocatable(f *testing.F) {
	for _, s := range []string{DefaultMinAllocatable, "cpus:1;mem:128|disk:1000", "|", "a:b:c", ";;"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sets, err := ParseMinAllocatable(s)
		if err != nil {
			return
		}
		for _, set := range sets {
			if len(set) == 0 {
				t.Fatalf("%q parsed into an empty set", s)
			}
			for name, v := range set {
				if name == "" || v < 0 {
					t.Fatalf("%q parsed into %q:%v", s, name, v)
				}
			}
		}
	})
}

// With a minimum of 2 cpus and 1 GB, an agent with 1 cpu left is not
// offered; one set of several is enough.
func TestDRF_MinAllocatableResources(t *testing.T) {
	d, rec, _ := newTestDRF(t)
	sets, _ := ParseMinAllocatable("cpus:2;mem:1024|disk:500")
	d.cfg.MinAllocatable = sets
	d.AddFramework("f", []string{"r"}, nil)
	d.AddAgent("small", res(1, 4096), nil)
	d.AddAgent("big", res(2, 1024), nil)
	wantOwners(t, pass(t, d, rec), "big:f")
}
