package agent

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"mesh/executor"
	"mesh/mesos"
	"mesh/mesos/agentop"
	"mesh/mesos/codec"
	mapi "mesh/mesos/master"
	"mesh/mesos/v1pb/agentpb"
)

// encodings are the operator API's two encodings.
var encodings = []string{codec.JSON, codec.Protobuf}

// opPost posts body to the agent's /api/v1 as JSON, headers added or
// (empty value) removed, and returns the status, body and headers.
func opPost(t testing.TB, addr, body string, headers map[string]string) (int, []byte, http.Header) {
	t.Helper()
	return opPostAs(t, addr, codec.JSON, []byte(body), headers)
}

// opPostAs posts body, encoded as media type mt (also the Accept), to the
// agent's /api/v1.
func opPostAs(t testing.TB, addr, mt string, body []byte, headers map[string]string) (int, []byte, http.Header) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, "http://"+addr+"/api/v1", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", mt)
	req.Header.Set("Accept", mt)
	for k, v := range headers {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header
}

// opCall posts a call, given as JSON, in JSON; opCallAs in encoding mt.
func opCall(t testing.TB, addr, body string) *agentop.Response {
	t.Helper()
	return opCallAs(t, addr, codec.JSON, body)
}

// opCallAs posts a call, given as JSON, in encoding mt, requires a 200
// answer of the call's type in mt and returns it decoded.
func opCallAs(t testing.TB, addr, mt, body string) *agentop.Response {
	t.Helper()
	var call mapi.Call
	if err := json.Unmarshal([]byte(body), &call); err != nil {
		t.Fatal(err)
	}
	enc, err := codec.MarshalAs(mt, &agentpb.Call{}, &call)
	if err != nil {
		t.Fatal(err)
	}
	code, out, hdr := opPostAs(t, addr, mt, enc, nil)
	if code != http.StatusOK || hdr.Get("Content-Type") != mt {
		t.Fatalf("%s in %s: %d %q %s", body, mt, code, hdr.Get("Content-Type"), out)
	}
	var resp agentop.Response
	if err := codec.Unmarshal(mt, out, &resp); err != nil || resp.Type != call.Type {
		t.Fatalf("%s in %s: response type %q (%v), want %q: %q", body, mt, resp.Type, err, call.Type, out)
	}
	return &resp
}

// busyAgent is an agent (under posix isolation, testConfig's) with
// tasks in several states: t-run running, t-done finished (it printed
// "hello"), t-fail failed, all of framework fw-1; the executors of the
// ended ones have ended.
func busyAgent(t *testing.T) (*testAgent, *fakeServer) {
	f := newFakeServer(t)
	a := startAgent(t, testConfig(t, f))
	a.waitRegistered(t)
	f.launch(testFramework("fw-1"), commandTask("t-run", "sleep 100"))
	f.launch(testFramework("fw-1"), commandTask("t-done", "echo hello"))
	f.launch(testFramework("fw-1"), commandTask("t-fail", "exit 3"))
	f.waitAcked(t, "t-run", mesos.TaskRunning)
	f.waitAcked(t, "t-done", mesos.TaskFinished)
	f.waitAcked(t, "t-fail", mesos.TaskFailed)
	waitEnded(t, a, 2)
	return a, f
}

// idsOf lists the ids of tasks.
func idsOf[T any](items []T, id func(T) string) map[string]bool {
	out := map[string]bool{}
	for _, it := range items {
		out[id(it)] = true
	}
	return out
}

// TestAgentOperator_CallsAnswerFromTheAgent: every agent operator call
// mesh carries out answers 200 with its type and the agent's facts.
func TestAgentOperator_CallsAnswerFromTheAgent(t *testing.T) {
	a, _ := busyAgent(t)
	for _, mt := range encodings {
		t.Run(strings.TrimPrefix(mt, "application/"), func(t *testing.T) { checkAgentCalls(t, a, mt) })
	}
}

// checkAgentCalls makes every call of TestAgentOperator_CallsAnswerFromTheAgent in encoding mt.
func checkAgentCalls(t *testing.T, a *testAgent, mt string) {
	addr := a.Addr()
	opCall := func(t testing.TB, addr, body string) *agentop.Response { return opCallAs(t, addr, mt, body) }

	if r := opCall(t, addr, `{"type":"GET_HEALTH"}`); !r.GetHealth.Healthy {
		t.Errorf("GET_HEALTH: not healthy")
	}
	flags := map[string]string{}
	for _, f := range opCall(t, addr, `{"type":"GET_FLAGS"}`).GetFlags.Flags {
		flags[f.Name] = f.Value
	}
	if flags["work_dir"] != a.workDir || flags["isolation"] != a.containerizer.Name() {
		t.Errorf("GET_FLAGS: work_dir %q isolation %q; want %q %q", flags["work_dir"], flags["isolation"], a.workDir, a.containerizer.Name())
	}
	if v := opCall(t, addr, `{"type":"GET_VERSION"}`).GetVersion.VersionInfo; v.Version == "" {
		t.Errorf("GET_VERSION: no version")
	}
	metrics := map[string]float64{}
	for _, m := range opCall(t, addr, `{"type":"GET_METRICS","get_metrics":{}}`).GetMetrics.Metrics {
		metrics[m.Name] = m.Value
	}
	for key, want := range map[string]float64{"slave/tasks_running": 1, "slave/tasks_finished": 1, "slave/tasks_failed": 1,
		"slave/registered": 1, "slave/executors_running": 1, "slave/cpus_used": 0.1, "slave/mem_used": 32} {
		if got, ok := metrics[key]; !ok || got != want {
			t.Errorf("GET_METRICS %s = %v (present %v), want %v", key, got, ok, want)
		}
	}
	if r := opCall(t, addr, `{"type":"GET_LOGGING_LEVEL"}`); r.GetLoggingLevel.Level != 0 {
		t.Errorf("GET_LOGGING_LEVEL = %d, want 0", r.GetLoggingLevel.Level)
	}

	tasks := opCall(t, addr, `{"type":"GET_TASKS"}`).GetTasks
	taskID := func(t mapi.Task) string { return t.TaskID.Value }
	if got := idsOf(tasks.LaunchedTasks, taskID); len(got) != 1 || !got["t-run"] {
		t.Errorf("GET_TASKS launched %v, want t-run", got)
	}
	if got := idsOf(append(tasks.CompletedTasks, tasks.TerminatedTasks...), taskID); len(got) != 2 || !got["t-done"] || !got["t-fail"] {
		t.Errorf("GET_TASKS completed and terminated %v, want t-done and t-fail", got)
	}
	for _, task := range tasks.LaunchedTasks {
		if task.State != mesos.TaskRunning || task.AgentID.Value != a.ID() || task.FrameworkID.Value != "fw-1" || len(task.Resources) != 2 {
			t.Errorf("GET_TASKS launched task %+v", task)
		}
	}

	state := opCall(t, addr, `{"type":"GET_STATE"}`).GetState
	if len(state.GetTasks.LaunchedTasks) != 1 || len(state.GetFrameworks.Frameworks) != 1 || len(state.GetExecutors.Executors) != 1 {
		t.Errorf("GET_STATE: %d launched tasks, %d frameworks, %d executors; want 1 each",
			len(state.GetTasks.LaunchedTasks), len(state.GetFrameworks.Frameworks), len(state.GetExecutors.Executors))
	}
	fws := opCall(t, addr, `{"type":"GET_FRAMEWORKS"}`).GetFrameworks
	if len(fws.Frameworks) != 1 || fws.Frameworks[0].FrameworkInfo.ID.Value != "fw-1" {
		t.Errorf("GET_FRAMEWORKS = %+v", fws)
	}
	ex := opCall(t, addr, `{"type":"GET_EXECUTORS"}`).GetExecutors
	execID := func(e agentop.Executor) string { return e.ExecutorInfo.ExecutorID.Value }
	if got := idsOf(ex.Executors, execID); len(got) != 1 || !got["t-run"] {
		t.Errorf("GET_EXECUTORS live %v, want t-run", got)
	}
	if got := idsOf(ex.CompletedExecutors, execID); !got["t-done"] || !got["t-fail"] {
		t.Errorf("GET_EXECUTORS completed %v, want t-done and t-fail", got)
	}
	ctrs := opCall(t, addr, `{"type":"GET_CONTAINERS"}`).GetContainers.Containers
	_, measures := a.containerizer.(executor.StatsReporter)
	if len(ctrs) != 1 || ctrs[0].ExecutorID.Value != "t-run" || ctrs[0].ContainerID.Value == "" ||
		ctrs[0].ContainerStatus == nil || ctrs[0].ContainerStatus.ExecutorPID == nil || (ctrs[0].ResourceStatistics != nil) != measures {
		t.Errorf("GET_CONTAINERS under %s isolation = %+v", a.containerizer.Name(), ctrs)
	}
	if ops := opCall(t, addr, `{"type":"GET_OPERATIONS"}`).GetOperations; ops == nil || len(ops.Operations) != 0 {
		t.Errorf("GET_OPERATIONS = %+v, want an empty list", ops)
	}
	if ag := opCall(t, addr, `{"type":"GET_AGENT"}`).GetAgent.AgentInfo; ag.ID == nil || ag.ID.Value != a.ID() || ag.Hostname != "test-host" {
		t.Errorf("GET_AGENT = %+v", ag)
	}

	sandbox := sandboxOf(t, a, "t-done")
	files := opCall(t, addr, `{"type":"LIST_FILES","list_files":{"path":"`+sandbox+`"}}`).ListFiles.FileInfos
	var stdout *agentop.FileInfo
	for i, f := range files {
		if f.Path == sandbox+"/stdout" {
			stdout = &files[i]
		}
	}
	if stdout == nil || stdout.Size == 0 || stdout.Mode&0o170000 != 0o100000 || stdout.Mtime == nil {
		t.Fatalf("LIST_FILES %s: stdout %+v in %+v", sandbox, stdout, files)
	}
	rf := opCall(t, addr, `{"type":"READ_FILE","read_file":{"path":"`+sandbox+`/stdout","offset":0}}`).ReadFile
	if rf.Size != stdout.Size || !strings.Contains(string(rf.Data), "hello") {
		t.Errorf("READ_FILE stdout: size %d data %q; want size %d with hello", rf.Size, rf.Data, stdout.Size)
	}
	rf = opCall(t, addr, `{"type":"READ_FILE","read_file":{"path":"`+sandbox+`/stdout","offset":1,"length":2}}`).ReadFile
	if want := readFileBytes(t, sandbox+"/stdout")[1:3]; string(rf.Data) != string(want) || rf.Size != stdout.Size {
		t.Errorf("READ_FILE offset 1 length 2: %q size %d; want %q", rf.Data, rf.Size, want)
	}
}

func readFileBytes(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestAgentOperator_BadCallsGetAClearErrorAndTheAgentKeepsServing: a
// call that cannot be carried out is answered with Mesos' status and a
// message that says what was wrong; the agent serves on.
func TestAgentOperator_BadCallsGetAClearErrorAndTheAgentKeepsServing(t *testing.T) {
	a, _ := busyAgent(t)
	addr := a.Addr()
	sandbox := sandboxOf(t, a, "t-done")
	if err := os.Symlink("/etc/passwd", filepath.Join(sandbox, "escape")); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, body string
		headers    map[string]string
		code       int
		says       string
	}{
		{"unknown type", `{"type":"NO_SUCH_CALL"}`, nil, 400, "unknown call type"},
		{"master-only type", `{"type":"GET_AGENTS"}`, nil, 400, "unknown call type"},
		{"no type", `{}`, nil, 400, "Expecting 'type' to be present"},
		{"body not JSON", `{"type":`, nil, 400, "Failed to parse body into JSON"},
		{"no content type", `{"type":"GET_HEALTH"}`, map[string]string{"Content-Type": ""}, 400, "Content-Type"},
		{"unreadable content type", `{"type":"GET_HEALTH"}`, map[string]string{"Content-Type": "text/plain"}, 415, "Content-Type"},
		{"unacceptable accept", `{"type":"GET_HEALTH"}`, map[string]string{"Accept": "text/html"}, 406, "Accept"},
		{"protobuf content type, JSON body", `{"type":"GET_HEALTH"}`, map[string]string{"Content-Type": "application/x-protobuf"}, 400, "Failed to parse body into Call protobuf"},
		{"set logging level without duration", `{"type":"SET_LOGGING_LEVEL","set_logging_level":{"level":1}}`, nil, 400, "set_logging_level.duration"},
		{"set logging level without its message", `{"type":"SET_LOGGING_LEVEL"}`, nil, 400, "Expecting 'set_logging_level' to be present"},
		{"read file outside the sandboxes", `{"type":"READ_FILE","read_file":{"path":"/etc/passwd","offset":0}}`, nil, 404, "no such file"},
		{"read file up and out", `{"type":"READ_FILE","read_file":{"path":"` + sandbox + `/../../../../../meta/agent_id","offset":0}}`, nil, 404, "no such file"},
		{"read file through a link out", `{"type":"READ_FILE","read_file":{"path":"` + sandbox + `/escape","offset":0}}`, nil, 400, "outside"},
		{"read a directory", `{"type":"READ_FILE","read_file":{"path":"` + sandbox + `","offset":0}}`, nil, 400, "directory"},
		{"read file without offset", `{"type":"READ_FILE","read_file":{"path":"` + sandbox + `/stdout"}}`, nil, 400, "read_file.offset"},
		{"list files outside the sandboxes", `{"type":"LIST_FILES","list_files":{"path":"/etc"}}`, nil, 404, "no such file"},
		{"unimplemented nested container", `{"type":"LAUNCH_NESTED_CONTAINER","launch_nested_container":{}}`, nil, 501, "LAUNCH_NESTED_CONTAINER"},
		{"unimplemented attach", `{"type":"ATTACH_CONTAINER_OUTPUT"}`, nil, 501, "ATTACH_CONTAINER_OUTPUT"},
		{"unimplemented prune", `{"type":"PRUNE_IMAGES"}`, nil, 501, "PRUNE_IMAGES"},
	} {
		code, body, _ := opPost(t, addr, c.body, c.headers)
		if code != c.code || !strings.Contains(string(body), c.says) {
			t.Errorf("%s: %d %q; want %d saying %q", c.name, code, body, c.code, c.says)
		}
	}
	// The same mistakes in protobuf get the same answers.
	one := uint32(1)
	for _, c := range []struct {
		name string
		call *mapi.Call
		raw  []byte
		code int
		says string
	}{
		{"not protobuf", nil, []byte{0xff, 0xff, 0xff}, 400, "Failed to parse body into Call protobuf"},
		{"no type", &mapi.Call{}, nil, 400, "Expecting 'type' to be present"},
		{"set logging level without duration", &mapi.Call{Type: mapi.CallSetLoggingLevel,
			SetLoggingLevel: &mapi.SetLoggingLevel{Level: &one}}, nil, 400, "set_logging_level.duration"},
		{"read file outside the sandboxes", &mapi.Call{Type: mapi.CallReadFile, ReadFile: &mapi.ReadFileCall{
			Path: opPtr("/etc/passwd"), Offset: opPtr(uint64(0))}}, nil, 404, "no such file"},
		{"unimplemented", &mapi.Call{Type: agentop.CallPruneImages}, nil, 501, "PRUNE_IMAGES"},
	} {
		body := c.raw
		if c.call != nil {
			var err error
			if body, err = codec.MarshalAs(codec.Protobuf, &agentpb.Call{}, c.call); err != nil {
				t.Fatal(err)
			}
		}
		code, out, _ := opPostAs(t, addr, codec.Protobuf, body, nil)
		if code != c.code || !strings.Contains(string(out), c.says) {
			t.Errorf("protobuf %s: %d %q; want %d saying %q", c.name, code, out, c.code, c.says)
		}
	}

	resp, err := http.Get("http://" + addr + "/api/v1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "POST" {
		t.Errorf("GET /api/v1: %d, Allow %q; want 405 allowing POST", resp.StatusCode, resp.Header.Get("Allow"))
	}
	if r := opCall(t, addr, `{"type":"GET_HEALTH"}`); !r.GetHealth.Healthy {
		t.Errorf("GET_HEALTH after bad calls: not healthy")
	}
}

// TestAgentOperator_SetLoggingLevelRevertsAfterItsDuration: the agent's
// SET_LOGGING_LEVEL raises the level GET_LOGGING_LEVEL reports and the
// logger logs at; the level reverts when the duration ends. Both
// encodings.
func TestAgentOperator_SetLoggingLevelRevertsAfterItsDuration(t *testing.T) {
	f := newFakeServer(t)
	cfg := testConfig(t, f)
	cfg.Logger = hclog.New(&hclog.LoggerOptions{Name: "agent", Level: hclog.Info, Output: io.Discard})
	a := startAgent(t, cfg)
	addr := a.Addr()
	for _, mt := range encodings {
		level := func() uint32 { return opCallAs(t, addr, mt, `{"type":"GET_LOGGING_LEVEL"}`).GetLoggingLevel.Level }
		set := func(level uint32, d time.Duration) {
			nanos := d.Nanoseconds()
			body, err := codec.MarshalAs(mt, &agentpb.Call{}, &mapi.Call{Type: mapi.CallSetLoggingLevel,
				SetLoggingLevel: &mapi.SetLoggingLevel{Level: &level, Duration: &mapi.Duration{Nanoseconds: &nanos}}})
			if err != nil {
				t.Fatal(err)
			}
			code, out, _ := opPostAs(t, addr, mt, body, nil)
			if code != http.StatusOK || len(out) != 0 {
				t.Fatalf("SET_LOGGING_LEVEL in %s: %d %q, want an empty 200", mt, code, out)
			}
		}
		set(1, time.Hour)
		if l := level(); l != 1 || !cfg.Logger.IsDebug() {
			t.Fatalf("%s: level %d (debug %v) after setting 1 for an hour", mt, l, cfg.Logger.IsDebug())
		}
		set(2, 100*time.Millisecond)
		waitFor(t, 10*time.Second, "the level to revert to 0 after 100ms", func() bool { return level() == 0 })
		if cfg.Logger.IsDebug() {
			t.Errorf("%s: logger still at debug after the revert", mt)
		}
	}
}

func opPtr[T any](v T) *T { return &v }
