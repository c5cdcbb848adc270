package server

import (
	"errors"
	"runtime"
	"sync"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
)

// fakeSnapshots counts the snapshots a logGrowth asks for; each waits on
// release until the test lets it finish.
type fakeSnapshots struct {
	mu      sync.Mutex
	asked   int
	held    bool
	release chan struct{}
	done    chan struct{}
	err     error
}

func newGrowthForTest(limit int64, f *fakeSnapshots) *logGrowth {
	g := newLogGrowth(limit, hclog.NewNullLogger())
	g.due.Store(limit)
	g.start(func() error {
		f.mu.Lock()
		f.asked++
		err := f.err
		f.mu.Unlock()
		<-f.release
		g.snapshotBegins()
		f.done <- struct{}{}
		return err
	}, func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		return f.held
	})
	return g
}

func (f *fakeSnapshots) setHeld(held bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.held = held
}

func (f *fakeSnapshots) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.asked
}

// waitIdle waits for g's snapshot goroutine, which has just told done, to
// return.
func waitIdle(g *logGrowth) {
	for g.taking.Load() {
		runtime.Gosched()
	}
}

func entries(sizes ...int) []*raft.Log {
	logs := make([]*raft.Log, len(sizes))
	for i, n := range sizes {
		logs[i] = &raft.Log{Type: raft.LogCommand, Data: make([]byte, n)}
	}
	return logs
}

// A logGrowth asks for a snapshot once the bytes stored since the last
// one reach its limit, one at a time, never while snapshots are held nor
// before raft runs, and counts afresh from each snapshot.
func TestLogGrowth_SnapshotOnceTheLogPassesItsLimit(t *testing.T) {
	early := newLogGrowth(1000, hclog.NewNullLogger())
	early.stored(entries(5000))
	if early.taking.Load() || early.logBytes() != 5000 {
		t.Fatalf("before raft runs: snapshot started %v, %d bytes counted", early.taking.Load(), early.logBytes())
	}

	f := &fakeSnapshots{release: make(chan struct{}), done: make(chan struct{})}
	g := newGrowthForTest(1000, f)

	g.stored(entries(400, 500))
	if g.logBytes() != 900 || g.taking.Load() {
		t.Fatalf("900 bytes of a 1000-byte limit: %d counted, snapshot started %v", g.logBytes(), g.taking.Load())
	}
	f.setHeld(true)
	g.stored(entries(200))
	if g.taking.Load() {
		t.Fatal("a snapshot started while snapshots are held")
	}
	f.setHeld(false)
	g.stored(entries(1))
	if !g.taking.Load() {
		t.Fatal("no snapshot once the log passed its limit and snapshots were no longer held")
	}
	g.stored(entries(5000)) // while the first is being taken: no second
	f.release <- struct{}{}
	<-f.done
	if n := f.count(); n != 1 {
		t.Fatalf("%d snapshots asked for, want 1", n)
	}
	if g.logBytes() != 0 {
		t.Fatalf("%d bytes counted after the snapshot began, want 0", g.logBytes())
	}
	waitIdle(g) // the snapshot's goroutine returns right after done

	// A failed snapshot is logged; the next write past the limit asks
	// again. (After a snapshot the next is due within half the limit
	// more: 1,500 bytes.)
	f.mu.Lock()
	f.err = errors.New("disk full")
	f.mu.Unlock()
	g.stored(entries(1500))
	f.release <- struct{}{}
	<-f.done
	waitIdle(g)
	g.stored(entries(1500))
	f.release <- struct{}{}
	<-f.done
	if n := f.count(); n != 3 {
		t.Fatalf("%d snapshots asked for, want 3", n)
	}
}

// A store that fails counts nothing: the entries are not in the log.
func TestCountingStore_CountsOnlyWhatItStored(t *testing.T) {
	f := &fakeSnapshots{release: make(chan struct{}), done: make(chan struct{})}
	g := newGrowthForTest(1<<20, f)
	mem := raft.NewInmemStore()
	s := countingStore{LogStore: failingStore{mem}, growth: g}
	logs := entries(100, 200)
	logs[0].Index, logs[1].Index = 1, 2
	if err := s.StoreLogs(logs); err == nil {
		t.Fatal("the failing store's error was lost")
	}
	if g.logBytes() != 0 {
		t.Fatalf("%d bytes counted of a failed write", g.logBytes())
	}
	s = countingStore{LogStore: mem, growth: g}
	if err := s.StoreLogs(logs); err != nil {
		t.Fatal(err)
	}
	if err := s.StoreLog(&raft.Log{Index: 3, Data: make([]byte, 50)}); err != nil {
		t.Fatal(err)
	}
	if g.logBytes() != 350 {
		t.Fatalf("%d bytes counted, want 350", g.logBytes())
	}
}

type failingStore struct{ raft.LogStore }

func (failingStore) StoreLogs([]*raft.Log) error { return errors.New("write failed") }

// Each snapshot's successor is due at a random point between the limit
// and half as much again, so that servers storing the same entries do not
// all take theirs at once.
func TestLogGrowth_SnapshotsAreDueAtStaggeredPoints(t *testing.T) {
	g := newLogGrowth(1<<20, hclog.NewNullLogger())
	seen := map[int64]bool{}
	for i := 0; i < 50; i++ {
		g.snapshotBegins()
		due := g.due.Load()
		if due < 1<<20 || due > 3<<19 {
			t.Fatalf("due at %d bytes, want between %d and %d", due, 1<<20, 3<<19)
		}
		seen[due] = true
	}
	if len(seen) < 2 {
		t.Fatal("every snapshot due at the same point")
	}
}
