package allocator

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"mesh/mesos"
)

// why asks about fw (watching it), runs one pass, and returns what that
// pass recorded, failing if it recorded nothing.
func why(t *testing.T, d *DRF, rec *recorder, fw, agentID string) *Explanation {
	t.Helper()
	if _, _, ok := d.Explain(fw, agentID); !ok {
		t.Fatalf("Explain(%s): framework unknown", fw)
	}
	pass(t, d, rec)
	ex, _, ok := d.Explain(fw, agentID)
	if !ok || ex == nil {
		t.Fatalf("Explain(%s) after a pass = %v, %v", fw, ex, ok)
	}
	return ex
}

// reasonOn is the one decision recorded for an agent in role.
func reasonOn(t *testing.T, ex *Explanation, agentID, role string) AgentReason {
	t.Helper()
	for _, ar := range ex.Agents {
		if ar.AgentID == agentID && ar.Role == role {
			return ar
		}
	}
	t.Fatalf("no decision for agent %s role %s in %+v", agentID, role, ex.Agents)
	return AgentReason{}
}

func wantReason(t *testing.T, ex *Explanation, agentID, role string, want Reason) AgentReason {
	t.Helper()
	ar := reasonOn(t, ex, agentID, role)
	if ar.Reason != want {
		t.Fatalf("agent %s role %s: reason %s (%+v), want %s", agentID, role, ar.Reason, ar, want)
	}
	return ar
}

func TestWhy_NothingRecordedUntilAsked(t *testing.T) {
	d, rec, _ := newTestDRF(t)
	d.AddFramework("f1", []string{"web"}, nil)
	d.AddAgent("a1", res(4, 1024), nil)
	pass(t, d, rec)
	ex, next, ok := d.Explain("f1", "")
	if !ok || ex != nil || next == nil {
		t.Fatalf("first question = %v, %v, %v; want nothing yet and a channel", ex, next, ok)
	}
	d.AllocateNow()
	select {
	case <-next:
	default:
		t.Fatal("next not closed after a pass")
	}
	if _, _, ok := d.Explain("nobody", ""); ok {
		t.Fatal("an unknown framework is explained")
	}
}

func TestWhy_Offered(t *testing.T) {
	d, rec, _ := newTestDRF(t)
	d.AddFramework("f1", []string{"web"}, nil)
	d.AddAgent("a1", res(4, 1024), nil)
	ex := why(t, d, rec, "f1", "")
	wantReason(t, ex, "a1", "web", ReasonOffered)
	if len(ex.Passes) != 1 || ex.Passes[0].Counts[ReasonOffered] != 1 {
		t.Fatalf("passes = %+v", ex.Passes)
	}
}

func TestWhy_SuppressedRole(t *testing.T) {
	d, rec, _ := newTestDRF(t)
	d.AddFramework("f1", []string{"web", "batch"}, nil)
	d.AddAgent("a1", res(4, 1024), nil)
	d.Suppress("f1", []string{"web"})
	ex := why(t, d, rec, "f1", "")
	if ex.Roles["web"] != ReasonSuppressed {
		t.Fatalf("roles = %v, want web suppressed", ex.Roles)
	}
	wantReason(t, ex, "a1", "batch", ReasonOffered)
}

func TestWhy_FrameworkInactive(t *testing.T) {
	d, rec, _ := newTestDRF(t)
	d.AddFramework("f1", []string{"web"}, nil)
	d.AddAgent("a1", res(4, 1024), nil)
	d.DeactivateFramework("f1")
	ex := why(t, d, rec, "f1", "")
	if ex.Roles["web"] != ReasonFrameworkInactive {
		t.Fatalf("roles = %v, want web framework_inactive", ex.Roles)
	}
}

func TestWhy_DeclineFilterUntil(t *testing.T) {
	d, rec, clock := newTestDRF(t)
	d.AddFramework("f1", []string{"web"}, nil)
	d.AddAgent("a1", res(4, 1024), nil)
	round := pass(t, d, rec)
	d.Recover("f1", "a1", round[0].Resources, time.Hour)
	ex := why(t, d, rec, "f1", "a1")
	ar := wantReason(t, ex, "a1", "web", ReasonFiltered)
	if want := clock.Now().Add(time.Hour); !ar.Until.Equal(want) {
		t.Fatalf("until = %v, want %v", ar.Until, want)
	}
}

func TestWhy_QuotaLimit(t *testing.T) {
	d, rec, _ := newTestDRF(t)
	d.AddFramework("f1", []string{"web"}, nil)
	d.SetQuota("web", Quota{Limit: map[string]float64{"cpus": 1, "mem": 100}})
	d.AddAgent("a1", res(4, 1024), nil)
	if got := cpusOf(pass(t, d, rec), "web"); got != 1 {
		t.Fatalf("first pass gave web %v cpus, want its limit 1", got)
	}
	ex := why(t, d, rec, "f1", "")
	wantReason(t, ex, "a1", "web", ReasonQuotaLimit)
}

func TestWhy_QuotaHeadroom(t *testing.T) {
	d, rec, _ := newTestDRF(t)
	d.AddFramework("f1", []string{"web"}, nil)
	// ops has a guarantee of the whole cluster but no framework to take
	// it: what is free is held back for it.
	d.SetQuota("ops", Quota{Guarantee: map[string]float64{"cpus": 4, "mem": 1024}})
	d.AddAgent("a1", res(4, 1024), nil)
	ex := why(t, d, rec, "f1", "")
	wantReason(t, ex, "a1", "web", ReasonQuotaHeadroom)
}

func TestWhy_ReservedForAnotherRole(t *testing.T) {
	d, rec, _ := newTestDRF(t)
	d.AddFramework("f1", []string{"web"}, nil)
	d.AddAgent("a1", reserved("ops", 4, 1024), nil)
	ex := why(t, d, rec, "f1", "")
	ar := wantReason(t, ex, "a1", "web", ReasonReservedElsewhere)
	if !strings.Contains(ar.Detail, "ops") {
		t.Fatalf("detail %q does not name ops", ar.Detail)
	}
}

func TestWhy_AgentDraining(t *testing.T) {
	d, rec, _ := newTestDRF(t)
	d.AddFramework("f1", []string{"web"}, nil)
	d.AddAgent("a1", res(4, 1024), nil)
	d.AddAgent("a2", res(4, 1024), nil)
	d.SetAgentActive("a1", false)
	ex := why(t, d, rec, "f1", "")
	wantReason(t, ex, "a1", "web", ReasonAgentInactive)
	wantReason(t, ex, "a2", "web", ReasonOffered)
}

func TestWhy_AgentFullAndBelowMinimum(t *testing.T) {
	d, rec, _ := newTestDRF(t)
	d.AddFramework("f1", []string{"web"}, nil)
	d.AddAgent("a1", res(4, 1024), map[string]mesos.Resources{"other": res(4, 1024)})
	d.AddAgent("a2", res(0.001, 1), nil)
	ex := why(t, d, rec, "f1", "")
	full := wantReason(t, ex, "a1", "web", ReasonAgentFull)
	wantReason(t, ex, "a2", "web", ReasonBelowMinimum)
	if full.Detail != "held by other (role *)" {
		t.Fatalf("a1 detail %q, want who holds it", full.Detail)
	}
	pass(t, d, rec)
	ex = why(t, d, rec, "f1", "")
	again := wantReason(t, ex, "a1", "web", ReasonAgentFull)
	if again.Pass != full.Pass || again.Checked != full.Checked+2 || again.Detail != full.Detail || ex.Passes[0].Counts[ReasonAgentFull] != 1 {
		t.Fatalf("two passes later a1 = %+v (counts %v), want the same record checked again", again, ex.Passes[0].Counts)
	}
}

func TestWhy_OfferConstraintUnmet(t *testing.T) {
	d, rec, _ := newTestDRF(t)
	d.AddFramework("f1", []string{"web"}, nil)
	rack := "rack"
	f, err := mesos.CompileOfferConstraints(&mesos.OfferConstraints{RoleConstraints: map[string]mesos.RoleConstraints{
		"web": {Groups: []mesos.ConstraintGroup{{AttributeConstraints: []mesos.AttributeConstraint{{
			Selector:  &mesos.ConstraintSelector{AttributeName: &rack},
			Predicate: &mesos.ConstraintPredicate{TextEquals: &mesos.ConstraintText{Value: "r1"}},
		}}}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	d.SetOfferConstraints("f1", f)
	for i, r := range []string{"r1", "r2"} {
		id := fmt.Sprintf("a%d", i+1)
		d.SetAgentInfo(id, &mesos.AgentInfo{Hostname: id, Attributes: []mesos.Attribute{
			{Name: "rack", Type: mesos.ValueText, Text: &mesos.Text{Value: r}}}})
		d.AddAgent(id, res(4, 1024), nil)
	}
	ex := why(t, d, rec, "f1", "")
	wantReason(t, ex, "a1", "web", ReasonOffered)
	ar := wantReason(t, ex, "a2", "web", ReasonConstraint)
	if !strings.Contains(ar.Detail, `attribute "rack" text_equals "r1"`) {
		t.Fatalf("detail %q does not name the constraint", ar.Detail)
	}
}

func TestWhy_GPUAgent(t *testing.T) {
	d, rec, _ := newTestDRF(t)
	d.AddFramework("f1", []string{"web"}, nil)
	d.AddAgent("a1", append(res(4, 1024), mesos.ScalarResource("gpus", 1)), nil)
	ex := why(t, d, rec, "f1", "")
	wantReason(t, ex, "a1", "web", ReasonGPUAgent)
}

func TestWhy_BehindInDRFOrderWithinRole(t *testing.T) {
	d, rec, _ := newTestDRF(t)
	d.AddFramework("f1", []string{"web"}, nil)
	d.AddFramework("f2", []string{"web"}, nil)
	d.AddAgent("a0", res(4, 1024), map[string]mesos.Resources{"f1": res(4, 1024)})
	d.AddAgent("a1", res(4, 1024), nil)
	ex := why(t, d, rec, "f1", "a1")
	ar := wantReason(t, ex, "a1", "web", ReasonDRF)
	if len(ar.Ahead) != 1 || ar.Ahead[0].FrameworkID != "f2" || ar.Ahead[0].Share >= ar.Share {
		t.Fatalf("ahead = %+v (own share %v), want f2 with a smaller share", ar.Ahead, ar.Share)
	}
	if len(ex.Agents) != 1 {
		t.Fatalf("asked about a1, got %+v", ex.Agents)
	}
}

func TestWhy_BehindInDRFOrderAcrossRoles(t *testing.T) {
	d, rec, _ := newTestDRF(t)
	d.AddFramework("f1", []string{"web"}, nil)
	d.AddFramework("f2", []string{"batch"}, nil)
	d.AddAgent("a0", res(4, 1024), map[string]mesos.Resources{"f1": reservedAlloc("web", 4, 1024)})
	d.AddAgent("a1", res(4, 1024), nil)
	ex := why(t, d, rec, "f1", "a1")
	ar := wantReason(t, ex, "a1", "web", ReasonDRF)
	if len(ar.Ahead) != 1 || ar.Ahead[0].Role != "batch" || ar.Ahead[0].FrameworkID != "f2" {
		t.Fatalf("ahead = %+v, want role batch's f2", ar.Ahead)
	}
	if ar.Share <= ar.Ahead[0].Share {
		t.Fatalf("own share %v is not above batch's %v", ar.Share, ar.Ahead[0].Share)
	}
}

// reservedAlloc is resources allocated to role (as held by a framework).
func reservedAlloc(role string, cpus, mem float64) mesos.Resources {
	rs := res(cpus, mem)
	for i := range rs {
		rs[i].AllocationInfo = &mesos.AllocationInfo{Role: role}
	}
	return rs
}

func TestWhy_WatchesAreBounded(t *testing.T) {
	d, rec, clock := newTestDRF(t)
	d.AddAgent("a1", res(4, 1024), nil)
	for i := range WhyMaxWatched + 3 {
		id := fmt.Sprintf("f%02d", i)
		d.AddFramework(id, []string{"web"}, nil)
		d.Explain(id, "")
		clock.Advance(time.Second)
	}
	pass(t, d, rec)
	d.mu.Lock()
	n := len(d.ext.why.watched)
	_, oldest := d.ext.why.watched["f00"]
	d.mu.Unlock()
	if n != WhyMaxWatched || oldest {
		t.Fatalf("watched %d (f00 kept: %v), want %d without the oldest", n, oldest, WhyMaxWatched)
	}
	clock.Advance(WhyWatchFor + time.Second)
	pass(t, d, rec)
	d.mu.Lock()
	n = len(d.ext.why.watched)
	d.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d frameworks still watched after %v without a question", n, WhyWatchFor)
	}
}

func TestWhy_LastPassesAreSummed(t *testing.T) {
	d, rec, _ := newTestDRF(t)
	d.AddFramework("f1", []string{"web"}, nil)
	d.AddAgent("a1", res(4, 1024), nil)
	d.Explain("f1", "")
	for range WhyPasses + 2 {
		pass(t, d, rec)
	}
	ex, _, _ := d.Explain("f1", "")
	if len(ex.Passes) != WhyPasses || ex.Passes[0].Pass <= ex.Passes[1].Pass {
		t.Fatalf("passes = %+v, want the last %d, newest first", ex.Passes, WhyPasses)
	}
	// a1 went to f1 in the first pass and stays held: later passes find
	// it full.
	if ex.Passes[0].Counts[ReasonAgentFull] != 1 {
		t.Fatalf("newest pass = %+v, want a1 full", ex.Passes[0])
	}
}

func TestDRF_OfferConstraintsExcludeAgents(t *testing.T) {
	d, rec, _ := newTestDRF(t)
	d.AddFramework("f1", []string{"web"}, nil)
	d.AddFramework("f2", []string{"web"}, nil)
	f, err := mesos.CompileOfferConstraints(&mesos.OfferConstraints{RoleConstraints: map[string]mesos.RoleConstraints{
		"web": {Groups: []mesos.ConstraintGroup{{AttributeConstraints: []mesos.AttributeConstraint{{
			Selector:  &mesos.ConstraintSelector{PseudoattributeType: mesos.PseudoattributeHostname},
			Predicate: &mesos.ConstraintPredicate{TextMatches: &mesos.ConstraintRegex{Regex: "big-.*"}},
		}}}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	d.SetOfferConstraints("f1", f)
	d.SetAgentInfo("a1", &mesos.AgentInfo{Hostname: "small-1"})
	d.AddAgent("a1", res(4, 1024), nil)
	// f1 is first in DRF order (tie, then name) but may not have a1.
	wantOwners(t, pass(t, d, rec), "a1:f2")
	d.SetAgentInfo("a2", &mesos.AgentInfo{Hostname: "big-1"})
	d.AddAgent("a2", res(4, 1024), nil)
	wantOwners(t, pass(t, d, rec), "a2:f1")
	d.SetOfferConstraints("f1", nil)
	d.SetAgentInfo("a3", &mesos.AgentInfo{Hostname: "small-2"})
	d.AddAgent("a3", res(4, 1024), nil)
	if got := owners(pass(t, d, rec)); len(got) != 1 || got[0] != "a3:f1" && got[0] != "a3:f2" {
		t.Fatalf("round = %v, want a3 offered once", got)
	}
}

// BenchmarkWhy measures a full pass at 10k agents with nobody asking why
// (the recorder off) and with one and eight frameworks watched, against
// BenchmarkAllocate's shape.
func BenchmarkWhy(b *testing.B) {
	const agents = 10000
	setup := func(watched int) *DRF {
		cfg := DefaultConfig()
		cfg.Clock = newFakeClock()
		cfg.Offer = func([]Allocation) {}
		d := NewDRF(cfg)
		for i := range 100 {
			d.AddFramework(fmt.Sprintf("fw-%03d", i), []string{fmt.Sprintf("role-%d", i%10)}, nil)
		}
		for i := range agents {
			total := append(res(16, 65536), mesos.ScalarResource("disk", 100000),
				mesos.RangesResource("ports", mesos.Range{Begin: 31000, End: 32000}))
			d.AddAgent(fmt.Sprintf("agent-%05d", i), total, nil)
		}
		for i := range watched {
			d.Explain(fmt.Sprintf("fw-%03d", i*7), "")
		}
		return d
	}
	for _, watched := range []int{0, 1, WhyMaxWatched} {
		b.Run(fmt.Sprintf("agents=%d/frameworks=100/watched=%d/full", agents, watched), func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				b.StopTimer()
				d := setup(watched)
				b.StartTimer()
				d.AllocateNow()
			}
		})
		b.Run(fmt.Sprintf("agents=%d/frameworks=100/watched=%d/idle", agents, watched), func(b *testing.B) {
			d := setup(watched)
			d.AllocateNow()
			b.ReportAllocs()
			for b.Loop() {
				d.AllocateNow()
			}
		})
	}
}

// Once an agent is taken, later passes find nothing free there: the
// decision that gave it away still stands and is kept, marked as such.
func TestWhy_DecisionStandsWhileNothingIsFree(t *testing.T) {
	d, rec, _ := newTestDRF(t)
	d.AddFramework("f1", []string{"web"}, nil)
	d.AddFramework("f2", []string{"web"}, nil)
	d.AddAgent("a0", res(4, 1024), map[string]mesos.Resources{"f1": res(4, 1024)})
	d.Explain("f1", "")
	d.AddAgent("a1", res(4, 1024), nil)
	first := why(t, d, rec, "f1", "")
	wantReason(t, first, "a1", "web", ReasonDRF)
	if ar := wantReason(t, first, "a0", "web", ReasonAgentFull); ar.Detail != "held by f1 (role web)" {
		t.Fatalf("a0 detail %q, want who holds it", ar.Detail)
	}
	later := why(t, d, rec, "f1", "")
	ar := wantReason(t, later, "a1", "web", ReasonDRF)
	if !ar.NothingFreeSince || ar.Checked <= ar.Pass || ar.Ahead[0].FrameworkID != "f2" {
		t.Fatalf("a1 = %+v, want the earlier DRF decision kept, nothing free since", ar)
	}
	if later.Passes[0].Counts[ReasonAgentFull] != 2 {
		t.Fatalf("newest pass counts %v, want both agents full", later.Passes[0].Counts)
	}
}

// What a quota role took on one agent in the guarantee stage is not
// named as ahead of a framework on another agent.
func TestWhy_AheadNamesOnlyThatAgentsTakers(t *testing.T) {
	d, rec, _ := newTestDRF(t)
	d.AddFramework("f1", []string{"web"}, nil)
	d.AddFramework("fq", []string{"q"}, nil)
	d.AddFramework("f3", []string{"batch"}, nil)
	d.SetQuota("q", Quota{Guarantee: map[string]float64{"cpus": 4, "mem": 1024}})
	d.AddAgent("a0", res(8, 2048), map[string]mesos.Resources{"f1": reservedAlloc("web", 8, 2048)})
	d.AddAgent("a1", res(4, 1024), nil)
	d.AddAgent("a2", res(4, 1024), nil)
	ex := why(t, d, rec, "f1", "a2")
	ar := wantReason(t, ex, "a2", "web", ReasonDRF)
	if len(ar.Ahead) != 1 || ar.Ahead[0].FrameworkID != "f3" || ar.Ahead[0].Role != "batch" {
		t.Fatalf("ahead on a2 = %+v, want only batch's f3", ar.Ahead)
	}
}
