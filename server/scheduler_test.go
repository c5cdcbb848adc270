package server_test

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"mesh/mesos"
	"mesh/mesos/scheduler"
	"mesh/server/servertest"
)

var uuidRe = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

func agentResources() mesos.Resources {
	return mesos.Resources{mesos.ScalarResource("cpus", 4), mesos.ScalarResource("mem", 4096),
		mesos.ScalarResource("disk", 10000), mesos.RangesResource("ports", mesos.Range{Begin: 31000, End: 32000})}
}

// TestScheduler_BadInputGetsSpecStatus covers the transport and
// validation rows of the conformance list: each bad request gets Mesos'
// status code and a message, and the server keeps serving.
func TestScheduler_BadInputGetsSpecStatus(t *testing.T) {
	srv := servertest.NewServer(t, servertest.Options{})
	addr := srv.HTTPAddr()
	good := subscribeBody("demo", "", "")

	// 1. GET → 405 + Allow: POST.
	resp, err := http.Get("http://" + addr + "/api/v1/scheduler")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 405 || resp.Header.Get("Allow") != "POST" {
		t.Errorf("GET: %d Allow=%q, want 405 POST", resp.StatusCode, resp.Header.Get("Allow"))
	}
	before := srv.LastIndex()
	cases := []struct {
		name    string
		body    string
		headers map[string]string
		code    int
		msg     string
	}{
		{"no content type", good, nil, 400, "Content-Type"},
		{"text/plain", good, map[string]string{"Content-Type": "text/plain"}, 415, "application/json"},
		{"truncated JSON", `{`, jsonCT, 400, "JSON"},
		{"JSON array", `[]`, jsonCT, 400, "JSON"},
		{"subscribe without body", `{"type":"SUBSCRIBE"}`, jsonCT, 400, "subscribe"},
		{"subscribe without user", `{"type":"SUBSCRIBE","subscribe":{"framework_info":{"name":"x"}}}`, jsonCT, 400, "user"},
		{"subscribe without name", `{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"x"}}}`, jsonCT, 400, "name"},
		{"subscribe Accept text/plain", good, map[string]string{"Content-Type": "application/json", "Accept": "text/plain"}, 406, "Accept"},
		{"subscribe with stream id", good, map[string]string{"Content-Type": "application/json", "Mesos-Stream-Id": "x"}, 400, "Mesos-Stream-Id"},
		{"framework id mismatch", `{"framework_id":{"value":"a"},"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"u","name":"n","id":{"value":"b"}}}}`, jsonCT, 400, "framework"},
		{"no framework id", `{"type":"DECLINE","decline":{"offer_ids":[]}}`, jsonCT, 400, "framework_id"},
		{"unknown framework", `{"framework_id":{"value":"nope"},"type":"DECLINE","decline":{"offer_ids":[]}}`, map[string]string{"Content-Type": "application/json", "Mesos-Stream-Id": "x"}, 400, "Framework cannot be found"},
		{"unknown call type", `{"framework_id":{"value":"nope"},"type":"FROBNICATE"}`, jsonCT, 400, "FROBNICATE"},
	}
	for _, c := range cases {
		code, msg, _ := rawPost(t, addr, c.body, c.headers)
		if code != c.code || !strings.Contains(strings.ToLower(msg), strings.ToLower(c.msg)) {
			t.Errorf("%s: got %d %q, want %d mentioning %q", c.name, code, strings.TrimSpace(msg), c.code, c.msg)
		}
	}

	if after := srv.LastIndex(); after != before {
		t.Errorf("bad requests changed the replicated state: applied index %d → %d", before, after)
	}
	// A valid subscription still works after all of that.
	f := subscribe(t, addr, good)
	sub := f.subscribed()
	if !uuidRe.MatchString(f.streamID) {
		t.Errorf("stream id %q is not a lowercase UUID", f.streamID)
	}
	if sub.FrameworkID.Value == "" || sub.HeartbeatIntervalSeconds <= 0 {
		t.Errorf("SUBSCRIBED %+v", sub)
	}
	if sub.MasterInfo == nil || sub.MasterInfo.IP != 16777343 {
		t.Errorf("master_info %+v, want ip 16777343 for 127.0.0.1", sub.MasterInfo)
	}
	// 13. DECLINE without, with a wrong, then with the right stream id.
	decl := `{"framework_id":{"value":"` + f.id + `"},"type":"DECLINE","decline":{"offer_ids":[]}}`
	if code, _, _ := rawPost(t, addr, decl, jsonCT); code != 400 {
		t.Errorf("DECLINE without stream id: %d, want 400", code)
	}
	if code, _, _ := rawPost(t, addr, decl, map[string]string{"Content-Type": "application/json", "Mesos-Stream-Id": "00000000-0000-0000-0000-000000000000"}); code != 400 {
		t.Errorf("DECLINE with wrong stream id: %d, want 400", code)
	}
	if code, body := f.call("DECLINE", "decline", `{"offer_ids":[]}`); code != 202 || body != "" {
		t.Errorf("DECLINE: %d %q, want 202 with an empty body", code, body)
	}
	// 18. ACKNOWLEDGE uuid must be 16 bytes.
	if code, _ := f.call("ACKNOWLEDGE", "acknowledge", `{"agent_id":{"value":"a"},"task_id":{"value":"t"},"uuid":"AAAA"}`); code != 400 {
		t.Errorf("ACKNOWLEDGE with a 3-byte uuid: %d, want 400", code)
	}
	if code, _ := f.call("ACKNOWLEDGE", "acknowledge", `{"agent_id":{"value":"a"},"task_id":{"value":"t"},"uuid":"ABEiM0RVZneImaq7zN3u/w=="}`); code != 202 {
		t.Errorf("ACKNOWLEDGE with a 16-byte uuid: %d, want 202", code)
	}
	// 19. ACCEPT whose TaskInfo lacks a name.
	if code, _ := f.call("ACCEPT", "accept", `{"offer_ids":[{"value":"x"}],"operations":[{"type":"LAUNCH","launch":{"task_infos":[{"task_id":{"value":"t"},"agent_id":{"value":"a"}}]}}]}`); code != 400 {
		t.Errorf("ACCEPT of a nameless task: %d, want 400", code)
	}
	// 31. UNKNOWN → 501.
	if code, _ := f.call("UNKNOWN", "", ""); code != 501 {
		t.Errorf("UNKNOWN: %d, want 501", code)
	}
	// 39. Unknown keys are ignored.
	if code, _ := f.call("REVIVE", "frameworkId", `{"value":"zzz"}`); code != 202 {
		t.Errorf("REVIVE with an unknown key: %d, want 202", code)
	}
}

// TestScheduler_FrameworkInfoErrorsComeInsideTheStream: 11 and 12.
func TestScheduler_FrameworkInfoErrorsComeInsideTheStream(t *testing.T) {
	srv := servertest.NewServer(t, servertest.Options{})
	for name, extra := range map[string]string{
		"roles without MULTI_ROLE":   `"roles":["a"]`,
		"suppressed role not in set": `"roles":["a"],"capabilities":[{"type":"MULTI_ROLE"}]`,
	} {
		body := subscribeBody("x", "", extra)
		if strings.Contains(name, "suppressed") {
			body = strings.Replace(body, `}}}`, `},"suppressed_roles":["b"]}}`, 1)
		}
		f := subscribe(t, srv.HTTPAddr(), body)
		ev := f.next(5 * time.Second)
		if ev == nil || ev.Type != scheduler.EventError || ev.Error.Message == "" {
			t.Errorf("%s: first event %+v, want ERROR", name, ev)
			continue
		}
		if ev := f.next(5 * time.Second); ev != nil {
			t.Errorf("%s: stream continued after ERROR with %+v", name, ev)
		}
	}
}

// TestScheduler_LaunchAcknowledgeTeardown drives offers, ACCEPT, status
// updates and acknowledgements against a simulated agent.
func TestScheduler_LaunchAcknowledgeTeardown(t *testing.T) {
	srv := servertest.NewServer(t, servertest.Options{})
	agent := servertest.NewSimAgent(srv.HTTPAddr(), agentResources())
	agent.Start(t)
	f := subscribe(t, srv.HTTPAddr(), subscribeBody("demo", "", `"roles":["web"],"capabilities":[{"type":"MULTI_ROLE"}],"failover_timeout":60`))
	f.subscribed()

	// 32. The OFFERS event has Mesos' shape.
	offers := f.await(scheduler.EventOffers, 10*time.Second)
	var raw map[string]any
	for rec := range f.raw {
		if strings.Contains(string(rec), `"OFFERS"`) {
			json.Unmarshal(rec, &raw)
			break
		}
	}
	inner := raw["offers"].(map[string]any)["offers"].([]any)[0].(map[string]any)
	for _, k := range []string{"id", "framework_id", "agent_id", "hostname", "url", "resources", "allocation_info"} {
		if inner[k] == nil {
			t.Errorf("offer lacks %q: %v", k, inner)
		}
	}
	o := offers.Offers.Offers[0]
	if o.AllocationInfo.Role != "web" || o.URL.Address.Port != 5051 || o.URL.Scheme != "http" {
		t.Errorf("offer %+v", o)
	}
	for _, r := range o.Resources {
		if r.AllocationInfo == nil || r.AllocationInfo.Role != "web" || r.Role != "*" {
			t.Errorf("resource %+v lacks allocation_info.role web or role *", r)
		}
	}

	// 21. More cpus than offered → TASK_ERROR, no uuid; the offer's other
	// tasks still launch.
	big := mesos.TaskInfo{Name: "big", TaskID: mesos.TaskID{Value: "big"}, AgentID: o.AgentID,
		Resources: []mesos.Resource{mesos.ScalarResource("cpus", 100)}, Command: &mesos.CommandInfo{Value: "true"}}
	var tasks []mesos.TaskInfo
	for _, id := range []string{"t0", "t1", "t2"} {
		tasks = append(tasks, mesos.TaskInfo{Name: id, TaskID: mesos.TaskID{Value: id}, AgentID: o.AgentID,
			Resources: []mesos.Resource{mesos.ScalarResource("cpus", 0.1), mesos.ScalarResource("mem", 32)},
			Command:   &mesos.CommandInfo{Value: "echo " + id}})
	}
	f.accept([]mesos.OfferID{o.ID}, append([]mesos.TaskInfo{big}, tasks...))

	// The tasks' resources come back as an offer at any time once they
	// finish, maybe before an update awaited below: it is kept for step
	// 26, not skipped (it would stay outstanding, and no other come).
	var spare []mesos.Offer
	awaitUpdate := func() mesos.TaskStatus {
		t.Helper()
		for {
			ev := f.next(10 * time.Second)
			switch {
			case ev == nil:
				t.Fatal("stream ended while waiting for UPDATE")
			case ev.Type == scheduler.EventUpdate:
				return ev.Update.Status
			case ev.Type == scheduler.EventOffers:
				spare = append(spare, ev.Offers.Offers...)
			}
		}
	}
	seen := map[string][]mesos.TaskState{}
	for done := 0; done < 3; {
		st := awaitUpdate()
		seen[st.TaskID.Value] = append(seen[st.TaskID.Value], st.State)
		if st.TaskID.Value == "big" {
			if st.State != mesos.TaskError || len(st.UUID) != 0 || st.Source != mesos.SourceMaster {
				t.Errorf("oversized task: %+v", st)
			}
			continue
		}
		if len(st.UUID) != 16 {
			t.Fatalf("agent update without a uuid: %+v", st)
		}
		f.ack(st)
		if st.State == mesos.TaskFinished {
			done++
		}
	}
	for _, id := range []string{"t0", "t1", "t2"} {
		if got := seen[id]; len(got) != 2 || got[0] != mesos.TaskRunning || got[1] != mesos.TaskFinished {
			t.Errorf("%s went through %v, want RUNNING then FINISHED", id, got)
		}
	}
	// 23. Reusing the accepted offer → TASK_LOST, REASON_INVALID_OFFERS.
	f.launch(o, "true", "again")
	if st := awaitUpdate(); st.State != mesos.TaskLost || st.Reason != mesos.ReasonInvalidOffers || len(st.UUID) != 0 {
		t.Errorf("reused offer: %+v", st)
	}
	// 20. No offer ids → TASK_LOST.
	f.accept(nil, []mesos.TaskInfo{{Name: "n", TaskID: mesos.TaskID{Value: "n"}, AgentID: o.AgentID, Command: &mesos.CommandInfo{Value: "true"}}})
	if st := awaitUpdate(); st.State != mesos.TaskLost || st.Reason != mesos.ReasonInvalidOffers {
		t.Errorf("empty offer_ids: %+v", st)
	}
	// 26. Implicit reconciliation reports nothing for acknowledged
	// finished tasks... so launch a long one first.
	if len(spare) == 0 {
		spare = f.await(scheduler.EventOffers, 10*time.Second).Offers.Offers
	}
	o2 := spare[0]
	f.launch(o2, "sleep 100", "long")
	run := f.await(scheduler.EventUpdate, 10*time.Second).Update.Status
	if run.State != mesos.TaskRunning {
		t.Fatalf("long task: %+v", run)
	}
	f.ack(run)
	f.mustCall("RECONCILE", "reconcile", `{}`)
	rec := f.await(scheduler.EventUpdate, 10*time.Second).Update.Status
	if rec.TaskID.Value != "long" || rec.State != mesos.TaskRunning || rec.Reason != mesos.ReasonReconciliation || len(rec.UUID) != 0 {
		t.Errorf("implicit reconcile: %+v", rec)
	}
	// 27. Explicit reconcile of an unknown task on a registered agent.
	f.mustCall("RECONCILE", "reconcile", `{"tasks":[{"task_id":{"value":"ghost"},"agent_id":{"value":"`+agent.ID+`"}}]}`)
	if st := f.await(scheduler.EventUpdate, 10*time.Second).Update.Status; st.State != mesos.TaskLost || st.TaskID.Value != "ghost" {
		t.Errorf("explicit reconcile of unknown task: %+v", st)
	}
	// 28. KILL unknown → TASK_LOST; 29. KILL running → TASK_KILLED with uuid.
	f.mustCall("KILL", "kill", `{"task_id":{"value":"ghost"}}`)
	if st := f.await(scheduler.EventUpdate, 10*time.Second).Update.Status; st.State != mesos.TaskLost {
		t.Errorf("kill unknown: %+v", st)
	}
	f.mustCall("KILL", "kill", `{"task_id":{"value":"long"}}`)
	if st := f.await(scheduler.EventUpdate, 10*time.Second).Update.Status; st.State != mesos.TaskKilled || len(st.UUID) != 16 {
		t.Errorf("kill running: %+v", st)
	}

	// 30. TEARDOWN ends the stream; the id is dead afterwards.
	f.mustCall("TEARDOWN", "", "")
	for ev := range f.events {
		_ = ev
	}
	again := subscribe(t, srv.HTTPAddr(), subscribeBody("demo", f.id, `"roles":["web"],"capabilities":[{"type":"MULTI_ROLE"}]`))
	if ev := again.next(5 * time.Second); ev == nil || ev.Type != scheduler.EventError || ev.Error.Message != "Framework has been removed" {
		t.Errorf("resubscribe after teardown: %+v", ev)
	}
	if code, _ := f.call("DECLINE", "decline", `{"offer_ids":[]}`); code != 400 {
		t.Errorf("DECLINE after teardown: %d, want 400", code)
	}
}

// TestScheduler_DeclineFilterSuppressRevive: 24 and 25.
func TestScheduler_DeclineFilterSuppressRevive(t *testing.T) {
	srv := servertest.NewServer(t, servertest.Options{})
	servertest.NewSimAgent(srv.HTTPAddr(), agentResources()).Start(t)
	f := subscribe(t, srv.HTTPAddr(), subscribeBody("demo", "", ""))
	f.subscribed()
	o := f.await(scheduler.EventOffers, 10*time.Second).Offers.Offers[0]
	f.mustCall("DECLINE", "decline", `{"offer_ids":[{"value":"`+o.ID.Value+`"}],"filters":{"refuse_seconds":60}}`)
	expectNoOffer(t, f, 1500*time.Millisecond)
	f.mustCall("REVIVE", "", "")
	o = f.await(scheduler.EventOffers, 5*time.Second).Offers.Offers[0]
	f.mustCall("SUPPRESS", "", "")
	f.mustCall("DECLINE", "decline", `{"offer_ids":[{"value":"`+o.ID.Value+`"}],"filters":{"refuse_seconds":0}}`)
	expectNoOffer(t, f, 1500*time.Millisecond)
	f.mustCall("REVIVE", "", "")
	f.await(scheduler.EventOffers, 5*time.Second)
}

// expectNoOffer fails if an OFFERS event arrives within d (several
// allocation intervals of the test server).
func expectNoOffer(t *testing.T, f *framework, d time.Duration) {
	t.Helper()
	deadline := time.After(d)
	for {
		select {
		case ev := <-f.events:
			if ev != nil && ev.Type == scheduler.EventOffers {
				t.Fatalf("unexpected offer %+v", ev.Offers.Offers)
			}
		case <-deadline:
			return
		}
	}
}

// TestScheduler_FailoverReplacesStream: 16, 17 and 34.
func TestScheduler_FailoverReplacesStream(t *testing.T) {
	srv := servertest.NewServer(t, servertest.Options{})
	a := subscribe(t, srv.HTTPAddr(), subscribeBody("demo", "", `"failover_timeout":60`))
	a.subscribed()
	b := subscribe(t, srv.HTTPAddr(), subscribeBody("demo", a.id, `"failover_timeout":60`))
	b.id = a.id
	b.subscribed()
	if b.streamID == a.streamID {
		t.Fatal("resubscription kept the stream id")
	}
	if ev := a.await(scheduler.EventError, 5*time.Second); ev.Error.Message != "Framework failed over" {
		t.Errorf("old stream got %+v", ev.Error)
	}
	if ev := a.next(5 * time.Second); ev != nil {
		t.Errorf("old stream continued: %+v", ev)
	}
	if code, _ := a.call("REVIVE", "", ""); code != 400 {
		t.Errorf("call with the old stream id: %d, want 400", code)
	}
	if code, _ := b.call("REVIVE", "", ""); code != 202 {
		t.Errorf("call with the new stream id: %d, want 202", code)
	}
	// 16. After the stream closes the framework is disconnected: 403.
	b.close()
	servertest.WaitFor(t, 5*time.Second, "framework to be disconnected", func() bool {
		code, _ := b.call("REVIVE", "", "")
		return code == 403
	})
	// 34. failover_timeout 0: removed at once on disconnect.
	c := subscribe(t, srv.HTTPAddr(), subscribeBody("quick", "", ""))
	c.subscribed()
	c.close()
	servertest.WaitFor(t, 5*time.Second, "framework to be removed", func() bool {
		fw := srv.FSM().State().Framework(c.id)
		return fw != nil && fw.Removed
	})
}

// TestScheduler_UnacknowledgedUpdateResentOnResubscribe: an update the
// framework never acknowledged is delivered again, same uuid, as soon as
// it resubscribes.
func TestScheduler_UnacknowledgedUpdateResentOnResubscribe(t *testing.T) {
	srv := servertest.NewServer(t, servertest.Options{})
	servertest.NewSimAgent(srv.HTTPAddr(), agentResources()).Start(t)
	f := subscribe(t, srv.HTTPAddr(), subscribeBody("forgetful", "", `"failover_timeout":60`))
	f.subscribed()
	o := f.await(scheduler.EventOffers, 10*time.Second).Offers.Offers[0]
	f.launch(o, "sleep 100", "t")
	first := f.await(scheduler.EventUpdate, 10*time.Second).Update.Status
	f.close()
	g := subscribe(t, srv.HTTPAddr(), subscribeBody("forgetful", f.id, `"failover_timeout":60`))
	g.id = f.id
	g.subscribed()
	again := g.await(scheduler.EventUpdate, 5*time.Second).Update.Status
	if again.TaskID != first.TaskID || again.State != first.State || string(again.UUID) != string(first.UUID) {
		t.Fatalf("resent update %+v, want %+v", again, first)
	}
}
