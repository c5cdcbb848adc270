package fsm

import (
	"bytes"
	"io"
	"reflect"
	"testing"

	"mesh/mesos"
)

// A framework's offer constraints are kept with its record through the
// commands that rewrite it (disconnect, suppression) and a snapshot.
func TestFSM_OfferConstraintsKeptWithTheFramework(t *testing.T) {
	rack := "rack"
	c := &mesos.OfferConstraints{RoleConstraints: map[string]mesos.RoleConstraints{
		"web": {Groups: []mesos.ConstraintGroup{{AttributeConstraints: []mesos.AttributeConstraint{{
			Selector:  &mesos.ConstraintSelector{AttributeName: &rack},
			Predicate: &mesos.ConstraintPredicate{TextMatches: &mesos.ConstraintRegex{Regex: "r[0-9]"}},
		}}}}},
	}}
	f := New(nil)
	apply(t, f, ClusterInitRequestType, &ClusterInitRequest{ClusterID: "c1"})
	apply(t, f, FrameworkRegisterRequestType, &FrameworkRegisterRequest{Framework: Framework{ID: "c1-0000",
		Info: mesos.FrameworkInfo{User: "u", Name: "n", Roles: []string{"web"}}, Connected: true, OfferConstraints: c}, New: true})
	apply(t, f, OfferSuppressionRequestType, &OfferSuppressionRequest{FrameworkID: "c1-0000", Op: SuppressOffers, Roles: []string{"web"}})
	apply(t, f, FrameworkDisconnectRequestType, &FrameworkDisconnectRequest{FrameworkID: "c1-0000", At: 1, Deadline: 2})
	if got := f.State().Framework("c1-0000").OfferConstraints; !reflect.DeepEqual(got, c) {
		t.Fatalf("constraints after suppress and disconnect: %+v, want %+v", got, c)
	}
	snap, err := f.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	sink := &memSink{}
	if err := snap.Persist(sink); err != nil {
		t.Fatal(err)
	}
	g := New(nil)
	if err := g.Restore(io.NopCloser(bytes.NewReader(sink.Bytes()))); err != nil {
		t.Fatal(err)
	}
	if got := g.State().Framework("c1-0000").OfferConstraints; !reflect.DeepEqual(got, c) {
		t.Fatalf("constraints after a snapshot round trip: %+v, want %+v", got, c)
	}
}
