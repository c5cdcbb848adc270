package fsm

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"testing"

	"mesh/mesos"
)

func drain(t *testing.T, f *FSM, req AgentDrainRequest) error {
	t.Helper()
	err, _ := apply(t, f, AgentDrainRequestType, &req).(error)
	return err
}

func TestAgentDrain_StatesAndRefusals(t *testing.T) {
	f := seed(t)
	if err := drain(t, f, AgentDrainRequest{AgentID: "c1-S0", Op: AgentReactivate}); !errors.Is(err, ErrAgentNotDeactivated) {
		t.Fatalf("reactivating an active agent: %v", err)
	}
	if err := drain(t, f, AgentDrainRequest{AgentID: "c1-S0", Op: AgentDeactivate}); err != nil {
		t.Fatal(err)
	}
	if a := f.State().Agent("c1-S0"); !a.Deactivated || a.Drain != nil {
		t.Fatalf("after DEACTIVATE: %+v", a)
	}
	neg := int64(-1)
	if err := drain(t, f, AgentDrainRequest{AgentID: "c1-S0", Op: AgentDrain, MaxGracePeriod: &neg}); err == nil {
		t.Fatal("a negative max grace period was applied")
	}
	if err := drain(t, f, AgentDrainRequest{AgentID: "nope", Op: AgentDrain}); !errors.Is(err, ErrUnknownAgent) {
		t.Fatalf("draining an unknown agent: %v", err)
	}
	grace := int64(5e9)
	if err := drain(t, f, AgentDrainRequest{AgentID: "c1-S0", Op: AgentDrain, MaxGracePeriod: &grace, MarkGone: true}); err != nil {
		t.Fatal(err)
	}
	want := &DrainInfo{State: DrainDraining, MaxGracePeriod: &grace, MarkGone: true}
	if a := f.State().Agent("c1-S0"); !a.Deactivated || !reflect.DeepEqual(a.Drain, want) {
		t.Fatalf("after DRAIN: %+v %+v", a, a.Drain)
	}
	if err := drain(t, f, AgentDrainRequest{AgentID: "c1-S0", Op: AgentReactivate}); !errors.Is(err, ErrAgentDraining) {
		t.Fatalf("reactivating a draining agent: %v", err)
	}
	// A re-registration keeps the drain.
	a := *f.State().Agent("c1-S0")
	a.Deactivated, a.Drain = false, nil
	apply(t, f, AgentRegisterRequestType, &AgentRegisterRequest{Agent: a})
	if a := f.State().Agent("c1-S0"); !a.Deactivated || a.Drain == nil || a.Drain.State != DrainDraining {
		t.Fatalf("after re-registering: %+v", a)
	}
	if err := drain(t, f, AgentDrainRequest{AgentID: "c1-S0", Op: AgentDrained}); err != nil {
		t.Fatal(err)
	}
	if a := f.State().Agent("c1-S0"); a.Drain.State != DrainDrained {
		t.Fatalf("after DRAINED: %+v", a.Drain)
	}
	if err := drain(t, f, AgentDrainRequest{AgentID: "c1-S0", Op: AgentReactivate}); err != nil {
		t.Fatal(err)
	}
	if a := f.State().Agent("c1-S0"); a.Deactivated || a.Drain != nil {
		t.Fatalf("after REACTIVATE: %+v", a)
	}
	apply(t, f, AgentStateRequestType, &AgentStateRequest{AgentID: "c1-S0", State: AgentGone, At: 1})
	if err := drain(t, f, AgentDrainRequest{AgentID: "c1-S0", Op: AgentDeactivate}); !errors.Is(err, ErrAgentGone) {
		t.Fatalf("deactivating a gone agent: %v", err)
	}
}

func TestAgentDrain_DrainedOnlyOnceEveryTaskIsCompleted(t *testing.T) {
	f := seed(t)
	launch(t, f, "o1", "t1")
	if f.State().Drained("c1-S0") {
		t.Fatal("drained with a live task")
	}
	apply(t, f, StatusUpdateRequestType, &StatusUpdateRequest{Updates: []StatusUpdate{{FrameworkID: "c1-0000",
		Status: mesos.TaskStatus{TaskID: mesos.TaskID{Value: "t1"}, State: mesos.TaskKilled, UUID: mesos.Bytes("0123456789abcdef")}}}})
	if f.State().Drained("c1-S0") {
		t.Fatal("drained before the terminal update was acknowledged")
	}
	apply(t, f, StatusAckRequestType, &StatusAckRequest{Acks: []StatusAck{{FrameworkID: "c1-0000", TaskID: "t1", UUID: mesos.Bytes("0123456789abcdef")}}})
	if !f.State().Drained("c1-S0") {
		t.Fatal("not drained once the task is completed")
	}
}

func TestAgentDrain_SnapshotKeepsTheDrain(t *testing.T) {
	f := seed(t)
	grace := int64(1)
	if err := drain(t, f, AgentDrainRequest{AgentID: "c1-S0", Op: AgentDrain, MaxGracePeriod: &grace}); err != nil {
		t.Fatal(err)
	}
	snap, _ := f.Snapshot()
	sink := &memSink{}
	if err := snap.Persist(sink); err != nil {
		t.Fatal(err)
	}
	g := New(nil)
	if err := g.Restore(io.NopCloser(bytes.NewReader(sink.Bytes()))); err != nil {
		t.Fatal(err)
	}
	if a, b := f.State().Agent("c1-S0"), g.State().Agent("c1-S0"); !reflect.DeepEqual(a, b) || b.Drain == nil {
		t.Fatalf("restored %+v, want %+v", b, a)
	}
}
