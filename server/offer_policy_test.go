package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"mesh/mesos"

	"mesh/mesos/scheduler"
	"mesh/server"
	"mesh/server/servertest"
)

// offeredAgents counts the offers by agent in the next rounds OFFERS
// events, declining each offer with refuse (seconds) as it comes.
func (f *framework) offeredAgents(rounds int, refuse string) map[string]int {
	f.t.Helper()
	seen := map[string]int{}
	for i := 0; i < rounds; i++ {
		for _, o := range f.await(scheduler.EventOffers, 10*time.Second).Offers.Offers {
			seen[o.AgentID.Value]++
			f.mustCall("DECLINE", "decline", `{"offer_ids":[{"value":"`+o.ID.Value+`"}],"filters":{"refuse_seconds":`+refuse+`}}`)
		}
	}
	return seen
}

// A framework that declined an agent for an hour is not offered it by the
// next leader either; its REVIVE there lifts the filter. The other agent,
// declined for no time, keeps being offered throughout.
func TestCluster_DeclineFiltersSurviveALeaderChange(t *testing.T) {
	c := servertest.NewCluster(t, 3, func(cfg *server.Config) { cfg.AllocationInterval = 50 * time.Millisecond })
	old := c.WaitLeader()
	oldAddr := c.Servers[old].HTTPAddr()
	a1 := servertest.NewSimAgent(oldAddr, agentResources())
	a1.Start(t)
	f := subscribe(t, oldAddr, subscribeBody("filtered", "", `"failover_timeout":300`))
	f.subscribed()
	// Decline a1 for an hour, a2 (registered later) for nothing.
	for _, o := range f.await(scheduler.EventOffers, 10*time.Second).Offers.Offers {
		f.mustCall("DECLINE", "decline", `{"offer_ids":[{"value":"`+o.ID.Value+`"}],"filters":{"refuse_seconds":3600}}`)
	}
	a2 := servertest.NewSimAgent(oldAddr, agentResources())
	a2.Hostname = "sim2"
	a2.Start(t)
	if seen := f.offeredAgents(2, "0"); seen[a1.ID] > 0 || seen[a2.ID] == 0 {
		t.Fatalf("before the leader change: offers by agent %v, want only %s", seen, a2.ID)
	}

	c.Isolate(old)
	servertest.WaitFor(t, 5*time.Second, "old leader to step down", func() bool { return !c.Servers[old].IsLeader() })
	leader := c.WaitLeader()
	addr := c.Servers[leader].HTTPAddr()
	for _, a := range []*servertest.SimAgent{a1, a2} {
		a.Stop()
		b := servertest.NewSimAgent(addr, agentResources())
		b.ID, b.Hostname = a.ID, a.Hostname
		b.Start(t)
	}
	f2 := subscribe(t, addr, subscribeBody("filtered", f.id, `"failover_timeout":300`))
	f2.id = f.id
	f2.subscribed()
	if seen := f2.offeredAgents(3, "0"); seen[a1.ID] > 0 || seen[a2.ID] == 0 {
		t.Fatalf("after the leader change: offers by agent %v, want only %s (its hour-long filter was lost)", seen, a2.ID)
	}
	f2.mustCall("REVIVE", "", "")
	servertest.WaitFor(t, 10*time.Second, "the revived agent to be offered", func() bool {
		return f2.offeredAgents(1, "0")[a1.ID] > 0
	})
	c.Heal()
	c.CheckConsistent()
}

// SUPPRESS and REVIVE are recorded in the replicated state.
func TestCluster_SuppressedRolesAreRecorded(t *testing.T) {
	s := servertest.NewServer(t, servertest.Options{})
	f := subscribe(t, s.HTTPAddr(), subscribeBody("quiet", "", `"roles":["a","b"],"capabilities":[{"type":"MULTI_ROLE"}]`))
	f.subscribed()
	suppressed := func() []string { return s.FSM().State().Framework(f.id).SuppressedRoles }
	f.mustCall("SUPPRESS", "suppress", `{"roles":["b"]}`)
	if got := suppressed(); len(got) != 1 || got[0] != "b" {
		t.Fatalf("suppressed roles after SUPPRESS b: %v", got)
	}
	f.mustCall("REVIVE", "", "")
	if got := suppressed(); len(got) != 0 {
		t.Fatalf("suppressed roles after REVIVE: %v", got)
	}
}

// With -offer-timeout, an offer left standing is rescinded and its
// resources offered again.
func TestScheduler_OfferTimeoutRescinds(t *testing.T) {
	s := servertest.NewServer(t, servertest.Options{Tweak: func(c *server.Config) { c.OfferTimeout = 300 * time.Millisecond }})
	a := servertest.NewSimAgent(s.HTTPAddr(), agentResources())
	a.Start(t)
	f := subscribe(t, s.HTTPAddr(), subscribeBody("slow", "", ""))
	f.subscribed()
	first := f.await(scheduler.EventOffers, 10*time.Second).Offers.Offers[0]
	ev := f.next(10 * time.Second)
	if ev.Type != scheduler.EventRescind || ev.Rescind.OfferID != first.ID {
		t.Fatalf("after the offer timeout: %+v, want RESCIND of %s", ev, first.ID.Value)
	}
	again := f.await(scheduler.EventOffers, 10*time.Second).Offers.Offers[0]
	if again.AgentID != first.AgentID || again.ID == first.ID {
		t.Fatalf("re-offer %+v after rescinding %+v", again, first)
	}
}

// -min-allocatable-resources is the least an offer holds; a value that
// does not parse stops the server at start, naming the flag.
func TestScheduler_MinAllocatableResources(t *testing.T) {
	s := servertest.NewServer(t, servertest.Options{Tweak: func(c *server.Config) { c.MinAllocatableResources = "cpus:8" }})
	small := servertest.NewSimAgent(s.HTTPAddr(), agentResources()) // 4 cpus
	small.Start(t)
	big := servertest.NewSimAgent(s.HTTPAddr(), mesos.Resources{mesos.ScalarResource("cpus", 8), mesos.ScalarResource("mem", 1024)})
	big.Hostname = "big"
	big.Start(t)
	f := subscribe(t, s.HTTPAddr(), subscribeBody("picky", "", ""))
	f.subscribed()
	for _, o := range f.await(scheduler.EventOffers, 10*time.Second).Offers.Offers {
		if o.AgentID.Value != big.ID {
			t.Errorf("offered agent %s, which has less than 8 cpus", o.AgentID.Value)
		}
	}
	cfg := server.DefaultConfig()
	cfg.DataDir = t.TempDir()
	cfg.MinAllocatableResources = "cpus:lots"
	if _, err := server.New(cfg); err == nil || !strings.Contains(err.Error(), "min allocatable resources") {
		t.Errorf("a bad -min-allocatable-resources: %v", err)
	}
}

// /state shows a framework's suppressed roles.
func TestState_ShowsSuppressedRoles(t *testing.T) {
	s := servertest.NewServer(t, servertest.Options{})
	f := subscribe(t, s.HTTPAddr(), subscribeBody("quiet", "", `"roles":["a","b"],"capabilities":[{"type":"MULTI_ROLE"}]`))
	f.subscribed()
	f.mustCall("SUPPRESS", "suppress", `{"roles":["b"]}`)
	var st struct {
		Frameworks []struct {
			ID              string   `json:"id"`
			SuppressedRoles []string `json:"suppressed_roles"`
		} `json:"frameworks"`
	}
	resp, err := http.Get("http://" + s.HTTPAddr() + "/state")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	if len(st.Frameworks) != 1 || fmt.Sprint(st.Frameworks[0].SuppressedRoles) != "[b]" {
		t.Fatalf("/state frameworks: %+v", st.Frameworks)
	}
}
