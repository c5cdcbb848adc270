package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"

	"mesh/server"
	"mesh/server/servertest"
)

// healthAnswer is GET /health as a client sees it.
type healthAnswer struct {
	code      int
	Healthy   bool   `json:"healthy"`
	Leader    string `json:"leader"`
	IsLeader  bool   `json:"is_leader"`
	RaftState string `json:"raft_state"`
	Reason    string `json:"reason"`
}

func getHealth(t *testing.T, addr string) healthAnswer {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/health")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	h := healthAnswer{code: resp.StatusCode}
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		t.Fatalf("GET /health: %d, body is not JSON: %v", resp.StatusCode, err)
	}
	return h
}

// TestHealth_ServerWithoutLeaderIsUnhealthy: the leader and its followers
// are healthy and name the leader; a server cut off from the others loses
// its leader and answers 503 with "healthy": false, and is healthy again
// once it rejoins.
func TestHealth_ServerWithoutLeaderIsUnhealthy(t *testing.T) {
	c := servertest.NewCluster(t, 3, steadyRaft)
	leader := c.WaitLeader()
	leaderAddr := c.Servers[leader].HTTPAddr()
	follower := (leader + 1) % 3
	for i, s := range c.Servers {
		servertest.WaitFor(t, 10*time.Second, "every server to name the leader and be healthy", func() bool {
			h := getHealth(t, s.HTTPAddr())
			return h.Leader == leaderAddr && h.code == http.StatusOK && h.Healthy && h.IsLeader == (i == leader)
		})
	}

	c.Isolate(follower)
	addr := c.Servers[follower].HTTPAddr()
	servertest.WaitFor(t, 10*time.Second, "the cut-off server to lose its leader", func() bool {
		return getHealth(t, addr).Leader == ""
	})
	h := getHealth(t, addr)
	if h.code != http.StatusServiceUnavailable || h.Healthy || h.IsLeader || h.Reason == "" {
		t.Errorf("cut-off server: %+v, want 503, not healthy, not leader, a reason", h)
	}
	// The other two keep a healthy leader (waited for: on a loaded
	// machine they may hold an election meanwhile).
	servertest.WaitFor(t, 15*time.Second, "a healthy leader among the two connected servers", func() bool {
		for i, s := range c.Servers {
			if h := getHealth(t, s.HTTPAddr()); i != follower && h.code == http.StatusOK && h.Healthy && h.IsLeader {
				return true
			}
		}
		return false
	})

	c.Heal()
	servertest.WaitFor(t, 15*time.Second, "the server to be healthy again", func() bool {
		h := getHealth(t, addr)
		return h.code == http.StatusOK && h.Healthy && h.Leader != ""
	})
}

// TestHealth_LoneServerWaitingForPeersIsUnhealthy: a server that expects
// three servers and has met none has no leader: it answers 503 with
// "healthy": false, yet keeps answering.
func TestHealth_LoneServerWaitingForPeersIsUnhealthy(t *testing.T) {
	_, tr := raft.NewInmemTransport("")
	cfg := server.DefaultConfig()
	cfg.DataDir = t.TempDir()
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.BootstrapExpect = 3
	cfg.TestRaft = &server.TestRaft{Transport: tr}
	cfg.Logger = hclog.NewNullLogger()
	srv, err := server.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	defer func() { cancel(); <-done }()
	for i := 0; i < 3; i++ {
		h := getHealth(t, srv.HTTPAddr())
		if h.code != http.StatusServiceUnavailable || h.Healthy || h.Leader != "" || h.IsLeader || h.Reason == "" {
			t.Fatalf("lone server: %+v, want 503, not healthy, no leader, a reason", h)
		}
	}
}

// steadyRaft slows raft's timers for the tests of a 3-server cluster that
// check steady-state answers: on a loaded machine, the harness's short
// timeouts let a scheduling pause start an election.
func steadyRaft(cfg *server.Config) {
	cfg.RaftHeartbeatTimeout = time.Second
	cfg.RaftElectionTimeout = time.Second
	cfg.RaftLeaderLease = 500 * time.Millisecond
}
