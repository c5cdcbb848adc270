package server

import (
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

// singleRaft is a one-server raft in memory with the given snapshot
// threshold.
func singleRaft(t *testing.T, threshold uint64) *raft.Raft {
	t.Helper()
	c := raft.DefaultConfig()
	c.LocalID = "a"
	c.SnapshotThreshold = threshold
	c.LogOutput = testWriter{t}
	_, trans := raft.NewInmemTransport("a")
	store := raft.NewInmemStore()
	r, err := raft.NewRaft(c, &raft.MockFSM{}, store, store, raft.NewInmemSnapshotStore(), trans)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Shutdown().Error() })
	return r
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }

// timers stands in for time.AfterFunc: the test fires what settling
// armed, and sees what it stopped.
type timers struct {
	armed   []func()
	periods []time.Duration
	stopped []bool
}

func (ts *timers) after(d time.Duration, f func()) func() bool {
	i := len(ts.armed)
	ts.armed, ts.periods, ts.stopped = append(ts.armed, f), append(ts.periods, d), append(ts.stopped, false)
	return func() bool { ts.stopped[i] = true; return true }
}

func TestSettling_PostponesSnapshotsAndCollectionsUntilSettled(t *testing.T) {
	r := singleRaft(t, 100)
	h, gc := newTestSettling(r, 30*time.Second, 100)
	var ts timers
	h.after = ts.after
	if h.snapshotsHeld() {
		t.Fatal("settling before any leader change")
	}
	h.hold()
	if !h.snapshotsHeld() {
		t.Fatal("snapshots not held after a leader change")
	}
	if got := *gc; got != 400 {
		t.Fatalf("GC target while settling %d, want 400", got)
	}
	// A second change while settling settles on for the whole period from
	// the second: the first one's timer is stopped, and were it to fire
	// anyway it would end nothing.
	h.hold()
	if len(ts.armed) != 2 || ts.periods[1] != 30*time.Second || !ts.stopped[0] {
		t.Fatalf("timers armed for %v, stopped %v; want the first stopped and a second of 30s", ts.periods, ts.stopped)
	}
	ts.armed[0]()
	if !h.snapshotsHeld() || *gc != 400 {
		t.Fatal("the first change's timer ended settling that the second renewed")
	}
	ts.armed[1]()
	if h.snapshotsHeld() {
		t.Fatal("snapshots still held once settled")
	}
	if got := r.ReloadableConfig().SnapshotThreshold; got != 100 {
		t.Fatalf("threshold once settled %d, want the configured 100", got)
	}
	if got := *gc; got != 100 {
		t.Fatalf("GC target once settled %d, want the 100 it was", got)
	}
	// The rest of raft's reloadable configuration is untouched.
	if got := r.ReloadableConfig().HeartbeatTimeout; got != raft.DefaultConfig().HeartbeatTimeout {
		t.Fatalf("heartbeat timeout %v changed", got)
	}
}

// A GC target set higher than the settling one, or off, is left alone.
func TestSettling_LeavesAHigherGCTargetAlone(t *testing.T) {
	r := singleRaft(t, 100)
	h, gc := newTestSettling(r, time.Hour, 800)
	h.hold()
	if got := *gc; got != 800 {
		t.Fatalf("GC target while settling %d, want the 800 set before", got)
	}
	h.mu.Lock()
	h.release()
	h.mu.Unlock()
	if got := *gc; got != 800 {
		t.Fatalf("GC target once settled %d, want 800", got)
	}
}

func TestSettling_NoSettleTimeChangesNothing(t *testing.T) {
	r := singleRaft(t, 100)
	h, gc := newTestSettling(r, -1, 100)
	h.hold()
	if h.snapshotsHeld() || *gc != 100 {
		t.Fatal("settling with a negative settle time")
	}
	var none *settling
	none.hold() // a server without raft yet: nothing to hold
}

// newTestSettling settles raft r (threshold 100) for period, raising the
// GC target to 400, with a GC target of its own that starts at gc (the
// process' is shared with every other test).
func newTestSettling(r *raft.Raft, period time.Duration, gc int) (*settling, *int) {
	h := newSettling(r, 100, period, 400)
	h.setGC = func(p int) int { prev := gc; gc = p; return prev }
	h.freeMemory = func() {}
	return h, &gc
}

// Once settled, a leader that raised its GC target gives the memory back
// to the system, once; one that left the target alone does not.
func TestSettling_GivesTheMemoryBackOnceSettled(t *testing.T) {
	for _, c := range []struct {
		before, frees int
	}{{100, 1}, {800, 0}} {
		r := singleRaft(t, 100)
		h, _ := newTestSettling(r, time.Hour, c.before)
		frees := 0
		h.freeMemory = func() { frees++ }
		var ts timers
		h.after = ts.after
		h.hold()
		if frees != 0 {
			t.Fatalf("GC target %d: memory given back while settling", c.before)
		}
		ts.armed[0]()
		h.end() // already settled: nothing more
		if frees != c.frees {
			t.Fatalf("GC target %d: memory given back %d times once settled, want %d", c.before, frees, c.frees)
		}
	}
}

// A leader whose leadership is revoked stops settling at once.
func TestSettling_EndsWithTheLeadership(t *testing.T) {
	r := singleRaft(t, 100)
	h, gc := newTestSettling(r, time.Hour, 100)
	h.hold()
	h.end()
	if h.snapshotsHeld() || *gc != 100 {
		t.Fatalf("after end: snapshots held %v, GC target %d; want neither changed", h.snapshotsHeld(), *gc)
	}
	h.end() // ending again changes nothing
	var none *settling
	none.end()
}

// While settling, the GC target is settling's: unlessSettling runs nothing.
func TestSettling_OwnsTheGCTargetWhileHolding(t *testing.T) {
	r := singleRaft(t, 100)
	h, _ := newTestSettling(r, time.Hour, 100)
	ran := 0
	if !h.unlessSettling(func() { ran++ }) || ran != 1 {
		t.Fatal("not settling: f did not run")
	}
	h.hold()
	if h.unlessSettling(func() { ran++ }) || ran != 1 {
		t.Fatal("settling: f ran")
	}
	h.end()
	if !h.unlessSettling(func() { ran++ }) || ran != 2 {
		t.Fatal("settled: f did not run")
	}
	var none *settling
	if !none.unlessSettling(func() { ran++ }) || ran != 3 {
		t.Fatal("no settling: f did not run")
	}
}
