package server

import (
	"context"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

// testRestingGC is a restingGC with a GC target, heap figures and a
// settling of its own (the process' are shared with every other test).
type testRestingGC struct {
	*restingGC
	gc       int
	total    uint64 // bytes allocated since the process started
	live     uint64
	settling bool
	frees    int
	// freeBytes is the heap's free memory not returned; giving memory
	// back returns it.
	freeBytes uint64
	// clock is the time now; giving memory back takes freeTakes of it.
	clock     time.Time
	freeTakes time.Duration
	// compactions counts the compactions; each allocates compactBytes,
	// and one after the memory was given back or the target lowered is
	// counted in late.
	compactions  int
	compactBytes uint64
	late         int
}

func newTestRestingGC() *testRestingGC {
	tg := &testRestingGC{gc: 100, live: 100 << 20}
	tg.restingGC = &restingGC{base: 100, quiet: 25, tick: time.Second, span: 10, calmWindows: 2,
		read: func() (uint64, uint64) { return tg.total, tg.live },
		free: func() uint64 { return tg.freeBytes },
		now:  func() time.Time { return tg.clock },
		settled: func(f func()) bool {
			ok := !tg.settling
			if ok {
				f()
			}
			return ok
		},
		setGC: func(p int) int { prev := tg.gc; tg.gc = p; return prev },
		freeMemory: func() {
			tg.frees++
			tg.freeBytes = 0
			tg.clock = tg.clock.Add(tg.freeTakes)
		},
		logger: hclog.NewNullLogger(),
	}
	tg.compact = func() {
		tg.compactions++
		tg.total += tg.compactBytes
		if tg.compactions != tg.frees+1 || tg.gc != tg.base {
			tg.late++ // after the memory was given back, or the target lowered
		}
	}
	return tg
}

// second lets a second pass in which the process allocated n bytes.
func (tg *testRestingGC) second(n uint64) {
	tg.total += n
	tg.observe()
}

// quietWindow lets a window pass allocating 1 MiB a second: 10 MiB, under
// a quarter of the live 100 MiB.
func (tg *testRestingGC) quietWindow() {
	for range tg.span {
		tg.second(1 << 20)
	}
}

// A server at rest for two windows in a row lowers the GC target and gives
// the freed memory back once. A second that allocates past the window's
// budget puts the target back at once, and so does a window that reaches
// it second by second; a few MB at once within a quiet window do not.
func TestRestingGC_LowersTheTargetAtRestOnly(t *testing.T) {
	tg := newTestRestingGC()
	tg.quietWindow()
	tg.second(30 << 20)
	tg.quietWindow()
	if tg.gc != 100 || tg.frees != 0 {
		t.Fatalf("quiet windows apart: GC target %d, memory given back %d times", tg.gc, tg.frees)
	}
	tg.quietWindow()
	if tg.gc != 25 || tg.frees != 1 {
		t.Fatalf("two quiet windows in a row: GC target %d, memory given back %d times; want 25, once", tg.gc, tg.frees)
	}
	tg.second(5 << 20) // a scrape of the metrics
	tg.quietWindow()
	tg.quietWindow()
	if tg.gc != 25 || tg.frees != 1 {
		t.Fatalf("still at rest: GC target %d, memory given back %d times; want 25, once", tg.gc, tg.frees)
	}
	tg.second(30 << 20)
	if tg.gc != 100 {
		t.Fatalf("a burst: GC target %d, want 100 back at once", tg.gc)
	}
	tg.quietWindow()
	tg.quietWindow()
	if tg.gc != 25 || tg.frees != 2 {
		t.Fatalf("at rest again: GC target %d, memory given back %d times; want 25, twice", tg.gc, tg.frees)
	}
	for range 8 {
		tg.second(3 << 20)
	}
	if tg.gc != 25 {
		t.Fatalf("24 MiB in 8 s: GC target %d, want 25 still", tg.gc)
	}
	tg.second(3 << 20)
	if tg.gc != 100 {
		t.Fatalf("27 MiB in 9 s: GC target %d, want 100 back", tg.gc)
	}
}

// While a new leader settles it owns the target: nothing is lowered nor
// put back until it has settled.
func TestRestingGC_WaitsForSettling(t *testing.T) {
	tg := newTestRestingGC()
	tg.settling = true
	tg.quietWindow()
	tg.quietWindow()
	tg.quietWindow()
	if tg.gc != 100 || tg.frees != 0 {
		t.Fatalf("while settling: GC target %d, memory given back %d times", tg.gc, tg.frees)
	}
	tg.settling = false
	tg.quietWindow()
	if tg.gc != 25 {
		t.Fatalf("settled and at rest: GC target %d, want 25", tg.gc)
	}
	tg.settling = true
	tg.gc = 400 // settling raised it
	tg.second(1 << 30)
	if tg.gc != 400 {
		t.Fatalf("busy while settling: GC target %d, want settling's 400 kept", tg.gc)
	}
	tg.settling = false
	tg.gc = 25 // settling put back what it found
	tg.second(1 << 30)
	if tg.gc != 100 {
		t.Fatalf("busy once settled: GC target %d, want 100", tg.gc)
	}
}

// Before the first collection nothing is known to be live, and nothing is
// judged quiet; when it stops, run puts the target back.
func TestRestingGC_NoLiveHeapYetAndTheEnd(t *testing.T) {
	tg := newTestRestingGC()
	tg.live = 0
	tg.quietWindow()
	tg.quietWindow()
	if tg.gc != 100 {
		t.Fatalf("no live heap known: GC target %d", tg.gc)
	}
	tg.live = 100 << 20
	tg.quietWindow()
	tg.quietWindow()
	if tg.gc != 25 {
		t.Fatalf("at rest: GC target %d", tg.gc)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	tg.run(ctx)
	if tg.gc != 100 {
		t.Fatalf("after run ends: GC target %d, want 100 back", tg.gc)
	}
	var none *restingGC
	none.run(ctx) // nothing to lower: returns at once
}

// Nothing to lower: the process' target is off or no higher than the
// target at rest, or no target at rest is set.
func TestRestingGC_NothingToLower(t *testing.T) {
	for _, quiet := range []int{-1, 0} {
		if g := newRestingGC(quiet, time.Second, nil, nil, nil); g != nil {
			t.Fatalf("target at rest %d: a restingGC", quiet)
		}
	}
	if g := newRestingGC(1<<20, time.Second, nil, nil, nil); g != nil {
		t.Fatal("a target at rest above the process' own: a restingGC")
	}
}

// TestRestingGC_CompactsComingToRest: coming to rest, the state is
// compacted once, before the freed memory is given back, and what the
// compaction allocated (here more than a window's budget) leaves the next
// window quiet. A burst and a new rest compact again.
func TestRestingGC_CompactsComingToRest(t *testing.T) {
	tg := newTestRestingGC()
	tg.compactBytes = 60 << 20
	tg.quietWindow()
	tg.quietWindow()
	if tg.compactions != 1 || tg.frees != 1 || tg.late != 0 {
		t.Fatalf("coming to rest: %d compactions (%d late), memory given back %d times; want once each, compaction first",
			tg.compactions, tg.late, tg.frees)
	}
	tg.quietWindow()
	tg.quietWindow()
	if tg.gc != 25 || tg.compactions != 1 {
		t.Fatalf("at rest after a compaction: GC target %d, %d compactions; want 25, one", tg.gc, tg.compactions)
	}
	tg.second(30 << 20)
	tg.quietWindow()
	tg.quietWindow()
	if tg.gc != 25 || tg.compactions != 2 || tg.late != 0 {
		t.Fatalf("at rest again after a burst: GC target %d, %d compactions (%d late); want 25, two, none late", tg.gc, tg.compactions, tg.late)
	}
}

// At rest, a quiet window that ends with more free memory kept from the
// system than restFreeSlack returns it; one with less, or a busy one,
// does not.
func TestRestingGC_ReturnsFreeMemoryWhileAtRest(t *testing.T) {
	tg := newTestRestingGC()
	tg.freeBytes = 50 << 20
	tg.quietWindow()
	if tg.frees != 0 {
		t.Fatalf("one quiet window, not yet at rest: memory given back %d times, want none", tg.frees)
	}
	tg.quietWindow()
	if tg.frees != 1 || tg.freeBytes != 0 {
		t.Fatalf("coming to rest: memory given back %d times, %d bytes kept; want once, none", tg.frees, tg.freeBytes)
	}
	tg.freeBytes = restFreeSlack
	tg.quietWindow()
	if tg.frees != 1 {
		t.Fatalf("at rest, %d bytes free: memory given back %d times in all, want once", tg.freeBytes, tg.frees)
	}
	tg.freeBytes = restFreeSlack + 1
	tg.quietWindow()
	if tg.frees != 2 || tg.freeBytes != 0 {
		t.Fatalf("at rest, more than the slack free: memory given back %d times in all (%d bytes kept), want twice (none)", tg.frees, tg.freeBytes)
	}
	tg.freeBytes = 50 << 20
	tg.second(30 << 20) // busy: the target goes back
	tg.quietWindow()
	if tg.frees != 2 || tg.gc != 100 {
		t.Fatalf("after a burst, one quiet window: memory given back %d times in all, GC target %d; want twice, 100", tg.frees, tg.gc)
	}
}

// Giving memory back costs a collection: after one that took d, a server
// at rest waits restFreeShare × d before the next, however much is free
// meanwhile.
func TestRestingGC_ReturnsFreeMemoryAtItsCost(t *testing.T) {
	tg := newTestRestingGC()
	tg.freeTakes = 250 * time.Millisecond // 25 s at restFreeShare 100: two windows to wait
	tg.quietWindow()
	tg.quietWindow()
	if tg.frees != 1 {
		t.Fatalf("coming to rest: memory given back %d times, want once", tg.frees)
	}
	for w := 1; w <= 2; w++ {
		tg.freeBytes = 50 << 20
		tg.quietWindow()
		if tg.frees != 1 {
			t.Fatalf("quiet window %d after a return that took %v: memory given back %d times in all, want once", w, tg.freeTakes, tg.frees)
		}
	}
	tg.quietWindow()
	if tg.frees != 2 {
		t.Fatalf("the third quiet window after: memory given back %d times in all, want twice", tg.frees)
	}
}
