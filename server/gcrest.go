package server

import (
	"context"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
)

// restingGC lowers the process' GC target while the server is at rest,
// and puts it back as soon as it is not.
//
// Go collects once the heap has grown by GOGC percent (100) of what the
// last collection found live, and keeps that much memory from the system.
// A leader of 5,000 agents and 100,000 tasks, with nothing launching, held
// 540 MiB of RSS for about 130 MiB of live heap: its heap goal was twice
// what the last collection marked, and the room above the live data stays
// the process' until the runtime returns it, slowly. The target matters
// for cpu only while the heap grows fast: a collection's cost is about
// the live heap, and collections come once per GOGC percent of it
// allocated. At rest (agents' pings, a framework's occasional call) the
// heap grows by a few MB a second, so a lower target costs a collection
// every several seconds instead of every minute, and keeps the heap near
// its live data.
//
// Returning the freed memory once is not enough: Go keeps up to a tenth
// more than the heap in use as free pages it does not return (its
// scavenger's margin), and at rest the heap in use is its live data spread
// over pages that placement's garbage once shared. A leader of 5,000 agents
// and 100,000 tasks at rest kept 19 MB of such pages, 6% of its RSS. So
// while at rest, a quiet window that ends with more than restFreeSlack
// free and not returned returns it. That is a collection, whose cost grows
// with the live heap: after one that took d, it waits restFreeShare × d
// before the next, so that returning memory keeps to about a hundredth
// of the time at rest (a collection of a 125 MB heap takes a few hundred
// milliseconds; one of 2 GB, seconds).
//
// It judges ten-second windows. A window is quiet when the process
// allocated less in it than quiet percent of the live heap: at that pace
// a collection at the lower target comes at most once a window. After two
// quiet windows in a row it lowers the target, and collects and returns
// the freed memory to the system once. It reads the bytes allocated every
// second, and a window is busy as soon as they pass that budget, which
// puts the target back at once: a burst of work runs at most a second at
// the lower target, while a scrape of the metrics or a framework's
// occasional call, far under the budget, leaves a window quiet. A new
// leader that is settling (settle.go) owns the target meanwhile, and
// this waits. Coming to rest, before it returns the freed memory, it has
// the state's records and the allocator's filters compacted: packed into
// arrays of their own, they leave the pages they were spread over free
// to return (compactState, which also drops the raft log's mapped pages).
//
// The GC target is the process'. One server runs in a process (tests run
// several; each then judges from the same process-wide figures, and puts
// back the target the process started with).
type restingGC struct {
	base  int // the target the process started with (GOGC, else 100)
	quiet int // the target at rest
	// tick is how often it reads the bytes allocated, and a window is
	// span ticks; calmWindows quiet windows in a row lower the target.
	tick        time.Duration
	span        int
	calmWindows int

	// resting is set once the target is lowered; calm counts the quiet
	// windows in a row, ticks the ticks of the window so far and grown
	// the bytes allocated in it. Only run's goroutine uses them.
	resting bool
	// freeWait counts the quiet windows to let pass before memory is
	// returned again.
	freeWait int
	calm     int
	ticks    int
	grown    uint64
	allocs   uint64 // bytes allocated until the last tick

	// read gives the bytes allocated since the process started and the
	// heap the last collection found live (runtime/metrics); free the
	// heap's free pages not yet returned to the system; settled runs
	// f unless a new leader is settling, which owns the target then;
	// setGC and freeMemory are debug.SetGCPercent and debug.FreeOSMemory;
	// compact, when set, compacts what the server keeps for long
	// (compactState).
	read       func() (allocs, live uint64)
	free       func() uint64
	now        func() time.Time
	settled    func(f func()) bool
	setGC      func(int) int
	freeMemory func()
	compact    func()
	logger     hclog.Logger
}

// restTick is how often restingGC reads the bytes allocated, restSpan
// the ticks of a window it judges, and restCalm how many quiet windows in
// a row lower the target.
const (
	restTick = time.Second
	restSpan = 10
	restCalm = 2
	// restFreeSlack is how much free memory a server at rest may keep
	// from the system at the end of a quiet window.
	restFreeSlack = 8 << 20
	// restFreeShare is how many times the last return's duration a
	// server at rest waits before returning memory again.
	restFreeShare = 100
)

// newRestingGC returns nil when there is nothing to lower: quiet is not
// positive, or the process' own target (GOGC) is off or at most quiet.
func newRestingGC(quiet int, tick time.Duration, settled func(f func()) bool, compact func(), logger hclog.Logger) *restingGC {
	base := processGCPercent()
	if quiet <= 0 || base < 0 || base <= quiet {
		return nil
	}
	return &restingGC{base: base, quiet: quiet, tick: tick, span: restSpan, calmWindows: restCalm,
		read: readHeapMetrics, free: readHeapFree, now: time.Now, settled: settled, setGC: debug.SetGCPercent, freeMemory: debug.FreeOSMemory,
		compact: compact, logger: logger}
}

// run judges every window until ctx is done, and puts the target back then.
func (g *restingGC) run(ctx context.Context) {
	if g == nil {
		return
	}
	g.allocs, _ = g.read()
	t := time.NewTicker(g.tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			if g.resting {
				g.settled(func() { g.setGC(g.base) })
			}
			return
		case <-t.C:
			g.observe()
		}
	}
}

// observe reads the bytes allocated since the last tick, and judges the
// window once it is busy or has ended.
func (g *restingGC) observe() {
	allocs, live := g.read()
	g.grown += allocs - g.allocs
	g.allocs = allocs
	g.ticks++
	budget := live * uint64(g.quiet) / 100
	switch {
	case live == 0 || g.grown >= budget:
		g.busy()
	case g.ticks >= g.span:
		g.quietWindow()
	}
}

// busy ends the window as a busy one: the target goes back.
func (g *restingGC) busy() {
	g.ticks, g.grown, g.calm = 0, 0, 0
	if g.resting && g.settled(func() { g.setGC(g.base) }) {
		g.resting = false
		g.logger.Debug("busy: the GC target is back", "gc_percent", g.base)
	}
}

// quietWindow ends the window as a quiet one: after calmWindows in a row
// the target is lowered and the freed memory given back.
func (g *restingGC) quietWindow() {
	g.ticks, g.grown = 0, 0
	g.calm++
	if g.resting {
		if g.freeWait > 0 {
			g.freeWait--
		} else if g.free() > restFreeSlack {
			g.returnMemory()
			g.allocs, _ = g.read()
		}
		return
	}
	if g.calm < g.calmWindows {
		return
	}
	// Compacted at the process' own target: at the lower one, its copies
	// would have the runtime collect over and over.
	if g.compact != nil {
		g.compact()
	}
	if g.settled(func() { g.setGC(g.quiet) }) {
		g.resting = true
		g.logger.Debug("at rest: the GC target is lowered and freed memory returned", "gc_percent", g.quiet)
		g.returnMemory()
	}
	// What the compaction allocated is not the next window's.
	g.allocs, _ = g.read()
}

// returnMemory collects and returns the free memory, and sets how many
// quiet windows to wait before the next time from how long it took.
func (g *restingGC) returnMemory() {
	start := g.now()
	g.freeMemory()
	took := g.now().Sub(start)
	window := time.Duration(g.span) * g.tick
	g.freeWait = int(restFreeShare * took / window)
	g.logger.Debug("at rest: freed memory returned", "took", took, "windows_to_wait", g.freeWait)
}

// processGCPercent is the GC target the process started with, read once
// before any server changes it.
var processGCPercent = sync.OnceValue(func() int {
	base := debug.SetGCPercent(100)
	debug.SetGCPercent(base)
	return base
})

// readHeapMetrics reads the bytes allocated on the heap since the process
// started and the heap the last collection found live.
func readHeapMetrics() (allocs, live uint64) {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}, {Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() == metrics.KindUint64 {
		allocs = s[0].Value.Uint64()
	}
	if s[1].Value.Kind() == metrics.KindUint64 {
		live = s[1].Value.Uint64()
	}
	return allocs, live
}

// readHeapFree reads the bytes of the heap's free pages that the process
// keeps from the system.
func readHeapFree() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/free:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() == metrics.KindUint64 {
		return s[0].Value.Uint64()
	}
	return 0
}

// compactState has the state's records compacted (fsm.Compact), a
// leader's allocator its filters (allocator.Compact), and the raft log's
// mapped pages released (logpages.go), once the server comes to rest.
func (s *Server) compactState() {
	start := time.Now()
	n, ok := s.fsm.Compact()
	logger := s.logger.Named("gc")
	logger.Debug("at rest: the state's records compacted", "records", n, "installed", ok, "took", time.Since(start))
	if m, err := s.currentMaster(); err == nil {
		start = time.Now()
		n := m.alloc.Compact()
		logger.Debug("at rest: the allocator's filters compacted", "filters", n, "took", time.Since(start))
	}
	if s.logPages != nil {
		s.logPages.Release()
	}
}
