package executor

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// mesosUnits are the duration units of Mesos' flag and environment
// format ("5secs", "15mins"), longest suffix first so "mins" wins over
// "ns" and "ms".
var mesosUnits = []struct {
	suffix string
	d      time.Duration
}{
	{"weeks", 7 * 24 * time.Hour},
	{"days", 24 * time.Hour},
	{"secs", time.Second},
	{"mins", time.Minute},
	{"hrs", time.Hour},
	{"ms", time.Millisecond},
	{"us", time.Microsecond},
	{"ns", time.Nanosecond},
}

// FormatDuration renders d in Mesos' format, e.g. "5secs", "15mins",
// "250ms", choosing the largest unit that represents d exactly.
func FormatDuration(d time.Duration) string {
	if d == 0 {
		return "0secs"
	}
	for _, u := range []struct {
		suffix string
		d      time.Duration
	}{
		{"weeks", 7 * 24 * time.Hour}, {"days", 24 * time.Hour}, {"hrs", time.Hour},
		{"mins", time.Minute}, {"secs", time.Second}, {"ms", time.Millisecond},
		{"us", time.Microsecond},
	} {
		if d%u.d == 0 {
			return strconv.FormatInt(int64(d/u.d), 10) + u.suffix
		}
	}
	return strconv.FormatInt(int64(d), 10) + "ns"
}

// ParseDuration reads a duration in Mesos' format ("5secs", "1.5mins",
// "100ms") or Go's ("5s", "1m30s").
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	for _, u := range mesosUnits {
		num, ok := strings.CutSuffix(s, u.suffix)
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(num, 64)
		if err != nil || v < 0 || v*float64(u.d) > float64(1<<62) {
			break
		}
		return time.Duration(v * float64(u.d)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("invalid duration %q: want e.g. 5secs, 15mins or 100ms", s)
	}
	return d, nil
}
