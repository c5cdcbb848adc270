package server

import "runtime"

// cpuGate bounds how many of the agents' requests do their cpu-bound
// work at once: decoding a body, reconciling a registration's report.
//
// When a leader dies, a data center's agents come to the new one
// together, each on a connection of its own, and net/http gives each a
// goroutine. Ungated, they all decoded their SUBSCRIBE at once: 1,800
// goroutines were runnable together at 5,000 agents, and Go's scheduler,
// which has no priorities, ran them in turn before raft's log writer
// (which waited up to 0.4 s for a cpu after each fdatasync, and every
// registration with it for its commit) and before the frameworks'
// requests. Behind the gate the rest of them wait parked, not runnable.
//
// The gate applies while a new leader settles (settle.go), the seconds
// that storm comes in: otherwise agents' UPDATE calls, a few a second
// each, would queue for it behind holders preempted by everything else
// runnable (placement was about 6% slower with the gate always on: 2,120
// against 2,263 placements a second, medians of 8 interleaved runs).
//
// Work run through the gate must not wait for anything but the cpu (no
// commit, no lock another gated holder could need, no network): a slot
// is held only while the work runs.
type cpuGate struct{ slots chan struct{} }

// agentCPUPerProc is how many agents' requests may run their cpu-bound
// work at once per cpu Go runs on: enough to keep every cpu busy when
// some of them are preempted, few enough that whatever else becomes
// runnable waits for a handful of them at most.
const agentCPUPerProc = 4

func newCPUGate(n int) *cpuGate { return &cpuGate{slots: make(chan struct{}, max(n, 1))} }

func newAgentCPUGate() *cpuGate { return newCPUGate(agentCPUPerProc * runtime.GOMAXPROCS(0)) }

// agentCPUGate is the gate agents' requests go through now: the agent cpu
// gate while the server settles, none (nil) otherwise.
func (s *Server) agentCPUGate() *cpuGate {
	if s.settling.settlingNow() {
		return s.agentCPU
	}
	return nil
}

// run runs f once a slot is free; a nil gate runs it at once.
func (g *cpuGate) run(f func()) {
	if g == nil {
		f()
		return
	}
	g.slots <- struct{}{}
	defer func() { <-g.slots }()
	f()
}
