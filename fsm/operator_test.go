package fsm

import (
	"reflect"
	"testing"
)

func TestWeights_UpdateIsWholeOrNothing(t *testing.T) {
	f := seed(t)
	apply(t, f, WeightsUpdateRequestType, &WeightsUpdateRequest{Weights: map[string]float64{"eng": 2, "eng/web": 3}})
	apply(t, f, WeightsUpdateRequestType, &WeightsUpdateRequest{Weights: map[string]float64{"eng": 4}})
	want := map[string]float64{"eng": 4, "eng/web": 3}
	if got := f.State().Meta().Weights; !reflect.DeepEqual(got, want) {
		t.Fatalf("weights %v, want %v", got, want)
	}
	for _, bad := range []map[string]float64{{"ops": 1, "eng": 0}, {"ops": -1}, {"a//b": 1}} {
		if err, _ := apply(t, f, WeightsUpdateRequestType, &WeightsUpdateRequest{Weights: bad}).(error); err == nil {
			t.Errorf("weights %v were applied", bad)
		}
	}
	if got := f.State().Meta().Weights; !reflect.DeepEqual(got, want) {
		t.Fatalf("a refused update changed the weights to %v", got)
	}
}

// An agent marked gone stays gone: no later state change applies to it.
func TestFSM_GoneIsForGood(t *testing.T) {
	f := seed(t)
	apply(t, f, AgentStateRequestType, &AgentStateRequest{AgentID: "c1-S0", State: AgentGone, At: 1})
	for _, st := range []string{AgentActive, AgentUnreachable} {
		if err, _ := apply(t, f, AgentStateRequestType, &AgentStateRequest{AgentID: "c1-S0", State: st, At: 2}).(error); err == nil {
			t.Errorf("a gone agent became %s", st)
		}
	}
	if got := f.State().Agent("c1-S0").State; got != AgentGone {
		t.Fatalf("agent state %q", got)
	}
}
