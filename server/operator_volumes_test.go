package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"mesh/mesos"
	"mesh/mesos/scheduler"
	"mesh/server"
	"mesh/server/servertest"
)

// volumeCall is an operator call of type typ on agent aid whose
// sub-message carries list under key.
func volumeCall(typ, aid, key string, list ...mesos.Resource) string {
	b, _ := json.Marshal(list)
	return agentCall(typ, aid, `,"`+key+`":`+string(b))
}

// TestOperator_ReserveCreateDestroyUnreserve: the operator reserves disk
// and a cpu for role db and creates a volume on the disk (202 each); a
// framework of role db is offered them; while its task uses the volume,
// DESTROY_VOLUMES is a 400 that says so; bad input (unreserving unreserved
// cpus, a volume on unreserved disk, an unknown agent) is a 400 and more
// than the agent has a 409, none changing the state; once the task ends,
// DESTROY_VOLUMES and UNRESERVE_RESOURCES give the resources back
// unreserved.
func TestOperator_ReserveCreateDestroyUnreserve(t *testing.T) {
	srv := servertest.NewServer(t, servertest.Options{})
	agent := servertest.NewSimAgent(srv.HTTPAddr(), agentResources())
	agent.Start(t)
	var aid string
	servertest.WaitFor(t, 10*time.Second, "the agent to register", func() bool {
		if as := srv.FSM().State().Agents(); len(as) == 1 {
			aid = as[0].ID
			return true
		}
		return false
	})
	post := func(body string) (int, string) {
		t.Helper()
		code, msg, _ := opCall(t, srv.HTTPAddr(), "/api/v1", body, nil)
		return code, msg
	}
	recorded := func() string { return mesos.Resources(srv.FSM().State().Agent(aid).Checkpointed).String() }

	disk := dynReserved(mesos.ScalarResource("disk", 100), "db", "")
	cpu := dynReserved(mesos.ScalarResource("cpus", 1), "db", "")
	vol := persistentVolume(disk, "v1", "data")
	if code, msg := post(volumeCall("RESERVE_RESOURCES", aid, "resources", disk, cpu)); code != http.StatusAccepted {
		t.Fatalf("RESERVE_RESOURCES: %d %s", code, msg)
	}
	if code, msg := post(volumeCall("CREATE_VOLUMES", aid, "volumes", vol)); code != http.StatusAccepted {
		t.Fatalf("CREATE_VOLUMES: %d %s", code, msg)
	}
	servertest.WaitFor(t, 10*time.Second, "the agent to hear of its volume", func() bool {
		return agent.Checkpointed().Contains(mesos.Resources{vol, cpu})
	})

	before := recorded()
	bad := []struct {
		body string
		code int
		want string
	}{
		{volumeCall("UNRESERVE_RESOURCES", aid, "resources", mesos.ScalarResource("cpus", 1)), 400, "not reserved"},
		{volumeCall("CREATE_VOLUMES", aid, "volumes", persistentVolume(mesos.ScalarResource("disk", 5), "v2", "x")), 400, "unreserved disk"},
		{volumeCall("CREATE_VOLUMES", aid, "volumes", persistentVolume(disk, "v1", "again")), 400, "already in use"},
		{volumeCall("RESERVE_RESOURCES", "nope", "resources", cpu), 400, "Unknown agent"},
		{volumeCall("RESERVE_RESOURCES", aid, "resources", dynReserved(mesos.ScalarResource("cpus", 100), "db", "")), 409, "not available"},
		{`{"type":"DESTROY_VOLUMES"}`, 400, "destroy_volumes"},
	}
	for _, c := range bad {
		if code, msg := post(c.body); code != c.code || !strings.Contains(msg, c.want) {
			t.Errorf("%s: %d %q, want %d saying %q", c.body, code, msg, c.code, c.want)
		}
		if got := recorded(); got != before {
			t.Fatalf("%s changed the recorded reservations: %s, were %s", c.body, got, before)
		}
	}

	// A framework of role db is offered the reservations and the volume,
	// and runs a task on it.
	f := subscribe(t, srv.HTTPAddr(), subscribeBody("db", "", `"roles":["db"],"capabilities":[{"type":"MULTI_ROLE"}]`))
	f.subscribed()
	offer := f.await(scheduler.EventOffers, 10*time.Second).Offers.Offers[0]
	if !mesos.Resources(offer.Resources).Contains(mesos.Resources{vol, cpu}.Allocate("db")) {
		t.Fatalf("offer %s lacks the volume and the reserved cpu", mesos.Resources(offer.Resources))
	}
	task := mesos.TaskInfo{Name: "w", TaskID: mesos.TaskID{Value: "w"}, AgentID: offer.AgentID,
		Resources: []mesos.Resource{cpu, vol}, Command: &mesos.CommandInfo{Value: "sleep 1000"}}
	f.acceptOps(offer.ID, launchOp(task))
	f.ack(f.await(scheduler.EventUpdate, 10*time.Second).Update.Status)
	if code, msg := post(volumeCall("DESTROY_VOLUMES", aid, "volumes", vol)); code != 400 || !strings.Contains(msg, "in use") {
		t.Fatalf("DESTROY_VOLUMES of a volume in use: %d %s", code, msg)
	}
	f.mustCall("KILL", "kill", `{"task_id":{"value":"w"}}`)
	if st := f.await(scheduler.EventUpdate, 10*time.Second).Update.Status; st.State != mesos.TaskKilled {
		t.Fatalf("task w: %s", st.State)
	} else {
		f.ack(st)
	}
	servertest.WaitFor(t, 10*time.Second, "the volume to be free", func() bool {
		return !srv.FSM().State().VolumesInUse(aid)["v1"]
	})
	if code, msg := post(volumeCall("DESTROY_VOLUMES", aid, "volumes", vol)); code != http.StatusAccepted {
		t.Fatalf("DESTROY_VOLUMES: %d %s", code, msg)
	}
	if code, msg := post(volumeCall("UNRESERVE_RESOURCES", aid, "resources", disk, cpu)); code != http.StatusAccepted {
		t.Fatalf("UNRESERVE_RESOURCES: %d %s", code, msg)
	}
	if got := recorded(); got != "" {
		t.Fatalf("after DESTROY and UNRESERVE the agent still has %s", got)
	}
	servertest.WaitFor(t, 10*time.Second, "the agent to hear its volume is gone", func() bool {
		return len(agent.Checkpointed()) == 0
	})
	// The rescinded offers come back with everything unreserved.
	servertest.WaitFor(t, 10*time.Second, "an offer of every cpu, unreserved", func() bool {
		var cpus float64
		for _, o := range srv.FSM().State().OffersByFramework(f.id) {
			for _, r := range o.Resources {
				if r.IsReserved() {
					return false
				}
			}
			cpus += o.Resources.Scalar("cpus")
		}
		return cpus == 4
	})
}

// TestOperator_ReservationMadeAsTheAgentRegistersReachesIt: a reservation
// committed while an agent registers, after its new stream is the one
// commands go to and before REGISTERED is written, is the last
// CHECKPOINT_RESOURCES the agent hears. The registration's own account of
// the agent's resources, read before that commit, must not arrive after
// it: the agent would destroy the volumes and forget the reservations the
// leader records.
func TestOperator_ReservationMadeAsTheAgentRegistersReachesIt(t *testing.T) {
	srv := servertest.NewServer(t, servertest.Options{Tweak: func(c *server.Config) { c.AgentPingTimeout = 50 * time.Millisecond }})
	disk := dynReserved(mesos.ScalarResource("disk", 100), "db", "")
	var once sync.Once
	srv.BeforeAgentRegisteredForTest(t, func(aid string) {
		once.Do(func() {
			// In the server's handler: errors are reported, never Fatal.
			body := volumeCall("RESERVE_RESOURCES", aid, "resources", disk)
			resp, err := http.Post("http://"+srv.HTTPAddr()+"/api/v1", "application/json", strings.NewReader(body))
			if err != nil {
				t.Errorf("RESERVE_RESOURCES: %v", err)
				return
			}
			msg, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusAccepted {
				t.Errorf("RESERVE_RESOURCES: %d %s", resp.StatusCode, msg)
			}
		})
	})
	agent := servertest.NewSimAgent(srv.HTTPAddr(), agentResources())
	agent.Pings = true
	agent.Start(t)
	// A PING comes after whatever the registration queued: once the agent
	// has one, it has heard every CHECKPOINT_RESOURCES sent before.
	servertest.WaitFor(t, 10*time.Second, "a PING after the registration", func() bool { return agent.PingsReceived() > 0 })
	as := srv.FSM().State().Agents()
	if len(as) != 1 || !mesos.Resources(as[0].Checkpointed).Contains(mesos.Resources{disk}) {
		t.Fatalf("the leader records no reservation: %+v", as)
	}
	if got := agent.Checkpointed(); !got.Contains(mesos.Resources{disk}) {
		t.Fatalf("the agent's checkpointed resources are %s; the leader records %s", got, mesos.Resources(as[0].Checkpointed))
	}
}
