package execute

import (
	"math"
	"net"
	"strconv"

	"mesh/mesos"
)

// round keeps scalars in Mesos' three-decimal fixed point.
func round(v float64) float64 { return math.Round(v*1000) / 1000 }

// pack carves the resources of up to n tasks, each needing cpus and mem,
// out of offer, and returns one resource list per task that fits.
// Resources lacking allocation_info take the offer's, so every task is
// launched in the role the offer was made to.
func pack(offer *mesos.Offer, n int, cpus, mem float64) []mesos.Resources {
	avail := mesos.Resources(offer.Resources).Clone()
	if offer.AllocationInfo != nil && offer.AllocationInfo.Role != "" {
		avail = avail.WithDefaultAllocation(offer.AllocationInfo.Role)
	}
	var out []mesos.Resources
	for len(out) < n {
		var taken mesos.Resources
		ok := true
		for _, want := range []struct {
			name   string
			amount float64
		}{{"cpus", cpus}, {"mem", mem}} {
			got, fits := take(avail, want.name, want.amount)
			if !fits {
				ok = false
				break
			}
			taken = append(taken, got...)
		}
		if !ok || len(taken) == 0 {
			break
		}
		avail = avail.Subtract(taken...)
		out = append(out, taken)
	}
	return out
}

// take picks amount of the named plain scalar from avail, possibly spread
// over several entries (say unreserved and reserved cpus); each piece keeps
// its entry's role, reservation and allocation. It reports false when avail
// holds too little. avail is not modified.
func take(avail mesos.Resources, name string, amount float64) (mesos.Resources, bool) {
	left := round(amount)
	if left <= 0 {
		return nil, true
	}
	var got mesos.Resources
	for i := range avail {
		r := &avail[i]
		if r.Name != name || r.Type != mesos.ValueScalar || r.Scalar == nil ||
			r.Revocable != nil || r.Shared != nil || r.Disk != nil {
			continue
		}
		t := round(math.Min(r.Scalar.Value, left))
		if t <= 0 {
			continue
		}
		piece := r.Clone()
		piece.Scalar.Value = t
		got = append(got, piece)
		if left = round(left - t); left <= 0 {
			return got, true
		}
	}
	return nil, false
}

// agentURL returns the base URL of the HTTP server of the agent an offer
// came from, or "" when the offer does not say.
func agentURL(o *mesos.Offer, scheme string) string {
	if o.URL == nil || o.URL.Address.Port == 0 {
		return ""
	}
	host := o.URL.Address.IP
	if host == "" {
		host = o.URL.Address.Hostname
	}
	if host == "" {
		host = o.Hostname
	}
	if host == "" {
		return ""
	}
	if scheme == "" {
		scheme = o.URL.Scheme
	}
	if scheme == "" {
		scheme = "http"
	}
	return scheme + "://" + net.JoinHostPort(host, strconv.Itoa(int(o.URL.Address.Port)))
}
