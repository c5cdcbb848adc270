package server

import (
	"errors"
	"math/rand/v2"
	"sync/atomic"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
)

// logGrowth bounds the raft log by its bytes. Raft looks for a due
// snapshot only every SnapshotInterval (two minutes by default, since a
// snapshot of 100,000 tasks costs seconds of cpu), and counts entries, not
// bytes. mesh's entries are large (a launch of a batch of tasks, a batch
// of status updates), so under sustained launches the log grew by 3–5 MB a
// second between two checks: hundreds of MB on disk that bolt never gives
// back, and as many entries for a restarted server to replay. logGrowth
// counts the bytes of the entries this server stores and, once those since
// its last snapshot pass limit, asks raft for a snapshot at once; raft then
// compacts the log as after any snapshot. Every server counts its own log,
// and each snapshot waits for a random point between the limit and half as
// much again: servers that store the same entries would otherwise all
// take their snapshot, seconds of cpu each, at the same moment.
type logGrowth struct {
	limit int64
	// due is the bytes since the last snapshot that start the next one.
	due atomic.Int64
	// sinceSnapshot is the bytes of entries stored since the last snapshot
	// began.
	sinceSnapshot atomic.Int64
	// taking is set while a snapshot asked for here is being taken.
	taking atomic.Bool
	// hooks are set once raft runs (start); until then entries are only
	// counted.
	hooks  atomic.Pointer[growthHooks]
	logger hclog.Logger
}

// growthHooks are how a logGrowth reaches raft: snapshot takes a snapshot
// and waits for it (raft.Snapshot); held tells whether snapshots are
// postponed now (a new leader settling).
type growthHooks struct {
	snapshot func() error
	held     func() bool
}

// start lets g ask for snapshots, from now on.
func (g *logGrowth) start(snapshot func() error, held func() bool) {
	g.hooks.Store(&growthHooks{snapshot: snapshot, held: held})
}

// countingStore is a raft.LogStore that tells a logGrowth what it stored.
type countingStore struct {
	raft.LogStore
	growth *logGrowth
}

var _ raft.LogStore = countingStore{}

// StoreLog stores one entry and counts it.
func (s countingStore) StoreLog(l *raft.Log) error { return s.StoreLogs([]*raft.Log{l}) }

// StoreLogs stores entries and counts them once stored.
func (s countingStore) StoreLogs(logs []*raft.Log) error {
	if err := s.LogStore.StoreLogs(logs); err != nil {
		return err
	}
	s.growth.stored(logs)
	return nil
}

// stored counts entries just stored, and starts a snapshot once the bytes
// since the last one pass the limit, unless one it started is still being
// taken or snapshots are held.
func (g *logGrowth) stored(logs []*raft.Log) {
	var n int64
	for _, l := range logs {
		n += int64(len(l.Data))
	}
	h := g.hooks.Load()
	if g.sinceSnapshot.Add(n) < g.due.Load() || h == nil || h.held() || !g.taking.CompareAndSwap(false, true) {
		return
	}
	go g.take(h)
}

func (g *logGrowth) take(h *growthHooks) {
	defer g.taking.Store(false)
	g.logger.Info("taking a snapshot: the raft log has grown past its limit since the last one",
		"log_bytes", g.sinceSnapshot.Load(), "limit", g.limit, "due_at", g.due.Load())
	if err := h.snapshot(); err != nil && !errors.Is(err, raft.ErrNothingNewToSnapshot) {
		g.logger.Warn("snapshot for the raft log's size failed", "error", err)
	}
}

// snapshotBegins is told when raft begins any snapshot (periodic, asked
// for here, or the operator's): the entries stored until then are in it.
func (g *logGrowth) snapshotBegins() {
	g.sinceSnapshot.Store(0)
	g.due.Store(g.limit + rand.Int64N(g.limit/2+1))
}

// newLogGrowth counts toward a first snapshot due between limit and half
// as much again.
func newLogGrowth(limit int64, logger hclog.Logger) *logGrowth {
	g := &logGrowth{limit: limit, logger: logger}
	g.snapshotBegins()
	return g
}

// logBytes is the bytes of entries stored since the last snapshot began.
func (g *logGrowth) logBytes() int64 { return g.sinceSnapshot.Load() }
