package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"mesh/allocator"
	"mesh/mesos"
	"mesh/mesos/scheduler"
	"mesh/server"
	"mesh/server/servertest"
)

// askWhy is GET /mesh/v1/why; it returns the status, the decoded answer
// (on 200) and the body.
func askWhy(t *testing.T, addr, fid, aid string) (int, *server.WhyResponse, string) {
	t.Helper()
	q := url.Values{"framework_id": {fid}}
	if aid != "" {
		q.Set("agent_id", aid)
	}
	resp, err := http.Get("http://" + addr + server.WhyPath + "?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, nil, string(b)
	}
	var out server.WhyResponse
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("why: unreadable answer %s: %v", b, err)
	}
	return resp.StatusCode, &out, string(b)
}

// waitWhy asks until the answer about the agent in role has reason want,
// and returns that decision.
func waitWhy(t *testing.T, addr, fid, aid, role string, want allocator.Reason) server.WhyAgent {
	t.Helper()
	var got server.WhyAgent
	var last string
	servertest.WaitFor(t, 10*time.Second, "why to say "+string(want), func() bool {
		code, r, body := askWhy(t, addr, fid, aid)
		last = body
		if code != http.StatusOK {
			return false
		}
		for _, a := range r.Agents {
			if a.AgentID == aid && a.Role == role && a.Reason == want {
				got = a
				return true
			}
		}
		return false
	})
	if got.Reason != want {
		t.Fatalf("last answer: %s", last)
	}
	return got
}

func whyServer(t *testing.T) *servertest.Server {
	return servertest.NewServer(t, servertest.Options{Tweak: func(c *server.Config) { c.AllocationInterval = 50 * time.Millisecond }})
}

func webFramework(t *testing.T, addr, name string) *framework {
	t.Helper()
	f := subscribe(t, addr, subscribeBody(name, "", `"roles":["web"],"capabilities":[{"type":"MULTI_ROLE"}]`))
	f.subscribed()
	return f
}

// TestWhy_NamesTheReason: in each set-up, GET /mesh/v1/why names what
// kept the framework's offers away.
func TestWhy_NamesTheReason(t *testing.T) {
	t.Run("suppressed", func(t *testing.T) {
		s := whyServer(t)
		servertest.NewSimAgent(s.HTTPAddr(), agentResources()).Start(t)
		f := webFramework(t, s.HTTPAddr(), "quiet")
		f.mustCall("SUPPRESS", "suppress", `{"roles":["web"]}`)
		servertest.WaitFor(t, 10*time.Second, "why to say suppressed", func() bool {
			_, r, _ := askWhy(t, s.HTTPAddr(), f.id, "")
			return r != nil && r.RoleReasons["web"] == allocator.ReasonSuppressed
		})
	})
	t.Run("filtered", func(t *testing.T) {
		s := whyServer(t)
		a := servertest.NewSimAgent(s.HTTPAddr(), agentResources())
		a.Start(t)
		f := webFramework(t, s.HTTPAddr(), "picky")
		o := f.await(scheduler.EventOffers, 10*time.Second).Offers.Offers[0]
		declined := time.Now()
		f.mustCall("DECLINE", "decline", `{"offer_ids":[{"value":"`+o.ID.Value+`"}],"filters":{"refuse_seconds":3600}}`)
		got := waitWhy(t, s.HTTPAddr(), f.id, a.ID, "web", allocator.ReasonFiltered)
		if d := got.Until.Sub(declined); d < 59*time.Minute || d > 61*time.Minute {
			t.Fatalf("filter until %v, %v after the decline; want an hour", got.Until, d)
		}
	})
	t.Run("quota limit", func(t *testing.T) {
		s := whyServer(t)
		quota := `{"type":"UPDATE_QUOTA","update_quota":{"quota_configs":[{"role":"web","limits":{"cpus":{"value":1},"mem":{"value":128}}}]}}`
		if code, out, _ := opCall(t, s.HTTPAddr(), "/api/v1", quota, nil); code != http.StatusOK {
			t.Fatalf("UPDATE_QUOTA: %d %s", code, out)
		}
		a := servertest.NewSimAgent(s.HTTPAddr(), agentResources())
		a.Start(t)
		f := webFramework(t, s.HTTPAddr(), "capped")
		f.await(scheduler.EventOffers, 10*time.Second) // held: web is at its limit
		waitWhy(t, s.HTTPAddr(), f.id, a.ID, "web", allocator.ReasonQuotaLimit)
	})
	t.Run("reserved elsewhere", func(t *testing.T) {
		s := whyServer(t)
		rs := agentResources()
		for i := range rs {
			rs[i].Reservations = []mesos.ReservationInfo{{Type: mesos.ReservationStatic, Role: "ops"}}
		}
		a := servertest.NewSimAgent(s.HTTPAddr(), rs)
		a.Start(t)
		f := webFramework(t, s.HTTPAddr(), "outsider")
		got := waitWhy(t, s.HTTPAddr(), f.id, a.ID, "web", allocator.ReasonReservedElsewhere)
		if !strings.Contains(got.Detail, "ops") {
			t.Fatalf("detail %q does not name ops", got.Detail)
		}
	})
	t.Run("agent draining", func(t *testing.T) {
		s := whyServer(t)
		a := servertest.NewSimAgent(s.HTTPAddr(), agentResources())
		a.Start(t)
		if code, out, _ := opCall(t, s.HTTPAddr(), "/api/v1", agentCall("DRAIN_AGENT", a.ID, ""), nil); code != http.StatusOK {
			t.Fatalf("DRAIN_AGENT: %d %s", code, out)
		}
		f := webFramework(t, s.HTTPAddr(), "waiting")
		got := waitWhy(t, s.HTTPAddr(), f.id, a.ID, "web", allocator.ReasonAgentInactive)
		if !strings.Contains(got.Detail, "draining") {
			t.Fatalf("detail %q does not say draining", got.Detail)
		}
	})
	t.Run("constraint unmet", func(t *testing.T) {
		s := whyServer(t)
		rackAgent(t, s.HTTPAddr(), "h1", "r1")
		r2 := rackAgent(t, s.HTTPAddr(), "h2", "r2")
		f := subscribe(t, s.HTTPAddr(), constrainedSubscribe("racked", "", rackConstraint("r1")))
		f.subscribed()
		got := waitWhy(t, s.HTTPAddr(), f.id, r2.ID, "web", allocator.ReasonConstraint)
		if !strings.Contains(got.Detail, `attribute "rack" text_equals "r1"`) || got.Hostname != "h2" {
			t.Fatalf("decision %+v, want the unmet constraint on h2", got)
		}
	})
	t.Run("behind in DRF order", func(t *testing.T) {
		s := whyServer(t)
		servertest.NewSimAgent(s.HTTPAddr(), agentResources()).Start(t)
		f1 := webFramework(t, s.HTTPAddr(), "first")
		f1.await(scheduler.EventOffers, 10*time.Second) // held: f1's share grows
		f2 := webFramework(t, s.HTTPAddr(), "second")
		if code, _, body := askWhy(t, s.HTTPAddr(), f1.id, ""); code != http.StatusOK {
			t.Fatalf("why: %d %s", code, body)
		}
		a2 := servertest.NewSimAgent(s.HTTPAddr(), agentResources())
		a2.Hostname = "sim2"
		a2.Start(t)
		f2.await(scheduler.EventOffers, 10*time.Second)
		got := waitWhy(t, s.HTTPAddr(), f1.id, a2.ID, "web", allocator.ReasonDRF)
		if len(got.Ahead) != 1 || got.Ahead[0].FrameworkID != f2.id || got.Ahead[0].Share >= got.Share {
			t.Fatalf("decision %+v, want %s ahead with a smaller share", got, f2.id)
		}
	})
}

// Bad questions get a status and a message that says what was wrong.
func TestWhy_BadQuestions(t *testing.T) {
	s := whyServer(t)
	f := webFramework(t, s.HTTPAddr(), "asker")
	for _, c := range []struct {
		fid, aid string
		code     int
		msg      string
	}{
		{"", "", http.StatusBadRequest, "missing query parameter 'framework_id'"},
		{"nope", "", http.StatusNotFound, "framework nope is not known"},
		{f.id, "nope", http.StatusNotFound, "agent nope is not known"},
	} {
		code, _, body := askWhy(t, s.HTTPAddr(), c.fid, c.aid)
		if code != c.code || !strings.Contains(body, c.msg) {
			t.Errorf("why(%q, %q) = %d %q, want %d %q", c.fid, c.aid, code, body, c.code, c.msg)
		}
	}
	resp, err := http.Post("http://"+s.HTTPAddr()+server.WhyPath+"?framework_id="+f.id, "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d, want 405", resp.StatusCode)
	}
}

// TestWhy_SuppressSentAsSoonAsSubscribedHolds: a SUPPRESS sent as soon as
// the framework reads its SUBSCRIBED is not undone by the framework's own
// addition to the allocator. The leader is held just after writing
// SUBSCRIBED until the SUPPRESS was answered; the allocator then has the
// role suppressed, as the state does. (The allocator once learnt of the
// framework only after SUBSCRIBED was written, and a SUPPRESS that came
// first was lost there.)
func TestWhy_SuppressSentAsSoonAsSubscribedHolds(t *testing.T) {
	s := whyServer(t)
	servertest.NewSimAgent(s.HTTPAddr(), agentResources()).Start(t)
	answered := make(chan struct{})
	s.AfterFrameworkSubscribedForTest(t, func(string) {
		select {
		case <-answered:
		case <-time.After(10 * time.Second):
		}
	})
	f := webFramework(t, s.HTTPAddr(), "quiet")
	f.mustCall("SUPPRESS", "suppress", `{"roles":["web"]}`)
	close(answered)
	servertest.WaitFor(t, 10*time.Second, "why to say suppressed", func() bool {
		_, r, _ := askWhy(t, s.HTTPAddr(), f.id, "")
		return r != nil && r.RoleReasons["web"] == allocator.ReasonSuppressed
	})
	if fw := s.FSM().State().Framework(f.id); len(fw.SuppressedRoles) != 1 || fw.SuppressedRoles[0] != "web" {
		t.Fatalf("suppressed roles in the state: %v", fw.SuppressedRoles)
	}
}
