package fsm

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"

	"mesh/mesos"
)

// maintSeed is seed's state with the agent registered from 10.0.0.1 as
// host "H1", and a second agent on another machine.
func maintSeed(t *testing.T) *FSM {
	t.Helper()
	f := seed(t)
	a := *f.State().Agent("c1-S0")
	a.Address, a.Info.Hostname = "10.0.0.1:5051", "H1"
	apply(t, f, AgentRegisterRequestType, &AgentRegisterRequest{Agent: a})
	apply(t, f, AgentRegisterRequestType, &AgentRegisterRequest{Agent: Agent{ID: "c1-S1", State: AgentActive, Address: "10.0.0.2:5051",
		Info: mesos.AgentInfo{Hostname: "h2", Resources: cpusMem(4, 4096)}}, New: true, Seq: 1})
	return f
}

func window(start int64, machines ...mesos.MachineID) MaintenanceWindow {
	d := int64(3600e9)
	return MaintenanceWindow{Machines: machines, Start: start, Duration: &d}
}

var (
	m1 = mesos.MachineID{Hostname: "h1", IP: "10.0.0.1"}
	m2 = mesos.MachineID{Hostname: "h2", IP: "10.0.0.2"}
)

func applyErr(t *testing.T, f *FSM, typ MessageType, req any) error {
	t.Helper()
	err, _ := apply(t, f, typ, req).(error)
	return err
}

// TestMaintenance_BadScheduleRefusedStateUnchanged: each kind of bad
// schedule or machine list is refused with a message that says what was
// wrong, and the replicated state is the same as before.
func TestMaintenance_BadScheduleRefusedStateUnchanged(t *testing.T) {
	f := maintSeed(t)
	if err := applyErr(t, f, MaintenanceScheduleRequestType, &MaintenanceScheduleRequest{Windows: []MaintenanceWindow{window(1, m1)}}); err != nil {
		t.Fatal(err)
	}
	if err := applyErr(t, f, MaintenanceStartRequestType, &MaintenanceMachinesRequest{Machines: []mesos.MachineID{m1}}); err != nil {
		t.Fatal(err)
	}
	neg := int64(-1)
	cases := []struct {
		name string
		typ  MessageType
		req  any
		want string
	}{
		{"machine in two windows", MaintenanceScheduleRequestType, &MaintenanceScheduleRequest{Windows: []MaintenanceWindow{
			window(1, m1, m2), window(2, mesos.MachineID{Hostname: "H2", IP: "10.0.0.2"})}}, "appears more than once"},
		{"empty window", MaintenanceScheduleRequestType, &MaintenanceScheduleRequest{Windows: []MaintenanceWindow{window(1, m1), window(1)}}, "lists no machine"},
		{"empty machine id", MaintenanceScheduleRequestType, &MaintenanceScheduleRequest{Windows: []MaintenanceWindow{window(1, m1, mesos.MachineID{})}}, "neither"},
		{"bad ip", MaintenanceScheduleRequestType, &MaintenanceScheduleRequest{Windows: []MaintenanceWindow{window(1, m1, mesos.MachineID{IP: "10.0.0"})}}, "not a valid IPv4"},
		{"negative duration", MaintenanceScheduleRequestType, &MaintenanceScheduleRequest{Windows: []MaintenanceWindow{{Machines: []mesos.MachineID{m1}, Duration: &neg}}}, "negative"},
		{"down machine dropped", MaintenanceScheduleRequestType, &MaintenanceScheduleRequest{Windows: []MaintenanceWindow{window(1, m2)}}, "is DOWN and cannot be removed"},
		{"start unknown machine", MaintenanceStartRequestType, &MaintenanceMachinesRequest{Machines: []mesos.MachineID{m2}}, "not in the maintenance schedule"},
		{"start down machine", MaintenanceStartRequestType, &MaintenanceMachinesRequest{Machines: []mesos.MachineID{m1}}, "cannot be brought down"},
		{"start empty list", MaintenanceStartRequestType, &MaintenanceMachinesRequest{}, "list of machines is empty"},
		{"stop unknown machine", MaintenanceStopRequestType, &MaintenanceMachinesRequest{Machines: []mesos.MachineID{m2}}, "not in the maintenance schedule"},
		{"stop twice in list", MaintenanceStopRequestType, &MaintenanceMachinesRequest{Machines: []mesos.MachineID{m1, m1}}, "more than once"},
	}
	for _, c := range cases {
		before := dump(t, f)
		err := applyErr(t, f, c.typ, c.req)
		if !errors.Is(err, ErrBadMaintenance) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
		if after := dump(t, f); !bytes.Equal(before, after) {
			t.Errorf("%s: the refused command changed the state", c.name)
		}
	}
}

// dump is the state's snapshot bytes.
func dump(t *testing.T, f *FSM) []byte {
	t.Helper()
	snap, err := f.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	sink := &memSink{}
	if err := snap.Persist(sink); err != nil {
		t.Fatal(err)
	}
	return sink.Bytes()
}

// TestMaintenance_ScheduleStartStop: a scheduled machine is DRAINING
// (unregistered machines may be scheduled too); START takes it DOWN and
// drains its agent, not the other; STOP brings it UP, out of the
// schedule, with its agent active again.
func TestMaintenance_ScheduleStartStop(t *testing.T) {
	f := maintSeed(t)
	future := mesos.MachineID{Hostname: "not-yet-registered"}
	if err := applyErr(t, f, MaintenanceScheduleRequestType, &MaintenanceScheduleRequest{Windows: []MaintenanceWindow{
		window(1, mesos.MachineID{Hostname: "H1", IP: "10.0.0.1"}), window(2, future)}}); err != nil {
		t.Fatal(err)
	}
	st := f.State()
	if got := st.AgentMode(st.Agent("c1-S0")); got != MachineDraining {
		t.Fatalf("scheduled agent's machine is %s", got)
	}
	if got := st.AgentMode(st.Agent("c1-S1")); got != MachineUp {
		t.Fatalf("unscheduled agent's machine is %s", got)
	}
	if err := applyErr(t, f, MaintenanceStartRequestType, &MaintenanceMachinesRequest{Machines: []mesos.MachineID{m1}}); err != nil {
		t.Fatal(err)
	}
	st = f.State()
	if a := st.Agent("c1-S0"); st.AgentMode(a) != MachineDown || !a.Deactivated || a.Drain == nil || a.Drain.State != DrainDraining {
		t.Fatalf("after START: mode %s, agent %+v", st.AgentMode(a), a)
	}
	if a := st.Agent("c1-S1"); a.Deactivated || a.Drain != nil {
		t.Fatalf("START touched the other machine's agent: %+v", a)
	}
	if err := applyErr(t, f, MaintenanceStopRequestType, &MaintenanceMachinesRequest{Machines: []mesos.MachineID{m1}}); err != nil {
		t.Fatal(err)
	}
	st = f.State()
	if a := st.Agent("c1-S0"); st.AgentMode(a) != MachineUp || a.Deactivated || a.Drain != nil {
		t.Fatalf("after STOP: mode %s, agent %+v", st.AgentMode(a), a)
	}
	if got := st.Maintenance().Machines(); !reflect.DeepEqual(got, []mesos.MachineID{future}) {
		t.Fatalf("schedule after STOP: %+v", got)
	}
	// An empty schedule cancels what is left.
	if err := applyErr(t, f, MaintenanceScheduleRequestType, &MaintenanceScheduleRequest{}); err != nil {
		t.Fatal(err)
	}
	if m := f.State().Maintenance(); m != nil {
		t.Fatalf("after an empty schedule: %+v", m)
	}
}

// TestMaintenance_AnswersKeptWhileTheWindowIsUnchanged: frameworks'
// answers are recorded per machine, replace earlier ones, survive a
// schedule update that keeps the machine's window and go when it moves.
func TestMaintenance_AnswersKeptWhileTheWindowIsUnchanged(t *testing.T) {
	f := maintSeed(t)
	sched := &MaintenanceScheduleRequest{Windows: []MaintenanceWindow{window(1, m1), window(5, m2)}}
	apply(t, f, MaintenanceScheduleRequestType, sched)
	for _, s := range []string{mesos.InverseOfferUnknown, mesos.InverseOfferDecline} {
		if err := applyErr(t, f, InverseOfferStatusRequestType, &InverseOfferStatusRequest{Machine: m1,
			Answers: []InverseOfferAnswer{{FrameworkID: "c1-0000", Status: s, At: 7, RefuseUntil: 9}}}); err != nil {
			t.Fatal(err)
		}
	}
	apply(t, f, InverseOfferStatusRequestType, &InverseOfferStatusRequest{Machine: m2,
		Answers: []InverseOfferAnswer{{FrameworkID: "c1-0000", Status: mesos.InverseOfferAccept, At: 8}}})
	m := f.State().Maintenance()
	if a := m.Answers[MachineKey(m1)]; len(a) != 1 || a[0].Status != mesos.InverseOfferDecline || a[0].RefuseUntil != 9 {
		t.Fatalf("answers of m1: %+v", a)
	}
	if err := applyErr(t, f, InverseOfferStatusRequestType, &InverseOfferStatusRequest{Machine: m1,
		Answers: []InverseOfferAnswer{{FrameworkID: "c1-0000", Status: "MAYBE"}}}); err == nil {
		t.Fatal("an unknown status was recorded")
	}
	// m1 keeps its window, m2's moves.
	apply(t, f, MaintenanceScheduleRequestType, &MaintenanceScheduleRequest{Windows: []MaintenanceWindow{window(1, m1), window(6, m2)}})
	m = f.State().Maintenance()
	if m.Answer(m1, "c1-0000") == nil || m.Answer(m2, "c1-0000") != nil {
		t.Fatalf("answers after the update: %+v", m.Answers)
	}
	if err := applyErr(t, f, InverseOfferStatusRequestType, &InverseOfferStatusRequest{Machine: mesos.MachineID{Hostname: "other"},
		Answers: []InverseOfferAnswer{{FrameworkID: "c1-0000", Status: mesos.InverseOfferAccept}}}); !errors.Is(err, ErrMachineNotDraining) {
		t.Fatalf("an answer for an unscheduled machine: %v", err)
	}
}

// TestMaintenance_SnapshotKeepsTheScheduleAndOldSnapshotsLoad: the
// schedule, modes and answers survive a snapshot round trip, and a
// snapshot written before maintenance existed loads with none.
func TestMaintenance_SnapshotKeepsTheScheduleAndOldSnapshotsLoad(t *testing.T) {
	f := maintSeed(t)
	apply(t, f, MaintenanceScheduleRequestType, &MaintenanceScheduleRequest{Windows: []MaintenanceWindow{window(1, m1), window(5, m2)}})
	apply(t, f, MaintenanceStartRequestType, &MaintenanceMachinesRequest{Machines: []mesos.MachineID{m2}})
	apply(t, f, InverseOfferStatusRequestType, &InverseOfferStatusRequest{Machine: m1,
		Answers: []InverseOfferAnswer{{FrameworkID: "c1-0000", Status: mesos.InverseOfferAccept, At: 8}}})
	g := New(nil)
	if err := g.Restore(io.NopCloser(bytes.NewReader(dump(t, f)))); err != nil {
		t.Fatal(err)
	}
	a, b := f.State().Maintenance(), g.State().Maintenance()
	if !reflect.DeepEqual(a, b) || len(b.Down) != 1 || len(b.Answers) != 1 {
		t.Fatalf("restored %+v, want %+v", b, a)
	}
	old := `{"t":"meta","v":{"Key":"meta","Meta":{"ClusterID":"c1","NextFramework":1,"NextAgent":1}}}` + "\n"
	h := New(nil)
	if err := h.Restore(io.NopCloser(strings.NewReader(old))); err != nil {
		t.Fatal(err)
	}
	if h.State().Maintenance() != nil || h.State().Meta().ClusterID != "c1" {
		t.Fatalf("an old snapshot restored as %+v", h.State().Meta())
	}
}

// TestMaintenance_StartKeepsAnAgentsDrain: an agent draining already
// (say by `mesh drain -attribute`, with a grace cap) keeps its drain when
// its machine goes DOWN.
func TestMaintenance_StartKeepsAnAgentsDrain(t *testing.T) {
	f := maintSeed(t)
	grace := int64(5e9)
	if err := drain(t, f, AgentDrainRequest{AgentID: "c1-S0", Op: AgentDrain, MaxGracePeriod: &grace}); err != nil {
		t.Fatal(err)
	}
	apply(t, f, MaintenanceScheduleRequestType, &MaintenanceScheduleRequest{Windows: []MaintenanceWindow{window(1, m1)}})
	if err := applyErr(t, f, MaintenanceStartRequestType, &MaintenanceMachinesRequest{Machines: []mesos.MachineID{m1}}); err != nil {
		t.Fatal(err)
	}
	want := &DrainInfo{State: DrainDraining, MaxGracePeriod: &grace}
	if a := f.State().Agent("c1-S0"); !reflect.DeepEqual(a.Drain, want) {
		t.Fatalf("drain after START: %+v, want %+v", a.Drain, want)
	}
}
