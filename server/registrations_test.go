package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"mesh/fsm"
	"mesh/mesos"
	"mesh/mesos/agentapi"
	mapi "mesh/mesos/master"
	"mesh/mesos/recordio"
	"mesh/server"
	"mesh/server/servertest"
)

// TestAgent_RegistrationsThatComeTogetherShareLogEntries: 200 agents
// subscribe at once, as a data center's agents do after a leader change;
// while the first registration is being written, the others wait for the
// next entry and are committed together in it. Every agent is registered
// and gets its REGISTERED event, and an operator subscriber is told of
// each (AGENT_ADDED).
func TestAgent_RegistrationsThatComeTogetherShareLogEntries(t *testing.T) {
	store := newCountingStore()
	c := servertest.NewClusterWithStores(t, 1, []raft.LogStore{store}, func(cfg *server.Config) {
		cfg.RaftStoreTimeout = time.Minute // the stalled write is the test's, not a failing disk
	})
	srv := c.Servers[c.WaitLeader()]
	registrations := func() int {
		return store.entries(fsm.AgentRegisterRequestType) + store.entries(fsm.AgentRegisterBatchRequestType)
	}
	before := store.registered()
	beforeEntries := registrations()

	ops := subscribeOperator(t, srv.HTTPAddr())
	if ev := ops.next(10 * time.Second); ev == nil || ev.Type != mapi.EventSubscribed {
		t.Fatalf("operator stream: first event %+v, want SUBSCRIBED", ev)
	}

	const agents = 200
	store.setStall(true)
	t.Cleanup(func() { store.setStall(false) })
	var wg sync.WaitGroup
	errs := make(chan error, agents)
	var streams []*http.Response
	var mu sync.Mutex
	for i := 0; i < agents; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body, _ := json.Marshal(agentapi.Call{Type: agentapi.CallSubscribe, Subscribe: &agentapi.Subscribe{
				AgentInfo: mesos.AgentInfo{Hostname: fmt.Sprintf("host-%d", i), Port: 5051, Resources: agentResources()}}})
			resp, err := http.Post("http://"+srv.HTTPAddr()+agentapi.Path, "application/json", strings.NewReader(string(body)))
			if err != nil {
				errs <- err
				return
			}
			mu.Lock()
			streams = append(streams, resp)
			mu.Unlock()
			if resp.StatusCode != http.StatusOK {
				errs <- fmt.Errorf("agent %d: %s", i, resp.Status)
				return
			}
			rec, err := recordio.NewReader(resp.Body).ReadRecord()
			var ev agentapi.Event
			if err == nil {
				err = json.Unmarshal(rec, &ev)
			}
			if err != nil || ev.Type != agentapi.EventRegistered {
				errs <- fmt.Errorf("agent %d: first event %q, %v", i, ev.Type, err)
			}
		}()
	}
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, r := range streams {
			r.Body.Close()
		}
	})
	// The first entry holds whatever came before the batcher took it (one
	// registration or a few); it waits at its write, and every other
	// registration queues for the next entry.
	servertest.WaitFor(t, 30*time.Second, "every registration to be in the stalled entry or queued behind it", func() bool {
		return store.registered()-before+srv.QueuedRegistrations() == agents
	})
	store.setStall(false)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := len(srv.FSM().State().Agents()); n != agents {
		t.Fatalf("%d agents registered, want %d", n, agents)
	}
	added := map[string]bool{}
	for len(added) < agents {
		ev := ops.next(10 * time.Second)
		if ev == nil {
			t.Fatalf("operator stream: %d AGENT_ADDED events for %d agents", len(added), agents)
		}
		if ev.Type == mapi.EventAgentAdded {
			added[ev.AgentAdded.Agent.AgentInfo.ID.Value] = true
		}
	}
	if n := registrations() - beforeEntries; n != 2 {
		t.Fatalf("%d log entries for %d registrations that came together, want 2 (the first, then the rest)", n, agents)
	}
}
