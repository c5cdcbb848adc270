package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"mesh/mesos"
	"mesh/mesos/agentapi"
	"mesh/mesos/scheduler"
	"mesh/server"
	"mesh/server/servertest"
)

// scheduleBody is an UPDATE_MAINTENANCE_SCHEDULE of one window per
// hostname (agents of the sim harness register from 127.0.0.1), each
// starting at start and lasting an hour.
func scheduleBody(start int64, hosts ...string) string {
	var ws []string
	for _, h := range hosts {
		ws = append(ws, fmt.Sprintf(`{"machine_ids":[{"hostname":%q,"ip":"127.0.0.1"}],"unavailability":{"start":{"nanoseconds":%d},"duration":{"nanoseconds":3600000000000}}}`, h, start))
	}
	return `{"type":"UPDATE_MAINTENANCE_SCHEDULE","update_maintenance_schedule":{"schedule":{"windows":[` + strings.Join(ws, ",") + `]}}}`
}

// machinesCall is a START_MAINTENANCE or STOP_MAINTENANCE of hostnames.
func machinesCall(typ string, hosts ...string) string {
	var ms []string
	for _, h := range hosts {
		ms = append(ms, fmt.Sprintf(`{"hostname":%q,"ip":"127.0.0.1"}`, h))
	}
	return fmt.Sprintf(`{"type":%q,%q:{"machines":[%s]}}`, typ, strings.ToLower(typ), strings.Join(ms, ","))
}

func mustOp(t *testing.T, addr, body string) {
	t.Helper()
	if code, out, _ := opCall(t, addr, "/api/v1", body, nil); code != http.StatusOK {
		t.Fatalf("%s: %d %s", body, code, out)
	}
}

// maintStatus is GET_MAINTENANCE_STATUS's answer.
type maintStatus struct {
	Draining []struct {
		ID       mesos.MachineID            `json:"id"`
		Statuses []mesos.InverseOfferStatus `json:"statuses"`
	} `json:"draining_machines"`
	Down []mesos.MachineID `json:"down_machines"`
}

func getStatus(t *testing.T, addr string) maintStatus {
	t.Helper()
	var out struct {
		GetMaintenanceStatus struct {
			Status maintStatus `json:"status"`
		} `json:"get_maintenance_status"`
	}
	operator(t, addr, `{"type":"GET_MAINTENANCE_STATUS"}`, &out)
	return out.GetMaintenanceStatus.Status
}

// answerOf is a framework's answer for a host in the status, "" if none.
func answerOf(st maintStatus, host, fid string) string {
	for _, d := range st.Draining {
		if d.ID.Hostname != host {
			continue
		}
		for _, s := range d.Statuses {
			if s.FrameworkID.Value == fid {
				return s.Status
			}
		}
	}
	return ""
}

// twoAgents starts agents "rack1" and "rack2" and a framework running
// one task on each.
func twoAgents(t *testing.T, addr string) (*servertest.SimAgent, *servertest.SimAgent, *framework) {
	t.Helper()
	a := servertest.NewSimAgent(addr, agentResources())
	a.Hostname = "rack1"
	a.Start(t)
	b := servertest.NewSimAgent(addr, agentResources())
	b.Hostname = "rack2"
	b.Start(t)
	f := subscribe(t, addr, subscribeBody("fw", "", ""))
	f.subscribed()
	launched := map[string]bool{}
	for len(launched) < 2 {
		for _, o := range f.await(scheduler.EventOffers, 10*time.Second).Offers.Offers {
			if !launched[o.AgentID.Value] {
				launched[o.AgentID.Value] = true
				launchWithGrace(f, o, map[string]time.Duration{"t-" + o.Hostname: 2 * time.Second})
			}
		}
	}
	awaitRunning(f, 2)
	return a, b, f
}

// TestMaintenance_BadScheduleIs400AndChangesNothing: each kind of bad
// maintenance call is a 400 that says what was wrong, and the schedule
// is as it was.
func TestMaintenance_BadScheduleIs400AndChangesNothing(t *testing.T) {
	s := servertest.NewServer(t, servertest.Options{})
	addr := s.HTTPAddr()
	mustOp(t, addr, scheduleBody(1, "rack1"))
	before := s.FSM().State().Maintenance()
	twice := `{"type":"UPDATE_MAINTENANCE_SCHEDULE","update_maintenance_schedule":{"schedule":{"windows":[` +
		`{"machine_ids":[{"hostname":"a"}],"unavailability":{"start":{"nanoseconds":1}}},` +
		`{"machine_ids":[{"hostname":"A"}],"unavailability":{"start":{"nanoseconds":5}}}]}}}`
	for _, bad := range []struct{ body, msg string }{
		{twice, "appears more than once in the schedule"},
		{`{"type":"UPDATE_MAINTENANCE_SCHEDULE","update_maintenance_schedule":{"schedule":{"windows":[{"machine_ids":[{}],"unavailability":{"start":{"nanoseconds":1}}}]}}}`, "neither"},
		{`{"type":"UPDATE_MAINTENANCE_SCHEDULE","update_maintenance_schedule":{"schedule":{"windows":[{"machine_ids":[{"ip":"300.1.1.1"}],"unavailability":{"start":{"nanoseconds":1}}}]}}}`, "not a valid IPv4 address"},
		{`{"type":"UPDATE_MAINTENANCE_SCHEDULE","update_maintenance_schedule":{"schedule":{"windows":[{"unavailability":{"start":{"nanoseconds":1}}}]}}}`, "lists no machine"},
		{`{"type":"UPDATE_MAINTENANCE_SCHEDULE","update_maintenance_schedule":{"schedule":{"windows":[{"machine_ids":[{"hostname":"a"}],"unavailability":{"start":{"nanoseconds":1},"duration":{"nanoseconds":-1}}}]}}}`, "negative"},
		{`{"type":"UPDATE_MAINTENANCE_SCHEDULE","update_maintenance_schedule":{"schedule":{"windows":[{"machine_ids":[{"hostname":"a"}]}]}}}`, "windows[].unavailability"},
		{machinesCall("START_MAINTENANCE", "unknown-machine"), "not in the maintenance schedule"},
		{machinesCall("STOP_MAINTENANCE", "rack1"), "cannot be brought up"},
		{`{"type":"START_MAINTENANCE","start_maintenance":{}}`, "list of machines is empty"},
	} {
		if code, out, _ := opCall(t, addr, "/api/v1", bad.body, nil); code != http.StatusBadRequest || !strings.Contains(out, bad.msg) {
			t.Errorf("%s: %d %q, want 400 with %q", bad.body, code, out, bad.msg)
		}
	}
	if after := s.FSM().State().Maintenance(); !reflect.DeepEqual(before, after) {
		t.Fatalf("refused calls changed the schedule:\n%+v\n%+v", before, after)
	}
	var out struct {
		GetMaintenanceSchedule struct {
			Schedule struct {
				Windows []struct {
					MachineIDs []mesos.MachineID `json:"machine_ids"`
				} `json:"windows"`
			} `json:"schedule"`
		} `json:"get_maintenance_schedule"`
	}
	operator(t, addr, `{"type":"GET_MAINTENANCE_SCHEDULE"}`, &out)
	if w := out.GetMaintenanceSchedule.Schedule.Windows; len(w) != 1 || w[0].MachineIDs[0] != (mesos.MachineID{Hostname: "rack1", IP: "127.0.0.1"}) {
		t.Fatalf("GET_MAINTENANCE_SCHEDULE: %+v", out)
	}
}

// TestMaintenance_InverseOffersAcceptAndDecline: scheduling one machine
// sends the framework an inverse offer for that machine's agent only,
// with the window; offers of the agent carry it too. Answers are in
// GET_MAINTENANCE_STATUS; an answer's filter holds back the next inverse
// offer until it expires, and a new window rescinds the outstanding one.
func TestMaintenance_InverseOffersAcceptAndDecline(t *testing.T) {
	s := servertest.NewServer(t, servertest.Options{Tweak: func(c *server.Config) { c.AllocationInterval = 20 * time.Millisecond }})
	addr := s.HTTPAddr()
	a, b, f := twoAgents(t, addr)
	start := time.Now().Add(time.Hour).UnixNano()
	mustOp(t, addr, scheduleBody(start, "rack1"))
	// The inverse offer comes, and what is left of rack1 is offered again
	// with its unavailability (rack2's offers carry none), in either order.
	var inv []mesos.InverseOffer
	rack1Offered := false
	for deadline := time.Now().Add(10 * time.Second); inv == nil || !rack1Offered; {
		if time.Now().After(deadline) {
			t.Fatalf("inverse offer %+v, rack1 offered with its window: %v", inv, rack1Offered)
		}
		ev := f.next(10 * time.Second)
		switch ev.Type {
		case scheduler.EventInverseOffers:
			inv = ev.InverseOffers.InverseOffers
		case scheduler.EventOffers:
			for _, o := range ev.Offers.Offers {
				if o.AgentID.Value == a.ID && o.Unavailability != nil {
					rack1Offered = o.Unavailability.Start.Nanoseconds == start
				}
				if o.AgentID.Value == b.ID && o.Unavailability != nil {
					t.Fatalf("offer of the unscheduled agent with unavailability %+v", o.Unavailability)
				}
			}
		}
	}
	if len(inv) != 1 || inv[0].AgentID == nil || inv[0].AgentID.Value != a.ID || inv[0].Unavailability.Start.Nanoseconds != start {
		t.Fatalf("inverse offers %+v, want one for agent %s (not %s) starting at %d", inv, a.ID, b.ID, start)
	}
	if got := answerOf(getStatus(t, addr), "rack1", f.id); got != "UNKNOWN" {
		t.Fatalf("status before an answer: %q", got)
	}
	var fws struct {
		GetFrameworks struct {
			Frameworks []struct {
				InverseOffers []mesos.InverseOffer `json:"inverse_offers"`
			} `json:"frameworks"`
		} `json:"get_frameworks"`
	}
	operator(t, addr, `{"type":"GET_FRAMEWORKS"}`, &fws)
	if l := fws.GetFrameworks.Frameworks; len(l) != 1 || len(l[0].InverseOffers) != 1 || l[0].InverseOffers[0].ID != inv[0].ID {
		t.Fatalf("GET_FRAMEWORKS' inverse offers: %+v, want %s", l, inv[0].ID.Value)
	}

	// ACCEPT with no filter: a new inverse offer comes at once.
	f.mustCall("ACCEPT_INVERSE_OFFERS", "accept_inverse_offers", `{"inverse_offer_ids":[{"value":"`+inv[0].ID.Value+`"}],"filters":{"refuse_seconds":0}}`)
	servertest.WaitFor(t, 10*time.Second, "the ACCEPT in the status", func() bool { return answerOf(getStatus(t, addr), "rack1", f.id) == "ACCEPT" })
	again := f.await(scheduler.EventInverseOffers, 10*time.Second).InverseOffers.InverseOffers[0]
	// DECLINE for an hour: while the filter holds, rack1 gets no inverse
	// offer, even from the pass that makes one for rack2 once it is
	// scheduled too.
	f.mustCall("DECLINE_INVERSE_OFFERS", "decline_inverse_offers", `{"inverse_offer_ids":[{"value":"`+again.ID.Value+`"}],"filters":{"refuse_seconds":3600}}`)
	servertest.WaitFor(t, 10*time.Second, "the DECLINE in the status", func() bool { return answerOf(getStatus(t, addr), "rack1", f.id) == "DECLINE" })
	// An unknown id is dropped, as Mesos drops it.
	f.mustCall("ACCEPT_INVERSE_OFFERS", "accept_inverse_offers", `{"inverse_offer_ids":[{"value":"nope"}]}`)
	mustOp(t, addr, scheduleBody(start, "rack1", "rack2"))
	rack2 := f.await(scheduler.EventInverseOffers, 10*time.Second).InverseOffers.InverseOffers
	if len(rack2) != 1 || rack2[0].AgentID.Value != b.ID {
		t.Fatalf("inverse offers with rack1 declined for an hour: %+v, want only rack2's", rack2)
	}
	// A new window for rack1, and rack2 out of the schedule: rack2's
	// inverse offer is rescinded; rack1's answer was to the old window,
	// and an inverse offer for the new one comes at once.
	later := start + int64(time.Hour)
	mustOp(t, addr, scheduleBody(later, "rack1"))
	if r := f.await(scheduler.EventRescindInverseOffer, 10*time.Second).RescindInverseOffer; r.InverseOfferID != rack2[0].ID {
		t.Fatalf("rescinded %s, want rack2's %s", r.InverseOfferID.Value, rack2[0].ID.Value)
	}
	next := f.await(scheduler.EventInverseOffers, 10*time.Second).InverseOffers.InverseOffers
	if len(next) != 1 || next[0].AgentID.Value != a.ID || next[0].Unavailability.Start.Nanoseconds != later {
		t.Fatalf("inverse offers after the window moved: %+v", next)
	}
	// Emptying the schedule rescinds what is outstanding.
	mustOp(t, addr, `{"type":"UPDATE_MAINTENANCE_SCHEDULE","update_maintenance_schedule":{"schedule":{}}}`)
	if r := f.await(scheduler.EventRescindInverseOffer, 10*time.Second).RescindInverseOffer; r.InverseOfferID != next[0].ID {
		t.Fatalf("rescinded %s, want %s", r.InverseOfferID.Value, next[0].ID.Value)
	}
	if st := getStatus(t, addr); len(st.Draining) != 0 || len(st.Down) != 0 {
		t.Fatalf("status with an empty schedule: %+v", st)
	}
}

// TestMaintenance_StartTakesTheMachineDownStopBringsItUp: START kills the
// machine's task with its grace period, leaves the other machine's task
// alone, cuts the drained agent off and refuses it while DOWN; STOP lets
// it register again and be offered.
func TestMaintenance_StartTakesTheMachineDownStopBringsItUp(t *testing.T) {
	s := servertest.NewServer(t, servertest.Options{Tweak: func(c *server.Config) { c.AllocationInterval = 20 * time.Millisecond }})
	addr := s.HTTPAddr()
	a, b, f := twoAgents(t, addr)
	mustOp(t, addr, scheduleBody(time.Now().UnixNano(), "rack1"))
	if code, out, _ := opCall(t, addr, "/api/v1", machinesCall("START_MAINTENANCE", "RACK1"), nil); code != http.StatusOK {
		t.Fatalf("START_MAINTENANCE: %d %s", code, out)
	}
	servertest.WaitFor(t, 10*time.Second, "the kill of rack1's task", func() bool { return len(a.Kills(f.id, "t-rack1")) > 0 })
	if p := a.Kills(f.id, "t-rack1")[0]; p == nil || p.GracePeriod == nil || p.GracePeriod.Nanoseconds != int64(2*time.Second) {
		t.Fatalf("killed with %+v, want the task's 2s grace", p)
	}
	awaitKilled(f, "t-rack1")
	servertest.WaitFor(t, 10*time.Second, "the agent cut off", func() bool { return strings.Contains(a.Refused(), "DOWN for maintenance") })
	if st := getStatus(t, addr); len(st.Down) != 1 || st.Down[0].Hostname != "rack1" {
		t.Fatalf("status after START: %+v", st)
	}
	if k := b.Kills(f.id, "t-rack2"); len(k) != 0 || b.TaskState(f.id, "t-rack2") != mesos.TaskRunning {
		t.Fatalf("the other machine's task was touched: kills %v, state %s", k, b.TaskState(f.id, "t-rack2"))
	}
	if code, msg := registerAs(t, addr, "rack1", a.ID); code != http.StatusForbidden || !strings.Contains(msg, "DOWN") {
		t.Fatalf("registration from the DOWN machine: %d %s", code, msg)
	}

	mustOp(t, addr, machinesCall("STOP_MAINTENANCE", "rack1"))
	if st := getStatus(t, addr); len(st.Down) != 0 || len(st.Draining) != 0 {
		t.Fatalf("status after STOP: %+v", st)
	}
	a.Stop()
	a.Start(t)
	servertest.WaitFor(t, 10*time.Second, "an offer of rack1 again", func() bool {
		for _, o := range f.await(scheduler.EventOffers, 10*time.Second).Offers.Offers {
			if o.AgentID.Value == a.ID {
				return o.Unavailability == nil
			}
		}
		return false
	})
}

// registerAs posts an agent registration from hostname and returns the
// answer's status and body.
func registerAs(t *testing.T, addr, hostname, id string) (int, string) {
	t.Helper()
	sub := &agentapi.Subscribe{AgentInfo: mesos.AgentInfo{Hostname: hostname, Port: 5051, ID: &mesos.AgentID{Value: id},
		Resources: agentResources()}}
	body, _ := json.Marshal(agentapi.Call{Type: agentapi.CallSubscribe, Subscribe: sub})
	resp, err := http.Post("http://"+addr+agentapi.Path, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	buf.ReadFrom(resp.Body)
	return resp.StatusCode, buf.String()
}

// TestMaintenance_LeaderChangeKeepsTheSchedule: the schedule, a DOWN
// machine and a framework's answer are in the replicated state: the new
// leader shows them, refuses the DOWN machine's agents, and makes inverse
// offers for the DRAINING machine itself.
func TestMaintenance_LeaderChangeKeepsTheSchedule(t *testing.T) {
	c := servertest.NewCluster(t, 3, func(cfg *server.Config) { cfg.AllocationInterval = 50 * time.Millisecond })
	old := c.WaitLeader()
	oldAddr := c.Servers[old].HTTPAddr()
	a := servertest.NewSimAgent(oldAddr, agentResources())
	a.Hostname = "rack1"
	a.Start(t)
	f := subscribe(t, oldAddr, subscribeBody("fw", "", `"failover_timeout":3600`))
	f.subscribed()
	launchWithGrace(f, f.await(scheduler.EventOffers, 10*time.Second).Offers.Offers[0], map[string]time.Duration{"t1": 0})
	awaitRunning(f, 1)
	start := time.Now().Add(time.Hour).UnixNano()
	mustOp(t, oldAddr, scheduleBody(start, "rack1", "spare"))
	mustOp(t, oldAddr, machinesCall("START_MAINTENANCE", "spare"))
	inv := f.await(scheduler.EventInverseOffers, 10*time.Second).InverseOffers.InverseOffers[0]
	f.mustCall("DECLINE_INVERSE_OFFERS", "decline_inverse_offers", `{"inverse_offer_ids":[{"value":"`+inv.ID.Value+`"}],"filters":{"refuse_seconds":3600}}`)
	servertest.WaitFor(t, 10*time.Second, "the DECLINE in the status", func() bool { return answerOf(getStatus(t, oldAddr), "rack1", f.id) == "DECLINE" })
	f.close()

	c.Isolate(old)
	servertest.WaitFor(t, 5*time.Second, "old leader to step down", func() bool { return !c.Servers[old].IsLeader() })
	addr := c.Servers[c.WaitLeader()].HTTPAddr()
	st := getStatus(t, addr)
	if answerOf(st, "rack1", f.id) != "DECLINE" || len(st.Down) != 1 || st.Down[0].Hostname != "spare" {
		t.Fatalf("status on the new leader: %+v", st)
	}
	if code, msg := registerAs(t, addr, "spare", ""); code != http.StatusForbidden || !strings.Contains(msg, "DOWN") {
		t.Fatalf("registration from the DOWN machine on the new leader: %d %s", code, msg)
	}
	g := subscribe(t, addr, subscribeBody("fw", f.id, `"failover_timeout":3600`))
	g.subscribed()
	// Once the window moves the answer goes with it, and the new leader
	// asks again: for the new window (an inverse offer for the old one, had
	// the new leader ignored the decline's filter, would come first).
	later := start + int64(time.Hour)
	mustOp(t, addr, scheduleBody(later, "rack1", "spare"))
	got := g.await(scheduler.EventInverseOffers, 10*time.Second).InverseOffers.InverseOffers
	if len(got) != 1 || got[0].AgentID.Value != a.ID || got[0].Unavailability.Start.Nanoseconds != later {
		t.Fatalf("inverse offers from the new leader: %+v", got)
	}
	c.Heal()
	c.CheckConsistent()
}

// TestMaintenance_AgentAwayAtStartFinishesItsDrain: an agent away when
// its machine goes DOWN may register once more, still DRAINING, to be
// sent the kills; once drained it is cut off and refused like the rest.
func TestMaintenance_AgentAwayAtStartFinishesItsDrain(t *testing.T) {
	s := servertest.NewServer(t, servertest.Options{Tweak: func(c *server.Config) { c.AllocationInterval = 20 * time.Millisecond }})
	addr := s.HTTPAddr()
	a := servertest.NewSimAgent(addr, agentResources())
	a.Hostname = "rack1"
	a.Start(t)
	f := subscribe(t, addr, subscribeBody("fw", "", ""))
	f.subscribed()
	launchWithGrace(f, f.await(scheduler.EventOffers, 10*time.Second).Offers.Offers[0], map[string]time.Duration{"t1": time.Second})
	awaitRunning(f, 1)
	servertest.WaitFor(t, 5*time.Second, "the ack to reach the agent", func() bool { return a.TaskState(f.id, "t1") == mesos.TaskRunning })
	a.Stop()
	mustOp(t, addr, scheduleBody(time.Now().UnixNano(), "rack1"))
	mustOp(t, addr, machinesCall("START_MAINTENANCE", "rack1"))
	if k := a.Kills(f.id, "t1"); len(k) != 0 {
		t.Fatalf("the agent away was sent kills: %v", k)
	}
	a.Start(t)
	servertest.WaitFor(t, 10*time.Second, "the kill of the task", func() bool { return len(a.Kills(f.id, "t1")) > 0 })
	awaitKilled(f, "t1")
	servertest.WaitFor(t, 10*time.Second, "the drained agent cut off", func() bool { return strings.Contains(a.Refused(), "DOWN for maintenance") })
	if code, msg := registerAs(t, addr, "rack1", a.ID); code != http.StatusForbidden || !strings.Contains(msg, "DOWN") {
		t.Fatalf("registration once drained: %d %s", code, msg)
	}
}

// awaitKilled acknowledges updates until the task's TASK_KILLED, among at
// most 20 updates.
func awaitKilled(f *framework, task string) {
	f.t.Helper()
	for i := 0; i < 20; i++ {
		st := f.await(scheduler.EventUpdate, 10*time.Second).Update.Status
		f.ack(st)
		if st.TaskID.Value == task && st.State == mesos.TaskKilled {
			return
		}
	}
	f.t.Fatalf("no TASK_KILLED for %s among 20 updates", task)
}
