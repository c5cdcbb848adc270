package fsm

import (
	"errors"
	"io"
	"strings"
	"testing"

	"mesh/mesos"
)

func dynCPUs(v float64, role string) mesos.Resource {
	r := mesos.ScalarResource("cpus", v)
	r.Reservations = []mesos.ReservationInfo{{Type: mesos.ReservationDynamic, Role: role, Principal: "ops"}}
	return r
}

func dynDisk(v float64, role string) mesos.Resource {
	r := mesos.ScalarResource("disk", v)
	r.Reservations = []mesos.ReservationInfo{{Type: mesos.ReservationDynamic, Role: role}}
	return r
}

func volume(v float64, role, id string) mesos.Resource {
	r := dynDisk(v, role)
	r.Disk = &mesos.DiskInfo{Volume: &mesos.Volume{Mode: mesos.VolumeModeRW, ContainerPath: "data"}}
	r.Disk.Persistence = &struct {
		ID        string `json:"id"`
		Principal string `json:"principal,omitempty"`
	}{ID: id}
	return r
}

// reserveInOffer reserves one cpu of the offer for role db in an ACCEPT
// that launches nothing.
func reserveInOffer(t *testing.T, f *FSM, offer, opID string) any {
	t.Helper()
	c, err := mesos.ReserveConversion(mesos.Resources{dynCPUs(1, "db")})
	if err != nil {
		t.Fatal(err)
	}
	c = mesos.Conversion{From: c.From.Allocate("*"), To: c.To.Allocate("*")}
	return apply(t, f, AcceptOperationsRequestType, &AcceptOperationsRequest{
		Launch:     TaskLaunchRequest{FrameworkID: "c1-0000", AgentID: "c1-S0", OfferIDs: []string{offer}, At: 7},
		Operations: []AppliedOperation{{Type: mesos.OperationReserve, Conversion: c, OperationID: opID, UUID: mesos.Bytes("0123456789abcdef")}},
	})
}

// diskAgent registers agent c1-S1 with disk and offers all of it to the
// framework as o9.
func diskAgent(t *testing.T, f *FSM) mesos.Resources {
	res := mesos.Resources{mesos.ScalarResource("cpus", 2), mesos.ScalarResource("disk", 100)}
	apply(t, f, AgentRegisterRequestType, &AgentRegisterRequest{Agent: Agent{ID: "c1-S1", State: AgentActive, Info: mesos.AgentInfo{Hostname: "d", Resources: res}}, New: true, Seq: 1})
	apply(t, f, OffersCreateRequestType, &OffersCreateRequest{Offers: []Offer{{ID: "o9", FrameworkID: "c1-0000", AgentID: "c1-S1", Role: "db", Resources: res.Allocate("db")}}})
	return res
}

func conv(c mesos.Conversion, err error) mesos.Conversion {
	c = mustConv(c, err)
	return mesos.Conversion{From: c.From.Allocate("db"), To: c.To.Allocate("db")}
}

func TestFSM_AcceptOperationsReserveCreateThenLaunchOnTheVolume(t *testing.T) {
	f := seed(t)
	diskAgent(t, f)
	reserve := conv(mesos.ReserveConversion(mesos.Resources{dynDisk(60, "db")}))
	create := conv(mesos.CreateConversion(mesos.Resources{volume(60, "db", "v1")}))
	task := Task{FrameworkID: "c1-0000", TaskID: "t1", AgentID: "c1-S1", State: mesos.TaskStaging, Role: "db",
		Info: mesos.TaskInfo{TaskID: mesos.TaskID{Value: "t1"}, Resources: mesos.Resources{mesos.ScalarResource("cpus", 1), volume(60, "db", "v1")}.Allocate("db")}}
	res := apply(t, f, AcceptOperationsRequestType, &AcceptOperationsRequest{
		Launch: TaskLaunchRequest{FrameworkID: "c1-0000", AgentID: "c1-S1", OfferIDs: []string{"o9"}, Tasks: []Task{task}, At: 3},
		Operations: []AppliedOperation{
			{Type: mesos.OperationReserve, Conversion: reserve, OperationID: "r"},
			{Type: mesos.OperationCreate, Conversion: create},
		},
	})
	if err, ok := res.(error); ok {
		t.Fatal(err)
	}
	st := f.State()
	a := st.Agent("c1-S1")
	if len(a.Checkpointed) != 1 || a.Checkpointed[0].PersistenceID() != "v1" {
		t.Fatalf("checkpointed %+v, want volume v1", a.Checkpointed)
	}
	if total := a.AgentTotal(); total.Scalar("disk") != 100 {
		t.Fatalf("total %s", total)
	}
	if st.Task("c1-0000", "t1") == nil || st.Offer("o9") != nil {
		t.Fatal("the launch did not commit with the operations")
	}
	if op := st.Operation("c1-0000", "r"); op == nil || op.State != mesos.OperationFinished || op.AgentID != "c1-S1" {
		t.Fatalf("operation r: %+v", op)
	}
	if !st.VolumesInUse("c1-S1")["v1"] {
		t.Fatal("volume v1 not in use by t1")
	}

	// DESTROY of the volume t1 uses is refused and changes nothing.
	destroy := conv(mesos.DestroyConversion(mesos.Resources{volume(60, "db", "v1")}))
	before := dumpAgent(f, "c1-S1")
	res = apply(t, f, AgentOperationsRequestType, &AgentOperationsRequest{AgentID: "c1-S1",
		Operations: []AppliedOperation{{Type: mesos.OperationDestroy, Conversion: mesos.Conversion{From: destroy.From.Unallocate(), To: destroy.To.Unallocate()}}}})
	if err, _ := res.(error); !errors.Is(err, ErrVolumeInUse) && !errors.Is(err, ErrOperationConflict) {
		t.Fatalf("destroying a volume in use: %v", res)
	}
	if dumpAgent(f, "c1-S1") != before {
		t.Fatal("a refused DESTROY changed the agent")
	}
}

func TestFSM_AgentOperationsRefuseResourcesInOffersAndKeepOnReregister(t *testing.T) {
	f := seed(t)
	res := diskAgent(t, f)
	reserve := mustConv(mesos.ReserveConversion(mesos.Resources{dynDisk(60, "db")}))
	req := &AgentOperationsRequest{AgentID: "c1-S1", Operations: []AppliedOperation{{Type: mesos.OperationReserve, Conversion: reserve}}}
	if err, _ := apply(t, f, AgentOperationsRequestType, req).(error); !errors.Is(err, ErrOperationConflict) {
		t.Fatalf("reserving disk held by an offer: %v", err)
	}
	apply(t, f, OffersRemoveRequestType, &OffersRemoveRequest{OfferIDs: []string{"o9"}})
	if err, _ := apply(t, f, AgentOperationsRequestType, req).(error); err != nil {
		t.Fatal(err)
	}
	// The agent comes back with only its own resources: the state's
	// record of its reservation wins.
	apply(t, f, AgentRegisterRequestType, &AgentRegisterRequest{Agent: Agent{ID: "c1-S1", State: AgentActive, Info: mesos.AgentInfo{Hostname: "d", Resources: res}}})
	a := f.State().Agent("c1-S1")
	if len(a.Checkpointed) != 1 || !a.AgentTotal().Contains(mesos.Resources{dynDisk(60, "db")}) {
		t.Fatalf("after re-registration: checkpointed %+v", a.Checkpointed)
	}
	// Unreserving more than is reserved is refused.
	un := mustConv(mesos.UnreserveConversion(mesos.Resources{dynDisk(61, "db")}))
	if err, _ := apply(t, f, AgentOperationsRequestType, &AgentOperationsRequest{AgentID: "c1-S1",
		Operations: []AppliedOperation{{Type: mesos.OperationUnreserve, Conversion: un}}}).(error); !errors.Is(err, ErrOperationConflict) {
		t.Fatalf("unreserving more than reserved: %v", err)
	}
}

func TestFSM_OperationAckForgetsTheOperation(t *testing.T) {
	f := seed(t)
	if err, _ := reserveInOffer(t, f, "o2", "op1").(error); err != nil {
		t.Fatal(err)
	}
	res := apply(t, f, OperationAckRequestType, &OperationAckRequest{Acks: []OperationAck{
		{FrameworkID: "c1-0000", OperationID: "op1", UUID: mesos.Bytes("wrong-uuid-00000")},
	}}).([]bool)
	if res[0] || f.State().Operation("c1-0000", "op1") == nil {
		t.Fatal("an acknowledgement with the wrong uuid matched")
	}
	res = apply(t, f, OperationAckRequestType, &OperationAckRequest{Acks: []OperationAck{
		{FrameworkID: "c1-0000", OperationID: "op1", UUID: mesos.Bytes("0123456789abcdef")},
	}}).([]bool)
	if !res[0] || f.State().Operation("c1-0000", "op1") != nil {
		t.Fatal("the acknowledged operation is still recorded")
	}
}

func mustConv(c mesos.Conversion, err error) mesos.Conversion {
	if err != nil {
		panic(err)
	}
	return c
}

func dumpAgent(f *FSM, id string) string {
	a := f.State().Agent(id)
	return mesos.Resources(a.Checkpointed).String() + "|" + a.AgentTotal().String()
}

// TestFSM_SnapshotFromBeforeReservationsLoads: a snapshot written before
// agents had checkpointed resources and before the operations table
// restores, and its agents' totals are their own resources.
func TestFSM_SnapshotFromBeforeReservationsLoads(t *testing.T) {
	old := `{"t":"meta","v":{"Key":"meta","Meta":{"ClusterID":"c1","NextFramework":1,"NextAgent":1}}}
{"t":"frameworks","v":{"ID":"c1-0000","Info":{"user":"u","name":"n"}}}
{"t":"agents","v":{"ID":"c1-S0","State":"active","Info":{"hostname":"h","resources":[{"name":"cpus","type":"SCALAR","scalar":{"value":4}},{"name":"disk","type":"SCALAR","scalar":{"value":100},"reservations":[{"type":"STATIC","role":"ops"}]}]}}}
`
	f := New(nil)
	if err := f.Restore(io.NopCloser(strings.NewReader(old))); err != nil {
		t.Fatal(err)
	}
	st := f.State()
	a := st.Agent("c1-S0")
	if len(a.Checkpointed) != 0 || a.AgentTotal().String() != mesos.Resources(a.Info.Resources).String() {
		t.Fatalf("agent from an old snapshot: checkpointed %v, total %s", a.Checkpointed, a.AgentTotal())
	}
	if ops := st.OperationsByFramework("c1-0000"); len(ops) != 0 {
		t.Fatalf("operations from an old snapshot: %v", ops)
	}
}
