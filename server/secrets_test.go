package server_test

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"mesh/mesos"
	"mesh/server/servertest"
)

// TestSecrets_NeverShownByAnEndpoint: the value of a SECRET environment
// variable of a task's executor and health check is in no answer of the
// state endpoints, the operator API or the web UI's, while the snapshot a
// backup writes keeps it.
func TestSecrets_NeverShownByAnEndpoint(t *testing.T) {
	srv := servertest.NewServer(t, servertest.Options{})
	addr := srv.HTTPAddr()
	agent := servertest.NewSimAgent(addr, mesos.Resources{mesos.ScalarResource("cpus", 2), mesos.ScalarResource("mem", 1024)})
	agent.Start(t)
	f := subscribe(t, addr, subscribeBody("secrets", "", ""))
	f.subscribed()
	w := newExecWatch(f)

	const plain = "hunter2-the-secret"
	data := base64.StdEncoding.EncodeToString([]byte(plain))
	env := &mesos.Environment{Variables: []mesos.EnvironmentVariable{
		{Name: "SHOWN", Value: "not-a-secret"},
		{Name: "DB_PASSWORD", Type: "SECRET", Secret: json.RawMessage(`{"type":"VALUE","value":{"data":"` + data + `"}}`)},
	}}
	exec := &mesos.ExecutorInfo{ExecutorID: mesos.ExecutorID{Value: "e1"}, Command: &mesos.CommandInfo{Value: "./executor", Environment: env},
		Resources: []mesos.Resource{mesos.ScalarResource("cpus", 0.5), mesos.ScalarResource("mem", 64)}}
	o := w.offers(2)
	task := executorTask(o, "t1", exec)
	task.HealthCheck = &mesos.HealthCheck{Type: "COMMAND", Command: &mesos.CommandInfo{Value: "true", Environment: env}}
	w.acceptNoFilter(o, task)
	servertest.WaitFor(t, 15*time.Second, "the task launched", func() bool { return agent.Launched() >= 1 })

	answers := map[string]string{}
	for _, path := range []string{"/state", "/state.json", "/master/state", "/master/state.json", "/tasks", "/frameworks", "/master/tasks", "/state-summary"} {
		resp, body := authDo(t, addr, "GET", path, "", "")
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
		}
		answers["GET "+path] = body
	}
	for _, call := range []string{"GET_STATE", "GET_TASKS", "GET_EXECUTORS", "GET_FRAMEWORKS", "GET_AGENTS"} {
		for _, path := range []string{"/api/v1", "/ui/api/v1"} {
			resp, body := authDo(t, addr, "POST", path, `{"type":"`+call+`"}`, "")
			if resp.StatusCode != 200 {
				t.Fatalf("%s %s: %d %s", path, call, resp.StatusCode, body)
			}
			answers[path+" "+call] = body
		}
	}
	if !strings.Contains(answers["/api/v1 GET_EXECUTORS"], "DB_PASSWORD") || !strings.Contains(answers["GET /state"], "DB_PASSWORD") {
		t.Fatalf("the executor is not shown at all, so nothing was checked:\n%s", answers["/api/v1 GET_EXECUTORS"])
	}
	for what, body := range answers {
		if strings.Contains(body, data) || strings.Contains(body, plain) {
			t.Errorf("%s shows the secret:\n%s", what, body)
		}
	}

	resp, err := http.Get("http://" + addr + "/internal/v1/snapshot")
	if err != nil {
		t.Fatal(err)
	}
	snap, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(snap), data) {
		t.Fatalf("the snapshot (%d, %d bytes) does not keep the secret: a restore would lose it", resp.StatusCode, len(snap))
	}
}
