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

// waitUntil polls cond for up to d.
func waitUntil(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestSettling_PostponesSnapshotsAndCollectionsUntilSettled(t *testing.T) {
	r := singleRaft(t, 100)
	h, gc := newTestSettling(r, 200*time.Millisecond, 100)
	if h.snapshotsHeld() {
		t.Fatal("settling before any leader change")
	}
	start := time.Now()
	h.hold()
	if !h.snapshotsHeld() {
		t.Fatal("snapshots not held after a leader change")
	}
	if got := *gc; got != 400 {
		t.Fatalf("GC target while settling %d, want 400", got)
	}
	// A second change within the settle time settles on from the second.
	time.Sleep(100 * time.Millisecond)
	second := time.Now()
	h.hold()
	waitUntil(t, 2*time.Second, "settled", func() bool { return !h.snapshotsHeld() })
	if held := time.Since(second); held < 200*time.Millisecond {
		t.Fatalf("settled %v after the second change (%v after the first); want the settle time from the second", held, time.Since(start))
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
	return h, &gc
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
