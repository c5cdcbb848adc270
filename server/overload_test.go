package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hashicorp/raft"

	"mesh/mesos"
	"mesh/mesos/agentapi"
	"mesh/mesos/recordio"
	"mesh/mesos/scheduler"
	"mesh/server"
	"mesh/server/servertest"
)

// TestScheduler_FrameworkNotReadingIsDisconnected: a framework that never
// reads its event stream while events pile up for it is disconnected once
// its backlog reaches the bound (or a write stalls for the stream's write
// timeout), instead of growing the leader's memory; another framework
// keeps getting offers from the same leader. A framework process stopped
// with SIGSTOP is this client: its kernel takes bytes until the
// connection's buffers are full, then nothing. The disconnected framework
// keeps its failover_timeout to come back, as in Mesos.
func TestScheduler_FrameworkNotReadingIsDisconnected(t *testing.T) {
	srv := servertest.NewServer(t, servertest.Options{})
	agent := servertest.NewSimAgent(srv.HTTPAddr(), agentResources())
	agent.Start(t)
	busy := subscribe(t, srv.HTTPAddr(), subscribeBody("busy", "", ""))
	busy.subscribed()
	first := busy.await(scheduler.EventOffers, 10*time.Second).Offers.Offers[0]

	const lazyID = "lazy-framework"
	req, _ := http.NewRequest(http.MethodPost, "http://"+srv.HTTPAddr()+"/api/v1/scheduler",
		strings.NewReader(subscribeBody("lazy", lazyID, `"failover_timeout":60`)))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close() // never read
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("lazy subscribe: %d", resp.StatusCode)
	}
	lazy := &framework{t: t, addr: srv.HTTPAddr(), id: lazyID, streamID: resp.Header.Get("Mesos-Stream-Id")}

	// Each RECONCILE of unknown tasks queues one update per task: far more
	// than the socket buffers and the stream's bound can hold.
	var rec scheduler.Reconcile
	long := strings.Repeat("x", 1000)
	for i := 0; i < 3000; i++ {
		rec.Tasks = append(rec.Tasks, scheduler.ReconcileTask{TaskID: &mesos.TaskID{Value: long + string(rune('a'+i%26)) + strings.Repeat("y", i%7)}})
	}
	body, _ := json.Marshal(rec)
	servertest.WaitFor(t, 30*time.Second, "the framework that does not read to be disconnected", func() bool {
		if fw := srv.FSM().State().Framework(lazyID); fw != nil && !fw.Connected {
			return true
		}
		if code, msg := lazy.call("RECONCILE", "reconcile", string(body)); code != http.StatusAccepted && code != http.StatusForbidden {
			t.Fatalf("RECONCILE: %d %s", code, msg)
		}
		return false
	})

	if !srv.IsLeader() {
		t.Fatal("the leader lost its leadership")
	}
	busy.mustCall("DECLINE", "decline", `{"offer_ids":[{"value":"`+first.ID.Value+`"}],"filters":{"refuse_seconds":0}}`)
	if o := busy.await(scheduler.EventOffers, 10*time.Second).Offers.Offers[0]; o.ID == first.ID {
		t.Fatalf("the same offer again: %+v", o)
	}

	// It is disconnected with Mesos' failover semantics: it has its
	// failover_timeout, recorded in the replicated state, to come back,
	// and it can re-subscribe with its id on a new stream.
	fw := srv.FSM().State().Framework(lazyID)
	if fw.Removed || fw.FailoverDeadline == 0 {
		t.Fatalf("the framework that did not read: removed %v, failover deadline %d", fw.Removed, fw.FailoverDeadline)
	}
	if left := time.Until(time.Unix(0, fw.FailoverDeadline)); left > 60*time.Second || left <= 0 {
		t.Fatalf("failover deadline %s from now, want about the framework's 60 s", left)
	}
	back := subscribe(t, srv.HTTPAddr(), subscribeBody("lazy", lazyID, `"failover_timeout":60`))
	if ev := back.subscribed(); ev == nil || back.streamID == lazy.streamID {
		t.Fatalf("re-subscribed: %+v, stream %s (old %s)", ev, back.streamID, lazy.streamID)
	}
	if fw := srv.FSM().State().Framework(lazyID); !fw.Connected || fw.FailoverDeadline != 0 {
		t.Fatalf("after re-subscribing: connected %v, failover deadline %d", fw.Connected, fw.FailoverDeadline)
	}
}

// TestAgent_FloodOfUpdatesIsThrottled: an agent with more status update
// calls in progress than the per-client bound gets 429 with Retry-After
// and a message for each extra call, at once, while the calls it already
// has in progress are committed when raft can; the leader keeps serving.
func TestAgent_FloodOfUpdatesIsThrottled(t *testing.T) {
	store := &stallingStore{InmemStore: raft.NewInmemStore()}
	c := servertest.NewClusterWithStores(t, 1, []raft.LogStore{store}, func(cfg *server.Config) {
		cfg.RaftStoreTimeout = time.Minute
	})
	srv := c.Servers[c.WaitLeader()]
	agent := servertest.NewSimAgent(srv.HTTPAddr(), agentResources())
	agent.Start(t)

	store.setStall(true)
	t.Cleanup(func() { store.setStall(false) })
	const calls = 200
	body := `{"type":"UPDATE","agent_id":{"value":"` + agent.ID + `"},"update":{"updates":[` +
		`{"framework_id":{"value":"nobody"},"status":{"task_id":{"value":"t"},"state":"TASK_RUNNING"}}]}}`
	var mu sync.Mutex
	codes := map[int]int{}
	var retryAfter, msg string
	var wg sync.WaitGroup
	client := &http.Client{Timeout: time.Minute}
	for i := 0; i < calls; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := client.Post("http://"+srv.HTTPAddr()+agentapi.Path, "application/json", strings.NewReader(body))
			if err != nil {
				t.Errorf("UPDATE: %v", err)
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			mu.Lock()
			defer mu.Unlock()
			codes[resp.StatusCode]++
			if resp.StatusCode == http.StatusTooManyRequests {
				retryAfter, msg = resp.Header.Get("Retry-After"), string(b)
			}
		}()
	}
	servertest.WaitFor(t, 30*time.Second, "every call beyond the bound to be refused", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return codes[http.StatusTooManyRequests] == calls-64
	})
	if retryAfter == "" || !strings.Contains(msg, agent.ID) {
		t.Errorf("a refusal without Retry-After (%q) or without naming the agent: %q", retryAfter, msg)
	}
	store.setStall(false)
	wg.Wait()
	if codes[http.StatusOK] != 64 {
		t.Errorf("answers %v, want 64 × 200 and %d × 429", codes, calls-64)
	}
	f := subscribe(t, srv.HTTPAddr(), subscribeBody("after-the-flood", "", ""))
	f.subscribed()
	f.await(scheduler.EventOffers, 10*time.Second)
}

// TestScheduler_ThousandSubscribesAtOnce: a thousand frameworks subscribing
// at the same moment are each answered (SUBSCRIBED, or 429 with
// Retry-After), never an ERROR event, and a framework subscribed before
// keeps getting offers from the same leader.
func TestScheduler_ThousandSubscribesAtOnce(t *testing.T) {
	srv := servertest.NewServer(t, servertest.Options{})
	agent := servertest.NewSimAgent(srv.HTTPAddr(), agentResources())
	agent.Start(t)
	first := subscribe(t, srv.HTTPAddr(), subscribeBody("first", "", `"failover_timeout":60`))
	first.subscribed()
	o := first.await(scheduler.EventOffers, 10*time.Second).Offers.Offers[0]

	const n = 1000
	var wg sync.WaitGroup
	var mu sync.Mutex
	outcomes := map[string]int{}
	client := &http.Client{Timeout: time.Minute}
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := client.Post("http://"+srv.HTTPAddr()+"/api/v1/scheduler", "application/json",
				strings.NewReader(subscribeBody("storm", "", "")))
			outcome := ""
			switch {
			case err != nil:
				outcome = "error: " + err.Error()
			case resp.StatusCode == http.StatusOK:
				rec, err := recordio.NewReader(resp.Body).ReadRecord()
				var ev scheduler.Event
				if err == nil {
					err = json.Unmarshal(rec, &ev)
				}
				outcome = "200 " + ev.Type
				if err != nil {
					outcome = "200 unreadable: " + err.Error()
				}
			case resp.StatusCode == http.StatusTooManyRequests && resp.Header.Get("Retry-After") != "":
				outcome = "429"
			default:
				outcome = resp.Status
			}
			if resp != nil {
				resp.Body.Close() // each storm framework leaves at once (failover_timeout 0)
			}
			mu.Lock()
			outcomes[outcome]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if outcomes["200 "+scheduler.EventSubscribed]+outcomes["429"] != n {
		t.Fatalf("outcomes of %d SUBSCRIBEs: %v", n, outcomes)
	}
	t.Logf("outcomes of %d SUBSCRIBEs: %v", n, outcomes)
	if !srv.IsLeader() {
		t.Fatal("the leader lost its leadership")
	}
	first.mustCall("DECLINE", "decline", `{"offer_ids":[{"value":"`+o.ID.Value+`"}],"filters":{"refuse_seconds":0}}`)
	first.await(scheduler.EventOffers, 30*time.Second)
}

// TestScheduler_AcknowledgementsDoNotWaitBehindWrites: while every
// admission slot is taken by writes waiting for their commits, a
// framework's ACKNOWLEDGE and RECONCILE are still answered at once: an
// acknowledgement is what stops an agent from resending its update, so it
// must not queue behind the updates it would relieve.
func TestScheduler_AcknowledgementsDoNotWaitBehindWrites(t *testing.T) {
	srv := servertest.NewServer(t, servertest.Options{})
	f := subscribe(t, srv.HTTPAddr(), subscribeBody("acks-under-load", "", ""))
	f.subscribed()
	release := srv.HoldAdmissionForTest(t)
	defer release()
	u := uuid.New()
	f.ack(mesos.TaskStatus{AgentID: &mesos.AgentID{Value: "agent-1"}, TaskID: mesos.TaskID{Value: "task-1"}, UUID: u[:]})
	f.mustCall("RECONCILE", "reconcile", `{"tasks":[]}`)
}

// TestScheduler_FrameworkCallsDoNotWaitBehindAgents: while every slot of
// the agents' admission lane is taken (a data center's agents
// registering with a new leader at once, or their status updates under a
// burst of launches), a framework subscribes, and its calls that commit
// are answered, without waiting for them.
func TestScheduler_FrameworkCallsDoNotWaitBehindAgents(t *testing.T) {
	srv := servertest.NewServer(t, servertest.Options{})
	release := srv.HoldAgentAdmissionForTest(t)
	defer release()
	start := time.Now()
	f := subscribe(t, srv.HTTPAddr(), subscribeBody("beside-agents", "", ""))
	f.subscribed()
	f.mustCall("SUPPRESS", "suppress", `{}`)
	f.mustCall("REVIVE", "revive", `{}`)
	t.Logf("SUBSCRIBE, SUPPRESS and REVIVE answered in %s with every agent slot taken", time.Since(start))
}

// TestAgent_RegistrationDoesNotWaitBehindStatusUpdates: while every slot
// of the agents' status updates is taken (a burst of launches), an agent
// that registers, as every agent does with a new leader, is admitted in
// its own lane and gets its REGISTERED event.
func TestAgent_RegistrationDoesNotWaitBehindStatusUpdates(t *testing.T) {
	srv := servertest.NewServer(t, servertest.Options{})
	release := srv.HoldAgentWritesAdmissionForTest(t)
	defer release()
	body, _ := json.Marshal(agentapi.Call{Type: agentapi.CallSubscribe, Subscribe: &agentapi.Subscribe{
		AgentInfo: mesos.AgentInfo{Hostname: "beside-updates", Port: 5051, Resources: agentResources()}}})
	client := &http.Client{Timeout: 5 * time.Second} // a queued registration would wait out the admission's 10 s
	resp, err := client.Post("http://"+srv.HTTPAddr()+agentapi.Path, "application/json", strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("SUBSCRIBE: %s", resp.Status)
	}
	rec, err := recordio.NewReader(resp.Body).ReadRecord()
	var ev agentapi.Event
	if err == nil {
		err = json.Unmarshal(rec, &ev)
	}
	if err != nil || ev.Type != agentapi.EventRegistered {
		t.Fatalf("first event %q, %v; want REGISTERED", ev.Type, err)
	}
}
