package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"time"
)

// churnReport is what a sustained churn did: for its whole window every
// task that finished was replaced by a new one, as a service's instances
// are, so the leader launched, and the frameworks acknowledged, at a pace
// held for minutes rather than in one burst. The leader's memory and each
// server's raft log, at the window's start and end, show whether they
// hold steady.
type churnReport struct {
	Window float64 `json:"window_s"`
	// Replaced is how many finished tasks were replaced in the window;
	// Running how many of the replacements reached RUNNING in it.
	Replaced int64   `json:"replaced"`
	Running  int     `json:"replacements_running"`
	PerSec   float64 `json:"replacements_running_per_s"`
	// The leader's RSS and live heap at the window's start and end.
	RSS  [2]int64 `json:"leader_rss_bytes"`
	Heap [2]int64 `json:"leader_heap_bytes"`
	// RaftDB is each server's raft log file at the window's start and end;
	// Snapshots how many each took in the window.
	RaftDB    [][2]int64 `json:"raft_db_bytes"`
	Snapshots []int      `json:"snapshots"`
	// CPU is the cores each server (in order; -1: unknown) and the
	// benchmark kept busy through the window: what of the machine the
	// churn's pace left unused.
	CPU          []float64 `json:"server_cores"`
	BenchmarkCPU float64   `json:"benchmark_cores"`
	Leader       int       `json:"leader"` // index of the leader at the window's start
}

// churn replaces every task that finishes with a new one for the churn
// window, then stops replacing and waits for the last replacements to
// finish, so that the end's counts are of a cluster at rest.
func (b *bench) churn(ctx context.Context) error {
	if b.cfg.Churn <= 0 {
		return nil
	}
	c := &churnReport{Window: b.cfg.Churn.Seconds()}
	b.res.Churn = c
	n := len(b.cl.servers)
	c.RaftDB, c.Snapshots = make([][2]int64, n), make([]int, n)
	snapsBefore := make([]int, n)
	for i, s := range b.cl.servers {
		c.RaftDB[i][0] = raftDBSize(s)
		snapsBefore[i] = s.countLogLines("snapshot complete")
	}
	c.RSS[0], c.Heap[0] = b.leaderMemory(ctx)
	pids := []int{0} // the benchmark itself
	c.Leader = -1
	for i, s := range b.cl.servers {
		pid := -1
		if s.running() {
			pid = s.cmd.Process.Pid
		}
		if s == b.cl.leader() {
			c.Leader = i
		}
		pids = append(pids, pid)
	}
	cpu := startCPUMeter(pids...)
	before := b.runningCount()
	b.log.Info("churn", "window", b.cfg.Churn)
	for _, f := range b.fws {
		f.replacing.Store(true)
	}
	err := runOn(ctx, b.cfg.Churn)
	for _, f := range b.fws {
		f.replacing.Store(false)
	}
	used := cpu.used()
	c.BenchmarkCPU = cores(used[0], b.cfg.Churn)
	for _, u := range used[1:] {
		c.CPU = append(c.CPU, cores(u, b.cfg.Churn))
	}
	c.Replaced = b.fwStats.replaced.Load()
	c.Running = b.runningCount() - before
	c.PerSec = float64(c.Running) / b.cfg.Churn.Seconds()
	c.RSS[1], c.Heap[1] = b.leaderMemory(ctx)
	for i, s := range b.cl.servers {
		c.RaftDB[i][1] = raftDBSize(s)
		c.Snapshots[i] = s.countLogLines("snapshot complete") - snapsBefore[i]
	}
	if err != nil {
		return err
	}
	// The last replacements finish within a task's duration of starting;
	// the end's counts are then of a cluster at rest.
	wait, cancel := context.WithTimeout(ctx, b.cfg.TaskDuration+time.Minute)
	defer cancel()
	err = waitUntil(wait, 100*time.Millisecond, func() bool {
		for _, f := range b.fws {
			if f.live() > 0 {
				return false
			}
		}
		return true
	})
	if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
		return nil // finish reports what is left
	}
	return err
}

// leaderMemory is the leader's RSS and live heap now (0 when unknown).
func (b *bench) leaderMemory(ctx context.Context) (rss, heap int64) {
	l := b.cl.leader()
	if l == nil {
		return 0, 0
	}
	if mem, err := readProcMemory(l.cmd.Process.Pid); err == nil {
		rss = mem.RSS
	}
	heap, _ = liveHeapBytes(ctx, l.httpAddr)
	return rss, heap
}

// raftDBSize is the size of s's raft log file, 0 when it cannot be read.
func raftDBSize(s *server) int64 {
	fi, err := os.Stat(filepath.Join(s.dataDir, "raft", "raft.db"))
	if err != nil {
		return 0
	}
	return fi.Size()
}

// cores is cpu seconds over a window, in cores; -1 stays unknown.
func cores(secs float64, window time.Duration) float64 {
	if secs < 0 {
		return -1
	}
	return secs / window.Seconds()
}
