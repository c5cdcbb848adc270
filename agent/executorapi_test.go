package agent

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mesh/executor"
	"mesh/mesos"
	execapi "mesh/mesos/executor"
	"mesh/mesos/recordio"
)

// executorClient plays an executor against the agent's executor API.
type executorClient struct {
	t   *testing.T
	url string
	// token is sent as the executor's (Authorization: Bearer) if set.
	token string
}

func (c *executorClient) do(method, contentType, accept, body string) (*http.Response, string) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.url, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func (c *executorClient) expect(name string, wantCode int, method, contentType, body string) {
	c.t.Helper()
	resp, msg := c.do(method, contentType, "", body)
	if resp.StatusCode != wantCode {
		c.t.Errorf("%s: status %d (%q), want %d", name, resp.StatusCode, msg, wantCode)
		return
	}
	if wantCode >= 400 {
		if ct := resp.Header.Get("Content-Type"); ct != "text/plain; charset=utf-8" || strings.TrimSpace(msg) == "" {
			c.t.Errorf("%s: error answer %q with Content-Type %q", name, msg, ct)
		}
	}
	if wantCode == http.StatusAccepted && msg != "" {
		c.t.Errorf("%s: 202 with a body %q", name, msg)
	}
}

func callJSON(t *testing.T, c execapi.Call) string {
	t.Helper()
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// subscription is an open executor event stream.
type subscription struct {
	events chan execapi.Event
	resp   *http.Response
	cancel context.CancelFunc
	ended  chan struct{}
}

func (c *executorClient) subscribe(call execapi.Call) *subscription {
	c.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, c.url, strings.NewReader(callJSON(c.t, call)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		c.t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		cancel()
		c.t.Fatalf("SUBSCRIBE: %d %s", resp.StatusCode, b)
	}
	s := &subscription{events: make(chan execapi.Event, 64), resp: resp, cancel: cancel, ended: make(chan struct{})}
	go func() {
		defer close(s.ended)
		r := recordio.NewReader(resp.Body)
		for {
			rec, err := r.ReadRecord()
			if err != nil {
				return
			}
			var ev execapi.Event
			if json.Unmarshal(rec, &ev) == nil {
				s.events <- ev
			}
		}
	}()
	c.t.Cleanup(func() { s.close() })
	return s
}

func (s *subscription) close() {
	s.cancel()
	s.resp.Body.Close()
	<-s.ended
}

// next returns the next event that is not a heartbeat.
func (s *subscription) next(t *testing.T) execapi.Event {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev := <-s.events:
			if ev.Type != execapi.EventHeartbeat {
				return ev
			}
		case <-timeout:
			t.Fatal("no event on the executor stream")
		}
	}
}

func TestExecutorAPI_FollowsTheSpec(t *testing.T) {
	f := newFakeServer(t)
	cfg := testConfig(t, f)
	// The test plays the executor; the process the agent starts only
	// holds the container.
	cfg.ExecutorCommand = []string{"/bin/sleep", "100"}
	a := startAgent(t, cfg)
	a.waitRegistered(t)
	f.launch(testFramework("fw-1"), commandTask("t1", "true"))
	waitFor(t, 10*time.Second, "the executor to be launched", func() bool {
		st := a.State()
		return len(st.Frameworks) == 1 && len(st.Frameworks[0].Executors) == 1
	})

	c := &executorClient{t: t, url: "http://" + a.Addr() + "/api/v1/executor"}
	fid, eid := &mesos.FrameworkID{Value: "fw-1"}, &mesos.ExecutorID{Value: "t1"}
	// Without the executor's token, or with another, every call about the
	// executor is refused: another task on the machine cannot speak for it.
	subNoToken := callJSON(t, execapi.Call{FrameworkID: fid, ExecutorID: eid, Type: execapi.CallSubscribe, Subscribe: &execapi.Subscribe{}})
	c.expect("SUBSCRIBE without the token", 401, http.MethodPost, "application/json", subNoToken)
	c.token = strings.Repeat("0", 64)
	c.expect("SUBSCRIBE with another token", 401, http.MethodPost, "application/json", subNoToken)
	a.mu.Lock()
	c.token = a.frameworks["fw-1"].executors["t1"].token
	a.mu.Unlock()
	if len(c.token) != 64 {
		t.Fatalf("executor token %q", c.token)
	}
	status := func(state mesos.TaskState, source string, id mesos.Bytes) *mesos.TaskStatus {
		return &mesos.TaskStatus{TaskID: mesos.TaskID{Value: "t1"}, State: state, Source: source, UUID: id}
	}
	update := func(st *mesos.TaskStatus) string {
		return callJSON(t, execapi.Call{FrameworkID: fid, ExecutorID: eid, Type: execapi.CallUpdate, Update: &execapi.Update{Status: st}})
	}
	running := update(status(mesos.TaskRunning, mesos.SourceExecutor, newUUID()))

	resp, _ := c.do(http.MethodGet, "", "", "")
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "POST" {
		t.Errorf("GET: %d, Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
	}
	c.expect("no Content-Type", 400, http.MethodPost, "", running)
	c.expect("text/plain", 415, http.MethodPost, "text/plain", running)
	c.expect("malformed JSON", 400, http.MethodPost, "application/json", "{")
	c.expect("no type", 400, http.MethodPost, "application/json", `{"executor_id":{"value":"t1"},"framework_id":{"value":"fw-1"}}`)
	c.expect("no executor_id", 400, http.MethodPost, "application/json", `{"framework_id":{"value":"fw-1"},"type":"HEARTBEAT"}`)
	c.expect("heartbeat with bogus ids", 202, http.MethodPost, "application/json",
		`{"executor_id":{"value":"nope"},"framework_id":{"value":"nope"},"type":"HEARTBEAT"}`)
	c.expect("unknown framework", 400, http.MethodPost, "application/json",
		callJSON(t, execapi.Call{FrameworkID: &mesos.FrameworkID{Value: "nope"}, ExecutorID: eid, Type: execapi.CallSubscribe, Subscribe: &execapi.Subscribe{}}))
	c.expect("unknown executor", 400, http.MethodPost, "application/json",
		callJSON(t, execapi.Call{FrameworkID: fid, ExecutorID: &mesos.ExecutorID{Value: "nope"}, Type: execapi.CallSubscribe, Subscribe: &execapi.Subscribe{}}))
	c.expect("update before subscribe", 403, http.MethodPost, "application/json", running)
	c.expect("message before subscribe", 403, http.MethodPost, "application/json",
		callJSON(t, execapi.Call{FrameworkID: fid, ExecutorID: eid, Type: execapi.CallMessage, Message: &execapi.Message{Data: mesos.Bytes("hi")}}))
	c.expect("update without uuid", 400, http.MethodPost, "application/json", update(status(mesos.TaskRunning, mesos.SourceExecutor, nil)))
	c.expect("update with a short uuid", 400, http.MethodPost, "application/json", update(status(mesos.TaskRunning, mesos.SourceExecutor, mesos.Bytes("abc"))))
	c.expect("update from SOURCE_AGENT", 400, http.MethodPost, "application/json", update(status(mesos.TaskRunning, mesos.SourceAgent, newUUID())))
	c.expect("update with TASK_STAGING", 400, http.MethodPost, "application/json", update(status(mesos.TaskStaging, mesos.SourceExecutor, newUUID())))
	subCall := callJSON(t, execapi.Call{FrameworkID: fid, ExecutorID: eid, Type: execapi.CallSubscribe, Subscribe: &execapi.Subscribe{}})
	if resp, _ := c.do(http.MethodPost, "application/json", "text/html", subCall); resp.StatusCode != http.StatusNotAcceptable {
		t.Errorf("SUBSCRIBE accepting only text/html: %d, want 406", resp.StatusCode)
	}

	// SUBSCRIBE: SUBSCRIBED, then the queued LAUNCH.
	s1 := c.subscribe(execapi.Call{FrameworkID: fid, ExecutorID: eid, Type: execapi.CallSubscribe, Subscribe: &execapi.Subscribe{}})
	if ct := s1.resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("stream Content-Type %q", ct)
	}
	ev := s1.next(t)
	if ev.Type != execapi.EventSubscribed || ev.Subscribed.FrameworkInfo.ID == nil || ev.Subscribed.FrameworkInfo.ID.Value != "fw-1" ||
		ev.Subscribed.ExecutorInfo.ExecutorID.Value != "t1" || ev.Subscribed.AgentInfo.ID == nil || ev.Subscribed.ContainerID == nil {
		t.Fatalf("first event %+v", ev)
	}
	ev = s1.next(t)
	if ev.Type != execapi.EventLaunch || ev.Launch.Task.TaskID.Value != "t1" {
		t.Fatalf("second event %+v", ev)
	}

	// UPDATE: 202, then ACKNOWLEDGED with the same uuid; the server gets it.
	id := newUUID()
	c.expect("update", 202, http.MethodPost, "application/json", update(status(mesos.TaskRunning, mesos.SourceExecutor, id)))
	ev = s1.next(t)
	if ev.Type != execapi.EventAcknowledged || string(ev.Acknowledged.UUID) != string(id) || ev.Acknowledged.TaskID.Value != "t1" {
		t.Fatalf("after UPDATE: %+v", ev)
	}
	got := f.waitState(t, "t1", mesos.TaskRunning)
	if string(got.UUID) != string(id) || got.ExecutorID == nil || got.ExecutorID.Value != "t1" {
		t.Errorf("forwarded update %+v", got)
	}
	c.expect("message", 202, http.MethodPost, "application/json",
		callJSON(t, execapi.Call{FrameworkID: fid, ExecutorID: eid, Type: execapi.CallMessage, Message: &execapi.Message{Data: mesos.Bytes("hi")}}))
	c.expect("UNKNOWN", 501, http.MethodPost, "application/json", `{"executor_id":{"value":"t1"},"framework_id":{"value":"fw-1"},"type":"UNKNOWN"}`)

	// A resubscription replaces the old stream; an unacknowledged update
	// it carries that was already stored is acknowledged again, a new one
	// is stored and forwarded.
	fin := status(mesos.TaskFinished, mesos.SourceExecutor, newUUID())
	s2 := c.subscribe(execapi.Call{FrameworkID: fid, ExecutorID: eid, Type: execapi.CallSubscribe, Subscribe: &execapi.Subscribe{
		UnacknowledgedUpdates: []execapi.Update{{Status: status(mesos.TaskRunning, mesos.SourceExecutor, id)}, {Status: fin}},
	}})
	select {
	case <-s1.ended:
	case <-time.After(10 * time.Second):
		t.Fatal("the replaced stream did not end")
	}
	if ev := s2.next(t); ev.Type != execapi.EventSubscribed {
		t.Fatalf("resubscription's first event %+v", ev)
	}
	acked := map[string]bool{}
	for i := 0; i < 2; i++ {
		ev := s2.next(t)
		if ev.Type != execapi.EventAcknowledged {
			t.Fatalf("resubscription event %+v", ev)
		}
		acked[string(ev.Acknowledged.UUID)] = true
	}
	if !acked[string(id)] || !acked[string(fin.UUID)] {
		t.Errorf("resent updates not acknowledged")
	}
	f.waitAcked(t, "t1", mesos.TaskFinished)
	checkOrdered(t, f.updatesOf("t1"), mesos.TaskRunning, mesos.TaskFinished)
}

func TestValidateExecutorStatus(t *testing.T) {
	eid := &mesos.ExecutorID{Value: "e1"}
	ok := mesos.TaskStatus{TaskID: mesos.TaskID{Value: "t"}, State: mesos.TaskRunning, Source: mesos.SourceExecutor, UUID: newUUID()}
	if err := validateExecutorStatus(&ok, eid); err != nil {
		t.Fatal(err)
	}
	for name, mutate := range map[string]func(*mesos.TaskStatus){
		"no task":        func(s *mesos.TaskStatus) { s.TaskID.Value = "" },
		"bad state":      func(s *mesos.TaskStatus) { s.State = "TASK_BOGUS" },
		"staging":        func(s *mesos.TaskStatus) { s.State = mesos.TaskStaging },
		"no uuid":        func(s *mesos.TaskStatus) { s.UUID = nil },
		"short uuid":     func(s *mesos.TaskStatus) { s.UUID = mesos.Bytes("x") },
		"agent source":   func(s *mesos.TaskStatus) { s.Source = mesos.SourceAgent },
		"other executor": func(s *mesos.TaskStatus) { s.ExecutorID = &mesos.ExecutorID{Value: "e2"} },
	} {
		st := ok
		mutate(&st)
		if err := validateExecutorStatus(&st, eid); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// The command executor authenticates with its token and keeps it from its
// task.
func TestExecutorAPI_TokenStaysWithTheExecutor(t *testing.T) {
	f := newFakeServer(t)
	a := startAgent(t, testConfig(t, f))
	a.waitRegistered(t)
	f.launch(testFramework("fw-1"), commandTask("t1", "env > env.out"))
	f.waitState(t, "t1", mesos.TaskFinished)
	b, err := os.ReadFile(filepath.Join(sandboxOf(t, a, "t1"), "env.out"))
	if err != nil {
		t.Fatal(err)
	}
	if env := string(b); !strings.Contains(env, executor.EnvSandbox+"=") || strings.Contains(env, executor.EnvExecutorToken) {
		t.Errorf("the task's environment:\n%s", env)
	}
}
