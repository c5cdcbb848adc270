package server

import (
	"math"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// snapshotHold postpones raft's periodic snapshots for a while after a
// leader change. A new leader's first seconds are its busiest: every agent
// registers again and every framework subscribes again. A snapshot then
// costs each server about a second of cpu at 100,000 tasks (a sixth of
// the new leader's cpu in the 6 s after a kill, in one benchmark run at
// 5,000 agents where it started 4 s after the kill, with agents still
// registering). Snapshots asked for (the operator's save, one sent to a
// follower that fell behind) are not held.
type snapshotHold struct {
	raft      *raft.Raft
	threshold uint64 // the configured SnapshotThreshold
	settle    time.Duration

	mu    sync.Mutex
	gen   int // which hold is the latest
	timer *time.Timer
}

func newSnapshotHold(r *raft.Raft, threshold uint64, settle time.Duration) *snapshotHold {
	return &snapshotHold{raft: r, threshold: threshold, settle: settle}
}

// hold postpones periodic snapshots until settle has passed since the
// latest call.
func (h *snapshotHold) hold() {
	if h == nil || h.settle <= 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.gen++
	gen := h.gen
	if h.timer != nil {
		h.timer.Stop()
	}
	h.setThreshold(math.MaxUint64)
	h.timer = time.AfterFunc(h.settle, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		if h.gen == gen {
			h.setThreshold(h.threshold)
		}
	})
}

// setThreshold changes raft's snapshot threshold, keeping the rest of its
// reloadable configuration. Called with h.mu held.
func (h *snapshotHold) setThreshold(n uint64) {
	rc := h.raft.ReloadableConfig()
	rc.SnapshotThreshold = n
	_ = h.raft.ReloadConfig(rc) // fails only for an invalid config, which this is not
}

// held reports whether periodic snapshots are postponed now.
func (h *snapshotHold) held() bool {
	return h.raft.ReloadableConfig().SnapshotThreshold == math.MaxUint64
}
