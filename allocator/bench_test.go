package allocator

import (
	"fmt"
	"math"
	"runtime"
	"slices"
	"syscall"
	"testing"
	"time"

	"mesh/mesos"
)

// forever is the refusal of Mesos' benchmark: a decline filter that never
// expires within a run.
const forever = time.Duration(math.MaxInt64)

// cpuTime is the CPU time (user and system) the process has used. On a
// machine shared with other work, CPU time per op depends far less on the
// load than wall time does; the benchmarks report both.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchAgentTotal is the agent of Mesos' allocator benchmarks:
// cpus:24;mem:4096;disk:4096;ports:[31000-32000].
func benchAgentTotal() mesos.Resources {
	return mesos.Resources{
		mesos.ScalarResource("cpus", 24),
		mesos.ScalarResource("mem", 4096),
		mesos.ScalarResource("disk", 4096),
		mesos.RangesResource("ports", mesos.Range{Begin: 31000, End: 32000}),
	}
}

// benchAgentUsed is what one framework's 16 tasks hold on every agent:
// cpus:16;mem:2014;disk:1024 and 16 ports spread over the range.
func benchAgentUsed() mesos.Resources {
	rs := mesos.Resources{
		mesos.ScalarResource("cpus", 16),
		mesos.ScalarResource("mem", 2014),
		mesos.ScalarResource("disk", 1024),
	}
	var ports []mesos.Range
	for k := range uint64(16) {
		p := 31000 + k*62
		ports = append(ports, mesos.Range{Begin: p, End: p})
	}
	return append(rs, mesos.RangesResource("ports", ports...))
}

// benchCluster builds the cluster of Mesos' DeclineOffers benchmark with
// the allocator registered under name: frameworks in role "*", agents
// whose 16 cpus are used by one framework each, round robin. It returns
// the allocator and the function that takes the last round.
func benchCluster(b *testing.B, name string, agents, frameworks int) (Allocator, func() []Allocation) {
	b.Helper()
	var last []Allocation
	cfg := DefaultConfig()
	cfg.Clock = newFakeClock()
	cfg.Offer = func(round []Allocation) { last = round }
	a, err := New(name, cfg)
	if err != nil {
		b.Fatal(err)
	}
	fws := make([]string, frameworks)
	for i := range fws {
		fws[i] = fmt.Sprintf("framework-%05d", i)
		a.AddFramework(fws[i], []string{"*"}, nil)
	}
	total, used := benchAgentTotal(), benchAgentUsed()
	for i := range agents {
		a.AddAgent(fmt.Sprintf("agent-%05d", i), total, map[string]mesos.Resources{fws[i%frameworks]: used})
	}
	return a, func() []Allocation { r := last; last = nil; return r }
}

// BenchmarkAllocationCycle is Mesos' DeclineOffers allocator benchmark:
// each op is one full allocation cycle, after which (untimed) every offer
// of the cycle is declined with a filter that never expires, so the next
// cycle offers each agent to a framework that has not refused it yet and
// must skip those that have. Cycle n thus checks n-1 filters per agent,
// as round n of Mesos' benchmark does; ops are averaged over the first
// b.N cycles, so compare runs of the same -benchtime Nx.
func BenchmarkAllocationCycle(b *testing.B) {
	sizes := []struct{ agents, frameworks int }{
		{1000, 100}, {5000, 500}, {10000, 1000}, {20000, 2000},
	}
	for _, name := range Names() {
		for _, s := range sizes {
			b.Run(fmt.Sprintf("allocator=%s/agents=%d/frameworks=%d", name, s.agents, s.frameworks), func(b *testing.B) {
				a, take := benchCluster(b, name, s.agents, s.frameworks)
				rounds := 0
				runtime.GC()
				var cpu time.Duration
				b.ReportAllocs()
				b.ResetTimer()
				for range b.N {
					c0 := cpuTime()
					a.AllocateNow()
					cpu += cpuTime() - c0
					b.StopTimer()
					round := take()
					if len(round) == 0 && rounds < s.frameworks {
						b.Fatalf("cycle %d offered nothing", rounds)
					}
					for _, o := range round {
						a.Recover(o.FrameworkID, o.AgentID, o.Resources, forever)
					}
					rounds++
					// The declines' garbage is collected here, untimed, so
					// that the next cycle pays for its own only.
					runtime.GC()
					b.StartTimer()
				}
				b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "cpu-ms/op")
			})
		}
	}
}

// BenchmarkFreedToOffer measures the allocator's part of resources freed
// → an offer to the one framework waiting for them: every agent of the
// cluster is full, one task's resources are recovered, and the pass that
// follows must offer them. It reports the median and the 99th percentile.
func BenchmarkFreedToOffer(b *testing.B) {
	for _, name := range Names() {
		for _, agents := range []int{10000, 20000} {
			b.Run(fmt.Sprintf("allocator=%s/agents=%d/frameworks=%d", name, agents, agents/10), func(b *testing.B) {
				a, take := benchCluster(b, name, agents, agents/10)
				// Fill the cluster: whatever is offered is kept.
				for range 3 {
					a.AllocateNow()
					take()
				}
				a.AddFramework("waiting", []string{"*"}, nil)
				a.AllocateNow()
				if r := take(); len(r) != 0 {
					b.Fatalf("a full cluster offered %v", r)
				}
				task := mesos.Resources{mesos.ScalarResource("cpus", 1), mesos.ScalarResource("mem", 128)}
				var took, cpu []time.Duration
				b.ReportAllocs()
				b.ResetTimer()
				for i := range b.N {
					b.StopTimer()
					agent := fmt.Sprintf("agent-%05d", (i*7919)%agents)
					holder := fmt.Sprintf("framework-%05d", ((i*7919)%agents)%(agents/10))
					a.Recover(holder, agent, task.Allocate("*"), 0)
					b.StartTimer()
					start, c0 := time.Now(), cpuTime()
					a.AllocateNow()
					took = append(took, time.Since(start))
					cpu = append(cpu, cpuTime()-c0)
					b.StopTimer()
					round := take()
					if len(round) != 1 || round[0].FrameworkID != "waiting" {
						b.Fatalf("freed resources went to %v, want one offer to the waiting framework", round)
					}
					// The waiting framework launches on it: it stays held.
					b.StartTimer()
				}
				b.StopTimer()
				ms := func(ds []time.Duration, q int) float64 {
					slices.Sort(ds)
					return float64(ds[len(ds)*q/100].Microseconds()) / 1000
				}
				b.ReportMetric(ms(took, 50), "p50-ms")
				b.ReportMetric(ms(took, 99), "p99-ms")
				b.ReportMetric(ms(cpu, 50), "cpu-p50-ms")
			})
		}
	}
}

// BenchmarkRestoreFilters installs, as a new leader does when a framework
// subscribes again, the framework's decline filters on 5,000 agents, with
// the resources the state records them with (without allocation info).
func BenchmarkRestoreFilters(b *testing.B) {
	const agents = 5000
	filters := make([]RecordedFilter, agents)
	_, _, clock := newTestDRF(b)
	until := clock.Now().Add(time.Hour)
	for i := range filters {
		filters[i] = RecordedFilter{AgentID: fmt.Sprintf("a%d", i), Role: "*",
			Resources: mesos.Resources{mesos.ScalarResource("cpus", 3.5), mesos.ScalarResource("mem", 6000)}, Until: until}
	}
	b.ReportAllocs()
	for b.Loop() {
		d, _, _ := newTestDRF(b)
		d.AddFramework("f", []string{"*"}, nil)
		d.Filter("f", filters...)
	}
}

// BenchmarkCompactFilters: what DRF.Compact holds the allocator for at
// 100 frameworks each with a filter on each of 1,300 agents (130,000
// filters, as a leader at rest after placing 100,000 tasks on 5,000
// agents holds), the agents' filter resources shared as declines share
// them.
func BenchmarkCompactFilters(b *testing.B) {
	const agents, frameworks = 1300, 100
	d, _, clock := newTestDRF(b)
	until := clock.Now().Add(time.Hour)
	filters := make([]RecordedFilter, agents)
	for i := range filters {
		res := mesos.Resources{mesos.ScalarResource("cpus", 3.5), mesos.ScalarResource("mem", float64(6000+i))}
		filters[i] = RecordedFilter{AgentID: fmt.Sprintf("a%d", i), Role: "*", Resources: res, Until: until}
	}
	for f := range frameworks {
		id := fmt.Sprintf("f%d", f)
		d.AddFramework(id, []string{"*"}, nil)
		d.Filter(id, filters...)
	}
	b.ReportAllocs()
	for b.Loop() {
		if n := d.Compact(); n != agents*frameworks {
			b.Fatalf("compacted %d filters", n)
		}
	}
}
