package server_test

import (
	"testing"
	"time"

	"mesh/server"
	"mesh/server/servertest"
)

// TestCluster_DeadLeaderReplacedBeforeHeartbeatTimeout: with a heartbeat
// timeout far longer than the lease, a leader that stops (its
// connections close) is replaced within about the lease, because its
// followers' watches on it break.
func TestCluster_DeadLeaderReplacedBeforeHeartbeatTimeout(t *testing.T) {
	const hbTimeout = 4 * time.Second
	c := servertest.NewCluster(t, 3, func(cfg *server.Config) {
		cfg.RaftHeartbeatTimeout = hbTimeout
		cfg.RaftElectionTimeout = hbTimeout
		cfg.RaftLeaderLease = 100 * time.Millisecond
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
