package fsm

import (
	"io"
	"reflect"
	"strings"
	"testing"

	"mesh/mesos"
)

const fwID, agentID = "c1-0000", "c1-S0"

func filterSets(f *FSM) []FilterSet {
	var out []FilterSet
	for _, s := range f.State().AllFilters() {
		out = append(out, *s)
	}
	return out
}

func TestFilters_DeclineRecordsAFilterPerOffer(t *testing.T) {
	f := seed(t)
	apply(t, f, OffersRemoveRequestType, &OffersRemoveRequest{OfferIDs: []string{"o1"}, Filter: &DeclineFilter{Now: 10, Until: 3600}})
	want := []FilterSet{{FrameworkID: fwID, AgentID: agentID, Filters: []FilterEntry{{Role: "*", Resources: cpusMem(4, 4096), Until: 3600}}}}
	if got := filterSets(f); !reflect.DeepEqual(got, want) {
		t.Fatalf("filters after a decline:\n got %#v\nwant %#v", got, want)
	}
	// A second decline, later: the first filter has expired by its Now and
	// is dropped; the new one is kept.
	apply(t, f, OffersRemoveRequestType, &OffersRemoveRequest{OfferIDs: []string{"o2"}, Filter: &DeclineFilter{Now: 4000, Until: 5000}})
	want[0].Filters = []FilterEntry{{Role: "*", Resources: cpusMem(1, 1), Until: 5000}}
	if got := filterSets(f); !reflect.DeepEqual(got, want) {
		t.Fatalf("filters after a later decline:\n got %#v\nwant %#v", got, want)
	}
}

func TestFilters_PlainRemovalAndExpiredFiltersRecordNothing(t *testing.T) {
	f := seed(t)
	apply(t, f, OffersRemoveRequestType, &OffersRemoveRequest{OfferIDs: []string{"o1"}})
	apply(t, f, OffersRemoveRequestType, &OffersRemoveRequest{OfferIDs: []string{"o2"}, Filter: &DeclineFilter{Now: 10, Until: 10}})
	if got := filterSets(f); len(got) != 0 {
		t.Fatalf("filters: %#v, want none", got)
	}
}

func TestFilters_LaunchInstallsTheFiltersItCarries(t *testing.T) {
	f := seed(t)
	res := apply(t, f, TaskLaunchRequestType, &TaskLaunchRequest{FrameworkID: fwID, AgentID: agentID, OfferIDs: []string{"o2"}, At: 5,
		Filters: []OfferFilter{{FrameworkID: fwID, AgentID: agentID, Role: "*", Resources: cpusMem(1, 1), Until: 50}}})
	if err, ok := res.(error); ok {
		t.Fatal(err)
	}
	if got := filterSets(f); len(got) != 1 || got[0].Filters[0].Until != 50 {
		t.Fatalf("filters: %#v", got)
	}
	// A launch that is rejected installs none.
	apply(t, f, TaskLaunchRequestType, &TaskLaunchRequest{FrameworkID: fwID, AgentID: agentID, OfferIDs: []string{"gone"}, At: 6,
		Filters: []OfferFilter{{FrameworkID: fwID, AgentID: "other", Role: "*", Resources: cpusMem(1, 1), Until: 50}}})
	if got := filterSets(f); len(got) != 1 {
		t.Fatalf("a rejected launch installed filters: %#v", got)
	}
}

func TestFilters_SuppressAndRevive(t *testing.T) {
	f := New(nil)
	apply(t, f, ClusterInitRequestType, &ClusterInitRequest{ClusterID: "c1"})
	info := mesos.FrameworkInfo{User: "u", Name: "n", Roles: []string{"a", "b"}, Capabilities: []mesos.FrameworkCapability{{Type: mesos.CapabilityMultiRole}}}
	apply(t, f, FrameworkRegisterRequestType, &FrameworkRegisterRequest{Framework: Framework{ID: fwID, Info: info}, New: true})
	apply(t, f, AgentRegisterRequestType, &AgentRegisterRequest{Agent: Agent{ID: agentID, State: AgentActive}, New: true})
	apply(t, f, OffersCreateRequestType, &OffersCreateRequest{Offers: []Offer{
		{ID: "oa", FrameworkID: fwID, AgentID: agentID, Role: "a", Resources: cpusMem(1, 1).Allocate("a")},
		{ID: "ob", FrameworkID: fwID, AgentID: agentID, Role: "b", Resources: cpusMem(1, 1).Allocate("b")},
	}})
	apply(t, f, OffersRemoveRequestType, &OffersRemoveRequest{OfferIDs: []string{"oa", "ob"}, Filter: &DeclineFilter{Now: 1, Until: 100}})

	suppressed := func() []string { return f.State().Framework(fwID).SuppressedRoles }
	apply(t, f, OfferSuppressionRequestType, &OfferSuppressionRequest{FrameworkID: fwID, Op: SuppressOffers, Roles: []string{"b"}})
	if got := suppressed(); !reflect.DeepEqual(got, []string{"b"}) {
		t.Fatalf("suppressed after SUPPRESS b: %v", got)
	}
	apply(t, f, OfferSuppressionRequestType, &OfferSuppressionRequest{FrameworkID: fwID, Op: SuppressOffers})
	if got := suppressed(); !reflect.DeepEqual(got, []string{"b", "a"}) {
		t.Fatalf("suppressed after SUPPRESS of every role: %v", got)
	}
	// REVIVE of one role lifts its suppression and its filters only.
	apply(t, f, OfferSuppressionRequestType, &OfferSuppressionRequest{FrameworkID: fwID, Op: ReviveOffers, Roles: []string{"a"}})
	if got := suppressed(); !reflect.DeepEqual(got, []string{"b"}) {
		t.Fatalf("suppressed after REVIVE a: %v", got)
	}
	if got := filterSets(f); len(got) != 1 || len(got[0].Filters) != 1 || got[0].Filters[0].Role != "b" {
		t.Fatalf("filters after REVIVE a: %#v", got)
	}
	// REVIVE of every role lifts everything.
	apply(t, f, OfferSuppressionRequestType, &OfferSuppressionRequest{FrameworkID: fwID, Op: ReviveOffers})
	if got := suppressed(); got != nil {
		t.Fatalf("suppressed after REVIVE: %v", got)
	}
	if got := filterSets(f); len(got) != 0 {
		t.Fatalf("filters after REVIVE: %#v", got)
	}
	if err, _ := apply(t, f, OfferSuppressionRequestType, &OfferSuppressionRequest{FrameworkID: fwID, Op: "FOO"}).(error); err == nil {
		t.Error("an unknown operation was applied")
	}
	if err, _ := apply(t, f, OfferSuppressionRequestType, &OfferSuppressionRequest{FrameworkID: "nope", Op: SuppressOffers}).(error); err == nil {
		t.Error("a SUPPRESS of an unknown framework was applied")
	}
}

func TestFilters_GoWithTheirFrameworkAgentOrTime(t *testing.T) {
	declined := func() *FSM {
		f := seed(t)
		apply(t, f, OffersRemoveRequestType, &OffersRemoveRequest{OfferIDs: []string{"o1", "o2"}, Filter: &DeclineFilter{Now: 1, Until: 100}})
		if len(filterSets(f)) != 1 {
			t.Fatal("no filter to drop")
		}
		return f
	}
	f := declined()
	apply(t, f, FrameworkRemoveRequestType, &FrameworkRemoveRequest{FrameworkID: fwID, At: 2})
	if got := filterSets(f); len(got) != 0 {
		t.Errorf("filters of a removed framework: %#v", got)
	}
	f = declined()
	apply(t, f, AgentStateRequestType, &AgentStateRequest{AgentID: agentID, State: AgentUnreachable, At: 2})
	if got := filterSets(f); len(got) != 1 {
		t.Errorf("an unreachable agent's filters were dropped: %#v", got)
	}
	apply(t, f, AgentStateRequestType, &AgentStateRequest{AgentID: agentID, State: AgentGone, At: 3})
	if got := filterSets(f); len(got) != 0 {
		t.Errorf("filters on a gone agent: %#v", got)
	}
	f = declined()
	res := apply(t, f, HistoryPruneRequestType, &HistoryPruneRequest{FiltersExpiredBy: 99}).(*HistoryPruneResult)
	if res.Filters != 0 || len(filterSets(f)) != 1 {
		t.Errorf("pruned %d unexpired filters", res.Filters)
	}
	res = apply(t, f, HistoryPruneRequestType, &HistoryPruneRequest{FiltersExpiredBy: 100}).(*HistoryPruneResult)
	if res.Filters != 2 || len(filterSets(f)) != 0 {
		t.Errorf("pruned %d expired filters, left %#v", res.Filters, filterSets(f))
	}
}

// TestFilters_FoundByFrameworkAndByAgentAmongManyFrameworks: the filter
// sets, kept in one tree ordered by framework then agent, are found by
// framework (not those of a framework whose id it prefixes) and by agent
// (one lookup per framework, skipping from each to the next), and an
// agent's go with it, whatever the frameworks' ids.
func TestFilters_FoundByFrameworkAndByAgentAmongManyFrameworks(t *testing.T) {
	txn := newDB().Txn(true)
	defer txn.Abort()
	fids := []string{"fw1", "fw1x", "fw10", "fw2", "fw1\x00"}
	var filters []OfferFilter
	for _, fid := range fids {
		for _, aid := range []string{"a1", "a2", "a10"} {
			filters = append(filters, OfferFilter{FrameworkID: fid, AgentID: aid, Role: "*", Resources: cpusMem(1, 1), Until: 100})
		}
	}
	addFilters(txn, 1, filters)
	agents := func(sets []*FilterSet) (out []string) {
		for _, s := range sets {
			out = append(out, s.FrameworkID+"@"+s.AgentID)
		}
		return out
	}
	st := &State{txn: txn}
	if got, want := agents(st.Filters("fw1")), []string{"fw1@a1", "fw1@a10", "fw1@a2"}; !reflect.DeepEqual(got, want) {
		t.Errorf("fw1's filter sets: %v, want %v", got, want)
	}
	if got, want := agents(agentFilterSets(txn, "a1")), []string{"fw1@a1", "fw1\x00@a1", "fw10@a1", "fw1x@a1", "fw2@a1"}; !reflect.DeepEqual(got, want) {
		t.Errorf("a1's filter sets: %q, want %q", got, want)
	}
	dropAgentFilters(txn, "a1")
	if got := agentFilterSets(txn, "a1"); len(got) != 0 {
		t.Errorf("a1's filter sets after it went: %v", agents(got))
	}
	if got := len(st.AllFilters()); got != 10 {
		t.Errorf("%d filter sets left, want the 10 on a2 and a10", got)
	}
	// The frameworks filtering the same agent's equal resources share them.
	a2 := agentFilterSets(txn, "a2")
	if &a2[0].Filters[0].Resources[0] != &a2[1].Filters[0].Resources[0] {
		t.Error("two filters of equal resources on one agent hold two copies")
	}
}

// TestFSM_SnapshotFilterSetWithoutIDsIsRefused: a snapshot's filter set
// without its framework or agent id is refused with what is wrong, as the
// filters table's index refused it; one with both loads, its resources
// shared with an equal filter on the same agent.
func TestFSM_SnapshotFilterSetWithoutIDsIsRefused(t *testing.T) {
	for _, v := range []string{`{"FrameworkID":"f","Filters":[]}`, `{"AgentID":"a","Filters":[]}`} {
		err := New(nil).Restore(io.NopCloser(strings.NewReader(`{"t":"filters","v":` + v + "}\n")))
		if err == nil || !strings.Contains(err.Error(), "a filter set needs a framework id and an agent id") {
			t.Errorf("restore of filter set %s: %v", v, err)
		}
	}
	set := func(fid string) string {
		return `{"t":"filters","v":{"FrameworkID":"` + fid + `","AgentID":"a","Filters":[{"Role":"*","Until":9,` +
			`"Resources":[{"name":"cpus","type":"SCALAR","scalar":{"value":1}}]}]}}` + "\n"
	}
	f := New(nil)
	if err := f.Restore(io.NopCloser(strings.NewReader(set("f1") + set("f2")))); err != nil {
		t.Fatal(err)
	}
	sets := f.State().AllFilters()
	if len(sets) != 2 || &sets[0].Filters[0].Resources[0] != &sets[1].Filters[0].Resources[0] {
		t.Fatalf("restored filter sets: %d, or their equal resources held twice", len(sets))
	}
}
