package server_test

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"mesh/allocator"
	"mesh/mesos"
	"mesh/mesos/scheduler"
	"mesh/server/servertest"
)

// nextNotOffer returns the next event that is neither HEARTBEAT nor
// OFFERS (offers come whenever the allocator runs).
func nextNotOffer(t *testing.T, f *framework) *scheduler.Event {
	t.Helper()
	for {
		ev := f.next(10 * time.Second)
		if ev == nil {
			t.Fatal("no event within 10s")
		}
		if ev.Type != scheduler.EventOffers {
			return ev
		}
	}
}

func operationStatus(t *testing.T, f *framework) mesos.OperationStatus {
	t.Helper()
	ev := nextNotOffer(t, f)
	if ev.Type != scheduler.EventUpdateOperationStatus {
		t.Fatalf("event %+v, want UPDATE_OPERATION_STATUS", ev)
	}
	return ev.UpdateOperationStatus.Status
}

// TestReconcileOperations_EachOperationAnswered: mesh keeps no operation
// statuses, so each listed operation gets Mesos' answer for an operation
// it does not know, by what is known of its agent; implicit
// reconciliation sends nothing.
func TestReconcileOperations_EachOperationAnswered(t *testing.T) {
	srv := servertest.NewServer(t, servertest.Options{})
	agent := servertest.NewSimAgent(srv.HTTPAddr(), agentResources())
	agent.Start(t)
	f := subscribe(t, srv.HTTPAddr(), subscribeBody("recon-ops", "", ""))
	f.subscribed()
	f.mustCall("RECONCILE_OPERATIONS", "reconcile_operations", `{}`)
	f.mustCall("RECONCILE_OPERATIONS", "reconcile_operations", `{"operations":[
		{"operation_id":{"value":"o1"}},
		{"operation_id":{"value":"o2"},"agent_id":{"value":"no-such-agent"}},
		{"operation_id":{"value":"o3"},"agent_id":{"value":"`+agent.ID+`"}}]}`)
	want := []struct{ id, msg string }{
		{"o1", "no 'agent_id' was provided"},
		{"o2", "Both operation and agent are unknown"},
		{"o3", "Reconciliation: Operation is unknown"},
	}
	for _, w := range want {
		st := operationStatus(t, f)
		if st.OperationID.Value != w.id || st.State != mesos.OperationUnknown || !strings.Contains(st.Message, w.msg) || st.UUID != nil {
			t.Errorf("status %+v, want %s OPERATION_UNKNOWN %q without uuid", st, w.id, w.msg)
		}
	}
}

// TestCalls_AcceptedAndDroppedAsMesos: MESSAGE (to an executor the agent
// does not run, or to an agent that is not registered), REQUEST (ignored by Mesos' allocator),
// ACKNOWLEDGE_OPERATION_STATUS (of an operation mesh does not know) and
// the inverse offer answers are accepted (202) and send the framework
// nothing.
func TestCalls_AcceptedAndDroppedAsMesos(t *testing.T) {
	srv := servertest.NewServer(t, servertest.Options{})
	agent := servertest.NewSimAgent(srv.HTTPAddr(), agentResources())
	agent.Start(t)
	f := subscribe(t, srv.HTTPAddr(), subscribeBody("drops", "", ""))
	f.subscribed()
	calls := []struct{ typ, key, body string }{
		{"MESSAGE", "message", `{"agent_id":{"value":"` + agent.ID + `"},"executor_id":{"value":"e"},"data":"aGk="}`},
		{"MESSAGE", "message", `{"agent_id":{"value":"no-such-agent"},"executor_id":{"value":"e"},"data":"aGk="}`},
		{"REQUEST", "request", `{"requests":[{"agent_id":{"value":"` + agent.ID + `"},"resources":[{"name":"cpus","type":"SCALAR","scalar":{"value":1}}]}]}`},
		{"ACKNOWLEDGE_OPERATION_STATUS", "acknowledge_operation_status", `{"agent_id":{"value":"` + agent.ID + `"},"uuid":"ABEiM0RVZneImaq7zN3u/w==","operation_id":{"value":"o"}}`},
		{"ACCEPT_INVERSE_OFFERS", "accept_inverse_offers", `{"inverse_offer_ids":[{"value":"x"}]}`},
		{"DECLINE_INVERSE_OFFERS", "decline_inverse_offers", `{"inverse_offer_ids":[{"value":"x"}]}`},
	}
	for _, c := range calls {
		if code, msg := f.call(c.typ, c.key, c.body); code != 202 {
			t.Errorf("%s: %d %q, want 202", c.typ, code, msg)
		}
	}
	// The next event after all of them is the answer to this marker.
	f.mustCall("RECONCILE_OPERATIONS", "reconcile_operations", `{"operations":[{"operation_id":{"value":"marker"}}]}`)
	if st := operationStatus(t, f); st.OperationID.Value != "marker" {
		t.Fatalf("first event after the calls: %+v", st)
	}
}

// TestUpdateFramework_AsMesos: UPDATE_FRAMEWORK answers 200 and changes
// the framework's info and roles; offers to a role it left are rescinded
// and new offers come for the new role; changing user, principal or
// checkpoint, or an invalid FrameworkInfo, is a 400 that says so.
func TestUpdateFramework_AsMesos(t *testing.T) {
	srv := servertest.NewServer(t, servertest.Options{})
	agent := servertest.NewSimAgent(srv.HTTPAddr(), agentResources())
	agent.Start(t)
	multi := `"capabilities":[{"type":"MULTI_ROLE"}],"principal":"p"`
	f := subscribe(t, srv.HTTPAddr(), subscribeBody("before", "", `"roles":["a"],`+multi))
	f.subscribed()
	o := f.await(scheduler.EventOffers, 10*time.Second).Offers.Offers[0]
	if o.AllocationInfo.Role != "a" {
		t.Fatalf("offer for role %q, want a", o.AllocationInfo.Role)
	}
	update := func(extra string) (int, string) {
		return f.call("UPDATE_FRAMEWORK", "update_framework",
			`{"framework_info":{"user":"tester","name":"after","id":{"value":"`+f.id+`"},`+extra+`}}`)
	}
	for name, c := range map[string]struct {
		extra, msg string
	}{
		"principal":   {`"roles":["b"],` + strings.Replace(multi, `"p"`, `"q"`, 1), "Changing framework's principal is not allowed"},
		"checkpoint":  {`"roles":["b"],"checkpoint":true,` + multi, "Updating 'FrameworkInfo.checkpoint' is unsupported"},
		"roles alone": {`"roles":["b"],"principal":"p"`, "Supplied FrameworkInfo is not valid"},
	} {
		if code, msg := update(c.extra); code != 400 || !strings.Contains(msg, c.msg) {
			t.Errorf("%s: %d %q, want 400 mentioning %q", name, code, msg, c.msg)
		}
	}
	if code, msg := f.call("UPDATE_FRAMEWORK", "update_framework",
		`{"framework_info":{"user":"other","name":"after","id":{"value":"`+f.id+`"},"roles":["b"],`+multi+`}}`); code != 400 ||
		!strings.Contains(msg, "Updating 'FrameworkInfo.user' is unsupported") {
		t.Errorf("user change: %d %q", code, msg)
	}
	if code, msg := update(`"roles":["b"],` + multi); code != 200 {
		t.Fatalf("UPDATE_FRAMEWORK: %d %q, want 200", code, msg)
	}
	if ev := nextNotOffer(t, f); ev.Type != scheduler.EventRescind || ev.Rescind.OfferID != o.ID {
		t.Fatalf("after the update: %+v, want RESCIND of %s", ev, o.ID.Value)
	}
	if o2 := f.await(scheduler.EventOffers, 10*time.Second).Offers.Offers[0]; o2.AllocationInfo.Role != "b" {
		t.Fatalf("offer for role %q after the update, want b", o2.AllocationInfo.Role)
	}
	if fw := srv.FSM().State().Framework(f.id); fw == nil || fw.Info.Name != "after" || fw.Info.AllRoles()[0] != "b" {
		t.Fatalf("committed framework %+v", fw)
	}
}

// TestUpdateFramework_ARoundComputedBeforeOffersNoRoleLeft: an allocation
// round computed for a role, whose offers come to be committed only after
// UPDATE_FRAMEWORK took that role away, offers nothing for it; what it
// held is offered for the new role.
func TestUpdateFramework_ARoundComputedBeforeOffersNoRoleLeft(t *testing.T) {
	srv := servertest.NewServer(t, servertest.Options{})
	multi := `"capabilities":[{"type":"MULTI_ROLE"}],"principal":"p"`
	subscribed := make(chan *framework, 1)
	updated := make(chan string, 1)
	var once sync.Once
	srv.BeforeOfferRoundForTest(t, func(round []allocator.Allocation) {
		if !slices.ContainsFunc(round, func(a allocator.Allocation) bool { return a.Role == "a" }) {
			return
		}
		once.Do(func() {
			f := <-subscribed
			code, msg := f.call("UPDATE_FRAMEWORK", "update_framework",
				`{"framework_info":{"user":"tester","name":"after","id":{"value":"`+f.id+`"},"roles":["b"],`+multi+`}}`)
			updated <- fmt.Sprintf("%d %s", code, msg)
		})
	})
	agent := servertest.NewSimAgent(srv.HTTPAddr(), agentResources())
	agent.Start(t)
	f := subscribe(t, srv.HTTPAddr(), subscribeBody("before", "", `"roles":["a"],`+multi))
	f.subscribed()
	subscribed <- f
	if got := <-updated; !strings.HasPrefix(got, "200") {
		t.Fatalf("UPDATE_FRAMEWORK: %s, want 200", got)
	}
	o := f.await(scheduler.EventOffers, 10*time.Second).Offers.Offers[0]
	if o.AllocationInfo.Role != "b" {
		t.Fatalf("the first offer is for role %q, which the framework left before it was committed; want b", o.AllocationInfo.Role)
	}
	for _, off := range srv.FSM().State().OffersByFramework(f.id) {
		if off.Role != "b" {
			t.Fatalf("an offer for role %q was committed after the framework left it", off.Role)
		}
	}
}
