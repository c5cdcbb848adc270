package server_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"mesh/mesos"
	"mesh/mesos/scheduler"
	"mesh/server/servertest"
)

// noRedirect is an HTTP client that shows 307s instead of following them.
var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// TestCluster_FollowersRedirectToLeader: any server may be given to a
// client; followers answer 307 with a protocol-relative Location.
func TestCluster_FollowersRedirectToLeader(t *testing.T) {
	c := servertest.NewCluster(t, 3, nil)
	leader := c.WaitLeader()
	leaderAddr := c.Servers[leader].HTTPAddr()
	for i, s := range c.Servers {
		if i == leader {
			continue
		}
		servertest.WaitFor(t, 5*time.Second, "follower to learn the leader's address", func() bool {
			req, _ := http.NewRequest(http.MethodPost, "http://"+s.HTTPAddr()+"/api/v1/scheduler", strings.NewReader(subscribeBody("x", "", "")))
			req.Header.Set("Content-Type", "application/json")
			resp, err := noRedirect.Do(req)
			if err != nil {
				return false
			}
			resp.Body.Close()
			return resp.StatusCode == http.StatusTemporaryRedirect && resp.Header.Get("Location") == "//"+leaderAddr+"/api/v1/scheduler"
		})
	}
	// Every server's HTTP address reaches the replicated state, so any of
	// them can be redirected to once it leads.
	servertest.WaitFor(t, 10*time.Second, "every server to announce its HTTP address", func() bool {
		peers, err := c.Servers[leader].Peers()
		if err != nil || len(peers) != 3 {
			return false
		}
		for _, p := range peers {
			if p.HTTPAddr == "" {
				return false
			}
		}
		return true
	})
	c.CheckConsistent()
}

// TestCluster_LeaderIsolatedMajorityServes: cutting the leader off makes
// the other two elect a leader that serves; the old leader stops acting
// (no writes, 503 or redirect); after healing there is one history, and a
// framework that resubscribes with its id keeps its tasks.
func TestCluster_LeaderIsolatedMajorityServes(t *testing.T) {
	c := servertest.NewCluster(t, 3, nil)
	old := c.WaitLeader()
	oldAddr := c.Servers[old].HTTPAddr()
	agent := servertest.NewSimAgent(oldAddr, agentResources())
	agent.Start(t)
	f := subscribe(t, oldAddr, subscribeBody("ha", "", `"failover_timeout":300`))
	f.subscribed()
	o := f.await(scheduler.EventOffers, 10*time.Second).Offers.Offers[0]
	f.launch(o, "sleep 1000", "survivor")
	if st := f.await(scheduler.EventUpdate, 10*time.Second).Update.Status; st.State != mesos.TaskRunning {
		t.Fatalf("task: %+v", st)
	}

	c.Isolate(old)
	// The old leader steps down within its lease and closes the streams.
	servertest.WaitFor(t, 5*time.Second, "old leader to step down", func() bool { return !c.Servers[old].IsLeader() })
	for ev := range f.events {
		_ = ev // drain until the deposed leader closes the stream
	}
	code, _, _ := rawPost(t, oldAddr, subscribeBody("late", "", ""), jsonCT)
	if code != http.StatusServiceUnavailable && code != http.StatusTemporaryRedirect {
		t.Errorf("isolated old leader answered %d, want 503 or 307", code)
	}
	leader := c.WaitLeader()
	if leader == old {
		t.Fatal("isolated server is leader")
	}
	addr := c.Servers[leader].HTTPAddr()
	f2 := subscribe(t, addr, subscribeBody("ha", f.id, `"failover_timeout":300`))
	f2.id = f.id
	f2.subscribed()
	f2.mustCall("RECONCILE", "reconcile", `{}`)
	if st := f2.await(scheduler.EventUpdate, 10*time.Second).Update.Status; st.TaskID.Value != "survivor" || st.State != mesos.TaskRunning {
		t.Errorf("reconcile on the new leader: %+v", st)
	}
	c.Heal()
	c.CheckConsistent()
}
