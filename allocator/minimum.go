package allocator

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"mesh/mesos"
)

// DefaultMinAllocatable is Mesos' default -min_allocatable_resources: an
// offer needs at least 0.01 cpus or 32 MB of memory.
const DefaultMinAllocatable = "cpus:0.01|mem:32"

// ParseMinAllocatable parses Mesos' -min_allocatable_resources grammar:
// quantity sets separated by '|', each a ';'-separated list of name:amount
// (cpus:1;mem:128|disk:1000). An offer is made when it holds at least every
// amount of one of the sets.
func ParseMinAllocatable(s string) ([]map[string]float64, error) {
	var sets []map[string]float64
	for _, part := range strings.Split(s, "|") {
		set := map[string]float64{}
		for _, q := range strings.Split(part, ";") {
			q = strings.TrimSpace(q)
			if q == "" {
				continue
			}
			name, amount, ok := strings.Cut(q, ":")
			name = strings.TrimSpace(name)
			if !ok || name == "" {
				return nil, fmt.Errorf("min allocatable resources: %q is not name:amount", q)
			}
			v, err := strconv.ParseFloat(strings.TrimSpace(amount), 64)
			if err != nil || v < 0 || math.IsInf(v, 0) || math.IsNaN(v) {
				return nil, fmt.Errorf("min allocatable resources: %q: the amount must be a number, not negative", q)
			}
			if _, dup := set[name]; dup {
				return nil, fmt.Errorf("min allocatable resources: %q is named twice in one set", name)
			}
			set[name] = v
		}
		if len(set) == 0 {
			return nil, fmt.Errorf("min allocatable resources: %q holds an empty set", s)
		}
		sets = append(sets, set)
	}
	return sets, nil
}

// meetsMinimum reports whether rs holds at least one of the sets: some of
// each resource it names, and no less than the amount given.
func meetsMinimum(rs mesos.Resources, sets []map[string]float64) bool {
	for _, set := range sets {
		ok := true
		for name, min := range set {
			if have := rs.Scalar(name); have <= 0 || have < min {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}
