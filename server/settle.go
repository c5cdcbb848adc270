package server

import (
	"math"
	"runtime/debug"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// settling is how a new leader works for a while after it established
// itself over a cluster with agents. Its first seconds are its busiest:
// every agent registers again and every framework subscribes again. Two
// things of its own then took cpu the registrations waited for (5,000
// agents, 100,000 tasks):
//
//   - A periodic snapshot costs about a second of cpu. In one run the new
//     leader started one 4 s after the kill: a sixth of its cpu in the 6 s
//     after it. While settling, raft takes none (its threshold is raised);
//     snapshots asked for (the operator's save, one sent to a follower that
//     fell behind) are not held.
//   - Garbage collection. With Go's default target (collect when the heap
//     has doubled since the last collection) the new leader collected
//     twice while agents registered, with marking phases of 1.6 and 0.9 s
//     in which every allocating goroutine had to help mark (0.8 and 0.35 s
//     of cpu). While settling, the heap may grow by gcPercent percent of
//     the live data (400: to five times it) before a collection: more
//     memory for those seconds instead of cpu. Once settled, the memory
//     that let the heap grow is given back to the system at once: the
//     runtime returns freed memory by itself only slowly, and 40 s after
//     a failover a new leader held 780–1,011 MiB for a live heap of
//     130 MiB (488–506 MiB once given back).
type settling struct {
	raft      *raft.Raft
	threshold uint64 // the configured SnapshotThreshold
	gcPercent int    // the GC target while settling; <= 0 leaves it alone
	period    time.Duration

	mu      sync.Mutex
	gen     int         // which hold is the latest
	stop    func() bool // stops the latest hold's timer
	holding bool
	// restoreGC is the GC target to put back, when settling raised it.
	restoreGC *int
	// setGC sets the process' GC target and returns the one before
	// (debug.SetGCPercent); after runs f once d has passed
	// (time.AfterFunc) and returns what stops it.
	setGC func(int) int
	after func(d time.Duration, f func()) (stop func() bool)
	// freeMemory starts collecting and returning the freed memory to the
	// system (debug.FreeOSMemory, in a goroutine of its own).
	freeMemory func()
}

func newSettling(r *raft.Raft, threshold uint64, period time.Duration, gcPercent int) *settling {
	return &settling{raft: r, threshold: threshold, period: period, gcPercent: gcPercent, setGC: debug.SetGCPercent,
		after:      func(d time.Duration, f func()) func() bool { return time.AfterFunc(d, f).Stop },
		freeMemory: func() { go debug.FreeOSMemory() }}
}

// hold settles until period has passed since the latest call.
func (h *settling) hold() {
	if h == nil || h.period <= 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.gen++
	gen := h.gen
	if h.stop != nil {
		h.stop()
	}
	if !h.holding {
		h.holding = true
		h.setThreshold(math.MaxUint64)
		h.raiseGC()
	}
	h.stop = h.after(h.period, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		if h.gen == gen {
			h.release()
		}
	})
}

// end stops settling at once (the leadership was revoked).
func (h *settling) end() {
	if h == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.gen++
	if h.stop != nil {
		h.stop()
	}
	if h.holding {
		h.release()
	}
}

// raiseGC raises the GC target to gcPercent unless it is higher already
// (or off). Called with h.mu held.
func (h *settling) raiseGC() {
	if h.gcPercent <= 0 {
		return
	}
	prev := h.setGC(h.gcPercent)
	if prev < 0 || prev >= h.gcPercent {
		h.setGC(prev)
		return
	}
	h.restoreGC = &prev
}

// release ends settling. Called with h.mu held.
func (h *settling) release() {
	h.holding = false
	h.setThreshold(h.threshold)
	if h.restoreGC != nil {
		h.setGC(*h.restoreGC)
		h.restoreGC = nil
		h.freeMemory()
	}
}

// setThreshold changes raft's snapshot threshold, keeping the rest of its
// reloadable configuration. Called with h.mu held.
func (h *settling) setThreshold(n uint64) {
	rc := h.raft.ReloadableConfig()
	rc.SnapshotThreshold = n
	_ = h.raft.ReloadConfig(rc) // fails only for an invalid config, which this is not
}

// unlessSettling runs f, which sets the GC target, unless the server is
// settling (which owns the target meanwhile), and reports whether it ran.
func (h *settling) unlessSettling(f func()) bool {
	if h == nil {
		f()
		return true
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.holding {
		return false
	}
	f()
	return true
}

// snapshotsHeld reports whether periodic snapshots are postponed now.
func (h *settling) snapshotsHeld() bool {
	return h.raft.ReloadableConfig().SnapshotThreshold == math.MaxUint64
}
