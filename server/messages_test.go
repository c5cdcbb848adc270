package server_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"mesh/mesos"
	"mesh/mesos/agentapi"
	"mesh/mesos/scheduler"
	"mesh/server/servertest"
)

// postAgentCall posts a raw agent protocol call and returns the status
// code and body.
func postAgentCall(t *testing.T, addr, body string) (int, string) {
	t.Helper()
	resp, err := http.Post("http://"+addr+agentapi.Path, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestAgentCalls_ExecutorExitedAndMessageReachTheFramework: an agent's
// EXECUTOR_EXITED of an executor the leader placed becomes a FAILURE
// event with the agent, the executor and the status, and its MESSAGE a
// MESSAGE event; incomplete calls are 400 and calls of an agent not
// subscribed to the leader 403, saying so.
func TestAgentCalls_ExecutorExitedAndMessageReachTheFramework(t *testing.T) {
	srv := servertest.NewServer(t, servertest.Options{})
	agent := servertest.NewSimAgent(srv.HTTPAddr(), agentResources())
	agent.Start(t)
	f := subscribe(t, srv.HTTPAddr(), subscribeBody("agent-calls", "", ""))
	f.subscribed()
	aid := `"agent_id":{"value":"` + agent.ID + `"}`
	fw := `"framework_id":{"value":"` + f.id + `"},"executor_id":{"value":"e1"}`
	// The leader tells of the exit of an executor it placed.
	o := f.await(scheduler.EventOffers, 10*time.Second).Offers.Offers
	f.accept([]mesos.OfferID{o[0].ID}, []mesos.TaskInfo{executorTask(o, "t1", customExecutor("e1"))})

	if code, body := postAgentCall(t, srv.HTTPAddr(), `{"type":"EXECUTOR_EXITED",`+aid+`,"executor_exited":{`+fw+`,"status":256}}`); code != http.StatusOK {
		t.Fatalf("EXECUTOR_EXITED: %d %s", code, body)
	}
	ev := f.await(scheduler.EventFailure, 10*time.Second).Failure
	if ev.AgentID == nil || ev.AgentID.Value != agent.ID || ev.ExecutorID == nil || ev.ExecutorID.Value != "e1" || ev.Status == nil || *ev.Status != 256 {
		t.Errorf("FAILURE %+v, want e1 on %s with status 256", ev, agent.ID)
	}

	if code, body := postAgentCall(t, srv.HTTPAddr(), `{"type":"MESSAGE",`+aid+`,"message":{`+fw+`,"data":"aGk="}}`); code != http.StatusOK {
		t.Fatalf("MESSAGE: %d %s", code, body)
	}
	msg := f.await(scheduler.EventMessage, 10*time.Second).Message
	if string(msg.Data) != "hi" || msg.AgentID == nil || msg.AgentID.Value != agent.ID || msg.ExecutorID == nil || msg.ExecutorID.Value != "e1" {
		t.Errorf("MESSAGE %+v, want \"hi\" from e1 on %s", msg, agent.ID)
	}

	bad := []struct {
		body string
		code int
		says string
	}{
		{`{"type":"EXECUTOR_EXITED",` + aid + `}`, 400, "executor_exited"},
		{`{"type":"EXECUTOR_EXITED",` + aid + `,"executor_exited":{"status":0}}`, 400, "executor_exited.executor_id"},
		{`{"type":"EXECUTOR_EXITED","agent_id":{"value":"no-such-agent"},"executor_exited":{` + fw + `}}`, 403, "not subscribed"},
		{`{"type":"MESSAGE",` + aid + `}`, 400, "message"},
		{`{"type":"MESSAGE","message":{` + fw + `,"data":"aGk="}}`, 400, "agent_id"},
		{`{"type":"MESSAGE","agent_id":{"value":"no-such-agent"},"message":{` + fw + `,"data":"aGk="}}`, 403, "not subscribed"},
	}
	for _, b := range bad {
		if code, body := postAgentCall(t, srv.HTTPAddr(), b.body); code != b.code || !strings.Contains(body, b.says) {
			t.Errorf("%s: %d %q, want %d saying %q", b.body, code, body, b.code, b.says)
		}
	}
}
