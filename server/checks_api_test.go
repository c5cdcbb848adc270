package server_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"mesh/mesos"
	"mesh/mesos/agentapi"
	"mesh/mesos/scheduler"
	"mesh/server/servertest"
)

// TestScheduler_InvalidHealthCheckGetsTaskError: a task whose health
// check, check or max_completion_time Mesos' master refuses gets
// TASK_ERROR with REASON_TASK_INVALID and Mesos' message, and the other
// tasks of the same ACCEPT launch.
func TestScheduler_InvalidHealthCheckGetsTaskError(t *testing.T) {
	srv := servertest.NewServer(t, servertest.Options{})
	agent := servertest.NewSimAgent(srv.HTTPAddr(), agentResources())
	agent.Start(t)
	f := subscribe(t, srv.HTTPAddr(), subscribeBody("checks", "", ""))
	f.subscribed()
	o := f.await(scheduler.EventOffers, 10*time.Second).Offers.Offers[0]
	rel := "health"
	task := func(id string) mesos.TaskInfo {
		return mesos.TaskInfo{Name: id, TaskID: mesos.TaskID{Value: id}, AgentID: o.AgentID,
			Resources: []mesos.Resource{mesos.ScalarResource("cpus", 0.1), mesos.ScalarResource("mem", 32)},
			Command:   &mesos.CommandInfo{Value: "sleep 60"}}
	}
	unknown, relative, negative, badCheck, good := task("unknown"), task("relative"), task("negative"), task("badcheck"), task("good")
	unknown.HealthCheck = &mesos.HealthCheck{Type: "UNKNOWN"}
	relative.HealthCheck = &mesos.HealthCheck{Type: "HTTP", HTTP: &mesos.HTTPCheckInfo{Port: 8080, Path: &rel}}
	negative.MaxCompletionTime = &mesos.DurationInfo{Nanoseconds: -5}
	badCheck.Check = &mesos.CheckInfo{Type: "TCP"}
	good.HealthCheck = &mesos.HealthCheck{Type: "TCP", TCP: &mesos.TCPCheckInfo{Port: 8080}}
	want := map[string]string{
		"unknown":  "Task uses invalid health check: 'UNKNOWN' is not a valid health check type",
		"relative": "Task uses invalid health check: The path 'health' of HTTP health check must start with '/'",
		"negative": "Task's `max_completion_time` must be non-negative",
		"badcheck": "Task uses invalid check: Expecting 'tcp' to be set for TCP check",
	}
	f.accept([]mesos.OfferID{o.ID}, []mesos.TaskInfo{unknown, relative, negative, badCheck, good})
	for len(want) > 0 {
		st := f.await(scheduler.EventUpdate, 10*time.Second).Update.Status
		id := st.TaskID.Value
		if id == "good" {
			if st.State != mesos.TaskRunning {
				t.Errorf("the valid task: %+v", st)
			}
			f.ack(st)
			continue
		}
		msg, ok := want[id]
		if !ok {
			t.Fatalf("unexpected update %+v", st)
		}
		delete(want, id)
		if st.State != mesos.TaskError || st.Reason != mesos.ReasonTaskInvalid || st.Source != mesos.SourceMaster || st.Message != msg {
			t.Errorf("%s: %s %s %s %q, want TASK_ERROR REASON_TASK_INVALID SOURCE_MASTER %q", id, st.State, st.Reason, st.Source, st.Message, msg)
		}
	}
	// The valid task was committed with its health check.
	servertest.WaitFor(t, 10*time.Second, "the valid task to run", func() bool {
		tk := srv.FSM().State().Task(f.id, "good")
		return tk != nil && tk.Info.HealthCheck != nil && tk.Info.HealthCheck.TCP.Port == 8080
	})
}

// TestScheduler_HealthAndCheckStatusReachTheFramework: a TASK_RUNNING
// update with healthy and check_status goes through the server to the
// framework with both; the task's latest health and check status are
// what a reconciliation answers, and /state keeps the health.
func TestScheduler_HealthAndCheckStatusReachTheFramework(t *testing.T) {
	srv := servertest.NewServer(t, servertest.Options{})
	agent := servertest.NewSimAgent(srv.HTTPAddr(), agentResources())
	agent.Start(t)
	f := subscribe(t, srv.HTTPAddr(), subscribeBody("checks", "", ""))
	f.subscribed()
	o := f.await(scheduler.EventOffers, 10*time.Second).Offers.Offers[0]
	f.launch(o, "sleep 60", "web")
	running := f.await(scheduler.EventUpdate, 10*time.Second).Update.Status
	if running.State != mesos.TaskRunning {
		t.Fatalf("first update %+v", running)
	}
	f.ack(running)

	unhealthy, code := false, int32(3)
	u := uuid.New()
	st := mesos.TaskStatus{TaskID: mesos.TaskID{Value: "web"}, State: mesos.TaskRunning, Source: mesos.SourceExecutor,
		Reason: mesos.ReasonTaskHealthCheckStatusUpdated, Healthy: &unhealthy, UUID: u[:],
		ExecutorID: &mesos.ExecutorID{Value: "web"}, Timestamp: float64(time.Now().UnixNano()) / 1e9,
		CheckStatus: &mesos.CheckStatusInfo{Type: mesos.CheckTypeCommand, Command: &mesos.CommandCheckStatus{ExitCode: &code}}}
	body, _ := json.Marshal(agentapi.Call{Type: agentapi.CallUpdate, AgentID: &o.AgentID,
		Update: &agentapi.Update{Updates: []agentapi.StatusUpdate{{FrameworkID: mesos.FrameworkID{Value: f.id}, Status: st}}}})
	resp, err := http.Post("http://"+srv.HTTPAddr()+agentapi.Path, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("agent UPDATE: %s", resp.Status)
	}
	got := f.await(scheduler.EventUpdate, 10*time.Second).Update.Status
	if got.Healthy == nil || *got.Healthy || got.Reason != mesos.ReasonTaskHealthCheckStatusUpdated ||
		got.CheckStatus == nil || !got.CheckStatus.Equal(*st.CheckStatus) {
		t.Fatalf("forwarded update %+v", got)
	}
	f.ack(got)

	f.mustCall("RECONCILE", "reconcile", `{"tasks":[{"task_id":{"value":"web"}}]}`)
	rec := f.await(scheduler.EventUpdate, 10*time.Second).Update.Status
	if rec.Reason != mesos.ReasonReconciliation || rec.Healthy == nil || *rec.Healthy ||
		rec.CheckStatus == nil || !rec.CheckStatus.Equal(*st.CheckStatus) {
		t.Fatalf("reconciliation %+v", rec)
	}
}

// TestScheduler_HealthCheckMissingARequiredFieldIs400: a health check or
// check whose target lacks its required port does not parse, as in
// Mesos: the ACCEPT is answered 400 naming the field, and the server
// keeps serving the framework.
func TestScheduler_HealthCheckMissingARequiredFieldIs400(t *testing.T) {
	srv := servertest.NewServer(t, servertest.Options{})
	f := subscribe(t, srv.HTTPAddr(), subscribeBody("checks", "", ""))
	f.subscribed()
	task := func(extra string) string {
		return `{"offer_ids":[{"value":"o"}],"operations":[{"type":"LAUNCH","launch":{"task_infos":[{"name":"n","task_id":{"value":"t"},` +
			`"agent_id":{"value":"a"},"command":{"value":"true"},` + extra + `}]}}]}`
	}
	cases := map[string]string{
		`"health_check":{"type":"HTTP","http":{"path":"/x"}}`: "launch.task_infos[0].health_check.http.port",
		`"health_check":{"type":"TCP","tcp":{}}`:              "launch.task_infos[0].health_check.tcp.port",
		`"check":{"type":"TCP","tcp":{}}`:                     "launch.task_infos[0].check.tcp.port",
	}
	for extra, field := range cases {
		code, body := f.call("ACCEPT", "accept", task(extra))
		if code != http.StatusBadRequest || !strings.Contains(body, field) {
			t.Errorf("%s: %d %q, want 400 naming %s", extra, code, body, field)
		}
	}
	f.mustCall("REVIVE", "", "")
}
