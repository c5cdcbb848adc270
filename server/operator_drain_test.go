package server_test

import (
	"encoding/json"
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

// agentCall is an operator call of type typ on one agent; extra is added
// to its sub-message.
func agentCall(typ, aid, extra string) string {
	key := strings.ToLower(typ)
	return fmt.Sprintf(`{"type":%q,%q:{"agent_id":{"value":%q}%s}}`, typ, key, aid, extra)
}

// drainView is an agent as GET_AGENTS shows it.
type drainView struct {
	Active      bool `json:"active"`
	Deactivated bool `json:"deactivated"`
	DrainInfo   *struct {
		State  string `json:"state"`
		Config struct {
			MaxGracePeriod *struct {
				Nanoseconds int64 `json:"nanoseconds"`
			} `json:"max_grace_period"`
			MarkGone bool `json:"mark_gone"`
		} `json:"config"`
	} `json:"drain_info"`
}

// agentView returns an agent as GET_AGENTS shows it, nil if not listed.
func agentView(t *testing.T, addr, aid string) *drainView {
	t.Helper()
	var out struct {
		GetAgents struct {
			Agents []struct {
				drainView
				AgentInfo struct {
					ID struct {
						Value string `json:"value"`
					} `json:"id"`
				} `json:"agent_info"`
			} `json:"agents"`
		} `json:"get_agents"`
	}
	operator(t, addr, `{"type":"GET_AGENTS"}`, &out)
	for _, a := range out.GetAgents.Agents {
		if a.AgentInfo.ID.Value == aid {
			return &a.drainView
		}
	}
	return nil
}

// drainState is an agent's drain state as GET_AGENTS shows it, "" when
// it is not draining or not listed.
func drainState(t *testing.T, addr, aid string) string {
	t.Helper()
	if v := agentView(t, addr, aid); v != nil && v.DrainInfo != nil {
		return v.DrainInfo.State
	}
	return ""
}

// offersFrom takes the events waiting on f's stream and counts the offers
// of each agent among them; a RESCIND counts under "rescind".
func offersFrom(f *framework) map[string]int {
	n := map[string]int{}
	for {
		select {
		case ev := <-f.events:
			switch {
			case ev == nil:
				return n
			case ev.Type == scheduler.EventOffers:
				for _, o := range ev.Offers.Offers {
					n[o.AgentID.Value]++
				}
			case ev.Type == scheduler.EventRescind:
				n["rescind"]++
			}
		default:
			return n
		}
	}
}

// DEACTIVATE_AGENT rescinds the agent's offers and offers nothing of it
// (while a second agent, started after, is offered); REACTIVATE_AGENT
// offers it again. Bad calls are a 400 that says why and change nothing.
func TestOperator_DeactivateAndReactivateAgent(t *testing.T) {
	s := servertest.NewServer(t, servertest.Options{Tweak: func(c *server.Config) { c.AllocationInterval = 20 * time.Millisecond }})
	addr := s.HTTPAddr()
	a := servertest.NewSimAgent(addr, agentResources())
	a.Start(t)
	f := subscribe(t, addr, subscribeBody("fw", "", ""))
	f.subscribed()
	if o := f.await(scheduler.EventOffers, 10*time.Second).Offers.Offers[0]; o.AgentID.Value != a.ID {
		t.Fatalf("offer of agent %s", o.AgentID.Value)
	}

	if code, out, _ := opCall(t, addr, "/api/v1", agentCall("DEACTIVATE_AGENT", a.ID, ""), nil); code != http.StatusOK {
		t.Fatalf("DEACTIVATE_AGENT: %d %s", code, out)
	}
	f.await(scheduler.EventRescind, 10*time.Second)
	if v := agentView(t, addr, a.ID); v == nil || v.Active || !v.Deactivated || v.DrainInfo != nil {
		t.Fatalf("GET_AGENTS after DEACTIVATE_AGENT: %+v", v)
	}
	b := servertest.NewSimAgent(addr, agentResources())
	b.Hostname = "sim2"
	b.Start(t)
	var seen map[string]int
	servertest.WaitFor(t, 10*time.Second, "an offer of the second agent", func() bool {
		seen = offersFrom(f)
		return seen[b.ID] > 0 || seen[a.ID] > 0
	})
	if seen[a.ID] != 0 {
		t.Fatalf("the deactivated agent was offered: %v", seen)
	}

	for _, bad := range []struct{ body, msg string }{
		{agentCall("REACTIVATE_AGENT", b.ID, ""), "not deactivated"},
		{agentCall("DEACTIVATE_AGENT", "nope", ""), "Unknown agent"},
		{agentCall("DRAIN_AGENT", a.ID, `,"max_grace_period":{"seconds":-5}`), "must not be negative"},
		{`{"type":"DEACTIVATE_AGENT","deactivate_agent":{}}`, "deactivate_agent.agent_id"},
	} {
		if code, out, _ := opCall(t, addr, "/api/v1", bad.body, nil); code != http.StatusBadRequest || !strings.Contains(out, bad.msg) {
			t.Errorf("%s: %d %q, want 400 with %q", bad.body, code, out, bad.msg)
		}
	}
	if v := agentView(t, addr, a.ID); !v.Deactivated || v.DrainInfo != nil {
		t.Fatalf("a refused call changed the agent: %+v", v)
	}
	if v := agentView(t, addr, b.ID); v.Deactivated || !v.Active {
		t.Fatalf("a refused call changed the second agent: %+v", v)
	}

	if code, out, _ := opCall(t, addr, "/api/v1", agentCall("REACTIVATE_AGENT", a.ID, ""), nil); code != http.StatusOK {
		t.Fatalf("REACTIVATE_AGENT: %d %s", code, out)
	}
	servertest.WaitFor(t, 10*time.Second, "an offer of the reactivated agent", func() bool { return offersFrom(f)[a.ID] > 0 })
	if v := agentView(t, addr, a.ID); !v.Active || v.Deactivated {
		t.Fatalf("GET_AGENTS after REACTIVATE_AGENT: %+v", v)
	}
}

// launchWithGrace launches one sleeping task per id on o, each with the
// kill policy grace period given (0: none); what the tasks leave of the
// offer is offered again at once (refuse_seconds 0).
func launchWithGrace(f *framework, o mesos.Offer, graces map[string]time.Duration) {
	f.t.Helper()
	var tasks []mesos.TaskInfo
	for id, g := range graces {
		ti := mesos.TaskInfo{Name: id, TaskID: mesos.TaskID{Value: id}, AgentID: o.AgentID,
			Resources: []mesos.Resource{mesos.ScalarResource("cpus", 0.1), mesos.ScalarResource("mem", 32)},
			Command:   &mesos.CommandInfo{Value: "sleep 1000"}}
		if g > 0 {
			ti.KillPolicy = &mesos.KillPolicy{GracePeriod: &mesos.DurationInfo{Nanoseconds: int64(g)}}
		}
		tasks = append(tasks, ti)
	}
	acc := scheduler.Accept{OfferIDs: []mesos.OfferID{o.ID}, Operations: []mesos.OfferOperation{{
		Type: mesos.OperationLaunch, Launch: &struct {
			TaskInfos []mesos.TaskInfo `json:"task_infos,omitempty"`
		}{TaskInfos: tasks}}}}
	zero := 0.0
	acc.Filters = &mesos.Filters{RefuseSeconds: &zero}
	body, _ := json.Marshal(acc)
	f.mustCall("ACCEPT", "accept", string(body))
}

// awaitRunning acknowledges updates until n tasks are TASK_RUNNING.
func awaitRunning(f *framework, n int) {
	f.t.Helper()
	for n > 0 {
		st := f.await(scheduler.EventUpdate, 10*time.Second).Update.Status
		f.ack(st)
		if st.State == mesos.TaskRunning {
			n--
		}
	}
}

// DRAIN_AGENT kills every task on the agent with its grace period capped
// by max_grace_period, keeps the agent DRAINING until the frameworks have
// acknowledged every terminal update, then DRAINED; nothing is offered of
// it meanwhile, and it cannot be reactivated while DRAINING.
func TestOperator_DrainAgentKillsWithTheGraceThenDrained(t *testing.T) {
	s := servertest.NewServer(t, servertest.Options{Tweak: func(c *server.Config) { c.AllocationInterval = 20 * time.Millisecond }})
	addr := s.HTTPAddr()
	a := servertest.NewSimAgent(addr, agentResources())
	a.Start(t)
	f := subscribe(t, addr, subscribeBody("fw", "", ""))
	f.subscribed()
	o := f.await(scheduler.EventOffers, 10*time.Second).Offers.Offers[0]
	launchWithGrace(f, o, map[string]time.Duration{"long": time.Minute, "short": time.Second, "none": 0})
	awaitRunning(f, 3)

	if code, out, _ := opCall(t, addr, "/api/v1", agentCall("DRAIN_AGENT", a.ID, `,"max_grace_period":{"seconds":5}`), nil); code != http.StatusOK {
		t.Fatalf("DRAIN_AGENT: %d %s", code, out)
	}
	want := map[string]int64{"long": 5e9, "short": 1e9, "none": 5e9}
	servertest.WaitFor(t, 10*time.Second, "the agent to get the kills", func() bool {
		for id := range want {
			if len(a.Kills(f.id, id)) == 0 {
				return false
			}
		}
		return true
	})
	for id, g := range want {
		p := a.Kills(f.id, id)[0]
		if p == nil || p.GracePeriod == nil || p.GracePeriod.Nanoseconds != g {
			t.Errorf("task %s killed with policy %+v, want grace %dns", id, p, g)
		}
	}
	var killed []mesos.TaskStatus
	for len(killed) < 3 {
		if st := f.await(scheduler.EventUpdate, 10*time.Second).Update.Status; st.State == mesos.TaskKilled {
			killed = append(killed, st)
		}
	}
	v := agentView(t, addr, a.ID)
	if v == nil || v.Active || !v.Deactivated || v.DrainInfo == nil || v.DrainInfo.State != "DRAINING" ||
		v.DrainInfo.Config.MaxGracePeriod == nil || v.DrainInfo.Config.MaxGracePeriod.Nanoseconds != 5e9 {
		t.Fatalf("GET_AGENTS before the acknowledgements: %+v", v)
	}
	var state struct {
		Slaves []struct {
			ID          string `json:"id"`
			Active      bool   `json:"active"`
			Deactivated bool   `json:"deactivated"`
			Drain       *struct {
				State string `json:"state"`
			} `json:"drain_info"`
		} `json:"slaves"`
	}
	getJSONAt(t, addr, "/state", &state)
	if len(state.Slaves) != 1 || state.Slaves[0].Active || !state.Slaves[0].Deactivated || state.Slaves[0].Drain == nil || state.Slaves[0].Drain.State != "DRAINING" {
		t.Errorf("/state's slaves while draining: %+v", state.Slaves)
	}
	if code, out, _ := opCall(t, addr, "/api/v1", agentCall("REACTIVATE_AGENT", a.ID, ""), nil); code != http.StatusBadRequest || !strings.Contains(out, "DRAINING") {
		t.Errorf("REACTIVATE_AGENT while draining: %d %s", code, out)
	}
	f.ack(killed[0])
	f.ack(killed[1])
	servertest.WaitFor(t, 10*time.Second, "two acknowledgements committed", func() bool {
		n := 0
		for _, tk := range s.FSM().State().TasksByAgent(a.ID) {
			if tk.Completed {
				n++
			}
		}
		return n == 2
	})
	if got := drainState(t, addr, a.ID); got != "DRAINING" {
		t.Fatalf("drain state with one terminal update unacknowledged: %q", got)
	}
	f.ack(killed[2])
	servertest.WaitFor(t, 10*time.Second, "the agent drained", func() bool { return drainState(t, addr, a.ID) == "DRAINED" })
	// The framework neither declines nor accepts: an offer of the agent
	// made during the drain would still be outstanding.
	if got := offersFrom(f)[a.ID]; got != 0 || len(s.FSM().State().OffersByAgent(a.ID)) != 0 {
		t.Fatalf("the draining agent was offered (%d offers seen, %d outstanding)", got, len(s.FSM().State().OffersByAgent(a.ID)))
	}
	if got := s.FSM().State().Agent(a.ID).State; got != "active" {
		t.Fatalf("agent state %q after a drain without mark_gone", got)
	}
	// A drained agent may be reactivated, and is offered again.
	if code, out, _ := opCall(t, addr, "/api/v1", agentCall("REACTIVATE_AGENT", a.ID, ""), nil); code != http.StatusOK {
		t.Fatalf("REACTIVATE_AGENT once drained: %d %s", code, out)
	}
	f.await(scheduler.EventOffers, 10*time.Second)
}

// DRAIN_AGENT with mark_gone marks the agent gone once drained: its tasks
// end TASK_GONE_BY_OPERATOR (TASK_LOST for a framework that is not
// partition-aware), it is refused, and a drain of it is then a 400.
func TestOperator_DrainAgentMarkGone(t *testing.T) {
	s := servertest.NewServer(t, servertest.Options{})
	addr := s.HTTPAddr()
	a := servertest.NewSimAgent(addr, agentResources())
	a.Start(t)
	f := subscribe(t, addr, subscribeBody("pa", "", `"capabilities":[{"type":"PARTITION_AWARE"}]`))
	f.subscribed()
	o := f.await(scheduler.EventOffers, 10*time.Second).Offers.Offers[0]
	launchWithGrace(f, o, map[string]time.Duration{"t1": 0})
	awaitRunning(f, 1)
	g := subscribe(t, addr, subscribeBody("plain", "", ""))
	g.subscribed()
	// What is left of the agent goes to the second framework once the
	// first declines its offer of it for a while.
	declined := map[string]bool{}
	servertest.WaitFor(t, 10*time.Second, "an offer of the agent to the second framework", func() bool {
		for _, o := range s.FSM().State().OffersByAgent(a.ID) {
			if o.FrameworkID == g.id {
				return true
			}
			if !declined[o.ID] {
				declined[o.ID] = true
				f.mustCall("DECLINE", "decline", `{"offer_ids":[{"value":"`+o.ID+`"}],"filters":{"refuse_seconds":3600}}`)
			}
		}
		return false
	})
	o = g.await(scheduler.EventOffers, 10*time.Second).Offers.Offers[0]
	launchWithGrace(g, o, map[string]time.Duration{"t2": 0})
	awaitRunning(g, 1)
	if code, out, _ := opCall(t, addr, "/api/v1", agentCall("DRAIN_AGENT", a.ID, `,"mark_gone":true`), nil); code != http.StatusOK {
		t.Fatalf("DRAIN_AGENT: %d %s", code, out)
	}
	st := f.await(scheduler.EventUpdate, 10*time.Second).Update.Status
	if st.State != mesos.TaskGoneByOperator {
		t.Fatalf("update %+v, want TASK_GONE_BY_OPERATOR", st)
	}
	st2 := g.await(scheduler.EventUpdate, 10*time.Second).Update.Status
	if st2.State != mesos.TaskLost {
		t.Fatalf("update %+v, want TASK_LOST", st2)
	}
	if p := a.Kills(f.id, "t1"); len(p) != 1 || p[0] != nil {
		t.Errorf("kills without a max grace period: %+v, want one with the task's own (none)", p)
	}
	f.ack(st)
	g.ack(st2)
	servertest.WaitFor(t, 10*time.Second, "the agent gone", func() bool { return s.FSM().State().Agent(a.ID).State == "gone" })
	servertest.WaitFor(t, 10*time.Second, "the agent refused", func() bool { return strings.Contains(a.Refused(), "marked gone") })
	if d := s.FSM().State().Agent(a.ID).Drain; d == nil || d.State != "DRAINED" {
		t.Errorf("drain of the gone agent: %+v", d)
	}
	if code, out, _ := opCall(t, addr, "/api/v1", agentCall("DRAIN_AGENT", a.ID, ""), nil); code != http.StatusBadRequest || !strings.Contains(out, "gone") {
		t.Errorf("DRAIN_AGENT of a gone agent: %d %s", code, out)
	}
}

// A drain in progress survives a leader change: an agent that was away
// when the drain began is still DRAINING on the new leader, which offers
// nothing of it, sends it the kill (with the drain's grace) when it
// re-registers, and completes the drain once the framework acknowledges
// the terminal update.
func TestOperator_DrainSurvivesALeaderChange(t *testing.T) {
	c := servertest.NewCluster(t, 3, func(cfg *server.Config) { cfg.AllocationInterval = 50 * time.Millisecond })
	old := c.WaitLeader()
	oldAddr := c.Servers[old].HTTPAddr()
	a := servertest.NewSimAgent(oldAddr, agentResources())
	a.Start(t)
	f := subscribe(t, oldAddr, subscribeBody("fw", "", `"failover_timeout":3600`))
	f.subscribed()
	o := f.await(scheduler.EventOffers, 10*time.Second).Offers.Offers[0]
	launchWithGrace(f, o, map[string]time.Duration{"t1": time.Minute})
	awaitRunning(f, 1)
	// The acknowledgement reaches the agent before it goes away: otherwise
	// it would send TASK_RUNNING again, before the TASK_KILLED awaited below.
	servertest.WaitFor(t, 5*time.Second, "the ack to reach the agent", func() bool {
		return a.TaskState(f.id, "t1") == mesos.TaskRunning
	})
	// The rest of the agent is offered; its offer is rescinded once the
	// leader has seen the agent go.
	offered := func() bool { return len(c.Servers[old].FSM().State().OffersByAgent(a.ID)) > 0 }
	servertest.WaitFor(t, 10*time.Second, "the rest of the agent offered", offered)
	a.Stop()
	servertest.WaitFor(t, 10*time.Second, "the agent's offer rescinded", func() bool { return !offered() })
	if code, out, _ := opCall(t, oldAddr, "/api/v1", agentCall("DRAIN_AGENT", a.ID, `,"max_grace_period":{"seconds":2}`), nil); code != http.StatusOK {
		t.Fatalf("DRAIN_AGENT: %d %s", code, out)
	}
	if got := drainState(t, oldAddr, a.ID); got != "DRAINING" {
		t.Fatalf("drain state: %q", got)
	}
	f.close()

	c.Isolate(old)
	servertest.WaitFor(t, 5*time.Second, "old leader to step down", func() bool { return !c.Servers[old].IsLeader() })
	addr := c.Servers[c.WaitLeader()].HTTPAddr()
	if got := drainState(t, addr, a.ID); got != "DRAINING" {
		t.Fatalf("drain state on the new leader: %q", got)
	}
	g := subscribe(t, addr, subscribeBody("fw", f.id, `"failover_timeout":3600`))
	g.subscribed()
	b := servertest.NewSimAgent(addr, agentResources())
	b.Hostname = "sim2"
	b.Start(t)
	if len(a.Kills(f.id, "t1")) != 0 {
		t.Fatal("the agent was sent a kill while away")
	}
	a.Server = addr
	a.Start(t)
	servertest.WaitFor(t, 10*time.Second, "the kill from the new leader", func() bool { return len(a.Kills(f.id, "t1")) > 0 })
	if p := a.Kills(f.id, "t1")[0]; p == nil || p.GracePeriod == nil || p.GracePeriod.Nanoseconds != 2e9 {
		t.Errorf("kill from the new leader: %+v, want grace 2s", p)
	}
	var killed mesos.TaskStatus
	seen := map[string]int{}
	servertest.WaitFor(t, 10*time.Second, "the TASK_KILLED and an offer of the second agent", func() bool {
		for {
			select {
			case ev := <-g.events:
				if ev == nil {
					return false
				}
				switch ev.Type {
				case scheduler.EventUpdate:
					if ev.Update.Status.State == mesos.TaskKilled {
						killed = ev.Update.Status
					}
				case scheduler.EventOffers:
					for _, o := range ev.Offers.Offers {
						seen[o.AgentID.Value]++
					}
				}
				continue
			default:
			}
			return killed.State != "" && seen[b.ID] > 0
		}
	})
	if seen[a.ID] != 0 {
		t.Fatalf("the new leader offered the draining agent: %v", seen)
	}
	g.ack(killed)
	servertest.WaitFor(t, 10*time.Second, "the agent drained", func() bool { return drainState(t, addr, a.ID) == "DRAINED" })
	c.Heal()
	c.CheckConsistent()
}
