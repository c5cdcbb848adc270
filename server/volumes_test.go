package server_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"mesh/mesos"
	"mesh/mesos/scheduler"
	"mesh/server"
	"mesh/server/servertest"
)

func dynReserved(r mesos.Resource, role, principal string) mesos.Resource {
	c := r.Clone()
	c.Reservations = append(c.Reservations, mesos.ReservationInfo{Type: mesos.ReservationDynamic, Role: role, Principal: principal})
	return c
}

func persistentVolume(r mesos.Resource, id, path string) mesos.Resource {
	c := r.Clone()
	c.Disk = &mesos.DiskInfo{Volume: &mesos.Volume{Mode: mesos.VolumeModeRW, ContainerPath: path}}
	c.Disk.Persistence = &struct {
		ID        string `json:"id"`
		Principal string `json:"principal,omitempty"`
	}{ID: id, Principal: "ops"}
	return c
}

func reserveOp(id string, rs ...mesos.Resource) mesos.OfferOperation {
	op := mesos.OfferOperation{Type: mesos.OperationReserve, Reserve: &struct {
		Resources []mesos.Resource `json:"resources,omitempty"`
	}{Resources: rs}}
	if id != "" {
		op.ID = &mesos.OperationID{Value: id}
	}
	return op
}

func unreserveOp(id string, rs ...mesos.Resource) mesos.OfferOperation {
	return mesos.OfferOperation{Type: mesos.OperationUnreserve, ID: &mesos.OperationID{Value: id}, Unreserve: &struct {
		Resources []mesos.Resource `json:"resources,omitempty"`
	}{Resources: rs}}
}

func createOp(id string, vols ...mesos.Resource) mesos.OfferOperation {
	return mesos.OfferOperation{Type: mesos.OperationCreate, ID: &mesos.OperationID{Value: id}, Create: &struct {
		Volumes []mesos.Resource `json:"volumes,omitempty"`
	}{Volumes: vols}}
}

func destroyOp(id string, vols ...mesos.Resource) mesos.OfferOperation {
	return mesos.OfferOperation{Type: mesos.OperationDestroy, ID: &mesos.OperationID{Value: id}, Destroy: &struct {
		Volumes []mesos.Resource `json:"volumes,omitempty"`
	}{Volumes: vols}}
}

func launchOp(tasks ...mesos.TaskInfo) mesos.OfferOperation {
	return mesos.OfferOperation{Type: mesos.OperationLaunch, Launch: &struct {
		TaskInfos []mesos.TaskInfo `json:"task_infos,omitempty"`
	}{TaskInfos: tasks}}
}

func (f *framework) acceptOps(offer mesos.OfferID, ops ...mesos.OfferOperation) {
	f.t.Helper()
	zero := 0.0
	b, _ := json.Marshal(scheduler.Accept{OfferIDs: []mesos.OfferID{offer}, Operations: ops, Filters: &mesos.Filters{RefuseSeconds: &zero}})
	f.mustCall("ACCEPT", "accept", string(b))
}

// TestAccept_ReserveCreateAndLaunchOnTheVolume: one ACCEPT reserves disk
// and a cpu for the framework's role, creates a persistent volume on the
// disk and launches a task that uses both. Each operation with an id gets
// OPERATION_FINISHED with the agent id and a uuid; the agent is told its
// new reservations before the launch; the state records them; the bad
// inputs (DESTROY of the volume in use, UNRESERVE of unreserved cpus,
// CREATE on unreserved disk, a RESERVE for a role the framework is not
// subscribed to) each get OPERATION_ERROR saying what was wrong and change
// nothing; reconciliation and acknowledgement work from the state.
func TestAccept_ReserveCreateAndLaunchOnTheVolume(t *testing.T) {
	srv := servertest.NewServer(t, servertest.Options{})
	agent := servertest.NewSimAgent(srv.HTTPAddr(), agentResources())
	agent.Start(t)
	f := subscribe(t, srv.HTTPAddr(), subscribeBody("db", "", `"roles":["db"],"principal":"ops","capabilities":[{"type":"MULTI_ROLE"}]`))
	f.subscribed()
	offer := f.await(scheduler.EventOffers, 10*time.Second).Offers.Offers[0]

	disk := dynReserved(mesos.ScalarResource("disk", 100), "db", "ops")
	cpu := dynReserved(mesos.ScalarResource("cpus", 1), "db", "ops")
	vol := persistentVolume(disk, "v1", "data")
	task := mesos.TaskInfo{Name: "w", TaskID: mesos.TaskID{Value: "w"}, AgentID: offer.AgentID,
		Resources: []mesos.Resource{cpu, vol, mesos.ScalarResource("mem", 32)},
		Command:   &mesos.CommandInfo{Value: "sleep 1000"}}
	f.acceptOps(offer.ID, reserveOp("r1", disk, cpu), createOp("c1", vol), launchOp(task))

	uuids := map[string]mesos.Bytes{}
	for len(uuids) < 2 {
		st := f.await(scheduler.EventUpdateOperationStatus, 10*time.Second).UpdateOperationStatus.Status
		if st.State != mesos.OperationFinished || st.UUID == nil || len(st.UUID.Value) != 16 || st.AgentID == nil || st.AgentID.Value != offer.AgentID.Value {
			t.Fatalf("operation status %+v, want OPERATION_FINISHED with a uuid and the agent id", st)
		}
		uuids[st.OperationID.Value] = st.UUID.Value
	}
	if up := f.await(scheduler.EventUpdate, 10*time.Second).Update.Status; up.State != mesos.TaskRunning {
		t.Fatalf("task w: %s (%s), want TASK_RUNNING", up.State, up.Message)
	} else {
		f.ack(up)
	}
	aid := offer.AgentID.Value
	recorded := func() string { return mesos.Resources(srv.FSM().State().Agent(aid).Checkpointed).String() }
	want := mesos.Resources{cpu, vol}
	ck := srv.FSM().State().Agent(aid).Checkpointed
	if !want.Contains(ck) || !mesos.Resources(ck).Contains(want) {
		t.Fatalf("recorded reservations %s, want %s", mesos.Resources(ck), want)
	}
	servertest.WaitFor(t, 10*time.Second, "the agent to hear of its volume", func() bool {
		return agent.Checkpointed().Contains(mesos.Resources{vol})
	})

	before := recorded()
	bad := []struct {
		op   mesos.OfferOperation
		want string
	}{
		{destroyOp("d1", vol), "in use"},
		{unreserveOp("u1", mesos.ScalarResource("cpus", 1)), "not reserved"},
		{createOp("c2", persistentVolume(mesos.ScalarResource("disk", 10), "v2", "x")), "unreserved disk"},
		{reserveOp("r2", dynReserved(mesos.ScalarResource("cpus", 1), "web", "ops")), "not subscribed"},
	}
	for _, c := range bad {
		f.acceptOps(outstandingOffer(t, srv, f.id), c.op)
		st := f.await(scheduler.EventUpdateOperationStatus, 10*time.Second).UpdateOperationStatus.Status
		if st.State != mesos.OperationError || !strings.Contains(st.Message, c.want) || st.OperationID.Value != c.op.ID.Value {
			t.Fatalf("%s: status %s %q, want OPERATION_ERROR saying %q", c.op.Type, st.State, st.Message, c.want)
		}
		if got := recorded(); got != before {
			t.Fatalf("%s refused but the recorded reservations changed: %s, were %s", c.op.Type, got, before)
		}
	}

	// Reconciliation answers from the state; an acknowledgement forgets.
	f.mustCall("RECONCILE_OPERATIONS", "reconcile_operations", `{"operations":[{"operation_id":{"value":"r1"},"agent_id":{"value":"`+aid+`"}}]}`)
	st := f.await(scheduler.EventUpdateOperationStatus, 10*time.Second).UpdateOperationStatus.Status
	if st.OperationID.Value != "r1" || st.State != mesos.OperationFinished {
		t.Fatalf("reconciling r1: %+v", st)
	}
	b, _ := json.Marshal(scheduler.AcknowledgeOperationStatus{AgentID: &mesos.AgentID{Value: aid}, UUID: uuids["c1"], OperationID: &mesos.OperationID{Value: "c1"}})
	f.mustCall("ACKNOWLEDGE_OPERATION_STATUS", "acknowledge_operation_status", string(b))
	servertest.WaitFor(t, 10*time.Second, "the acknowledgement to commit", func() bool {
		return srv.FSM().State().Operation(f.id, "c1") == nil
	})
	if srv.FSM().State().Operation(f.id, "r1") == nil {
		t.Fatal("unacknowledged operation r1 forgotten")
	}
}

// outstandingOffer waits for the framework to hold an offer and returns
// its id (the OFFERS event may have gone by while the test awaited
// another event).
func outstandingOffer(t *testing.T, srv *servertest.Server, fid string) mesos.OfferID {
	t.Helper()
	var id string
	servertest.WaitFor(t, 10*time.Second, "an offer", func() bool {
		if offers := srv.FSM().State().OffersByFramework(fid); len(offers) > 0 {
			id = offers[0].ID
			return true
		}
		return false
	})
	return mesos.OfferID{Value: id}
}

// TestAccept_GrowAndShrinkAVolume: GROW_VOLUME takes reserved disk into a
// volume and SHRINK_VOLUME gives part of it back; shrinking a volume to
// nothing is an OPERATION_ERROR that changes nothing.
func TestAccept_GrowAndShrinkAVolume(t *testing.T) {
	srv := servertest.NewServer(t, servertest.Options{})
	agent := servertest.NewSimAgent(srv.HTTPAddr(), agentResources())
	agent.Start(t)
	f := subscribe(t, srv.HTTPAddr(), subscribeBody("db", "", `"roles":["db"],"principal":"ops","capabilities":[{"type":"MULTI_ROLE"}]`))
	f.subscribed()
	offer := f.await(scheduler.EventOffers, 10*time.Second).Offers.Offers[0]
	aid := offer.AgentID.Value
	disk := func(v float64) mesos.Resource { return dynReserved(mesos.ScalarResource("disk", v), "db", "ops") }
	f.acceptOps(offer.ID, reserveOp("r", disk(300)), createOp("c", persistentVolume(disk(100), "v", "data")))
	volSize := func() float64 {
		for _, r := range srv.FSM().State().Agent(aid).Checkpointed {
			if r.PersistenceID() == "v" {
				return r.Scalar.Value
			}
		}
		return 0
	}
	step := func(op mesos.OfferOperation, state string, size float64) {
		t.Helper()
		f.acceptOps(outstandingOffer(t, srv, f.id), op)
		for {
			st := f.await(scheduler.EventUpdateOperationStatus, 10*time.Second).UpdateOperationStatus.Status
			if st.OperationID.Value != op.ID.Value {
				continue // the statuses of earlier operations
			}
			if st.State != state {
				t.Fatalf("%s: %s %q, want %s", op.Type, st.State, st.Message, state)
			}
			break
		}
		if got := volSize(); got != size {
			t.Fatalf("after %s the volume has %v, want %v", op.Type, got, size)
		}
	}
	vol := persistentVolume(disk(100), "v", "data")
	add := disk(50)
	step(mesos.OfferOperation{Type: mesos.OperationGrowVolume, ID: &mesos.OperationID{Value: "g"},
		GrowVolume: &mesos.GrowVolume{Volume: &vol, Addition: &add}}, mesos.OperationFinished, 150)
	vol = persistentVolume(disk(150), "v", "data")
	step(mesos.OfferOperation{Type: mesos.OperationShrinkVolume, ID: &mesos.OperationID{Value: "s"},
		ShrinkVolume: &mesos.ShrinkVolume{Volume: &vol, Subtract: &mesos.Scalar{Value: 120}}}, mesos.OperationFinished, 30)
	vol = persistentVolume(disk(30), "v", "data")
	step(mesos.OfferOperation{Type: mesos.OperationShrinkVolume, ID: &mesos.OperationID{Value: "s2"},
		ShrinkVolume: &mesos.ShrinkVolume{Volume: &vol, Subtract: &mesos.Scalar{Value: 30}}}, mesos.OperationError, 30)
	if total := srv.FSM().State().Agent(aid).AgentTotal(); total.Scalar("disk") != 10000 {
		t.Fatalf("the agent's disk adds up to %v after resizing, want 10000", total.Scalar("disk"))
	}
}

// TestAccept_OperationStatusSurvivesALeaderChange: an OPERATION_FINISHED
// the framework has not acknowledged is sent again, with the same uuid,
// when it subscribes to the next leader, which also offers the
// reservation; implicit reconciliation lists it until it is acknowledged.
func TestAccept_OperationStatusSurvivesALeaderChange(t *testing.T) {
	c := servertest.NewCluster(t, 3, func(cfg *server.Config) { cfg.AllocationInterval = 50 * time.Millisecond })
	old := c.WaitLeader()
	oldAddr := c.Servers[old].HTTPAddr()
	a := servertest.NewSimAgent(oldAddr, agentResources())
	a.Start(t)
	extra := `"roles":["db"],"principal":"ops","failover_timeout":3600,"capabilities":[{"type":"MULTI_ROLE"}]`
	f := subscribe(t, oldAddr, subscribeBody("db", "", extra))
	f.subscribed()
	offer := f.await(scheduler.EventOffers, 10*time.Second).Offers.Offers[0]
	cpu := dynReserved(mesos.ScalarResource("cpus", 2), "db", "ops")
	f.acceptOps(offer.ID, reserveOp("r1", cpu))
	first := f.await(scheduler.EventUpdateOperationStatus, 10*time.Second).UpdateOperationStatus.Status
	if first.State != mesos.OperationFinished || first.UUID == nil {
		t.Fatalf("status %+v", first)
	}
	f.close()

	c.Isolate(old)
	servertest.WaitFor(t, 5*time.Second, "old leader to step down", func() bool { return !c.Servers[old].IsLeader() })
	addr := c.Servers[c.WaitLeader()].HTTPAddr()
	g := subscribe(t, addr, subscribeBody("db", f.id, extra))
	g.subscribed()
	again := g.await(scheduler.EventUpdateOperationStatus, 10*time.Second).UpdateOperationStatus.Status
	if again.OperationID.Value != "r1" || again.State != mesos.OperationFinished || again.UUID == nil ||
		string(again.UUID.Value) != string(first.UUID.Value) {
		t.Fatalf("status from the new leader %+v, want r1's again with uuid %x", again, first.UUID.Value)
	}
	a.Server = addr
	a.Stop()
	a.Start(t)
	servertest.WaitFor(t, 10*time.Second, "an offer of the reserved cpus from the new leader", func() bool {
		for _, o := range c.Servers[c.WaitLeader()].FSM().State().OffersByFramework(f.id) {
			if o.Resources.Contains(mesos.Resources{cpu}.Allocate("db")) {
				return true
			}
		}
		return false
	})
	g.mustCall("RECONCILE_OPERATIONS", "reconcile_operations", `{}`)
	if st := g.await(scheduler.EventUpdateOperationStatus, 10*time.Second).UpdateOperationStatus.Status; st.OperationID.Value != "r1" || st.UUID != nil {
		t.Fatalf("implicit reconciliation: %+v, want r1 without a uuid", st)
	}
	b, _ := json.Marshal(scheduler.AcknowledgeOperationStatus{AgentID: first.AgentID, UUID: first.UUID.Value, OperationID: &mesos.OperationID{Value: "r1"}})
	g.mustCall("ACKNOWLEDGE_OPERATION_STATUS", "acknowledge_operation_status", string(b))
	servertest.WaitFor(t, 10*time.Second, "the acknowledgement to commit", func() bool {
		return c.Servers[c.WaitLeader()].FSM().State().Operation(f.id, "r1") == nil
	})
	c.Heal()
	c.CheckConsistent()
}

// TestAccept_OperationsWithInvalidOffersAreErrors: an ACCEPT whose offers
// are not valid performs none of its operations; each with an id gets an
// OPERATION_ERROR naming the problem.
func TestAccept_OperationsWithInvalidOffersAreErrors(t *testing.T) {
	srv := servertest.NewServer(t, servertest.Options{})
	servertest.NewSimAgent(srv.HTTPAddr(), agentResources()).Start(t)
	f := subscribe(t, srv.HTTPAddr(), subscribeBody("db", "", `"roles":["db"],"principal":"ops","capabilities":[{"type":"MULTI_ROLE"}]`))
	f.subscribed()
	f.await(scheduler.EventOffers, 10*time.Second)
	f.acceptOps(mesos.OfferID{Value: "no-such-offer"}, reserveOp("r1", dynReserved(mesos.ScalarResource("cpus", 1), "db", "ops")))
	st := f.await(scheduler.EventUpdateOperationStatus, 10*time.Second).UpdateOperationStatus.Status
	if st.OperationID.Value != "r1" || st.State != mesos.OperationError || !strings.Contains(st.Message, "no-such-offer is no longer valid") {
		t.Fatalf("status %+v", st)
	}
	if a := srv.FSM().State().Agents()[0]; len(a.Checkpointed) != 0 {
		t.Fatalf("an ACCEPT with invalid offers reserved %s", mesos.Resources(a.Checkpointed))
	}
}
