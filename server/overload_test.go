package server_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"mesh/mesos"
	"mesh/mesos/scheduler"
	"mesh/server/servertest"
)

// TestScheduler_FrameworkNotReadingIsDisconnected: a framework that never
// reads its event stream while events pile up for it is disconnected once
// its backlog reaches the bound, instead of growing the leader's memory;
// another framework keeps getting offers from the same leader.
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
}
