package server_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"mesh/mesos"
	"mesh/mesos/scheduler"
	"mesh/server/servertest"
)

// sickLeaderCluster is three in-process servers whose raft logs can be
// made to fail, like a full disk, so that the leader loses its leadership
// in the middle of a write.
func sickLeaderCluster(t *testing.T) (*servertest.Cluster, []*failingStore) {
	t.Helper()
	var stores []raft.LogStore
	var fs []*failingStore
	for i := 0; i < 3; i++ {
		f := &failingStore{InmemStore: raft.NewInmemStore()}
		fs = append(fs, f)
		stores = append(stores, f)
	}
	return servertest.NewClusterWithStores(t, 3, stores, nil), fs
}

// TestScheduler_SubscribeNotCommittedIsRetryable: a SUBSCRIBE whose
// registration cannot be committed because leadership is lost mid-write
// is answered 503 (or redirected), never 200 and an ERROR event, which
// would tell a Mesos scheduler to abort.
func TestScheduler_SubscribeNotCommittedIsRetryable(t *testing.T) {
	c, fs := sickLeaderCluster(t)
	old := c.WaitLeader()
	fs[old].full.Store(true)
	code, body, _ := rawPost(t, c.Servers[old].HTTPAddr(), subscribeBody("retry-me", "", ""), jsonCT)
	if code != http.StatusServiceUnavailable && code != http.StatusTemporaryRedirect {
		t.Fatalf("SUBSCRIBE to a leader losing its leadership: %d %q, want 503 or 307", code, body)
	}
	if strings.Contains(body, "ERROR") {
		t.Errorf("the answer carries an ERROR event: %s", body)
	}
	fs[old].full.Store(false)
}

// TestScheduler_AcceptNotCommittedIsRetryable: an ACCEPT whose launch
// cannot be committed because leadership is lost mid-write is answered
// 503, not 202: the framework learns that its tasks were not (or may not
// have been) launched instead of waiting for updates that never come.
func TestScheduler_AcceptNotCommittedIsRetryable(t *testing.T) {
	c, fs := sickLeaderCluster(t)
	old := c.WaitLeader()
	addr := c.Servers[old].HTTPAddr()
	agent := servertest.NewSimAgent(addr, agentResources())
	agent.Start(t)
	f := subscribe(t, addr, subscribeBody("launcher", "", `"failover_timeout":60`))
	f.subscribed()
	o := f.await(scheduler.EventOffers, 10*time.Second).Offers.Offers[0]

	fs[old].full.Store(true)
	tasks := []mesos.TaskInfo{{Name: "t", TaskID: mesos.TaskID{Value: "t"}, AgentID: o.AgentID,
		Resources: []mesos.Resource{mesos.ScalarResource("cpus", 0.1), mesos.ScalarResource("mem", 32)},
		Command:   &mesos.CommandInfo{Value: "sleep 100"}}}
	b, _ := json.Marshal(scheduler.Accept{OfferIDs: []mesos.OfferID{o.ID}, Operations: []mesos.OfferOperation{{
		Type: mesos.OperationLaunch, Launch: &struct {
			TaskInfos []mesos.TaskInfo `json:"task_infos,omitempty"`
		}{TaskInfos: tasks}}}})
	code, msg := f.call("ACCEPT", "accept", string(b))
	if code != http.StatusServiceUnavailable {
		t.Fatalf("ACCEPT on a leader losing its leadership: %d %q, want 503", code, msg)
	}
	if !strings.Contains(msg, "reconcile") {
		t.Errorf("the 503 does not tell the framework what to do: %q", msg)
	}
	if n := agent.Launched(); n != 0 {
		t.Errorf("the agent was told to launch %d task(s) that were not committed", n)
	}
	fs[old].full.Store(false)
}
