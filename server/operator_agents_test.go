package server_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"mesh/mesos"
	"mesh/mesos/agentapi"
	"mesh/mesos/scheduler"
	"mesh/server/servertest"
)

// MARK_AGENT_GONE: the agent's tasks become TASK_GONE_BY_OPERATOR for a
// partition-aware framework, the agent is told to shut its frameworks down
// and refused, and it can never register again. Again is a no-op; an
// unknown agent is a 404.
func TestOperator_MarkAgentGone(t *testing.T) {
	s := servertest.NewServer(t, servertest.Options{})
	addr := s.HTTPAddr()
	a := servertest.NewSimAgent(addr, agentResources())
	a.Start(t)
	f := subscribe(t, addr, subscribeBody("pa", "", `"capabilities":[{"type":"PARTITION_AWARE"}]`))
	f.subscribed()
	o := f.await(scheduler.EventOffers, 10*time.Second).Offers.Offers[0]
	f.launch(o, "sleep 1000", "t1")
	st := f.await(scheduler.EventUpdate, 10*time.Second).Update.Status
	f.ack(st)

	gone := `{"type":"MARK_AGENT_GONE","mark_agent_gone":{"agent_id":{"value":"` + a.ID + `"}}}`
	if code, out, _ := opCall(t, addr, "/api/v1", gone, nil); code != http.StatusOK {
		t.Fatalf("MARK_AGENT_GONE: %d %s", code, out)
	}
	st = f.await(scheduler.EventUpdate, 10*time.Second).Update.Status
	if st.TaskID.Value != "t1" || st.State != mesos.TaskGoneByOperator || st.Reason != mesos.ReasonAgentRemovedByOperator {
		t.Errorf("task update after MARK_AGENT_GONE: %+v", st)
	}
	servertest.WaitFor(t, 10*time.Second, "the agent to be refused", func() bool { return strings.Contains(a.Refused(), "marked gone") })
	if a.TaskState(f.id, "t1") != "" {
		t.Errorf("the agent was not told to shut the framework down")
	}
	if got := s.FSM().State().Agent(a.ID).State; got != "gone" {
		t.Errorf("agent state %q, want gone", got)
	}

	// It may not come back.
	body, _ := json.Marshal(agentapi.Call{Type: agentapi.CallSubscribe, Subscribe: &agentapi.Subscribe{
		AgentInfo: mesos.AgentInfo{ID: &mesos.AgentID{Value: a.ID}, Hostname: "sim", Port: 5051, Resources: agentResources()}}})
	hc := &http.Client{Timeout: 5 * time.Second}
	resp, err := hc.Post("http://"+addr+agentapi.Path, "application/json", strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("a gone agent re-registering: %d, want 403", resp.StatusCode)
	}
	if code, out, _ := opCall(t, addr, "/api/v1", gone, nil); code != http.StatusOK {
		t.Errorf("MARK_AGENT_GONE again: %d %s", code, out)
	}
	if code, out, _ := opCall(t, addr, "/api/v1", `{"type":"MARK_AGENT_GONE","mark_agent_gone":{"agent_id":{"value":"nope"}}}`, nil); code != http.StatusNotFound || !strings.Contains(out, "not found") {
		t.Errorf("MARK_AGENT_GONE of an unknown agent: %d %s", code, out)
	}
	if code, out, _ := opCall(t, addr, "/api/v1", `{"type":"MARK_AGENT_GONE","mark_agent_gone":{}}`, nil); code != http.StatusBadRequest || !strings.Contains(out, "mark_agent_gone.agent_id") {
		t.Errorf("MARK_AGENT_GONE without an agent id: %d %s", code, out)
	}
}
