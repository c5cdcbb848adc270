package fsm

import (
	"bytes"
	"io"
	"reflect"
	"strings"
	"testing"
	"unsafe"

	"mesh/mesos"
)

// historyTask launches t1 and records STARTING (data, labels, a
// container status, a message), RUNNING (healthy, a check status) and a
// FINISHED from the master without uuid.
func historyTask(t *testing.T) *FSM {
	t.Helper()
	f := seed(t)
	launch(t, f, "o1", "t1")
	healthy, pid := true, uint32(42)
	exec, agent := &mesos.ExecutorID{Value: "t1"}, &mesos.AgentID{Value: "c1-S0"}
	for _, s := range []mesos.TaskStatus{
		{State: mesos.TaskStarting, Timestamp: 1700000001.25, Data: mesos.Bytes("hello"), Message: "starting",
			UUID: mesos.Bytes("0123456789abcdef"), Labels: &mesos.Labels{Labels: []mesos.Label{{Key: "phase", Value: "boot"}}},
			ContainerStatus: &mesos.ContainerStatus{ExecutorPID: &pid}},
		{State: mesos.TaskRunning, Timestamp: 1700000002.5, Healthy: &healthy, UUID: mesos.Bytes("fedcba9876543210"),
			CheckStatus: &mesos.CheckStatusInfo{Type: "COMMAND"}, Data: mesos.Bytes("world")},
		{State: mesos.TaskFinished, Timestamp: 1700000003, Reason: mesos.ReasonCommandExecutorFailed, Source: mesos.SourceMaster},
	} {
		s.TaskID = mesos.TaskID{Value: "t1"}
		if s.Source == "" {
			s.AgentID, s.ExecutorID, s.Source = agent, exec, mesos.SourceExecutor
		}
		apply(t, f, StatusUpdateRequestType, &StatusUpdateRequest{Updates: []StatusUpdate{{FrameworkID: "c1-0000", Status: s}}})
	}
	return f
}

// tasksLines are a snapshot's lines of the tasks table.
func tasksLines(snapshot []byte) string {
	var out []string
	for _, line := range strings.Split(string(snapshot), "\n") {
		if strings.HasPrefix(line, `{"t":"tasks"`) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}

// TestFSM_SnapshotOfTaskHistoryFromBeforeCompactHistoryLoads: a task
// line as binaries that kept the history as full task statuses wrote
// it restores, and is written again byte for byte the same; a state
// built by applying the same entries writes that line too.
func TestFSM_SnapshotOfTaskHistoryFromBeforeCompactHistoryLoads(t *testing.T) {
	if got := tasksLines(persist(t, historyTask(t))); got != oldTaskLine {
		t.Fatalf("task line written:\n got %s\nwant %s", got, oldTaskLine)
	}
	f := New(nil)
	if err := f.Restore(io.NopCloser(strings.NewReader(oldTaskLine + "\n"))); err != nil {
		t.Fatalf("an old snapshot does not load: %v", err)
	}
	if got := tasksLines(persist(t, f)); got != oldTaskLine {
		t.Fatalf("task line restored and written again:\n got %s\nwant %s", got, oldTaskLine)
	}
}

// oldTaskLine is the task line of historyTask as it was written while
// the history was kept as full task statuses.
const oldTaskLine = `{"t":"tasks","v":{"FrameworkID":"c1-0000","TaskID":"t1","AgentID":"c1-S0","Info":{"name":"t1","task_id":{"value":"t1"},"agent_id":{"value":""},"resources":[{"name":"cpus","type":"SCALAR","scalar":{"value":1},"allocation_info":{"role":"*"}},{"name":"mem","type":"SCALAR","scalar":{"value":128},"allocation_info":{"role":"*"}}]},"Role":"","State":"TASK_FINISHED","Status":{"task_id":{"value":"t1"},"state":"TASK_FINISHED","source":"SOURCE_MASTER","reason":"REASON_COMMAND_EXECUTOR_FAILED","timestamp":1700000003},"Statuses":[{"task_id":{"value":"t1"},"state":"TASK_STARTING","message":"starting","source":"SOURCE_EXECUTOR","agent_id":{"value":"c1-S0"},"executor_id":{"value":"t1"},"timestamp":1700000001.25,"uuid":"MDEyMzQ1Njc4OWFiY2RlZg==","labels":{"labels":[{"key":"phase","value":"boot"}]},"container_status":{"executor_pid":42}},{"task_id":{"value":"t1"},"state":"TASK_RUNNING","source":"SOURCE_EXECUTOR","agent_id":{"value":"c1-S0"},"executor_id":{"value":"t1"},"timestamp":1700000002.5,"uuid":"ZmVkY2JhOTg3NjU0MzIxMA==","healthy":true,"check_status":{"type":"COMMAND"}},{"task_id":{"value":"t1"},"state":"TASK_FINISHED","source":"SOURCE_MASTER","reason":"REASON_COMMAND_EXECUTOR_FAILED","timestamp":1700000003}],"PendingAck":"ZmVkY2JhOTg3NjU0MzIxMA==","Completed":true,"LaunchedAt":0}}`

// oldTask is Task as it was while the history was kept as full task
// statuses: log entries that carry tasks were written from it.
type oldTask struct {
	FrameworkID string
	TaskID      string
	AgentID     string
	Info        mesos.TaskInfo
	Role        string
	State       mesos.TaskState
	Status      *mesos.TaskStatus
	Statuses    []mesos.TaskStatus
	PendingAck  mesos.Bytes
	Completed   bool
	LaunchedAt  int64
}

type oldLaunch struct {
	FrameworkID string
	AgentID     string
	OfferIDs    []string
	Tasks       []oldTask
	At          int64
	Filters     []OfferFilter `json:",omitempty"`
}

// TestFSM_LaunchEntriesEncodeAsBeforeCompactHistory: a launch entry is
// the same bytes, in either encoding, as when tasks kept full statuses,
// with a history or without, and decodes back to the same task.
func TestFSM_LaunchEntriesEncodeAsBeforeCompactHistory(t *testing.T) {
	full := *historyTask(t).State().Task("c1-0000", "t1")
	for _, tk := range []Task{{FrameworkID: "c1-0000", TaskID: "t2", State: mesos.TaskStaging}, full} {
		old := oldTask{FrameworkID: tk.FrameworkID, TaskID: tk.TaskID, AgentID: tk.AgentID, Info: tk.Info, Role: tk.Role,
			State: tk.State, Status: tk.Status(), Statuses: tk.History(), PendingAck: tk.PendingAck, Completed: tk.Completed,
			LaunchedAt: tk.LaunchedAt}
		if len(tk.Statuses) == 0 {
			old.Statuses = nil
		}
		for _, e := range encodings {
			got, err := e.enc(TaskLaunchRequestType, &TaskLaunchRequest{FrameworkID: "c1-0000", Tasks: []Task{tk}})
			if err != nil {
				t.Fatal(err)
			}
			want, err := e.enc(TaskLaunchRequestType, &oldLaunch{FrameworkID: "c1-0000", Tasks: []oldTask{old}})
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != string(want) {
				t.Fatalf("%s launch of %s:\n got %q\nwant %q", e.name, tk.TaskID, got, want)
			}
			var back TaskLaunchRequest
			if err := DecodeEntry(got, &back); err != nil {
				t.Fatalf("%s launch of %s does not decode: %v", e.name, tk.TaskID, err)
			}
			again, _ := e.enc(TaskLaunchRequestType, &back)
			if string(again) != string(want) {
				t.Fatalf("%s launch of %s decoded and encoded again:\n got %q\nwant %q", e.name, tk.TaskID, again, want)
			}
		}
	}
}

// TestFSM_LaunchedTaskSharesRepeatedStrings: a launched task keeps its
// values, but the strings that repeat its agent's id, its own id and
// the usual resource names are one copy each.
func TestFSM_LaunchedTaskSharesRepeatedStrings(t *testing.T) {
	f := seed(t)
	launch(t, f, "o1", "t1")
	st := f.State()
	tk, agent := st.Task("c1-0000", "t1"), st.Agent("c1-S0")
	same := func(a, b string) bool { return a == b && unsafe.StringData(a) == unsafe.StringData(b) }
	if !same(tk.AgentID, agent.ID) || !same(tk.Info.TaskID.Value, tk.TaskID) || !same(tk.Info.Name, tk.TaskID) ||
		!same(tk.Info.Resources[0].Name, "cpus") || !same(tk.Info.Resources[0].AllocationInfo.Role, "*") {
		t.Fatalf("launched task does not share its strings: %+v", tk)
	}
	if got := mesos.Resources(tk.Info.Resources).String(); got != cpusMem(1, 128).Allocate("*").String() {
		t.Fatalf("launched task's resources: %s", got)
	}
}

// TestFSM_TaskOfAnyShapeReadsAndWritesAsBefore: a task as it was written
// while it kept its latest status apart from its history reads back and
// is written again the same, in either encoding, whatever the two hold:
// a status repeating the last entry, one with data, one unlike the last
// entry, a status without history, a history without status.
func TestFSM_TaskOfAnyShapeReadsAndWritesAsBefore(t *testing.T) {
	hist := []mesos.TaskStatus{
		{TaskID: mesos.TaskID{Value: "t1"}, State: mesos.TaskStarting, Timestamp: 1, UUID: mesos.Bytes("0123456789abcdef")},
		{TaskID: mesos.TaskID{Value: "t1"}, State: mesos.TaskRunning, Timestamp: 2, Source: mesos.SourceExecutor},
	}
	withData := hist[1]
	withData.Data = mesos.Bytes("d")
	unlike := hist[1]
	unlike.Message = "not in the history"
	// States, sources and task ids no entry keeps as a number or shares.
	odd := append([]mesos.TaskStatus{{TaskID: mesos.TaskID{Value: "other"}, State: "TASK_NOT_KNOWN", Source: "SOURCE_ELSEWHERE"},
		{TaskID: mesos.TaskID{Value: "t1"}}}, hist...)
	for name, c := range map[string]struct {
		status  *mesos.TaskStatus
		history []mesos.TaskStatus
	}{
		"last entry": {&hist[1], hist}, "data": {&withData, hist}, "unlike": {&unlike, hist},
		"no history": {&hist[0], nil}, "no status": {nil, hist}, "neither": {nil, nil}, "odd entries": {&hist[1], odd},
	} {
		old := oldTask{FrameworkID: "c1-0000", TaskID: "t1", State: mesos.TaskRunning, Status: c.status, Statuses: c.history,
			Info: mesos.TaskInfo{TaskID: mesos.TaskID{Value: "t1"}}}
		for _, e := range encodings {
			want, err := e.enc(TaskLaunchRequestType, &oldLaunch{Tasks: []oldTask{old}})
			if err != nil {
				t.Fatal(err)
			}
			var back TaskLaunchRequest
			if err := DecodeEntry(want, &back); err != nil {
				t.Fatalf("%s, %s: %v", name, e.name, err)
			}
			if got := back.Tasks[0].Status(); (got == nil) != (c.status == nil) || got != nil && got.Message != c.status.Message {
				t.Fatalf("%s, %s: latest status %+v, want %+v", name, e.name, got, c.status)
			}
			again, _ := e.enc(TaskLaunchRequestType, &back)
			if string(again) != string(want) {
				t.Fatalf("%s, %s: read and written again:\n got %q\nwant %q", name, e.name, again, want)
			}
		}
	}
}

// TestFSM_TasksLaunchedTogetherShareEqualParts: tasks with equal
// resources or commands share one copy of them, launched together or
// apart, and a task whose differ keeps its own.
func TestFSM_TasksLaunchedTogetherShareEqualParts(t *testing.T) {
	f := seed(t)
	task := func(id string, cpus float64, cmd string) Task {
		return Task{FrameworkID: "c1-0000", TaskID: id, AgentID: "c1-S0", State: mesos.TaskStaging,
			Info: mesos.TaskInfo{Name: id, TaskID: mesos.TaskID{Value: id}, Resources: cpusMem(cpus, 128).Allocate("*"),
				Command: &mesos.CommandInfo{Value: cmd}}}
	}
	if err, ok := apply(t, f, TaskLaunchRequestType, &TaskLaunchRequest{FrameworkID: "c1-0000", AgentID: "c1-S0", OfferIDs: []string{"o1"},
		Tasks: []Task{task("a", 0.5, "x"), task("b", 0.5, "x"), task("c", 1, "y"), task("d", 0.5, "x")}}).(error); ok {
		t.Fatal(err)
	}
	st := f.State()
	a, b, c, d := st.Task("c1-0000", "a").Info, st.Task("c1-0000", "b").Info, st.Task("c1-0000", "c").Info, st.Task("c1-0000", "d").Info
	if &a.Resources[0] != &b.Resources[0] || &a.Resources[0] != &d.Resources[0] || a.Command != b.Command || a.Command != d.Command {
		t.Fatal("equal resources or commands of tasks launched together are not shared")
	}
	if &c.Resources[0] == &a.Resources[0] || c.Command == a.Command {
		t.Fatal("a task shares resources or a command unlike its own")
	}
	// A later launch's task like an earlier one shares its parts too.
	if err, ok := apply(t, f, TaskLaunchRequestType, &TaskLaunchRequest{FrameworkID: "c1-0000", AgentID: "c1-S0",
		Tasks: []Task{task("e", 0.5, "y")}}).(error); ok {
		t.Fatal(err)
	}
	if e := st.Task("c1-0000", "e"); e != nil {
		t.Fatal("a read of the state before a launch sees its task")
	}
	if e := f.State().Task("c1-0000", "e").Info; &e.Resources[0] != &a.Resources[0] || e.Command != c.Command {
		t.Fatal("equal resources or commands of tasks launched apart are not shared")
	}
	for _, x := range []struct {
		info mesos.TaskInfo
		want string
	}{{a, cpusMem(0.5, 128).Allocate("*").String() + "x"}, {c, cpusMem(1, 128).Allocate("*").String() + "y"}, {d, cpusMem(0.5, 128).Allocate("*").String() + "x"}} {
		if got := mesos.Resources(x.info.Resources).String() + x.info.Command.Value; got != x.want {
			t.Fatalf("task %s: %s, want %s", x.info.Name, got, x.want)
		}
	}
}

// TestFSM_StatusKeepsTheTasksOwnIdsAsBits: an update that names the
// task's agent, and the task's id as its executor (a command task's),
// keeps the two as bits, not copies; one that names others keeps them.
// Either reads back, and survives a snapshot, as it was given.
func TestFSM_StatusKeepsTheTasksOwnIdsAsBits(t *testing.T) {
	f := seed(t)
	launch(t, f, "o1", "t1")
	given := []mesos.TaskStatus{
		{TaskID: mesos.TaskID{Value: "t1"}, State: mesos.TaskStarting, UUID: uuidOf(1),
			AgentID: &mesos.AgentID{Value: "c1-S0"}, ExecutorID: &mesos.ExecutorID{Value: "t1"}},
		{TaskID: mesos.TaskID{Value: "t1"}, State: mesos.TaskRunning, UUID: uuidOf(2),
			AgentID: &mesos.AgentID{Value: "c1-S9"}, ExecutorID: &mesos.ExecutorID{Value: "e2"}},
		{TaskID: mesos.TaskID{Value: "t1"}, State: mesos.TaskRunning, UUID: uuidOf(3)},
	}
	for _, s := range given {
		apply(t, f, StatusUpdateRequestType, &StatusUpdateRequest{Updates: []StatusUpdate{{FrameworkID: "c1-0000", Status: s}}})
	}
	tk := f.State().Task("c1-0000", "t1")
	if e := tk.Statuses[0]; e.agentID != nil || e.executorID != nil || e.own != ownAgentID|ownExecutorID {
		t.Fatalf("an update naming the task's own ids keeps them as %+v", e)
	}
	if e := tk.Statuses[1]; e.agentID == nil || e.executorID == nil || e.own != 0 {
		t.Fatalf("an update naming other ids keeps them as %+v", e)
	}
	check := func(what string, tk *Task) {
		t.Helper()
		for i, got := range tk.History() {
			want := given[i]
			if !reflect.DeepEqual(got.AgentID, want.AgentID) || !reflect.DeepEqual(got.ExecutorID, want.ExecutorID) {
				t.Fatalf("%s: update %d reads agent %v, executor %v; want %v, %v", what, i, got.AgentID, got.ExecutorID, want.AgentID, want.ExecutorID)
			}
		}
		if got := tk.Status(); got.AgentID != nil || got.ExecutorID != nil {
			t.Fatalf("%s: the latest status, which named neither, reads %+v", what, got)
		}
	}
	check("recorded", tk)
	g := New(nil)
	if err := g.Restore(io.NopCloser(bytes.NewReader(persist(t, f)))); err != nil {
		t.Fatal(err)
	}
	restored := g.State().Task("c1-0000", "t1")
	check("restored", restored)
	if !reflect.DeepEqual(restored.Statuses, tk.Statuses) {
		t.Fatalf("restored history %+v, want %+v", restored.Statuses, tk.Statuses)
	}
}
