package server_test

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"mesh/server"
	"mesh/server/servertest"
)

// TestServer_SnapshotSaveRestoreAndCompaction: the log is compacted into
// snapshots and a restart restores from one; a saved snapshot restores the
// state it was taken from, and a corrupt one is refused without touching
// the state.
func TestServer_SnapshotSaveRestoreAndCompaction(t *testing.T) {
	dir := t.TempDir()
	srv := servertest.NewServer(t, servertest.Options{DataDir: dir, Tweak: func(c *server.Config) { c.SnapshotThreshold = 16 }})
	subscribeN := func(s *servertest.Server, n int, name string) {
		for i := 0; i < n; i++ {
			f := subscribe(t, s.HTTPAddr(), subscribeBody(name, "", `"failover_timeout":600`))
			f.subscribed()
			f.close()
		}
	}
	subscribeN(srv, 5, "before")
	resp, err := http.Get("http://" + srv.HTTPAddr() + "/internal/v1/snapshot")
	if err != nil {
		t.Fatal(err)
	}
	snap, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || len(snap) == 0 {
		t.Fatalf("snapshot save: %d, %d bytes", resp.StatusCode, len(snap))
	}
	subscribeN(srv, 5, "after")
	count := func(s *servertest.Server) int { return len(s.FSM().State().Frameworks()) }
	servertest.WaitFor(t, 5*time.Second, "disconnects to commit", func() bool { return count(srv) == 10 })

	// A corrupt snapshot is refused and changes nothing.
	bad := append([]byte(nil), snap...)
	bad = bytes.Replace(bad, []byte(`"t":"frameworks"`), []byte(`"t":"nonsense!!"`), 1)
	resp, err = http.Post("http://"+srv.HTTPAddr()+"/internal/v1/snapshot", "application/octet-stream", bytes.NewReader(bad))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 || count(srv) != 10 {
		t.Fatalf("corrupt snapshot: status %d, %d frameworks; want 400 and 10", resp.StatusCode, count(srv))
	}
	resp, err = http.Post("http://"+srv.HTTPAddr()+"/internal/v1/snapshot", "application/octet-stream", bytes.NewReader(snap))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("restore: %d", resp.StatusCode)
	}
	servertest.WaitFor(t, 5*time.Second, "restored state", func() bool { return count(srv) == 5 })
	servertest.WaitFor(t, 5*time.Second, "leadership re-established", srv.IsLeader)

	// More writes go past the snapshot threshold; a restart comes back
	// from snapshot + log with everything.
	subscribeN(srv, 20, "more")
	servertest.WaitFor(t, 5*time.Second, "writes to commit", func() bool { return count(srv) == 25 })
	srv.Stop()
	again := servertest.NewServer(t, servertest.Options{DataDir: dir})
	if n := count(again); n != 25 {
		t.Fatalf("%d frameworks after restart, want 25", n)
	}
}

// A server that becomes the leader of a cluster with agents settles: it
// postpones its periodic snapshots for the settle time. A new cluster's
// first leader (no agent yet) does not settle, nor does a server with no
// settle time.
func TestServer_PeriodicSnapshotsWaitAfterALeaderChange(t *testing.T) {
	dir := t.TempDir()
	srv := servertest.NewServer(t, servertest.Options{DataDir: dir})
	if srv.SnapshotsHeldForTest() {
		t.Fatal("snapshots held after a new cluster's first election")
	}
	a := servertest.NewSimAgent(srv.HTTPAddr(), agentResources())
	a.Start(t)
	servertest.WaitFor(t, 5*time.Second, "the agent registered", func() bool { return len(srv.FSM().State().Agents()) == 1 })
	a.Stop()
	srv.Stop()
	again := servertest.NewServer(t, servertest.Options{DataDir: dir})
	servertest.WaitFor(t, 5*time.Second, "snapshots held after the election", again.SnapshotsHeldForTest)
	again.Stop()
	none := servertest.NewServer(t, servertest.Options{DataDir: dir, Tweak: func(c *server.Config) { c.Settle = -1 }})
	if none.SnapshotsHeldForTest() {
		t.Fatal("snapshots held with no settle time")
	}
}

// TestServer_SnapshotThresholdAndIntervalAreTheConfigured: with a
// threshold of 16 entries checked every 50 ms, a snapshot follows soon
// after the log passes 16 entries (with the defaults raft would not even
// look for two minutes); an interval raft cannot take is refused, saying
// which flag.
func TestServer_SnapshotThresholdAndIntervalAreTheConfigured(t *testing.T) {
	srv := servertest.NewServer(t, servertest.Options{DataDir: t.TempDir(), Tweak: func(c *server.Config) {
		c.SnapshotThreshold, c.SnapshotInterval = 16, 50*time.Millisecond
	}})
	if _, ok := scrape(t, srv.HTTPAddr()).value("mesh_raft_last_snapshot_index"); ok {
		t.Fatal("a snapshot before the log held 16 entries")
	}
	for i := 0; i < 10; i++ { // a subscription and its stream's end: two entries
		f := subscribe(t, srv.HTTPAddr(), subscribeBody("snap", "", `"failover_timeout":600`))
		f.subscribed()
		f.close()
	}
	servertest.WaitFor(t, 10*time.Second, "a snapshot of the log past its threshold", func() bool {
		_, ok := scrape(t, srv.HTTPAddr()).value("mesh_raft_last_snapshot_index")
		return ok
	})

	for _, d := range []time.Duration{-time.Second, time.Millisecond} {
		cfg := server.DefaultConfig()
		cfg.DataDir, cfg.HTTPAddr, cfg.RaftAddr = t.TempDir(), "127.0.0.1:0", "127.0.0.1:0"
		cfg.SnapshotInterval = d
		if _, err := server.New(cfg); err == nil || !strings.Contains(err.Error(), "-raft-snapshot-interval "+d.String()+": must be at least 5ms") {
			t.Fatalf("snapshot interval %s: %v", d, err)
		}
	}
}

// TestServer_SnapshotOnceTheLogPassesItsBytes: with raft's periodic check
// an hour away, a server takes a snapshot once the entries it stored
// since the last one pass -raft-snapshot-log-bytes, and counts afresh
// from it; with the limit off it does not count.
func TestServer_SnapshotOnceTheLogPassesItsBytes(t *testing.T) {
	srv := servertest.NewServer(t, servertest.Options{DataDir: t.TempDir(), Tweak: func(c *server.Config) {
		c.SnapshotInterval, c.SnapshotLogBytes = time.Hour, 64<<10
	}})
	m := scrape(t, srv.HTTPAddr())
	if _, ok := m.value("mesh_raft_last_snapshot_index"); ok {
		t.Fatal("a snapshot before the log grew")
	}
	if _, ok := m.value("mesh_raft_log_bytes_since_snapshot"); !ok {
		t.Fatal("no mesh_raft_log_bytes_since_snapshot")
	}
	long := strings.Repeat("n", 4096)
	// Thirty entries of more than 4 KiB, and their streams' ends: past half
	// as much again as the limit, where the latest staggered snapshot is due.
	for i := 0; i < 30; i++ {
		f := subscribe(t, srv.HTTPAddr(), subscribeBody(long, "", `"failover_timeout":600`))
		f.subscribed()
		f.close()
	}
	var at float64
	servertest.WaitFor(t, 10*time.Second, "a snapshot of the log past 64 KiB", func() bool {
		var ok bool
		at, ok = scrape(t, srv.HTTPAddr()).value("mesh_raft_last_snapshot_index")
		return ok
	})
	// The count starts again at a snapshot, and the next is due by 96 KiB.
	if n, _ := scrape(t, srv.HTTPAddr()).value("mesh_raft_log_bytes_since_snapshot"); n >= 96<<10 {
		t.Fatalf("%.0f bytes counted since the snapshot at %.0f", n, at)
	}

	off := servertest.NewServer(t, servertest.Options{DataDir: t.TempDir(), Tweak: func(c *server.Config) {
		c.SnapshotInterval, c.SnapshotLogBytes = time.Hour, -1
	}})
	for i := 0; i < 30; i++ {
		f := subscribe(t, off.HTTPAddr(), subscribeBody(long, "", `"failover_timeout":600`))
		f.subscribed()
		f.close()
	}
	m = scrape(t, off.HTTPAddr())
	if _, ok := m.value("mesh_raft_log_bytes_since_snapshot"); ok {
		t.Fatal("log bytes counted with the limit off")
	}
	if _, ok := m.value("mesh_raft_last_snapshot_index"); ok {
		t.Fatal("a snapshot with the limit off and the periodic check an hour away")
	}

	cfg := server.DefaultConfig()
	cfg.DataDir, cfg.HTTPAddr, cfg.RaftAddr = t.TempDir(), "127.0.0.1:0", "127.0.0.1:0"
	cfg.SnapshotLogBytes = 1000
	if _, err := server.New(cfg); err == nil || !strings.Contains(err.Error(), "-raft-snapshot-log-bytes 1000: must be at least 65536") {
		t.Fatalf("a limit of 1000 bytes: %v", err)
	}
}
