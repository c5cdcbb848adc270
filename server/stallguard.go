package server

import (
	"errors"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// errStoreStalled is returned for a log write that did not finish in time.
var errStoreStalled = errors.New("raft log write stalled (is the disk failing or full?)")

// stallGuard bounds how long a raft log write may take. Raft steps a
// leader down when a write fails, but a write that never returns (an
// fsync stuck on a dying disk) would wedge it while its heartbeats keep
// the followers from electing anyone else. After timeout the write is
// reported failed; until the stuck write finishes every further write
// fails at once, so the server stays a follower that cannot vote itself
// back in. A write reported failed may still land later, which raft
// already tolerates: it is the same as a crash right after a write.
type stallGuard struct {
	raft.LogStore
	timeout time.Duration

	mu      sync.Mutex
	stalled chan struct{} // closed when the stuck write returns
}

var _ raft.LogStore = (*stallGuard)(nil)

func newStallGuard(s raft.LogStore, timeout time.Duration) *stallGuard {
	return &stallGuard{LogStore: s, timeout: timeout}
}

// StoreLog stores one entry within the timeout.
func (g *stallGuard) StoreLog(l *raft.Log) error { return g.StoreLogs([]*raft.Log{l}) }

// StoreLogs stores entries within the timeout.
func (g *stallGuard) StoreLogs(logs []*raft.Log) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.stalled != nil {
		select {
		case <-g.stalled:
			g.stalled = nil
		default:
			return errStoreStalled
		}
	}
	done := make(chan error, 1)
	go func() { done <- g.LogStore.StoreLogs(logs) }()
	t := time.NewTimer(g.timeout)
	defer t.Stop()
	select {
	case err := <-done:
		return err
	case <-t.C:
		stalled := make(chan struct{})
		g.stalled = stalled
		go func() {
			<-done
			close(stalled)
		}()
		return errStoreStalled
	}
}
