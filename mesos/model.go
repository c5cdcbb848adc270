package mesos

import (
	"fmt"
	"sort"
	"strings"
)

// This file renders resources and attributes in the JSON shapes of
// Mesos' read endpoints (/state and the like, of masters and agents).

// ResourcesObject renders resources as Mesos' endpoints do: one key per
// resource name (revocable ones suffixed "_revocable"), scalars summed
// across roles, ranges and sets as text; cpus, gpus, mem and disk are
// always present.
func ResourcesObject(rs Resources) map[string]any {
	scalars := map[string]float64{"cpus": 0, "gpus": 0, "mem": 0, "disk": 0}
	ranges := map[string][]Range{}
	sets := map[string][]string{}
	for i := range rs {
		r := &rs[i]
		name := r.Name
		if r.Revocable != nil {
			name += "_revocable"
		}
		switch {
		case r.Type == ValueScalar && r.Scalar != nil:
			scalars[name] += r.Scalar.Value
		case r.Type == ValueRanges && r.Ranges != nil:
			ranges[name] = append(ranges[name], r.Ranges.Range...)
		case r.Type == ValueSet && r.Set != nil:
			sets[name] = append(sets[name], r.Set.Item...)
		}
	}
	out := make(map[string]any, len(scalars)+len(ranges)+len(sets))
	for k, v := range scalars {
		out[k] = RoundMilli(v)
	}
	for k, v := range ranges {
		out[k] = rangesText(v)
	}
	for k, v := range sets {
		out[k] = setText(v)
	}
	return out
}

// RoundMilli rounds v to thousandths, as Mesos shows scalar resources.
func RoundMilli(v float64) float64 {
	return float64(int64(v*1000+0.5)) / 1000
}

// rangesText renders ranges as Mesos does: "[31000-31099, 32000-32000]".
func rangesText(rg []Range) string {
	rg = append([]Range(nil), rg...)
	sort.Slice(rg, func(i, j int) bool { return rg[i].Begin < rg[j].Begin })
	var merged []Range
	for _, r := range rg {
		if n := len(merged); n > 0 && r.Begin <= merged[n-1].End+1 {
			if r.End > merged[n-1].End {
				merged[n-1].End = r.End
			}
			continue
		}
		merged = append(merged, r)
	}
	parts := make([]string, len(merged))
	for i, r := range merged {
		parts[i] = fmt.Sprintf("%d-%d", r.Begin, r.End)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// setText renders a set as Mesos does: "{a, b}".
func setText(items []string) string {
	items = append([]string(nil), items...)
	sort.Strings(items)
	return "{" + strings.Join(items, ", ") + "}"
}

// AttributesObject renders attributes as Mesos' endpoints do: scalars as
// numbers, ranges, sets and text as strings.
func AttributesObject(attrs []Attribute) map[string]any {
	out := make(map[string]any, len(attrs))
	for _, a := range attrs {
		switch {
		case a.Scalar != nil:
			out[a.Name] = a.Scalar.Value
		case a.Ranges != nil:
			out[a.Name] = rangesText(a.Ranges.Range)
		case a.Set != nil:
			out[a.Name] = setText(a.Set.Item)
		case a.Text != nil:
			out[a.Name] = a.Text.Value
		}
	}
	return out
}

// SplitReservations splits rs into its unreserved resources and its
// reserved ones by role.
func (rs Resources) SplitReservations() (unreserved Resources, reserved map[string]Resources) {
	reserved = map[string]Resources{}
	for i := range rs {
		if role := rs[i].ReservationRole(); role != "*" {
			reserved[role] = append(reserved[role], rs[i])
		} else {
			unreserved = append(unreserved, rs[i])
		}
	}
	return unreserved, reserved
}
