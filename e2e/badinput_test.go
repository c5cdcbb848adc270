package e2e

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// peerInfo is GET /internal/v1/peer.
type peerInfo struct {
	NodeID    string `json:"node_id"`
	ClusterID string `json:"cluster_id"`
	InCluster bool   `json:"in_cluster"`
}

// TestServer_JoinNotAMeshServer: -join to a web server that is not a mesh
// server, and to a closed port, says so in the log, naming the address,
// and the server does not bootstrap a cluster of its own.
func TestServer_JoinNotAMeshServer(t *testing.T) {
	web := httptest.NewServer(http.NotFoundHandler())
	defer web.Close()
	webAddr := strings.TrimPrefix(web.URL, "http://")
	closed := freePort(t) // nothing listens there
	httpAddr := freePort(t)
	srv := start(t, "server", "-data-dir", t.TempDir(), "-http-addr", httpAddr, "-raft-addr", freePort(t),
		"-bootstrap-expect", "3", "-join", webAddr+","+closed)
	want := "-join " + webAddr + ": not a mesh server"
	waitFor(t, 15*time.Second, "a log line saying "+webAddr+" is not a mesh server", func() bool {
		return strings.Contains(srv.out.String(), want)
	})
	if !strings.Contains(srv.out.String(), closed) {
		t.Errorf("the log does not name the closed -join address %s:\n%s", closed, srv.out.String())
	}
	if srv.exited() {
		t.Fatalf("server exited; it should keep looking for the other servers:\n%s", srv.out.String())
	}
	var p peerInfo
	if err := getJSON(httpAddr, "/internal/v1/peer", &p); err != nil {
		t.Fatal(err)
	}
	var st clusterState
	if err := getJSON(httpAddr, "/state", &st); err != nil {
		t.Fatal(err)
	}
	if p.InCluster || st.Leader != "" || st.ClusterID != "" {
		t.Errorf("server formed a cluster on its own: peer %+v, leader %q, cluster %q", p, st.Leader, st.ClusterID)
	}
}

// TestServer_DataDirOfAnotherClusterRefused: a server started on a copy of
// cluster A's data dir with -join to cluster B exits non-zero naming both
// clusters, and cluster B goes on unaffected.
func TestServer_DataDirOfAnotherClusterRefused(t *testing.T) {
	// Cluster A: one server; stop it and copy its data dir.
	dirA := t.TempDir()
	httpA := freePort(t)
	a := start(t, "server", "-data-dir", dirA, "-http-addr", httpA, "-raft-addr", freePort(t), "-bootstrap-expect", "1")
	stA := waitAgents(t, httpA, 0)
	a.stop(t)
	stale := filepath.Join(t.TempDir(), "data")
	if err := os.CopyFS(stale, os.DirFS(dirA)); err != nil {
		t.Fatal(err)
	}

	// Cluster B: three servers.
	c := newCluster(t, 3)
	l := c.startAll()
	var before clusterState
	if err := getJSON(l.httpAddr, "/state", &before); err != nil {
		t.Fatal(err)
	}
	if before.ClusterID == stA.ClusterID {
		t.Fatal("two clusters share an id")
	}

	out, code := run(t, 30*time.Second, "server", "-data-dir", stale, "-http-addr", freePort(t), "-raft-addr", freePort(t),
		"-bootstrap-expect", "3", "-join", c.addrs())
	if code == 0 {
		t.Fatalf("a server with cluster A's data dir joined cluster B and exited 0:\n%s", out)
	}
	if !strings.Contains(out, stA.ClusterID) || !strings.Contains(out, before.ClusterID) {
		t.Errorf("error does not name both clusters (A %s, B %s):\n%s", stA.ClusterID, before.ClusterID, out)
	}

	// B is unaffected: same id, same three peers, a leader, one history.
	after := c.waitOneHistory(10 * time.Second)
	if after.ClusterID != before.ClusterID {
		t.Errorf("cluster B's id changed: %s → %s", before.ClusterID, after.ClusterID)
	}
	var peers []struct {
		ID string `json:"id"`
	}
	if err := getJSON(c.waitStable(10*time.Second).httpAddr, "/internal/v1/raft/peers", &peers); err != nil {
		t.Fatal(err)
	}
	if len(peers) != 3 {
		t.Errorf("cluster B has %d raft peers after the stale server tried to join, want 3: %+v", len(peers), peers)
	}
}

// TestServer_MismatchedBootstrapExpect: three servers, one started with
// -bootstrap-expect 2 and two with 3. Whichever sees the mismatch exits
// non-zero with an error that names the other server's address and both
// values; no cluster forms from the set.
func TestServer_MismatchedBootstrapExpect(t *testing.T) {
	c := newCluster(t, 3)
	odd := c.servers[1]
	for i, a := range odd.args {
		if a == "-bootstrap-expect" {
			odd.args[i+1] = "2"
		}
	}
	for _, s := range c.servers {
		c.start(s)
	}
	// Who notices depends on who starts first: the odd server, or the two
	// others (then the odd one, alone, keeps looking).
	waitFor(t, 30*time.Second, "a server to refuse the mismatched -bootstrap-expect", func() bool {
		for _, s := range c.servers {
			if s.p.exited() {
				return true
			}
		}
		return false
	})
	for _, s := range c.servers {
		var p peerInfo
		var h health
		var err error
		if !s.p.exited() {
			if err = getJSON(s.httpAddr, "/internal/v1/peer", &p); err == nil {
				err = getHealth(s.httpAddr, &h)
			}
			if err != nil {
				// It may be refusing the mismatch at this very moment.
				waitFor(t, 10*time.Second, s.name+" to answer or exit", s.p.exited)
			}
		}
		if s.p.exited() {
			out := s.p.out.String()
			if s.p.cmd.ProcessState.ExitCode() == 0 {
				t.Errorf("%s exited 0:\n%s", s.name, out)
			}
			namesPeer := false
			for _, o := range c.others(s) {
				namesPeer = namesPeer || strings.Contains(out, o.httpAddr+" was started with -bootstrap-expect")
			}
			if !namesPeer || !strings.Contains(out, "-bootstrap-expect 2") && !strings.Contains(out, "with 2") {
				t.Errorf("%s's error does not name the other server and the differing -bootstrap-expect values:\n%s", s.name, out)
			}
			continue
		}
		// Still running: it must not be in a cluster. With a server gone,
		// the rest can never find the number they expect.
		if p.InCluster || h.Leader != "" {
			t.Errorf("%s is in a cluster (peer %+v, leader %q) though the servers disagree on -bootstrap-expect", s.name, p, h.Leader)
		}
	}
}

// TestServer_DataDirInUseRefused: a second server started on the data dir
// of a running one exits with an error saying so (instead of waiting for
// the raft store's lock forever), and the first goes on serving.
func TestServer_DataDirInUseRefused(t *testing.T) {
	dir := t.TempDir()
	httpAddr := freePort(t)
	start(t, "server", "-data-dir", dir, "-http-addr", httpAddr, "-raft-addr", freePort(t), "-bootstrap-expect", "1")
	before := waitAgents(t, httpAddr, 0)

	out, code := run(t, 30*time.Second, "server", "-data-dir", dir, "-http-addr", freePort(t), "-raft-addr", freePort(t), "-bootstrap-expect", "1")
	if code == 0 || !strings.Contains(out, "in use by another mesh server") {
		t.Fatalf("a second server on a data dir in use exited %d:\n%s", code, out)
	}
	after := waitAgents(t, httpAddr, 0)
	if after.ClusterID != before.ClusterID {
		t.Errorf("the cluster's id changed: %s → %s", before.ClusterID, after.ClusterID)
	}
}
