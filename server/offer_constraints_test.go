package server_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"mesh/mesos"
	mapi "mesh/mesos/master"
	"mesh/mesos/scheduler"
	"mesh/server"
	"mesh/server/servertest"
)

// rackConstraint is web's offer constraints: rack text_equals value.
func rackConstraint(value string) string {
	return `{"role_constraints":{"web":{"groups":[{"attribute_constraints":[` +
		`{"selector":{"attribute_name":"rack"},"predicate":{"text_equals":{"value":"` + value + `"}}}]}]}}}`
}

// constrainedSubscribe is a SUBSCRIBE in role web with offer constraints.
func constrainedSubscribe(name, id, constraints string) string {
	body := subscribeBody(name, id, `"roles":["web"],"capabilities":[{"type":"MULTI_ROLE"}],"failover_timeout":300`)
	return strings.TrimSuffix(body, "}}") + `,"offer_constraints":` + constraints + `}}`
}

// rackAgent starts a simulated agent on rack.
func rackAgent(t *testing.T, addr, host, rack string) *servertest.SimAgent {
	t.Helper()
	a := servertest.NewSimAgent(addr, agentResources())
	a.Hostname = host
	a.Attributes = []mesos.Attribute{{Name: "rack", Type: mesos.ValueText, Text: &mesos.Text{Value: rack}}}
	a.Start(t)
	return a
}

// A framework constrained to rack r1 is offered only r1's agent; an
// UPDATE_FRAMEWORK moving it to r2 moves its offers there.
func TestScheduler_OfferConstraintsPickAgents(t *testing.T) {
	s := servertest.NewServer(t, servertest.Options{Tweak: func(c *server.Config) { c.AllocationInterval = 50 * time.Millisecond }})
	r1 := rackAgent(t, s.HTTPAddr(), "h1", "r1")
	r2 := rackAgent(t, s.HTTPAddr(), "h2", "r2")
	f := subscribe(t, s.HTTPAddr(), constrainedSubscribe("racked", "", rackConstraint("r1")))
	f.subscribed()
	if seen := f.offeredAgents(3, "0"); seen[r2.ID] > 0 || seen[r1.ID] == 0 {
		t.Fatalf("offers by agent %v, want only r1's %s", seen, r1.ID)
	}
	if got := s.FSM().State().Framework(f.id).OfferConstraints; got == nil || got.RoleConstraints["web"].Groups[0].AttributeConstraints[0].Predicate.TextEquals.Value != "r1" {
		t.Fatalf("stored constraints %+v, want rack r1", got)
	}
	upd := `{"framework_info":{"id":{"value":"` + f.id + `"},"user":"tester","name":"racked","roles":["web"],"capabilities":[{"type":"MULTI_ROLE"}],"failover_timeout":300},"offer_constraints":` + rackConstraint("r2") + `}`
	if code, msg := f.call("UPDATE_FRAMEWORK", "update_framework", upd); code != http.StatusOK {
		t.Fatalf("UPDATE_FRAMEWORK: %d %s", code, msg)
	}
	// Offers made before the update may still arrive; once r2 is offered,
	// r1 never is again.
	servertest.WaitFor(t, 10*time.Second, "r2 to be offered", func() bool { return f.offeredAgents(1, "0")[r2.ID] > 0 })
	if seen := f.offeredAgents(3, "0"); seen[r1.ID] > 0 {
		t.Fatalf("after the update: offers by agent %v, want only r2's %s", seen, r2.ID)
	}
}

// Bad offer constraints get Mesos' errors: an ERROR event for SUBSCRIBE,
// a 400 for UPDATE_FRAMEWORK, and the stored constraints stay as they were.
func TestScheduler_OfferConstraintsValidation(t *testing.T) {
	s := servertest.NewServer(t, servertest.Options{})
	bad := []struct{ name, constraints, want string }{
		{"bad regex", `{"role_constraints":{"web":{"groups":[{"attribute_constraints":[{"selector":{"attribute_name":"rack"},"predicate":{"text_matches":{"regex":"r[1-"}}}]}]}}}`,
			"Offer constraints are not valid: A role web has an invalid 'AttributeConstraint': Failed to construct regex from pattern 'r[1-'"},
		{"unknown predicate", `{"role_constraints":{"web":{"groups":[{"attribute_constraints":[{"selector":{"attribute_name":"rack"},"predicate":{}}]}]}}}`,
			"Unknown predicate type"},
		{"role not subscribed", `{"role_constraints":{"ops":{"groups":[{"attribute_constraints":[{"selector":{"attribute_name":"rack"},"predicate":{"exists":{}}}]}]}}}`,
			"role 'ops' not contained in the set of roles"},
		{"empty groups", `{"role_constraints":{"web":{"groups":[]}}}`, "empty 'RoleConstraints::groups' for role web"},
	}
	for _, b := range bad {
		f := subscribe(t, s.HTTPAddr(), constrainedSubscribe("bad", "", b.constraints))
		ev := f.next(10 * time.Second)
		if ev == nil || ev.Type != scheduler.EventError || !strings.Contains(ev.Error.Message, b.want) {
			t.Fatalf("%s: SUBSCRIBE got %+v, want ERROR containing %q", b.name, ev, b.want)
		}
	}
	f := subscribe(t, s.HTTPAddr(), constrainedSubscribe("good", "", rackConstraint("r1")))
	f.subscribed()
	for _, b := range bad {
		upd := `{"framework_info":{"id":{"value":"` + f.id + `"},"user":"tester","name":"good","roles":["web"],"capabilities":[{"type":"MULTI_ROLE"}],"failover_timeout":300},"offer_constraints":` + b.constraints + `}`
		code, msg := f.call("UPDATE_FRAMEWORK", "update_framework", upd)
		if code != http.StatusBadRequest || !strings.Contains(msg, "'UpdateFramework' call is not valid: ") || !strings.Contains(msg, b.want) {
			t.Fatalf("%s: UPDATE_FRAMEWORK got %d %q, want 400 containing %q", b.name, code, msg, b.want)
		}
	}
	if got := s.FSM().State().Framework(f.id).OfferConstraints; got == nil || got.RoleConstraints["web"].Groups[0].AttributeConstraints[0].Predicate.TextEquals.Value != "r1" {
		t.Fatalf("stored constraints after refused updates: %+v, want rack r1", got)
	}
}

// The constraints are kept with the framework in the replicated state:
// the new leader holds them, and honours them when the framework
// resubscribes there.
func TestCluster_OfferConstraintsSurviveALeaderChange(t *testing.T) {
	c := servertest.NewCluster(t, 3, func(cfg *server.Config) { cfg.AllocationInterval = 50 * time.Millisecond })
	old := c.WaitLeader()
	oldAddr := c.Servers[old].HTTPAddr()
	r1 := rackAgent(t, oldAddr, "h1", "r1")
	r2 := rackAgent(t, oldAddr, "h2", "r2")
	f := subscribe(t, oldAddr, constrainedSubscribe("racked", "", rackConstraint("r1")))
	f.subscribed()
	if seen := f.offeredAgents(2, "0"); seen[r2.ID] > 0 {
		t.Fatalf("before the leader change: offers by agent %v, want only %s", seen, r1.ID)
	}

	c.Isolate(old)
	servertest.WaitFor(t, 5*time.Second, "old leader to step down", func() bool { return !c.Servers[old].IsLeader() })
	leader := c.WaitLeader()
	addr := c.Servers[leader].HTTPAddr()
	if got := c.Servers[leader].FSM().State().Framework(f.id).OfferConstraints; got == nil || got.RoleConstraints["web"].Groups[0].AttributeConstraints[0].Predicate.TextEquals.Value != "r1" {
		t.Fatalf("the new leader holds constraints %+v, want rack r1", got)
	}
	code, out, _ := opCall(t, addr, "/api/v1", `{"type":"GET_FRAMEWORKS"}`, nil)
	var resp mapi.Response
	if err := json.Unmarshal([]byte(out), &resp); code != http.StatusOK || err != nil || resp.GetFrameworks == nil {
		t.Fatalf("GET_FRAMEWORKS on the new leader: %d %s", code, out)
	}
	var shown *mesos.OfferConstraints
	for _, fw := range resp.GetFrameworks.Frameworks {
		if fw.FrameworkInfo.ID != nil && fw.FrameworkInfo.ID.Value == f.id {
			shown = fw.OfferConstraints
		}
	}
	if shown == nil || shown.RoleConstraints["web"].Groups[0].AttributeConstraints[0].Predicate.TextEquals.Value != "r1" {
		t.Fatalf("GET_FRAMEWORKS on the new leader shows constraints %+v, want rack r1", shown)
	}
	for _, a := range []*servertest.SimAgent{r1, r2} {
		a.Stop()
		b := servertest.NewSimAgent(addr, agentResources())
		b.ID, b.Hostname, b.Attributes = a.ID, a.Hostname, a.Attributes
		b.Start(t)
	}
	f2 := subscribe(t, addr, constrainedSubscribe("racked", f.id, rackConstraint("r1")))
	f2.id = f.id
	f2.subscribed()
	if seen := f2.offeredAgents(3, "0"); seen[r2.ID] > 0 || seen[r1.ID] == 0 {
		t.Fatalf("after the leader change: offers by agent %v, want only %s", seen, r1.ID)
	}
	c.Heal()
	c.CheckConsistent()
}
