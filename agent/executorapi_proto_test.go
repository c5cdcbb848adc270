package agent

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"mesh/mesos"
	"mesh/mesos/codec"
	execapi "mesh/mesos/executor"
	"mesh/mesos/recordio"
)

func callProto(t *testing.T, c execapi.Call) string {
	t.Helper()
	b, err := codec.Marshal(codec.Protobuf, &c)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestExecutorAPI_Protobuf plays an executor that speaks protobuf, as
// Mesos' own executor libraries do: its calls are protobuf, it asks for a
// protobuf stream and gets SUBSCRIBED, LAUNCH and ACKNOWLEDGED as protobuf
// records; bad protobuf, a Content-Type that is neither encoding and an
// Accept that allows neither get 400, 415 and 406 as the Mesos agent
// answers them.
func TestExecutorAPI_Protobuf(t *testing.T) {
	f := newFakeServer(t)
	cfg := testConfig(t, f)
	cfg.ExecutorCommand = []string{"/bin/sleep", "100"}
	a := startAgent(t, cfg)
	a.waitRegistered(t)
	f.launch(testFramework("fw-1"), commandTask("t1", "true"))
	waitFor(t, 10*time.Second, "the executor to be launched", func() bool {
		st := a.State()
		return len(st.Frameworks) == 1 && len(st.Frameworks[0].Executors) == 1
	})
	c := &executorClient{t: t, url: "http://" + a.Addr() + "/api/v1/executor"}
	a.mu.Lock()
	c.token = a.frameworks["fw-1"].executors["t1"].token
	a.mu.Unlock()
	fid, eid := &mesos.FrameworkID{Value: "fw-1"}, &mesos.ExecutorID{Value: "t1"}
	sub := callProto(t, execapi.Call{FrameworkID: fid, ExecutorID: eid, Type: execapi.CallSubscribe, Subscribe: &execapi.Subscribe{}})

	for _, bad := range []struct {
		name, ct, accept, body string
		code                   int
		msg                    string
	}{
		{"truncated protobuf", codec.Protobuf, "", sub + "\x0a\x09ab", 400, "application/x-protobuf"},
		{"missing required ids", codec.Protobuf, "", "\x18\x04", 400, "required"},
		{"text/plain", "text/plain", "", sub, 415, "application/json or application/x-protobuf"},
		{"Accept text/plain", codec.Protobuf, "text/plain", sub, 406, "'application/x-protobuf' or 'application/json'"},
	} {
		resp, msg := c.do(http.MethodPost, bad.ct, bad.accept, bad.body)
		if resp.StatusCode != bad.code || !strings.Contains(msg, bad.msg) {
			t.Errorf("%s: %d %q, want %d mentioning %q", bad.name, resp.StatusCode, msg, bad.code, bad.msg)
		}
	}

	req, _ := http.NewRequest(http.MethodPost, c.url, strings.NewReader(sub))
	req.Header.Set("Content-Type", codec.Protobuf)
	req.Header.Set("Accept", codec.Protobuf)
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != codec.Protobuf {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("SUBSCRIBE: %d, Content-Type %q: %s", resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	rd := recordio.NewReader(resp.Body)
	next := func() execapi.Event {
		t.Helper()
		for {
			rec, err := rd.ReadRecord()
			if err != nil {
				t.Fatalf("executor stream: %v", err)
			}
			var ev execapi.Event
			if err := codec.Unmarshal(codec.Protobuf, rec, &ev); err != nil {
				t.Fatalf("a record that is not a protobuf Event: %v", err)
			}
			if ev.Type != execapi.EventHeartbeat {
				return ev
			}
		}
	}
	if ev := next(); ev.Type != execapi.EventSubscribed || ev.Subscribed.ExecutorInfo.ExecutorID.Value != "t1" ||
		ev.Subscribed.FrameworkInfo.ID == nil || ev.Subscribed.FrameworkInfo.ID.Value != "fw-1" || ev.Subscribed.ContainerID == nil {
		t.Fatalf("first event %+v", ev)
	}
	if ev := next(); ev.Type != execapi.EventLaunch || ev.Launch.Task.TaskID.Value != "t1" {
		t.Fatalf("second event %+v", ev)
	}
	id := newUUID()
	update := callProto(t, execapi.Call{FrameworkID: fid, ExecutorID: eid, Type: execapi.CallUpdate, Update: &execapi.Update{
		Status: &mesos.TaskStatus{TaskID: mesos.TaskID{Value: "t1"}, State: mesos.TaskRunning, Source: mesos.SourceExecutor, UUID: id}}})
	if resp, msg := c.do(http.MethodPost, codec.Protobuf, "", update); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("UPDATE in protobuf: %d %q", resp.StatusCode, msg)
	}
	if ev := next(); ev.Type != execapi.EventAcknowledged || !bytes.Equal(ev.Acknowledged.UUID, id) {
		t.Fatalf("after UPDATE: %+v", ev)
	}
	f.waitAcked(t, "t1", mesos.TaskRunning)
}
