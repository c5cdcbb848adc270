package e2e

import (
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"mesh/mesos/scheduler/client"
)

// BenchmarkLeaderFailover kills -9 the leader of a 3-server cluster again
// and again (20 rounds; MESH_FAILOVER_ROUNDS changes it), with an agent
// and a framework subscribed through all three servers, and measures from
// the kill until
//
//   - elected: a surviving server knows a new raft leader,
//   - serves: the new leader is established (GET /health is_leader),
//   - resubscribed: the framework's new SUBSCRIBED event arrived,
//   - offer: the framework received a fresh OFFERS event.
//
// The killed server is started again on its data dir before the next
// round. Run it with
//
//	go test -run '^$' -bench LeaderFailover -benchtime 1x ./e2e/
//
// It measures; it asserts nothing about time.
func BenchmarkLeaderFailover(b *testing.B) {
	rounds := 20
	if v, err := strconv.Atoi(os.Getenv("MESH_FAILOVER_ROUNDS")); err == nil && v > 0 {
		rounds = v
	}
	// For experiments: MESH_FAILOVER_SERVER_FLAGS adds server flags (e.g.
	// raft timing), MESH_FAILOVER_CLIENT_MAX_BACKOFF caps the framework's
	// subscribe backoff (default: the client's own).
	c := newClusterWith(b, 3, false, strings.Fields(os.Getenv("MESH_FAILOVER_SERVER_FLAGS"))...)
	c.startAll()
	agent := start(b, "agent", "-allow-root-tasks", "-join", c.addrs(), "-http-addr", freePort(b), "-work-dir", b.TempDir(), "-resources", agentResources)
	waitAgents(b, c.waitStable(30*time.Second).httpAddr, 1)
	var maxBackoff time.Duration
	if v := os.Getenv("MESH_FAILOVER_CLIENT_MAX_BACKOFF"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			b.Fatalf("MESH_FAILOVER_CLIENT_MAX_BACKOFF: %v", err)
		}
		maxBackoff = d
	}
	fw := newTestFrameworkWith(b, client.Config{Masters: strings.Split(c.addrs(), ","), MaxBackoff: maxBackoff}, "failover-bench")
	fw.waitOffer(b, time.Time{}, 30*time.Second)

	var elected, serves, resub, agentReg, offer []time.Duration
	b.ResetTimer()
	for i := 0; i < rounds; i++ {
		old := c.waitStable(30 * time.Second)
		survivors := c.others(old)
		t0 := time.Now()
		old.p.kill(b)
		var tElected, tServes time.Time
		deadline := t0.Add(30 * time.Second)
		for tServes.IsZero() {
			if time.Now().After(deadline) {
				b.Fatalf("round %d: no new leader within 30s of killing %s", i, old.name)
			}
			for _, s := range survivors {
				var h health
				if getJSON(s.httpAddr, "/health", &h) != nil {
					continue
				}
				if tElected.IsZero() && h.Leader != "" && h.Leader != old.httpAddr {
					tElected = time.Now()
				}
				if h.IsLeader {
					tServes = time.Now()
					if tElected.IsZero() {
						tElected = tServes
					}
				}
			}
			time.Sleep(5 * time.Millisecond)
		}
		tOffer := fw.waitOffer(b, t0, 30*time.Second)
		tSub := fw.lastSubscribed()
		tAgent := agentRegisteredAfter(agent.out.String(), t0)
		elected = append(elected, tElected.Sub(t0))
		serves = append(serves, tServes.Sub(t0))
		resub = append(resub, tSub.Sub(t0))
		offer = append(offer, tOffer.Sub(t0))
		if !tAgent.IsZero() {
			agentReg = append(agentReg, tAgent.Sub(t0))
		}
		b.Logf("round %2d: killed %s; elected %v, serves %v, framework resubscribed %v, agent registered %v, offer %v", i, old.name,
			tElected.Sub(t0).Round(time.Millisecond), tServes.Sub(t0).Round(time.Millisecond),
			tSub.Sub(t0).Round(time.Millisecond), tAgent.Sub(t0).Round(time.Millisecond), tOffer.Sub(t0).Round(time.Millisecond))
		if tServes.Sub(t0) > time.Second {
			logElection(b, survivors, t0)
		}
		c.start(old)
	}
	b.StopTimer()
	c.waitStable(30 * time.Second)

	report := func(name string, ds []time.Duration) {
		p50, p99 := percentile(ds, 50), percentile(ds, 99)
		b.ReportMetric(p50.Seconds(), name+"-p50-s")
		b.ReportMetric(p99.Seconds(), name+"-p99-s")
		fmt.Printf("%-13s p50 %6.3fs  p99 %6.3fs  max %6.3fs  (%d kills)\n", name, p50.Seconds(), p99.Seconds(), percentile(ds, 100).Seconds(), len(ds))
	}
	report("elected", elected)
	report("serves", serves)
	report("resubscribed", resub)
	if len(agentReg) > 0 {
		report("agent", agentReg)
	}
	report("offer", offer)
}

// agentRegisteredAfter returns the time of the agent's first "registered"
// log line after t0 (log timestamps have millisecond precision), zero if
// there is none.
func agentRegisteredAfter(out string, t0 time.Time) time.Time {
	for _, line := range strings.Split(out, "\n") {
		if !strings.Contains(line, "mesh.agent.conn: registered") {
			continue
		}
		ts, _, _ := strings.Cut(line, " ")
		at, err := time.Parse("2006-01-02T15:04:05.000Z0700", ts)
		if err == nil && !at.Before(t0.Truncate(time.Millisecond)) {
			return at
		}
	}
	return time.Time{}
}

// percentile returns the p-th percentile of ds by nearest rank.
func percentile(ds []time.Duration, p float64) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	k := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[max(0, min(k, len(s)-1))]
}

// logElection shows, for a slow round, what the survivors' logs say about
// the leader watch and raft's elections since the kill at t0.
func logElection(b *testing.B, survivors []*testServer, t0 time.Time) {
	for _, s := range survivors {
		for _, line := range strings.Split(s.p.out.String(), "\n") {
			ts, err := time.Parse(time.RFC3339Nano, strings.SplitN(line, " ", 2)[0])
			if err != nil || ts.Before(t0.Add(-time.Second)) {
				continue
			}
			if strings.Contains(line, "watch") || strings.Contains(line, "campaign") || strings.Contains(line, "candidate") || strings.Contains(line, "election") || strings.Contains(line, "leader") {
				fmt.Fprintf(os.Stderr, "%s: %s\n", s.name, line)
			}
		}
	}
}
