package server_test

import (
	"encoding/json"
	"testing"
	"time"

	"mesh/mesos"
	"mesh/mesos/scheduler"
	"mesh/server/servertest"
)

// busyCluster is a server with two agents and frameworks whose tasks are
// in several states, for the read endpoints' tests. One server: a
// cluster's elections under a loaded machine would only make the tests
// wait; followers are tested on their own.
type busyCluster struct {
	srv        *servertest.Server
	leader     string // the server's HTTP address
	agents     []*servertest.SimAgent
	web, batch *framework
	goneID     string
}

// newBusyCluster builds: agent sim1 (cpus:4, mem:4096, disk:1000, ports,
// cpus(ops):1, mem(ops):64, attributes) and sim2 (cpus:2, mem:2048); framework "web"
// with a finished, a running, a killed task and one on a custom
// executor; MULTI_ROLE framework "batch" (labels) holding an offer; and
// framework "gone", torn down.
func newBusyCluster(t *testing.T) *busyCluster {
	t.Helper()
	b := &busyCluster{srv: servertest.NewServer(t, servertest.Options{})}
	b.leader = b.srv.HTTPAddr()

	res1, err := mesos.ParseResources("cpus:4;mem:4096;disk:1000;ports:[31000-31099];cpus(ops):1;mem(ops):64")
	if err != nil {
		t.Fatal(err)
	}
	attrs, err := mesos.ParseAttributes("rack:r1;zone:2;slots:[1-4];os:{linux,gnu}")
	if err != nil {
		t.Fatal(err)
	}
	a1 := servertest.NewSimAgent(b.leader, res1)
	a1.Hostname, a1.Attributes = "sim1", attrs
	a1.Start(t)
	a2 := servertest.NewSimAgent(b.leader, mesos.Resources{mesos.ScalarResource("cpus", 2), mesos.ScalarResource("mem", 2048)})
	a2.Hostname = "sim2"
	a2.Start(t)
	b.agents = []*servertest.SimAgent{a1, a2}

	b.web = subscribe(t, b.leader, subscribeBody("web", "", `"failover_timeout":3600,"checkpoint":true,"hostname":"web.example","webui_url":"http://web.example/ui"`))
	b.web.subscribed()
	// The first offer of each agent: web takes sim1's and declines
	// sim2's, both with a filter that outlasts the test, so that web holds
	// no offer while the endpoints are read.
	offers := map[string]mesos.Offer{}
	for len(offers) < 2 {
		for _, o := range b.web.await(scheduler.EventOffers, 10*time.Second).Offers.Offers {
			offers[o.AgentID.Value] = o
		}
	}
	offer := offers[a1.ID]
	b.web.mustCall("DECLINE", "decline", `{"offer_ids":[{"value":"`+offers[a2.ID].ID.Value+`"}],"filters":{"refuse_seconds":3600}}`)
	task := func(id, cmd string) mesos.TaskInfo {
		return mesos.TaskInfo{Name: id, TaskID: mesos.TaskID{Value: id}, AgentID: offer.AgentID,
			Resources: []mesos.Resource{mesos.ScalarResource("cpus", 0.1), mesos.ScalarResource("mem", 32)},
			Command:   &mesos.CommandInfo{Value: cmd}, Labels: &mesos.Labels{Labels: []mesos.Label{{Key: "tier", Value: id}}}}
	}
	execTask := task("exec", "")
	execTask.Command = nil
	// An ExecutorInfo of another framework: TASK_ERROR.
	execTask.Executor = &mesos.ExecutorInfo{ExecutorID: mesos.ExecutorID{Value: "custom"}, Name: "custom executor",
		FrameworkID: &mesos.FrameworkID{Value: "another-framework"},
		Command:     &mesos.CommandInfo{Value: "sleep 1000"},
		Resources:   []mesos.Resource{mesos.ScalarResource("cpus", 0.1), mesos.ScalarResource("mem", 32)}}
	b.web.accept([]mesos.OfferID{offer.ID}, []mesos.TaskInfo{task("done", "echo done"), task("long", "sleep 1000"),
		task("victim", "sleep 1000"), execTask})
	want := map[string]mesos.TaskState{"done": mesos.TaskFinished, "long": mesos.TaskRunning, "victim": mesos.TaskRunning, "exec": mesos.TaskError}
	b.web.ackUntil(want)
	b.web.mustCall("KILL", "kill", `{"task_id":{"value":"victim"}}`)
	b.web.ackUntil(map[string]mesos.TaskState{"victim": mesos.TaskKilled})
	// The killed task's resources pass web's filter (they were not part of
	// what it refused): web is offered sim1 again, and holds that offer.
	leader := b.srv
	servertest.WaitFor(t, 10*time.Second, "web to hold an offer of sim1", func() bool {
		for _, o := range leader.FSM().State().OffersByFramework(b.web.id) {
			if o.AgentID == a1.ID {
				return true
			}
		}
		return false
	})

	b.batch = subscribe(t, b.leader, subscribeBody("batch", "", `"roles":["ops","batch"],"capabilities":[{"type":"MULTI_ROLE"}],"labels":{"labels":[{"key":"team","value":"data"}]}`))
	b.batch.subscribed()
	// batch is offered everything left, on both agents, and holds it.
	servertest.WaitFor(t, 10*time.Second, "batch to hold offers of both agents", func() bool {
		on := map[string]bool{}
		for _, o := range leader.FSM().State().OffersByFramework(b.batch.id) {
			on[o.AgentID] = true
		}
		return on[a1.ID] && on[a2.ID]
	})

	gone := subscribe(t, b.leader, subscribeBody("gone", "", ""))
	gone.subscribed()
	b.goneID = gone.id
	gone.mustCall("TEARDOWN", "", "")
	return b
}

// ackUntil acknowledges updates until every task named reached its state.
func (f *framework) ackUntil(want map[string]mesos.TaskState) {
	f.t.Helper()
	left := len(want)
	for left > 0 {
		st := f.await(scheduler.EventUpdate, 10*time.Second).Update.Status
		if len(st.UUID) > 0 {
			f.ack(st)
		}
		if s, ok := want[st.TaskID.Value]; ok && s == st.State {
			delete(want, st.TaskID.Value)
			left--
		}
	}
}

// getJSONAt decodes GET path at addr into v; it fails the test unless the
// answer is 200 JSON.
func getJSONAt(t *testing.T, addr, path string, v any) {
	t.Helper()
	code, body := get(t, addr, path)
	if code != 200 {
		t.Fatalf("GET %s: %d %s", path, code, body)
	}
	if err := json.Unmarshal([]byte(body), v); err != nil {
		t.Fatalf("GET %s: %v in %s", path, err, body)
	}
}

func ptr[T any](v T) *T { return &v }
