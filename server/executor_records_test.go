package server_test

import (
	"context"
	"encoding/json"
	"sort"
	"testing"

	"mesh/mesos"
	mapi "mesh/mesos/master"
	"mesh/server/servertest"
)

// customExecutor is a custom executor of 0.5 cpus and 64 MB.
func customExecutor(id string) *mesos.ExecutorInfo {
	return &mesos.ExecutorInfo{ExecutorID: mesos.ExecutorID{Value: id}, Command: &mesos.CommandInfo{Value: "./executor --sleep"},
		Resources: []mesos.Resource{mesos.ScalarResource("cpus", 0.5), mesos.ScalarResource("mem", 64)}}
}

// executorsOf lists the executors GET_EXECUTORS reports, as agent/executor.
func executorsOf(t *testing.T, addr string) []string {
	t.Helper()
	var resp struct {
		GetExecutors mapi.GetExecutors `json:"get_executors"`
	}
	operator(t, addr, `{"type":"GET_EXECUTORS"}`, &resp)
	var out []string
	for _, e := range resp.GetExecutors.Executors {
		out = append(out, e.AgentID.Value+"/"+e.ExecutorInfo.ExecutorID.Value)
	}
	sort.Strings(out)
	return out
}

// usedCPUs is the cpus /state counts used on the agent.
func usedCPUs(t *testing.T, addr, aid string) float64 {
	t.Helper()
	code, body := get(t, addr, "/state")
	if code != 200 {
		t.Fatalf("/state: %d %s", code, body)
	}
	var st struct {
		Slaves []struct {
			ID            string             `json:"id"`
			UsedResources map[string]float64 `json:"used_resources"`
		} `json:"slaves"`
	}
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatal(err)
	}
	for _, s := range st.Slaves {
		if s.ID == aid {
			return s.UsedResources["cpus"]
		}
	}
	t.Fatalf("agent %s not in /state", aid)
	return 0
}

// idleExecutor starts a server, a simulated agent of 2 cpus and a
// framework (named name) whose custom executor e1 (0.5 cpus) ran task t1,
// now killed: the executor is left without a task, its resources held.
func idleExecutor(t *testing.T, name string) (*servertest.Server, *servertest.SimAgent, *framework, *execWatch) {
	t.Helper()
	srv := servertest.NewServer(t, servertest.Options{})
	agent := servertest.NewSimAgent(srv.HTTPAddr(), mesos.Resources{mesos.ScalarResource("cpus", 2), mesos.ScalarResource("mem", 1024)})
	agent.Start(t)
	f := subscribe(t, srv.HTTPAddr(), subscribeBody(name, "", ""))
	f.subscribed()
	w := newExecWatch(f)
	o := w.offers(2)
	w.acceptNoFilter(o, executorTask(o, "t1", customExecutor("e1")))
	w.offers(1)
	f.mustCall("KILL", "kill", `{"task_id":{"value":"t1"}}`)
	// The task's 0.5 cpus come back; the executor's 0.5 do not.
	w.offers(1.5)
	return srv, agent, f, w
}

// TestExecutors_ResourcesHeldUntilTheAgentReportsTheExit: a custom
// executor whose last task ended still holds its resources (not offered,
// counted used by /state, listed by GET_EXECUTORS) until its agent reports
// that it exited; then they are offered again and the framework gets one
// FAILURE, however often the agent reports the exit.
func TestExecutors_ResourcesHeldUntilTheAgentReportsTheExit(t *testing.T) {
	srv, agent, f, w := idleExecutor(t, "exec-records")
	if got := executorsOf(t, srv.HTTPAddr()); len(got) != 1 || got[0] != agent.ID+"/e1" {
		t.Fatalf("GET_EXECUTORS after the executor's last task ended: %v, want [%s/e1]", got, agent.ID)
	}
	if used := usedCPUs(t, srv.HTTPAddr(), agent.ID); used != 0.5 {
		t.Fatalf("/state used cpus %v after the executor's last task ended, want its 0.5", used)
	}

	if code, err := agent.ExitExecutor(context.Background(), f.id, "e1", 9); err != nil || code != 200 {
		t.Fatalf("EXECUTOR_EXITED: %d %v", code, err)
	}
	w.offers(2)
	if len(w.failures) != 1 || w.failures[0].Status == nil || *w.failures[0].Status != 9 ||
		w.failures[0].ExecutorID == nil || w.failures[0].ExecutorID.Value != "e1" {
		t.Fatalf("FAILURE events %+v, want one for e1 with status 9", w.failures)
	}
	if got := executorsOf(t, srv.HTTPAddr()); len(got) != 0 {
		t.Fatalf("GET_EXECUTORS after the exit: %v, want none", got)
	}
	// The agent reports the exit again: nothing changes and the framework
	// is not told twice. A MESSAGE relayed after it comes after anything
	// the second report would have sent.
	if code, err := agent.ExitExecutor(context.Background(), f.id, "e1", 9); err != nil || code != 200 {
		t.Fatalf("EXECUTOR_EXITED again: %d %v", code, err)
	}
	aid := `"agent_id":{"value":"` + agent.ID + `"}`
	msg := `"framework_id":{"value":"` + f.id + `"},"executor_id":{"value":"e1"}`
	if code, body := postAgentCall(t, srv.HTTPAddr(), `{"type":"MESSAGE",`+aid+`,"message":{`+msg+`,"data":"aGk="}}`); code != 200 {
		t.Fatalf("MESSAGE: %d %s", code, body)
	}
	for w.messages == 0 {
		w.step(10e9)
	}
	if len(w.failures) != 1 {
		t.Fatalf("%d FAILURE events after the exit was reported twice, want 1", len(w.failures))
	}
}

// TestExecutors_ReregistrationWithoutTheExecutorFreesIt: an agent that
// registers again without an executor the state records (it ended while
// the agent was away) frees that executor's resources; an executor it
// still reports keeps them.
func TestExecutors_ReregistrationWithoutTheExecutorFreesIt(t *testing.T) {
	srv := servertest.NewServer(t, servertest.Options{})
	agent := servertest.NewSimAgent(srv.HTTPAddr(), mesos.Resources{mesos.ScalarResource("cpus", 4), mesos.ScalarResource("mem", 1024)})
	agent.Start(t)
	f := subscribe(t, srv.HTTPAddr(), subscribeBody("exec-reregister", "", ""))
	f.subscribed()
	w := newExecWatch(f)

	o := w.offers(4)
	w.acceptNoFilter(o, executorTask(o, "t1", customExecutor("e1")), executorTask(o, "t2", customExecutor("e2")))
	w.offers(2)
	f.mustCall("KILL", "kill", `{"task_id":{"value":"t1"}}`)
	f.mustCall("KILL", "kill", `{"task_id":{"value":"t2"}}`)
	w.offers(3)

	agent.Stop()
	agent.ForgetExecutor(f.id, "e1")
	agent.Start(t)
	// e1's 0.5 cpus are free again; e2's stay held.
	w.offers(3.5)
	if got := executorsOf(t, srv.HTTPAddr()); len(got) != 1 || got[0] != agent.ID+"/e2" {
		t.Fatalf("GET_EXECUTORS after the agent re-registered without e1: %v, want [%s/e2]", got, agent.ID)
	}
	if used := usedCPUs(t, srv.HTTPAddr(), agent.ID); used != 0.5 {
		t.Fatalf("/state used cpus %v, want e2's 0.5", used)
	}
}

// TestExecutors_TeardownFreesAnIdleExecutor: a framework torn down while
// its executor runs without a task gives the executor's resources back:
// another framework is offered all of the agent.
func TestExecutors_TeardownFreesAnIdleExecutor(t *testing.T) {
	srv, _, f, _ := idleExecutor(t, "exec-teardown")
	f.mustCall("TEARDOWN", "", "")
	if got := executorsOf(t, srv.HTTPAddr()); len(got) != 0 {
		t.Fatalf("GET_EXECUTORS after the teardown: %v, want none", got)
	}
	other := subscribe(t, srv.HTTPAddr(), subscribeBody("exec-after-teardown", "", ""))
	other.subscribed()
	newExecWatch(other).offers(2)
}

// TestExecutors_AgentMarkedGoneTakesItsExecutors: the executors of an
// agent marked gone, idle ones too, are no longer recorded.
func TestExecutors_AgentMarkedGoneTakesItsExecutors(t *testing.T) {
	srv, agent, _, _ := idleExecutor(t, "exec-gone")
	if got := executorsOf(t, srv.HTTPAddr()); len(got) != 1 {
		t.Fatalf("GET_EXECUTORS with an idle executor: %v, want it", got)
	}
	gone := `{"type":"MARK_AGENT_GONE","mark_agent_gone":{"agent_id":{"value":"` + agent.ID + `"}}}`
	if code, out, _ := opCall(t, srv.HTTPAddr(), "/api/v1", gone, nil); code != 200 {
		t.Fatalf("MARK_AGENT_GONE: %d %s", code, out)
	}
	if got := executorsOf(t, srv.HTTPAddr()); len(got) != 0 {
		t.Fatalf("GET_EXECUTORS after the agent was marked gone: %v, want none", got)
	}
}
