package allocator

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"mesh/mesos"
)

// fakeClock is a Clock that moves only when told to.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// recorder collects the rounds handed to Config.Offer.
type recorder struct {
	mu     sync.Mutex
	rounds [][]Allocation
}

func (r *recorder) offer(round []Allocation) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rounds = append(r.rounds, round)
}

func (r *recorder) take() [][]Allocation {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.rounds
	r.rounds = nil
	return out
}

func newTestDRF(t testing.TB) (*DRF, *recorder, *fakeClock) {
	t.Helper()
	rec := &recorder{}
	clock := newFakeClock()
	cfg := DefaultConfig()
	cfg.Clock = clock
	cfg.Offer = rec.offer
	return NewDRF(cfg), rec, clock
}

// pass runs one pass and returns its round, failing if the callback was
// called more than once.
func pass(t *testing.T, d *DRF, rec *recorder) []Allocation {
	t.Helper()
	d.AllocateNow()
	rounds := rec.take()
	switch len(rounds) {
	case 0:
		return nil
	case 1:
		return rounds[0]
	}
	t.Fatalf("one pass made %d callbacks, want at most 1", len(rounds))
	return nil
}

// owners renders a round as "agent:framework" pairs, in round order.
func owners(round []Allocation) []string {
	var out []string
	for _, a := range round {
		out = append(out, a.AgentID+":"+a.FrameworkID)
	}
	return out
}

func wantOwners(t *testing.T, round []Allocation, want ...string) {
	t.Helper()
	if got := owners(round); !slices.Equal(got, want) {
		t.Fatalf("round = %v, want %v", got, want)
	}
}

func res(cpus, mem float64) mesos.Resources {
	var rs mesos.Resources
	if cpus > 0 {
		rs = append(rs, mesos.ScalarResource("cpus", cpus))
	}
	if mem > 0 {
		rs = append(rs, mesos.ScalarResource("mem", mem))
	}
	return rs
}

func reserved(role string, cpus, mem float64) mesos.Resources {
	rs := res(cpus, mem)
	for i := range rs {
		rs[i].Reservations = []mesos.ReservationInfo{{Type: mesos.ReservationStatic, Role: role}}
	}
	return rs
}

func TestDRF_TwoFrameworksShareFairly(t *testing.T) {
	d, rec, _ := newTestDRF(t)
	d.AddFramework("f1", []string{"web"}, nil)
	d.AddFramework("f2", []string{"web"}, nil)
	for _, id := range []string{"a1", "a2", "a3", "a4"} {
		d.AddAgent(id, res(4, 4096), nil)
	}
	// Equal shares tie on allocation count, then on ID: f1 first, then
	// whoever holds less.
	wantOwners(t, pass(t, d, rec), "a1:f1", "a2:f2", "a3:f1", "a4:f2")
}

func TestDRF_LessDominantShareGetsNextAgent(t *testing.T) {
	d, rec, _ := newTestDRF(t)
	d.AddFramework("f1", []string{"web"}, nil)
	d.AddFramework("f2", []string{"web"}, nil)
	// f1 already runs half of a0; f2 holds nothing, so it gets a0's rest.
	d.AddAgent("a0", res(8, 8192), map[string]mesos.Resources{"f1": res(4, 4096)})
	d.AddAgent("a1", res(4, 4096), nil)
	d.AddAgent("a2", res(4, 4096), nil)
	round := pass(t, d, rec)
	wantOwners(t, round, "a0:f2", "a1:f1", "a2:f2")
	if got := round[0].Resources.Scalar("cpus"); got != 4 {
		t.Fatalf("a0 offer has %v cpus, want the 4 f1 does not use", got)
	}
}

func TestDRF_DominantResourceDecides(t *testing.T) {
	d, rec, _ := newTestDRF(t)
	d.AddFramework("cpu-heavy", []string{"r"}, nil)
	d.AddFramework("mem-heavy", []string{"r"}, nil)
	// Cluster: 20 cpus, 20480 mem. cpu-heavy holds 8 cpus (40%) and little
	// memory; mem-heavy holds 2 cpus and 6144 mem (30%): mem-heavy's
	// dominant share is smaller although it holds more in total.
	d.AddAgent("a0", res(10, 10240), map[string]mesos.Resources{
		"cpu-heavy": res(8, 1024),
		"mem-heavy": res(2, 6144),
	})
	d.AddAgent("a1", res(10, 10240), nil)
	wantOwners(t, pass(t, d, rec), "a0:mem-heavy", "a1:cpu-heavy")
}

func TestDRF_WeightedRoles(t *testing.T) {
	d, rec, _ := newTestDRF(t)
	d.SetWeight("a", 2)
	d.AddFramework("fa", []string{"a"}, nil)
	d.AddFramework("fb", []string{"b"}, nil)
	for i := 1; i <= 6; i++ {
		d.AddAgent(fmt.Sprintf("a%d", i), res(4, 4096), nil)
	}
	got := map[string]int{}
	for _, a := range pass(t, d, rec) {
		got[a.Role]++
	}
	if got["a"] != 4 || got["b"] != 2 {
		t.Fatalf("agents per role = %v, want a:4 b:2 (weight 2 against 1)", got)
	}
}

func TestDRF_DeclineFilterBlocksUntilExpiry(t *testing.T) {
	d, rec, clock := newTestDRF(t)
	d.AddFramework("f1", []string{"r"}, nil)
	d.AddAgent("a1", res(4, 4096), nil)
	round := pass(t, d, rec)
	wantOwners(t, round, "a1:f1")

	d.Recover("f1", "a1", round[0].Resources, 5*time.Second)
	wantOwners(t, pass(t, d, rec))
	clock.Advance(5*time.Second - time.Millisecond)
	wantOwners(t, pass(t, d, rec))
	clock.Advance(time.Millisecond)
	round = pass(t, d, rec)
	wantOwners(t, round, "a1:f1")

	// Revive drops the filter at once.
	d.Recover("f1", "a1", round[0].Resources, time.Hour)
	wantOwners(t, pass(t, d, rec))
	d.Revive("f1", nil)
	wantOwners(t, pass(t, d, rec), "a1:f1")
}

// TestDRF_FiltersShareTheAgentsID: every framework's filters on an agent
// are kept under the agent's one id string, whatever copy of it the
// decline or the recorded filter came with.
func TestDRF_FiltersShareTheAgentsID(t *testing.T) {
	d, _, clock := newTestDRF(t)
	d.AddAgent("a1", res(4, 4096), nil)
	for _, fw := range []string{"f1", "f2", "f3"} {
		d.AddFramework(fw, []string{"r"}, nil)
	}
	d.Recover("f1", strings.Clone("a1"), res(1, 128), time.Hour)
	d.Recover("f2", strings.Clone("a1"), res(1, 128), time.Hour)
	d.Filter("f3", RecordedFilter{AgentID: strings.Clone("a1"), Role: "r", Resources: res(1, 128), Until: clock.Now().Add(time.Hour)})
	want := unsafe.StringData(d.agents["a1"].id)
	for _, fw := range []string{"f1", "f2", "f3"} {
		keys := 0
		for k := range d.frameworks[fw].filters {
			keys++
			if k != "a1" || unsafe.StringData(k) != want {
				t.Fatalf("%s keeps its filters under its own copy of the agent's id %q", fw, k)
			}
		}
		if keys != 1 {
			t.Fatalf("%s has filters on %d agents, want 1", fw, keys)
		}
	}
}

// A filter recorded by an earlier leader, installed before its agent is
// known, holds the agent's resources back until its expiry.
func TestDRF_FilterFromAnEarlierLeader(t *testing.T) {
	d, rec, clock := newTestDRF(t)
	d.AddFramework("f1", []string{"r"}, nil)
	d.Filter("f1", RecordedFilter{AgentID: "a1", Role: "r", Resources: res(4, 4096), Until: clock.Now().Add(time.Hour)},
		RecordedFilter{AgentID: "a2", Role: "r", Resources: res(4, 4096), Until: clock.Now().Add(2 * time.Hour)})
	d.Filter("nope", RecordedFilter{AgentID: "a1", Role: "r", Resources: res(4, 4096), Until: clock.Now().Add(time.Hour)}) // unknown framework: ignored
	d.AddAgent("a1", res(4, 4096), nil)
	d.AddAgent("a2", res(4, 4096), nil)
	wantOwners(t, pass(t, d, rec))
	clock.Advance(time.Hour)
	wantOwners(t, pass(t, d, rec), "a1:f1")
	clock.Advance(time.Hour)
	wantOwners(t, pass(t, d, rec), "a2:f1")
}

// A recorded filter whose resources still carry allocation info (an
// offer's, as given) holds back the same resources as one without.
func TestDRF_FilterOfAllocatedResources(t *testing.T) {
	d, rec, clock := newTestDRF(t)
	d.AddFramework("f1", []string{"r"}, nil)
	d.Filter("f1", RecordedFilter{AgentID: "a1", Role: "r", Resources: res(4, 4096).Allocate("r"), Until: clock.Now().Add(time.Hour)})
	d.AddAgent("a1", res(4, 4096), nil)
	wantOwners(t, pass(t, d, rec))
	clock.Advance(time.Hour)
	wantOwners(t, pass(t, d, rec), "a1:f1")
}

func TestDRF_RecoverWithoutFilterReoffers(t *testing.T) {
	d, rec, _ := newTestDRF(t)
	d.AddFramework("f1", []string{"r"}, nil)
	d.AddAgent("a1", res(4, 4096), nil)
	round := pass(t, d, rec)
	wantOwners(t, pass(t, d, rec)) // all held: nothing to offer
	d.Recover("f1", "a1", round[0].Resources, 0)
	d.Recover("f1", "a1", round[0].Resources, 0) // twice is harmless
	round = pass(t, d, rec)
	wantOwners(t, round, "a1:f1")
	if got := round[0].Resources.Scalar("cpus"); got != 4 {
		t.Fatalf("re-offer has %v cpus, want 4", got)
	}
}

func TestDRF_PartialRecoverWithPorts(t *testing.T) {
	d, rec, _ := newTestDRF(t)
	d.AddFramework("f1", []string{"r"}, nil)
	d.AddAgent("a1", append(res(4, 4096), mesos.RangesResource("ports", mesos.Range{Begin: 31000, End: 31009})), nil)
	round := pass(t, d, rec)
	wantOwners(t, round, "a1:f1")
	if got := round[0].Resources.Ranges("ports"); !slices.Equal(got, []mesos.Range{{Begin: 31000, End: 31009}}) {
		t.Fatalf("offered ports %v, want 31000-31009", got)
	}
	// The framework launches on part of it and gives back the rest.
	back := append(res(1, 0), mesos.RangesResource("ports", mesos.Range{Begin: 31000, End: 31004}))
	d.Recover("f1", "a1", back.Allocate("r"), 0)
	round = pass(t, d, rec)
	wantOwners(t, round, "a1:f1")
	if got := round[0].Resources; got.Scalar("cpus") != 1 || got.Scalar("mem") != 0 ||
		!slices.Equal(got.Ranges("ports"), []mesos.Range{{Begin: 31000, End: 31004}}) {
		t.Fatalf("re-offer = %v, want cpus:1;ports:[31000-31004]", got)
	}
	// Everything back: no usage is left over from the arithmetic.
	d.Recover("f1", "a1", append(res(4, 4096), mesos.RangesResource("ports", mesos.Range{Begin: 31000, End: 31009})).Allocate("r"), 0)
	if u := d.roleUse["r"].alloc; !u.isZero() {
		t.Fatalf("role usage %v after recovering everything, want zero", u)
	}
	if u := d.fwUse["f1"]["r"].alloc; !u.isZero() {
		t.Fatalf("framework usage %v after recovering everything, want zero", u)
	}
}

func TestDRF_DeclineFilterOnlyCoversWhatWasDeclined(t *testing.T) {
	d, rec, _ := newTestDRF(t)
	d.AddFramework("f1", []string{"r"}, nil)
	d.AddAgent("a1", res(4, 4096), map[string]mesos.Resources{"f1": res(2, 2048)})
	round := pass(t, d, rec)
	wantOwners(t, round, "a1:f1")
	d.Recover("f1", "a1", round[0].Resources, time.Hour)
	wantOwners(t, pass(t, d, rec))
	// The task finishes: 4 cpus are free, more than the declined 2, so
	// the filter no longer applies (Mesos semantics).
	d.Recover("f1", "a1", res(2, 2048), 0)
	round = pass(t, d, rec)
	wantOwners(t, round, "a1:f1")
	if got := round[0].Resources.Scalar("cpus"); got != 4 {
		t.Fatalf("offer has %v cpus, want 4", got)
	}
}

func TestDRF_DeclinedResourcesGoToAnotherFramework(t *testing.T) {
	d, rec, _ := newTestDRF(t)
	d.AddFramework("f1", []string{"r"}, nil)
	d.AddFramework("f2", []string{"r"}, nil)
	d.AddAgent("a1", res(4, 4096), nil)
	round := pass(t, d, rec)
	wantOwners(t, round, "a1:f1")
	d.Recover("f1", "a1", round[0].Resources, time.Hour)
	wantOwners(t, pass(t, d, rec), "a1:f2")
}

func TestDRF_SuppressRevive(t *testing.T) {
	d, rec, _ := newTestDRF(t)
	d.AddFramework("f1", []string{"a", "b"}, nil)
	d.AddAgent("x", append(reserved("a", 1, 512), reserved("b", 1, 512)...), nil)
	d.Suppress("f1", nil)
	wantOwners(t, pass(t, d, rec))

	d.Revive("f1", []string{"b"})
	round := pass(t, d, rec)
	wantOwners(t, round, "x:f1")
	if round[0].Role != "b" {
		t.Fatalf("offer for role %q, want only b revived", round[0].Role)
	}
	d.Revive("f1", nil)
	round = pass(t, d, rec)
	wantOwners(t, round, "x:f1")
	if round[0].Role != "a" {
		t.Fatalf("offer for role %q, want a", round[0].Role)
	}
}

func TestDRF_SuppressedAtSubscription(t *testing.T) {
	d, rec, _ := newTestDRF(t)
	d.AddFramework("f1", []string{"r"}, []string{"r"})
	d.AddAgent("a1", res(4, 4096), nil)
	wantOwners(t, pass(t, d, rec))
	d.Revive("f1", []string{"r"})
	wantOwners(t, pass(t, d, rec), "a1:f1")
}

func TestDRF_ReservedResourcesOnlyToTheirRole(t *testing.T) {
	d, rec, _ := newTestDRF(t)
	d.AddFramework("dev-fw", []string{"dev"}, nil)
	d.AddAgent("a1", append(res(2, 1024), reserved("ops", 2, 1024)...), nil)
	round := pass(t, d, rec)
	wantOwners(t, round, "a1:dev-fw")
	for _, r := range round[0].Resources {
		if r.IsReserved() {
			t.Fatalf("dev was offered %v reserved for %s", r.Name, r.ReservationRole())
		}
		if r.AllocationRole() != "dev" {
			t.Fatalf("offer resource allocated to %q, want dev", r.AllocationRole())
		}
	}
	wantOwners(t, pass(t, d, rec)) // the ops reservation stays unoffered

	d.AddFramework("ops-fw", []string{"ops"}, nil)
	round = pass(t, d, rec)
	wantOwners(t, round, "a1:ops-fw")
	for _, r := range round[0].Resources {
		if r.ReservationRole() != "ops" {
			t.Fatalf("ops was offered unreserved %v still held by dev", r.Name)
		}
	}
}

func TestDRF_MinimumAllocatable(t *testing.T) {
	d, rec, _ := newTestDRF(t)
	d.AddFramework("f1", []string{"r"}, nil)
	d.AddAgent("tiny", res(0.005, 16), nil)
	d.AddAgent("cpu-only", res(0.01, 0), nil)
	d.AddAgent("mem-only", res(0, 32), nil)
	d.AddAgent("disk-only", mesos.Resources{mesos.ScalarResource("disk", 1000)}, nil)
	d.AddAgent("nearly-full", res(1, 1024), map[string]mesos.Resources{"other": res(0.995, 1000)})
	// Enough in total, but what role r may have (16 MB) is below the minimum.
	d.AddAgent("other-role", append(res(0, 16), reserved("ops", 1, 512)...), nil)
	wantOwners(t, pass(t, d, rec), "cpu-only:f1", "mem-only:f1")
}

func TestDRF_DeactivatedFrameworkGetsNothing(t *testing.T) {
	d, rec, _ := newTestDRF(t)
	d.AddFramework("f1", []string{"r"}, nil)
	d.AddFramework("f2", []string{"r"}, nil)
	d.DeactivateFramework("f1")
	d.AddAgent("a1", res(4, 4096), nil)
	d.AddAgent("a2", res(4, 4096), nil)
	wantOwners(t, pass(t, d, rec), "a1:f2", "a2:f2")

	d.AddAgent("a3", res(4, 4096), nil)
	d.DeactivateFramework("f2")
	wantOwners(t, pass(t, d, rec))
	d.ActivateFramework("f1")
	wantOwners(t, pass(t, d, rec), "a3:f1")
}

func TestDRF_OneCallbackPerPass(t *testing.T) {
	d, rec, _ := newTestDRF(t)
	d.AddFramework("f1", []string{"a"}, nil)
	d.AddFramework("f2", []string{"b"}, nil)
	for _, id := range []string{"a1", "a2", "a3"} {
		d.AddAgent(id, res(4, 4096), nil)
	}
	d.AllocateNow()
	rounds := rec.take()
	if len(rounds) != 1 || len(rounds[0]) != 3 {
		t.Fatalf("got %d callbacks, want 1 with all 3 allocations: %v", len(rounds), rounds)
	}
	for _, a := range rounds[0] {
		for _, r := range a.Resources {
			if r.AllocationRole() != a.Role {
				t.Fatalf("allocation for role %q has a resource allocated to %q", a.Role, r.AllocationRole())
			}
		}
	}
	d.AllocateNow()
	if rounds := rec.take(); len(rounds) != 0 {
		t.Fatalf("a pass with nothing to offer made %d callbacks", len(rounds))
	}
}

func TestDRF_CallbackMayCallBack(t *testing.T) {
	var d *DRF
	calls := 0
	cfg := DefaultConfig()
	cfg.Clock = newFakeClock()
	cfg.Offer = func(round []Allocation) {
		calls++
		for _, a := range round {
			d.Recover(a.FrameworkID, a.AgentID, a.Resources, time.Hour) // takes the lock
		}
	}
	d = NewDRF(cfg)
	d.AddFramework("f1", []string{"r"}, nil)
	d.AddAgent("a1", res(4, 4096), nil)
	d.AllocateNow()
	d.AllocateNow()
	if calls != 1 {
		t.Fatalf("callback called %d times, want 1 (second pass is filtered)", calls)
	}
}

func TestDRF_RemoveFrameworkFreesItsAllocations(t *testing.T) {
	d, rec, _ := newTestDRF(t)
	d.AddFramework("f1", []string{"r"}, nil)
	d.AddAgent("a1", res(4, 4096), nil)
	wantOwners(t, pass(t, d, rec), "a1:f1")
	d.RemoveFramework("f1")
	d.AddFramework("f2", []string{"r"}, nil)
	wantOwners(t, pass(t, d, rec), "a1:f2")
}

func TestDRF_RemoveAgent(t *testing.T) {
	d, rec, _ := newTestDRF(t)
	d.AddFramework("f1", []string{"r"}, nil)
	d.AddAgent("a1", res(4, 4096), nil)
	d.AddAgent("a2", res(4, 4096), nil)
	d.RemoveAgent("a1")
	round := pass(t, d, rec)
	wantOwners(t, round, "a2:f1")
	d.RemoveAgent("a2")
	d.Recover("f1", "a2", round[0].Resources, 0) // agent gone: ignored
	wantOwners(t, pass(t, d, rec))
	if d.total != (vec{}) {
		t.Fatalf("cluster total %v after removing every agent, want zero", d.total)
	}
}

func TestDRF_UsageOfUnknownFrameworkIsNotOffered(t *testing.T) {
	d, rec, _ := newTestDRF(t)
	// After a leader change, agents re-register before their frameworks.
	d.AddAgent("a1", res(4, 4096), map[string]mesos.Resources{"late": res(4, 4096)})
	d.AddAgent("a2", res(4, 4096), nil)
	d.Allocated("late", "a2", res(3, 3072))
	d.AddFramework("f1", []string{"r"}, nil)
	round := pass(t, d, rec)
	wantOwners(t, round, "a2:f1")
	if got := round[0].Resources.Scalar("cpus"); got != 1 {
		t.Fatalf("a2 offer has %v cpus, want the 1 not in use", got)
	}
}

func TestDRF_UnknownIDsAreIgnored(t *testing.T) {
	d, rec, _ := newTestDRF(t)
	d.RemoveFramework("nope")
	d.ActivateFramework("nope")
	d.DeactivateFramework("nope")
	d.RemoveAgent("nope")
	d.Allocated("nope", "nope", res(1, 1))
	d.Recover("nope", "nope", res(1, 1), time.Second)
	d.Suppress("nope", nil)
	d.Revive("nope", []string{"r"})
	wantOwners(t, pass(t, d, rec))
}

func TestDRF_Deterministic(t *testing.T) {
	run := func() [][]Allocation {
		d, rec, clock := newTestDRF(t)
		d.SetWeight("batch", 0.5)
		// Map iteration adds frameworks and agents in a different order
		// each run; the result must not depend on it.
		fws := map[string][]string{"f1": {"web"}, "f2": {"web"}, "f3": {"batch"}, "f4": {"batch", "web"}, "f5": {"ops"}}
		for id, roles := range fws {
			d.AddFramework(id, roles, nil)
		}
		agents := map[string]mesos.Resources{}
		for i := range 20 {
			agents[fmt.Sprintf("agent-%02d", i)] = append(res(float64(2+i%3), float64(1024*(1+i%4))), reserved("ops", 1, 256)...)
		}
		for id, r := range agents {
			d.AddAgent(id, r, nil)
		}
		var out [][]Allocation
		for range 3 {
			round := pass(t, d, rec)
			out = append(out, round)
			for i, a := range round {
				if i%3 == 0 {
					d.Recover(a.FrameworkID, a.AgentID, a.Resources, 2*time.Second)
				}
			}
			clock.Advance(time.Second)
		}
		return out
	}
	first := run()
	if len(first[0]) == 0 {
		t.Fatal("first pass allocated nothing")
	}
	for range 10 {
		if again := run(); !reflect.DeepEqual(first, again) {
			t.Fatalf("same inputs gave different rounds:\n%v\n%v", first, again)
		}
	}
}

func TestDRF_TriggerCoalesces(t *testing.T) {
	d, _, _ := newTestDRF(t)
	for range 100 {
		d.Trigger()
	}
	if n := len(d.trigger); n != 1 {
		t.Fatalf("%d pending triggers, want 1", n)
	}
}

func TestDRF_RunPassesOnTickAndTrigger(t *testing.T) {
	got := make(chan []Allocation, 4)
	tick := make(chan time.Time)
	cfg := DefaultConfig()
	cfg.Clock = newFakeClock()
	cfg.Offer = func(round []Allocation) { got <- round }
	cfg.Ticker = func(time.Duration) (<-chan time.Time, func()) { return tick, func() {} }
	d := NewDRF(cfg)
	d.AddFramework("f1", []string{"r"}, nil)
	d.AddAgent("a1", res(4, 4096), nil)
	<-d.trigger // so that only the tick can start the first pass

	wait := func(what string) []Allocation {
		t.Helper()
		select {
		case r := <-got:
			return r
		case <-time.After(10 * time.Second): // a bound, not a wait for work
			t.Fatalf("no pass after %s", what)
			return nil
		}
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { d.Run(stop); close(done) }()

	tick <- time.Time{}
	wantOwners(t, wait("a tick"), "a1:f1")
	d.AddAgent("a2", res(4, 4096), nil) // triggers
	wantOwners(t, wait("a trigger"), "a2:f1")
	close(stop)
	<-done
}

func BenchmarkAllocate(b *testing.B) {
	for _, agents := range []int{1000, 10000} {
		setup := func() *DRF {
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
			return d
		}
		// full: every agent free, every one allocated in the pass.
		b.Run(fmt.Sprintf("agents=%d/frameworks=100/full", agents), func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				b.StopTimer()
				d := setup()
				b.StartTimer()
				d.AllocateNow()
			}
		})
		// idle: everything already held, the periodic sweep finds nothing.
		b.Run(fmt.Sprintf("agents=%d/frameworks=100/idle", agents), func(b *testing.B) {
			d := setup()
			d.AllocateNow()
			b.ReportAllocs()
			for b.Loop() {
				d.AllocateNow()
			}
		})
	}
}

// TestDRF_PassTimeToldOfEveryPass: PassTime hears of each pass, empty
// ones included, before the round reaches Offer.
func TestDRF_PassTimeToldOfEveryPass(t *testing.T) {
	var passes []time.Duration
	rec := &recorder{}
	cfg := DefaultConfig()
	cfg.Clock = newFakeClock()
	cfg.Offer = func(round []Allocation) {
		if len(passes) == 0 {
			t.Error("the round reached Offer before PassTime heard of its pass")
		}
		rec.offer(round)
	}
	cfg.PassTime = func(d time.Duration) { passes = append(passes, d) }
	d := NewDRF(cfg)
	d.AllocateNow() // nothing to allocate
	d.AddAgent("a1", res(4, 4096), nil)
	d.AddFramework("f1", nil, nil)
	if round := pass(t, d, rec); len(round) != 1 {
		t.Fatalf("round %v, want one allocation", round)
	}
	if len(passes) != 2 {
		t.Fatalf("PassTime heard of %d passes, want 2", len(passes))
	}
	for _, p := range passes {
		if p < 0 {
			t.Errorf("pass took %v", p)
		}
	}
}

func TestDRF_DeactivatedAgentIsOfferedToNobody(t *testing.T) {
	d, rec, _ := newTestDRF(t)
	d.AddFramework("f1", []string{"r"}, nil)
	// Deactivated before it is added, as after a leader change.
	d.SetAgentActive("a1", false)
	d.AddAgent("a1", res(4, 4096), nil)
	d.AddAgent("a2", res(4, 4096), nil)
	wantOwners(t, pass(t, d, rec), "a2:f1")
	// Re-adding the agent (a re-registration) keeps it deactivated.
	d.AddAgent("a1", res(4, 4096), nil)
	wantOwners(t, pass(t, d, rec))
	d.SetAgentActive("a1", true)
	wantOwners(t, pass(t, d, rec), "a1:f1")
}
