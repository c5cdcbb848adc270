package server_test

import (
	"context"
	"testing"
	"time"

	"mesh/server"
	"mesh/server/servertest"
)

// TestCluster_DeadLeaderReplacedBeforeHeartbeatTimeout: with long raft
// timeouts and lease, a leader that stops (its connections close, its
// port refuses) is replaced long before the heartbeat timeout, because
// its followers' watches on it break and they campaign.
func TestCluster_DeadLeaderReplacedBeforeHeartbeatTimeout(t *testing.T) {
	const hbTimeout = 4 * time.Second
	c := servertest.NewCluster(t, 3, func(cfg *server.Config) {
		cfg.RaftHeartbeatTimeout = hbTimeout
		cfg.RaftElectionTimeout = hbTimeout
		cfg.RaftLeaderLease = hbTimeout
	})
	old := c.WaitLeader()
	servertest.WaitFor(t, 10*time.Second, "both followers to watch the leader", func() bool {
		for i, s := range c.Servers {
			if i != old && s.WatchingLeader() != c.Servers[old].NodeID() {
				return false
			}
		}
		return true
	})
	stopped := time.Now()
	c.Stop(old)
	var leader int
	servertest.WaitFor(t, 3*time.Second, "a new leader well before the heartbeat timeout", func() bool {
		leader = c.Leader()
		return leader >= 0 && leader != old
	})
	t.Logf("new leader %d elected %s after the old one stopped (heartbeat timeout %s)", leader, time.Since(stopped), hbTimeout)
	c.CheckConsistent()
}

// TestCluster_BrokenWatchOnALiveLeaderStartsNoElection: a follower whose
// watch breaks while the leader still accepts connections leaves the
// decision to raft's timeouts; the leader and the term stay.
func TestCluster_BrokenWatchOnALiveLeaderStartsNoElection(t *testing.T) {
	c := servertest.NewCluster(t, 3, func(cfg *server.Config) {
		cfg.RaftHeartbeatTimeout = 4 * time.Second
		cfg.RaftElectionTimeout = 4 * time.Second
		cfg.RaftLeaderLease = 4 * time.Second
	})
	old := c.WaitLeader()
	follower := (old + 1) % 3
	term := c.Servers[follower].RaftTermForTest()
	c.Servers[follower].LeaderWatchBrokeForTest(context.Background(), c.Servers[old].NodeID(), c.Servers[old].HTTPAddr())
	// A campaign would have begun before the call returned (the first in
	// id order campaigns at once); give a vote round time to finish.
	servertest.WaitFor(t, 5*time.Second, "the follower to hear the leader again", func() bool {
		return c.Servers[follower].RaftLeaderIDForTest() == c.Servers[old].NodeID()
	})
	if now := c.Servers[follower].RaftTermForTest(); now != term || c.Leader() != old {
		t.Fatalf("a broken watch on a live leader started an election: term %s -> %s, leader %d -> %d", term, now, old, c.Leader())
	}
}
