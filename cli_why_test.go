package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"mesh/allocator"
	"mesh/mesos"
	"mesh/mesos/scheduler"
	"mesh/mesos/scheduler/client"
	"mesh/server"
	"mesh/server/servertest"
)

// TestWhy_CommandNamesTheUnmetConstraint runs `mesh why` against a server
// where a framework constrained to rack r1 is not offered r2's agent: the
// output names the constraint for that agent, -json gives the same
// decision to scripts, and an unknown framework is a one-line error.
func TestWhy_CommandNamesTheUnmetConstraint(t *testing.T) {
	s := servertest.NewServer(t, servertest.Options{Tweak: func(c *server.Config) { c.AllocationInterval = 50 * time.Millisecond }})
	agents := map[string]*servertest.SimAgent{}
	for _, rack := range []string{"r1", "r2"} {
		a := servertest.NewSimAgent(s.HTTPAddr(), mesos.Resources{mesos.ScalarResource("cpus", 4), mesos.ScalarResource("mem", 4096)})
		a.Hostname = "host-" + rack
		a.Attributes = []mesos.Attribute{{Name: "rack", Type: mesos.ValueText, Text: &mesos.Text{Value: rack}}}
		a.Start(t)
		agents[rack] = a
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rack := "rack"
	call := client.SubscribeCall(&mesos.FrameworkInfo{User: "tester", Name: "racked", Roles: []string{"web"},
		Capabilities: []mesos.FrameworkCapability{{Type: mesos.CapabilityMultiRole}}})
	call.Subscribe.OfferConstraints = &mesos.OfferConstraints{RoleConstraints: map[string]mesos.RoleConstraints{
		"web": {Groups: []mesos.ConstraintGroup{{AttributeConstraints: []mesos.AttributeConstraint{{
			Selector:  &mesos.ConstraintSelector{AttributeName: &rack},
			Predicate: &mesos.ConstraintPredicate{TextEquals: &mesos.ConstraintText{Value: "r1"}},
		}}}}},
	}}
	sub, err := client.New(client.Config{Masters: []string{s.HTTPAddr()}}).Subscribe(ctx, call)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	var fid string
	for fid == "" {
		ev, err := sub.Next()
		if err != nil {
			t.Fatal(err)
		}
		if ev.Type == scheduler.EventSubscribed {
			fid = ev.Subscribed.FrameworkID.Value
		}
	}

	r2 := agents["r2"].ID
	var out string
	servertest.WaitFor(t, 10*time.Second, "mesh why to name the constraint", func() bool {
		out, err = runMesh(t, "why", "-address", s.HTTPAddr(), "-agent", r2, fid)
		return err == nil && strings.Contains(out, `offer constraint not met: attribute "rack" text_equals "r1" does not hold`)
	})
	if !strings.Contains(out, "agent "+r2+" (host-r2)") || !strings.Contains(out, "framework "+fid+" (racked), roles web") {
		t.Fatalf("output does not name the agent and framework:\n%s", out)
	}

	out, err = runMesh(t, "why", "-address", s.HTTPAddr(), "-json", fid)
	if err != nil {
		t.Fatal(err)
	}
	var resp server.WhyResponse
	if err := json.Unmarshal([]byte(out), &resp); err != nil {
		t.Fatalf("-json output %q: %v", out, err)
	}
	found := false
	for _, a := range resp.Agents {
		found = found || (a.AgentID == r2 && a.Reason == "offer_constraint_unmet")
	}
	if !found {
		t.Fatalf("-json agents %+v lack r2's unmet constraint", resp.Agents)
	}

	// A live framework's name does as well as its id.
	out, err = runMesh(t, "why", "-address", s.HTTPAddr(), "-agent", r2, "racked")
	if err != nil || !strings.Contains(out, "framework "+fid+" (racked)") || !strings.Contains(out, "offer constraint not met") {
		t.Fatalf("by name: %v\n%s", err, out)
	}

	out, err = runMesh(t, "why", "-address", s.HTTPAddr(), "no-such-framework")
	if err == nil || !strings.Contains(err.Error(), "framework no-such-framework is not known") {
		t.Fatalf("unknown framework: %v (%s)", err, out)
	}
}

// TestWhy_PrintGroupsReasons: without -agent, decisions are grouped by
// reason, largest first, with a few agents named and the rest counted.
func TestWhy_PrintGroupsReasons(t *testing.T) {
	r := &server.WhyResponse{FrameworkID: "F", Roles: []string{"web", "batch"},
		RoleReasons: map[string]allocator.Reason{"batch": allocator.ReasonSuppressed}}
	for i := range 7 {
		r.Agents = append(r.Agents, server.WhyAgent{})
		r.Agents[i].AgentID = "A" + string(rune('0'+i))
		r.Agents[i].Role = "web"
		r.Agents[i].Reason = "agent_full"
	}
	r.Agents[0].Reason = "offered"
	var b strings.Builder
	printWhy(&b, r, time.Now())
	out := b.String()
	for _, want := range []string{
		"role web:\n  6 agent(s): not offered: nothing is free on the agent\n    e.g. A1, A2, A3, A4, A5 and 1 more\n  1 agent(s): offered\n",
		"role batch:\n  not offered: the framework suppressed role batch (REVIVE resumes offers)\n",
	} {
		if !strings.Contains(out, want) {
			t.Fatalf("output lacks %q:\n%s", want, out)
		}
	}
}
