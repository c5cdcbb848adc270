package allocator

import (
	"testing"

	"mesh/mesos"
)

func cpusOf(round []Allocation, role string) float64 {
	var n float64
	for _, a := range round {
		if a.Role == role {
			n += a.Resources.Scalar("cpus")
		}
	}
	return n
}

// A role short of its guarantee is served before any fair share: q's
// guarantee of 8 cpus takes the first two agents, though DRF order (by
// name, all shares 0) would have put a and b first.
func TestQuota_GuaranteeComesFirst(t *testing.T) {
	d, rec, _ := newTestDRF(t)
	d.SetQuota("q", Quota{Guarantee: map[string]float64{"cpus": 8}})
	d.AddFramework("fa", []string{"a"}, nil)
	d.AddFramework("fb", []string{"b"}, nil)
	d.AddFramework("fq", []string{"q"}, nil)
	addAgents(d, 4)
	wantOwners(t, pass(t, d, rec), "a1:fq", "a2:fq", "a3:fa", "a4:fb")
}

// No role goes above its limit: of three agents' 12 cpus, l gets 6.
func TestQuota_LimitIsNeverPassed(t *testing.T) {
	d, rec, _ := newTestDRF(t)
	d.SetQuota("l", Quota{Limit: map[string]float64{"cpus": 6}})
	d.AddFramework("fl", []string{"l"}, nil)
	addAgents(d, 3)
	round := pass(t, d, rec)
	if got := cpusOf(round, "l"); got != 6 {
		t.Fatalf("role l offered %v cpus, want its limit of 6", got)
	}
	// Nothing more while it holds them.
	if got := cpusOf(pass(t, d, rec), "l"); got != 0 {
		t.Fatalf("role l offered %v more cpus at its limit", got)
	}
	// A parent's limit bounds its children together.
	d.SetQuota("l", Quota{})
	d.SetQuota("p", Quota{Limit: map[string]float64{"cpus": 2}})
	d.AddFramework("fx", []string{"p/x"}, nil)
	d.AddFramework("fy", []string{"p/y"}, nil)
	d.AddAgent("a9", res(4, 4096), nil)
	round = pass(t, d, rec)
	if got := cpusOf(round, "p/x") + cpusOf(round, "p/y"); got != 2 {
		t.Fatalf("p's children offered %v cpus together, want p's limit of 2 (%v)", got, round)
	}
}

// What an unsatisfied guarantee needs is held back from other roles even
// when the guaranteed role takes nothing now (its framework suppressed).
func TestQuota_HeadroomIsHeldBack(t *testing.T) {
	d, rec, _ := newTestDRF(t)
	d.SetQuota("q", Quota{Guarantee: map[string]float64{"cpus": 8}})
	d.AddFramework("fq", []string{"q"}, []string{"q"})
	d.AddFramework("fa", []string{"a"}, nil)
	addAgents(d, 4)
	if got := cpusOf(pass(t, d, rec), "a"); got != 8 {
		t.Fatalf("role a offered %v cpus, want 16 less q's unmet guarantee of 8", got)
	}
	// Once q revives, it gets what was held for it.
	d.Revive("fq", nil)
	if got := cpusOf(pass(t, d, rec), "q"); got != 8 {
		t.Fatalf("role q offered %v cpus after reviving, want 8", got)
	}
}

// An agent with GPUs is offered only to frameworks that declared the
// GPU_RESOURCES capability; the others get the agents without.
func TestDRF_GPUAgentsOnlyToGPUAwareFrameworks(t *testing.T) {
	d, rec, _ := newTestDRF(t)
	d.AddFramework("plain", []string{"r"}, nil)
	d.AddAgent("a1", append(res(4, 4096), mesos.ScalarResource("gpus", 2)), nil)
	d.AddAgent("a2", res(4, 4096), nil)
	wantOwners(t, pass(t, d, rec), "a2:plain")
	d.AddFramework("gpu", []string{"r"}, nil)
	d.SetGPUAware("gpu", true)
	wantOwners(t, pass(t, d, rec), "a1:gpu")
}
