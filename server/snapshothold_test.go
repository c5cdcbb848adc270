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

func TestSnapshotHold_PostponesPeriodicSnapshotsUntilSettled(t *testing.T) {
	r := singleRaft(t, 100)
	h := newSnapshotHold(r, 100, 200*time.Millisecond)
	if h.held() {
		t.Fatal("held before any leader change")
	}
	start := time.Now()
	h.hold()
	if !h.held() {
		t.Fatal("not held after a leader change")
	}
	// A second change within the settle time holds on from the second.
	time.Sleep(100 * time.Millisecond)
	second := time.Now()
	h.hold()
	waitUntil(t, 2*time.Second, "release", func() bool { return !h.held() })
	if held := time.Since(second); held < 200*time.Millisecond {
		t.Fatalf("released %v after the second change (%v after the first); want the settle time from the second", held, time.Since(start))
	}
	if got := r.ReloadableConfig().SnapshotThreshold; got != 100 {
		t.Fatalf("threshold after release %d, want the configured 100", got)
	}
	// The rest of raft's reloadable configuration is untouched.
	if got := r.ReloadableConfig().HeartbeatTimeout; got != raft.DefaultConfig().HeartbeatTimeout {
		t.Fatalf("heartbeat timeout %v changed", got)
	}
}

func TestSnapshotHold_NoSettleTimeHoldsNothing(t *testing.T) {
	r := singleRaft(t, 100)
	h := newSnapshotHold(r, 100, -1)
	h.hold()
	if h.held() {
		t.Fatal("held with a negative settle time")
	}
	var none *snapshotHold
	none.hold() // a server without raft yet: nothing to hold
}
