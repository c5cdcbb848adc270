package server_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"mesh/mesos"
	"mesh/mesos/scheduler"
	"mesh/server"
	"mesh/server/servertest"
)

// UPDATE_WEIGHTS sets role weights in the replicated state: GET_WEIGHTS
// and GET_ROLES show them, and a new leader's allocator divides the
// cluster by them. A bad weight refuses the whole call and changes nothing.
func TestOperator_WeightsSurviveALeaderChangeAndDivideTheCluster(t *testing.T) {
	c := servertest.NewCluster(t, 3, func(cfg *server.Config) { cfg.AllocationInterval = 50 * time.Millisecond })
	old := c.WaitLeader()
	oldAddr := c.Servers[old].HTTPAddr()
	if code, out, _ := opCall(t, oldAddr, "/api/v1", `{"type":"UPDATE_WEIGHTS","update_weights":{"weight_infos":[{"role":"big","weight":3},{"role":"eng/web","weight":2.5}]}}`, nil); code != http.StatusOK {
		t.Fatalf("UPDATE_WEIGHTS: %d %s", code, out)
	}
	for _, bad := range []struct{ body, msg string }{
		{`{"type":"UPDATE_WEIGHTS","update_weights":{"weight_infos":[{"role":"small","weight":1},{"role":"big","weight":0}]}}`, "Invalid weight"},
		{`{"type":"UPDATE_WEIGHTS","update_weights":{"weight_infos":[{"role":"big","weight":-2}]}}`, "Invalid weight"},
		{`{"type":"UPDATE_WEIGHTS","update_weights":{"weight_infos":[{"role":"a//b","weight":2}]}}`, "Invalid weight"},
		{`{"type":"UPDATE_WEIGHTS","update_weights":{"weight_infos":[{"role":"big"}]}}`, "Missing required fields"},
		{`{"type":"UPDATE_WEIGHTS"}`, "Expecting 'update_weights' to be present"},
	} {
		if code, out, _ := opCall(t, oldAddr, "/api/v1", bad.body, nil); code != http.StatusBadRequest || !strings.Contains(out, bad.msg) {
			t.Errorf("%s: %d %q, want 400 with %q", bad.body, code, out, bad.msg)
		}
	}

	c.Isolate(old)
	servertest.WaitFor(t, 5*time.Second, "old leader to step down", func() bool { return !c.Servers[old].IsLeader() })
	addr := c.Servers[c.WaitLeader()].HTTPAddr()
	var w struct {
		GetWeights struct {
			WeightInfos []struct {
				Role   string  `json:"role"`
				Weight float64 `json:"weight"`
			} `json:"weight_infos"`
		} `json:"get_weights"`
	}
	operator(t, addr, `{"type":"GET_WEIGHTS"}`, &w)
	if got := fmt.Sprint(w.GetWeights.WeightInfos); got != "[{big 3} {eng/web 2.5}]" {
		t.Fatalf("GET_WEIGHTS on the new leader: %s", got)
	}
	var roles struct {
		GetRoles struct {
			Roles []struct {
				Name   string  `json:"name"`
				Weight float64 `json:"weight"`
			} `json:"roles"`
		} `json:"get_roles"`
	}
	operator(t, addr, `{"type":"GET_ROLES"}`, &roles)
	if got := fmt.Sprint(roles.GetRoles.Roles); !strings.Contains(got, "{big 3}") || !strings.Contains(got, "{eng/web 2.5}") {
		t.Errorf("GET_ROLES: %s", got)
	}

	// Weight 3 against 1: of 8 agents, big is offered 6 and small 2. The
	// agents are there before the framework, which takes both roles, so
	// that one allocation pass divides them all.
	for i := 0; i < 8; i++ {
		a := servertest.NewSimAgent(addr, agentResources())
		a.Hostname = fmt.Sprintf("sim%d", i)
		a.Start(t)
	}
	f := subscribe(t, addr, subscribeBody("both", "", `"roles":["big","small"],"capabilities":[{"type":"MULTI_ROLE"}]`))
	f.subscribed()
	byRole := map[string]int{}
	for n := 0; n < 8; {
		for _, o := range f.await(scheduler.EventOffers, 10*time.Second).Offers.Offers {
			byRole[o.AllocationInfo.Role]++
			n++
		}
	}
	if byRole["big"] != 6 || byRole["small"] != 2 {
		t.Errorf("offers by role %v, want big 6 and small 2 (weights 3 and 1)", byRole)
	}
	c.Heal()
	c.CheckConsistent()
}

// UPDATE_QUOTA keeps quotas in the replicated state: a new leader lists
// them and holds a guarantee's headroom back from other roles. Bad
// configs are refused with a 400 that says why and change nothing.
func TestOperator_QuotaSurvivesALeaderChangeAndHoldsHeadroom(t *testing.T) {
	c := servertest.NewCluster(t, 3, func(cfg *server.Config) { cfg.AllocationInterval = 50 * time.Millisecond })
	old := c.WaitLeader()
	oldAddr := c.Servers[old].HTTPAddr()
	agents := make([]*servertest.SimAgent, 4)
	for i := range agents {
		agents[i] = servertest.NewSimAgent(oldAddr, agentResources())
		agents[i].Hostname = fmt.Sprintf("sim%d", i)
		agents[i].Start(t)
	}
	quota := `{"type":"UPDATE_QUOTA","update_quota":{"quota_configs":[{"role":"q","guarantees":{"cpus":{"value":8}},"limits":{"cpus":{"value":12}}}]}}`
	if code, out, _ := opCall(t, oldAddr, "/api/v1", quota, nil); code != http.StatusOK {
		t.Fatalf("UPDATE_QUOTA: %d %s", code, out)
	}
	for _, bad := range []struct{ body, msg string }{
		{`{"type":"UPDATE_QUOTA","update_quota":{"quota_configs":[{"role":"big","guarantees":{"cpus":{"value":100}}}]}}`, "use 'force'"},
		{`{"type":"UPDATE_QUOTA","update_quota":{"quota_configs":[{"role":"x","guarantees":{"cpus":{"value":3}},"limits":{"cpus":{"value":2}}}]}}`, "above its limit"},
		{`{"type":"UPDATE_QUOTA","update_quota":{"quota_configs":[{"role":"x","guarantees":{"ports":{"value":3}}}]}}`, "may only name"},
		{`{"type":"UPDATE_QUOTA","update_quota":{"quota_configs":[{"role":"*","guarantees":{"cpus":{"value":1}}}]}}`, "cannot be '*'"},
		{`{"type":"UPDATE_QUOTA","update_quota":{"quota_configs":[{"guarantees":{"cpus":{"value":1}}}]}}`, "Missing required fields"},
		{`{"type":"UPDATE_QUOTA"}`, "Expecting 'update_quota' to be present"},
	} {
		if code, out, _ := opCall(t, oldAddr, "/api/v1", bad.body, nil); code != http.StatusBadRequest || !strings.Contains(out, bad.msg) {
			t.Errorf("%s: %d %q, want 400 with %q", bad.body, code, out, bad.msg)
		}
	}

	c.Isolate(old)
	servertest.WaitFor(t, 5*time.Second, "old leader to step down", func() bool { return !c.Servers[old].IsLeader() })
	addr := c.Servers[c.WaitLeader()].HTTPAddr()
	if got := getQuotas(t, addr); got != "[{q map[cpus:map[value:8]] map[cpus:map[value:12]]}]" {
		t.Fatalf("GET_QUOTA on the new leader: %s", got)
	}
	for _, a := range agents {
		a.Stop()
		b := servertest.NewSimAgent(addr, agentResources())
		b.ID, b.Hostname = a.ID, a.Hostname
		b.Start(t)
	}
	// Role a alone subscribes: of the 16 cpus it is offered the 8 that
	// q's unmet guarantee does not hold back.
	f := subscribe(t, addr, subscribeBody("a", "", `"role":"a"`))
	f.subscribed()
	var cpus float64
	for _, o := range f.await(scheduler.EventOffers, 10*time.Second).Offers.Offers {
		cpus += mesos.Resources(o.Resources).Scalar("cpus")
	}
	if cpus != 8 {
		t.Errorf("role a offered %v cpus, want 8 (16 less q's guarantee)", cpus)
	}
	c.Heal()
	c.CheckConsistent()
}

// TestOperator_SetAndRemoveQuotaAsMesosDeprecatedCalls: SET_QUOTA gives a
// role its guarantee as both guarantee and limit, once; REMOVE_QUOTA
// takes it away; bad requests are 400s that leave the quotas alone.
func TestOperator_SetAndRemoveQuotaAsMesosDeprecatedCalls(t *testing.T) {
	srv := servertest.NewServer(t, servertest.Options{})
	addr := srv.HTTPAddr()
	quotas := func() string { return getQuotas(t, addr) }
	set := `{"type":"SET_QUOTA","set_quota":{"quota_request":{"force":true,"role":"eng","guarantee":[` +
		`{"name":"cpus","type":"SCALAR","scalar":{"value":4}},{"name":"mem","type":"SCALAR","scalar":{"value":1024}}]}}}`
	if code, out, _ := opCall(t, addr, "/api/v1", set, nil); code != http.StatusOK {
		t.Fatalf("SET_QUOTA: %d %s", code, out)
	}
	want := "[{eng map[cpus:map[value:4] mem:map[value:1024]] map[cpus:map[value:4] mem:map[value:1024]]}]"
	if got := quotas(); got != want {
		t.Fatalf("GET_QUOTA after SET_QUOTA: %s, want %s", got, want)
	}
	for _, bad := range []struct{ body, msg string }{
		{set, "which already has quota"},
		{`{"type":"SET_QUOTA","set_quota":{"quota_request":{"force":true,"role":"eng/web","guarantee":[{"name":"cpus","type":"SCALAR","scalar":{"value":1}}]}}}`, "nested role"},
		{`{"type":"SET_QUOTA","set_quota":{"quota_request":{"force":true,"role":"ops","guarantee":[{"name":"ports","type":"RANGES","ranges":{"range":[{"begin":1,"end":2}]}}]}}}`, "must be a scalar"},
		{`{"type":"SET_QUOTA","set_quota":{"quota_request":{"guarantee":[]}}}`, "must have a role"},
		{`{"type":"SET_QUOTA"}`, "Expecting 'set_quota' to be present"},
		{`{"type":"REMOVE_QUOTA","remove_quota":{"role":"ops"}}`, "has no quota set"},
		{`{"type":"REMOVE_QUOTA","remove_quota":{}}`, "Missing required fields: remove_quota.role"},
	} {
		if code, out, _ := opCall(t, addr, "/api/v1", bad.body, nil); code != http.StatusBadRequest || !strings.Contains(out, bad.msg) {
			t.Errorf("%s: %d %q, want 400 with %q", bad.body, code, out, bad.msg)
		}
	}
	if got := quotas(); got != want {
		t.Fatalf("GET_QUOTA after refused calls: %s, want %s", got, want)
	}
	if code, out, _ := opCall(t, addr, "/api/v1", `{"type":"REMOVE_QUOTA","remove_quota":{"role":"eng"}}`, nil); code != http.StatusOK {
		t.Fatalf("REMOVE_QUOTA: %d %s", code, out)
	}
	if got := quotas(); got != "[]" {
		t.Fatalf("GET_QUOTA after REMOVE_QUOTA: %s, want none", got)
	}
}

// getQuotas renders GET_QUOTA's configs as role, guarantees, limits.
func getQuotas(t *testing.T, addr string) string {
	t.Helper()
	var q struct {
		GetQuota struct {
			Status struct {
				Configs []struct {
					Role       string                        `json:"role"`
					Guarantees map[string]map[string]float64 `json:"guarantees"`
					Limits     map[string]map[string]float64 `json:"limits"`
				} `json:"configs"`
			} `json:"status"`
		} `json:"get_quota"`
	}
	operator(t, addr, `{"type":"GET_QUOTA"}`, &q)
	return fmt.Sprint(q.GetQuota.Status.Configs)
}
