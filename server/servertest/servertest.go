// Package servertest runs real mesh servers in-process for tests, plus
// simulated agents that speak the real agent protocol with fake
// containers, so one test process can stand in for a cluster.
package servertest

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"mesh/server"
)

// Server is a running in-process server.
type Server struct {
	*server.Server
	Dir    string
	cancel context.CancelFunc
	done   chan error
}

// Options tune a test server.
type Options struct {
	DataDir string
	Tweak   func(*server.Config)
}

// NewServer starts a single-server cluster on 127.0.0.1 with short
// timeouts and waits until it leads. It is stopped when the test ends.
func NewServer(t testing.TB, opts Options) *Server {
	t.Helper()
	return newServer(t, opts, true)
}

func newServer(t testing.TB, opts Options, waitLeader bool) *Server {
	t.Helper()
	dir := opts.DataDir
	if dir == "" {
		dir = t.TempDir()
	}
	cfg := server.DefaultConfig()
	cfg.DataDir = dir
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.RaftAddr = "127.0.0.1:0"
	cfg.HeartbeatInterval = time.Second
	cfg.AllocationInterval = 100 * time.Millisecond
	// A lone server elects itself after one heartbeat timeout: keep test
	// start-up quick (clusters set their own timing).
	cfg.RaftHeartbeatTimeout = 150 * time.Millisecond
	cfg.RaftElectionTimeout = 150 * time.Millisecond
	cfg.RaftLeaderLease = 100 * time.Millisecond
	tw := &testWriter{t: t}
	t.Cleanup(tw.close) // runs last: after the server stopped
	cfg.Logger = hclog.New(&hclog.LoggerOptions{Name: "server", Level: hclog.Warn, Output: tw})
	if opts.Tweak != nil {
		opts.Tweak(&cfg)
	}
	srv, err := server.New(cfg)
	if err != nil {
		t.Fatalf("start server: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{Server: srv, Dir: dir, cancel: cancel, done: make(chan error, 1)}
	go func() { s.done <- srv.Run(ctx) }()
	t.Cleanup(s.Stop)
	if waitLeader {
		WaitFor(t, 10*time.Second, "server to lead", func() bool { return srv.IsLeader() })
	}
	return s
}

// Stop shuts the server down and waits for it; safe to call twice.
func (s *Server) Stop() {
	if s.cancel == nil {
		return
	}
	s.cancel()
	<-s.done
	s.cancel = nil
}

// WaitFor polls cond until it holds or the timeout passes.
func WaitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// testWriter sends log output to the test log until the test ends.
type testWriter struct {
	t      testing.TB
	mu     sync.Mutex
	closed bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.closed {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

func (w *testWriter) close() {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
}
