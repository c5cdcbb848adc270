package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// raftPeers runs `mesh operator raft list-peers` against addr and returns
// the raft ids of the peers it lists and the leader's.
func raftPeers(t *testing.T, addr string) (ids []string, leader string) {
	t.Helper()
	var peers []struct {
		ID     string `json:"id"`
		Leader bool   `json:"leader"`
	}
	if err := getJSON(addr, "/internal/v1/raft/peers", &peers); err != nil {
		return nil, ""
	}
	for _, p := range peers {
		ids = append(ids, p.ID)
		if p.Leader {
			leader = p.ID
		}
	}
	return ids, leader
}

// TestHA_FiveServersThenAddAndRemove: five servers bootstrap one cluster
// with -bootstrap-expect 5; a sixth joins the running cluster through any
// server; `mesh operator raft remove-peer` takes it out again; the CLI's
// list-peers shows each step.
func TestHA_FiveServersThenAddAndRemove(t *testing.T) {
	c := newClusterWith(t, 5, false, testRaftTiming...)
	leader := c.startAll()
	waitFor(t, 20*time.Second, "5 raft peers", func() bool {
		ids, l := raftPeers(t, leader.httpAddr)
		return len(ids) == 5 && l != ""
	})

	// A sixth server joins the running cluster through a follower.
	var follower *testServer
	for _, s := range c.servers {
		if s != leader {
			follower = s
			break
		}
	}
	sixHTTP, sixRaft := freePort(t), freePort(t)
	six := start(t, "server", "-data-dir", t.TempDir(), "-http-addr", sixHTTP, "-raft-addr", sixRaft,
		"-bootstrap-expect", "5", "-join", follower.httpAddr)
	var sixID string
	waitFor(t, 20*time.Second, "the sixth server to join", func() bool {
		var self struct {
			NodeID    string `json:"node_id"`
			InCluster bool   `json:"in_cluster"`
		}
		if getJSON(sixHTTP, "/internal/v1/peer", &self) != nil || !self.InCluster {
			return false
		}
		sixID = self.NodeID
		ids, _ := raftPeers(t, leader.httpAddr)
		return len(ids) == 6
	})
	out, code := run(t, 20*time.Second, "operator", "-address", sixHTTP, "raft", "list-peers")
	if code != 0 || strings.Count(out, "Voter") != 6 || !strings.Contains(out, sixID) {
		t.Fatalf("list-peers through the new server (exit %d):\n%s", code, out)
	}

	// Remove it again through any server; the CLI follows the redirect.
	out, code = run(t, 20*time.Second, "operator", "-address", follower.httpAddr, "raft", "remove-peer", sixID)
	if code != 0 {
		t.Fatalf("remove-peer exited %d:\n%s", code, out)
	}
	waitFor(t, 10*time.Second, "5 raft peers again", func() bool {
		ids, _ := raftPeers(t, leader.httpAddr)
		return len(ids) == 5 && !strings.Contains(strings.Join(ids, ","), sixID)
	})
	six.stop(t)
	// Removing an unknown peer says so.
	out, code = run(t, 20*time.Second, "operator", "-address", leader.httpAddr, "raft", "remove-peer", "no-such-id")
	if code == 0 || !strings.Contains(out, "no-such-id") {
		t.Errorf("remove-peer of an unknown id: exit %d:\n%s", code, out)
	}
	// The cluster still serves writes.
	code, err := postStatus(leader.httpAddr, "/api/v1/scheduler", `{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"u","name":"n"}}}`)
	if err != nil || code != 200 {
		raw, _ := json.Marshal(map[string]any{"code": code, "err": fmt.Sprint(err)})
		t.Errorf("SUBSCRIBE after membership changes: %s", raw)
	}
}
