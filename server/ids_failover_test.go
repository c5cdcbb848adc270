package server_test

import (
	"testing"

	"mesh/server/servertest"
)

// TestCluster_NewLeaderNeverReusesFirstIDs: the first framework (-0000)
// and the first agent (-S0) registered with one leader keep their ids
// after a leader change; the next leader hands out fresh ones.
func TestCluster_NewLeaderNeverReusesFirstIDs(t *testing.T) {
	c := servertest.NewCluster(t, 3, nil)
	old := c.WaitLeader()
	oldAddr := c.Servers[old].HTTPAddr()
	a1 := servertest.NewSimAgent(oldAddr, agentResources())
	a1.Start(t)
	f1 := subscribe(t, oldAddr, subscribeBody("first", "", `"failover_timeout":300`))
	first := f1.subscribed().FrameworkID.Value

	c.Isolate(old)
	leader := c.WaitLeader()
	addr := c.Servers[leader].HTTPAddr()
	f2 := subscribe(t, addr, subscribeBody("second", "", `"failover_timeout":300`))
	if second := f2.subscribed().FrameworkID.Value; second == first {
		t.Errorf("the new leader gave framework id %s, already the first framework's, to a new framework", second)
	}
	a2 := servertest.NewSimAgent(addr, agentResources())
	a2.Hostname = "sim2"
	a2.Start(t)
	if a2.ID == a1.ID {
		t.Errorf("the new leader gave agent id %s, already the first agent's, to a new agent", a2.ID)
	}
	c.Heal()
	c.CheckConsistent()
}
