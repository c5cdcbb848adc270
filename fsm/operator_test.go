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

func TestQuota_UpdateChecksEachConfigAndTheTree(t *testing.T) {
	f := seed(t)
	set := func(cs ...QuotaConfig) error {
		err, _ := apply(t, f, QuotaUpdateRequestType, &QuotaUpdateRequest{Configs: cs}).(error)
		return err
	}
	eng := QuotaConfig{Role: "eng", Guarantees: map[string]float64{"cpus": 8}, Limits: map[string]float64{"cpus": 16}}
	web := QuotaConfig{Role: "eng/web", Guarantees: map[string]float64{"cpus": 4}, Limits: map[string]float64{"cpus": 10}}
	if err := set(eng, web); err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][]QuotaConfig{
		{{Role: "*", Guarantees: map[string]float64{"cpus": 1}}},
		{{Role: "a//b", Guarantees: map[string]float64{"cpus": 1}}},
		{{Role: "x", Guarantees: map[string]float64{"ports": 1}}},
		{{Role: "x", Guarantees: map[string]float64{"cpus": -1}}},
		{{Role: "x", Guarantees: map[string]float64{"cpus": 3}, Limits: map[string]float64{"cpus": 2}}},
		{{Role: "eng/db", Guarantees: map[string]float64{"cpus": 5}}}, // 4 + 5 above eng's 8
		{{Role: "eng/api", Limits: map[string]float64{"cpus": 20}}},   // above eng's limit
		{{Role: "ok", Limits: map[string]float64{"mem": 1}}, {Role: "x", Limits: map[string]float64{"nope": 1}}},
	} {
		if err := set(bad...); err == nil {
			t.Errorf("quota %+v was applied", bad)
		}
	}
	want := map[string]QuotaConfig{"eng": eng, "eng/web": web}
	if got := f.State().Meta().Quotas; !reflect.DeepEqual(got, want) {
		t.Fatalf("quotas %+v, want %+v", got, want)
	}
	// A config with neither guarantee nor limit removes the role's quota.
	if err := set(QuotaConfig{Role: "eng/web"}); err != nil {
		t.Fatal(err)
	}
	if got := f.State().Meta().Quotas; len(got) != 1 || got["eng/web"].Role != "" {
		t.Fatalf("quotas after removing eng/web's: %+v", got)
	}
}
