package servertest

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"mesh/fsm"
	"mesh/server"
)

// Cluster is N in-process servers on raft's in-memory transport, with
// real HTTP on 127.0.0.1, and controls to cut servers off and heal.
type Cluster struct {
	t       testing.TB
	Servers []*Server
	addrs   []raft.ServerAddress
	trans   []*raft.InmemTransport
	cut     map[int]bool
}

// NewCluster starts n servers that bootstrap one cluster, and waits for a
// leader. Every server stops when the test ends.
func NewCluster(t testing.TB, n int, tweak func(*server.Config)) *Cluster {
	t.Helper()
	return NewClusterWithStores(t, n, nil, tweak)
}

// NewClusterWithStores is NewCluster with server i's raft log in
// stores[i] (nil entries: in memory).
func NewClusterWithStores(t testing.TB, n int, stores []raft.LogStore, tweak func(*server.Config)) *Cluster {
	t.Helper()
	c := &Cluster{t: t, cut: map[int]bool{}}
	for i := 0; i < n; i++ {
		addr, tr := raft.NewInmemTransport(raft.ServerAddress(fmt.Sprintf("srv%d", i)))
		c.addrs = append(c.addrs, addr)
		c.trans = append(c.trans, tr)
	}
	c.connectAll()
	var members []raft.Server
	for i := 0; i < n; i++ {
		tr := c.trans[i]
		s := newServer(t, Options{Tweak: func(cfg *server.Config) {
			cfg.TestRaft = &server.TestRaft{Transport: tr}
			if i < len(stores) {
				cfg.TestRaft.LogStore = stores[i]
			}
			cfg.BootstrapExpect = n
			cfg.RaftHeartbeatTimeout = 300 * time.Millisecond
			cfg.RaftElectionTimeout = 300 * time.Millisecond
			cfg.RaftLeaderLease = 150 * time.Millisecond
			cfg.AgentReregisterTimeout = 30 * time.Second
			cfg.FrameworkFailoverMinimum = 30 * time.Second
			cfg.Logger = cfg.Logger.Named(fmt.Sprintf("srv%d", i))
			if tweak != nil {
				tweak(cfg)
			}
		}}, false)
		c.Servers = append(c.Servers, s)
		members = append(members, raft.Server{ID: raft.ServerID(s.NodeID()), Address: c.addrs[i]})
	}
	for _, s := range c.Servers {
		if err := s.BootstrapCluster(members); err != nil {
			t.Fatalf("bootstrap: %v", err)
		}
	}
	c.WaitLeader()
	return c
}

func (c *Cluster) connectAll() {
	for i := range c.trans {
		for j := range c.trans {
			// Each also reaches itself, as a real transport does: a
			// follower starts its campaign by a TimeoutNow to itself.
			if i == j || !c.cut[i] && !c.cut[j] {
				c.trans[i].Connect(c.addrs[j], c.trans[j])
			}
		}
	}
}

// Isolate cuts server i off from every other server (both directions).
func (c *Cluster) Isolate(i int) {
	c.cut[i] = true
	for j := range c.trans {
		if j != i {
			c.trans[i].Disconnect(c.addrs[j])
			c.trans[j].Disconnect(c.addrs[i])
		}
	}
}

// Heal reconnects every server.
func (c *Cluster) Heal() {
	c.cut = map[int]bool{}
	c.connectAll()
}

// Leader returns the index of the established leader, -1 if none.
func (c *Cluster) Leader() int {
	for i, s := range c.Servers {
		if s.cancel != nil && s.IsLeader() {
			return i
		}
	}
	return -1
}

// WaitLeader waits for an established leader among the servers that are
// not cut off and returns its index.
func (c *Cluster) WaitLeader() int {
	c.t.Helper()
	idx := -1
	WaitFor(c.t, 15*time.Second, "a leader", func() bool {
		for i, s := range c.Servers {
			if s.cancel != nil && !c.cut[i] && s.IsLeader() {
				idx = i
				return true
			}
		}
		return false
	})
	return idx
}

// Stop stops server i.
func (c *Cluster) Stop(i int) { c.Servers[i].Stop() }

// CheckConsistent requires every running server to hold the same
// replicated state, read when all have applied the same log index.
func (c *Cluster) CheckConsistent() {
	c.t.Helper()
	var running []*Server
	for _, s := range c.Servers {
		if s.cancel != nil {
			running = append(running, s)
		}
	}
	// The leader may still commit (an agent's disconnection, an offer
	// round): states count only when every server had applied the same
	// index before and after they were read. A difference between them
	// must outlast the wait to fail the test.
	deadline := time.Now().Add(15 * time.Second)
	diff := "the servers never applied the same index"
	for {
		d, settled := stateDifference(running)
		if settled && d == "" {
			return
		}
		if settled {
			diff = d
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("after 15s: %s", diff)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// stateDifference reads the servers' states; settled says every server
// had applied the same index before and after, and then the difference
// says how two states differ ("" for none).
func stateDifference(running []*Server) (difference string, settled bool) {
	applied := func() bool {
		for _, s := range running[1:] {
			if s.CommitIndex() != running[0].CommitIndex() || s.LastIndex() != running[0].LastIndex() {
				return false
			}
		}
		return true
	}
	before := running[0].LastIndex()
	if !applied() {
		return "", false
	}
	dumps := make([]string, len(running))
	for i, s := range running {
		dumps[i] = dumpState(s.FSM().State())
	}
	if !applied() || running[0].LastIndex() != before {
		return "", false
	}
	for i := 1; i < len(dumps); i++ {
		if dumps[i] != dumps[0] {
			return fmt.Sprintf("server %d state differs from server 0 at index %d:\n%s\nvs\n%s", i, before, dumps[i], dumps[0]), true
		}
	}
	return "", true
}

// dumpState renders the replicated state for comparison.
func dumpState(st *fsm.State) string {
	ops := map[string]any{}
	for _, fw := range st.Frameworks() {
		ops[fw.ID] = st.OperationsByFramework(fw.ID)
	}
	b, _ := json.Marshal(map[string]any{
		"meta": st.Meta(), "servers": st.Servers(), "frameworks": st.Frameworks(),
		"agents": st.Agents(), "offers": st.Offers(), "tasks": st.Tasks(), "operations": ops,
	})
	return string(b)
}
