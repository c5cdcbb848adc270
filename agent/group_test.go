package agent

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"mesh/executor"
	"mesh/mesos"
	"mesh/mesos/agentapi"
)

// defaultExecutorInfo is a DEFAULT executor with a volume "shared" in its
// sandbox, which every task of its groups sees at the same path.
func defaultExecutorInfo(id string) mesos.ExecutorInfo {
	src, _ := json.Marshal(map[string]any{"type": "SANDBOX_PATH", "sandbox_path": map[string]string{"type": "SELF", "path": "shared"}})
	return mesos.ExecutorInfo{
		Type:       mesos.ExecutorTypeDefault,
		ExecutorID: mesos.ExecutorID{Value: id},
		Resources:  []mesos.Resource{mesos.ScalarResource("cpus", 0.1), mesos.ScalarResource("mem", 32), mesos.ScalarResource("disk", 10)},
		Container: &mesos.ContainerInfo{Type: mesos.ContainerTypeMesos, Volumes: []mesos.Volume{
			{Mode: "RW", ContainerPath: "shared", Source: src}}},
	}
}

func (f *fakeServer) launchGroup(fw mesos.FrameworkInfo, exec mesos.ExecutorInfo, tasks ...mesos.TaskInfo) {
	for i := range tasks {
		e := exec
		tasks[i].Executor = &e
	}
	f.send(agentapi.Event{Type: agentapi.EventLaunch, Launch: &agentapi.Launch{FrameworkInfo: fw, Tasks: tasks, Executor: &exec}})
}

// groupTaskSandbox is the sandbox of task tid of the newest run of
// executor eid of framework fid.
func groupTaskSandbox(a *testAgent, fid, eid, tid string) string {
	return executor.TaskSandbox(filepath.Join(a.workDir, sandboxRoot, fid, "executors", eid, "runs", "latest"), tid)
}

// readSandboxFile reads a file of a task's sandbox, "" if missing.
func readSandboxFile(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

// TestGroup_TasksShareVolumeAndEndTogether: a group of three tasks
// starts in one default executor; the writer's file in the executor's
// volume is read by the reader; each task's stdout is in its own sandbox
// under the executor's; killing one kills the rest of the group.
func TestGroup_TasksShareVolumeAndEndTogether(t *testing.T) {
	f := newFakeServer(t)
	a := startAgent(t, testConfig(t, f))
	a.waitRegistered(t)
	fw := testFramework("fw-1")
	f.launchGroup(fw, defaultExecutorInfo("pod"),
		commandTask("writer", "echo hello-from-writer | tee shared/msg"),
		commandTask("reader", "for i in $(seq 200); do [ -s shared/msg ] && break; sleep 0.05; done; cat shared/msg; exec sleep 1000"),
		commandTask("sleeper", "echo sleeper-out; exec sleep 1000"))
	for _, id := range []string{"writer", "reader", "sleeper"} {
		f.waitState(t, id, mesos.TaskRunning)
	}
	f.waitState(t, "writer", mesos.TaskFinished)
	readerOut := filepath.Join(groupTaskSandbox(a, "fw-1", "pod", "reader"), "stdout")
	waitFor(t, 20*time.Second, "the reader to print the writer's message", func() bool {
		return strings.Contains(readSandboxFile(readerOut), "hello-from-writer")
	})
	f.kill("fw-1", "sleeper")
	f.waitState(t, "sleeper", mesos.TaskKilled)
	st := f.waitState(t, "reader", mesos.TaskKilled)
	if st.Source != mesos.SourceExecutor || st.ExecutorID == nil || st.ExecutorID.Value != "pod" {
		t.Errorf("reader's TASK_KILLED %+v, want one from executor pod", st)
	}
	for id, want := range map[string]string{"writer": "hello-from-writer", "sleeper": "sleeper-out"} {
		out := readSandboxFile(filepath.Join(groupTaskSandbox(a, "fw-1", "pod", id), "stdout"))
		if !strings.Contains(out, want) || strings.Contains(out, "sleeper-out") != (id == "sleeper") {
			t.Errorf("%s's stdout %q, want its own output %q", id, out, want)
		}
	}
	waitFor(t, 20*time.Second, "the default executor to end", func() bool {
		st := a.State()
		return len(st.Frameworks) == 1 && len(st.Frameworks[0].Executors) == 0
	})
}

// TestGroup_FailedTaskKillsItsGroupOnly: a task that exits non-zero fails
// and its group's other task is killed; a second group of the same
// executor, launched to it while it runs, keeps running until the
// framework is shut down.
func TestGroup_FailedTaskKillsItsGroupOnly(t *testing.T) {
	f := newFakeServer(t)
	a := startAgent(t, testConfig(t, f))
	a.waitRegistered(t)
	fw := testFramework("fw-1")
	exec := defaultExecutorInfo("pod")
	f.launchGroup(fw, exec, commandTask("long", "exec sleep 1000"))
	first := f.waitState(t, "long", mesos.TaskRunning)
	f.launchGroup(fw, exec, commandTask("fails", "sleep 0.5; exit 3"), commandTask("sibling", "exec sleep 1000"))
	second := f.waitState(t, "sibling", mesos.TaskRunning)
	if c1, c2 := first.ContainerStatus, second.ContainerStatus; c1 == nil || c2 == nil || *c1.ContainerID != *c2.ContainerID {
		t.Fatalf("the second group ran in container %+v, the first in %+v: want the same executor", c2, c1)
	}
	failed := f.waitState(t, "fails", mesos.TaskFailed)
	if !strings.Contains(failed.Message, "exited with status 3") {
		t.Errorf("failed task's message %q", failed.Message)
	}
	f.waitState(t, "sibling", mesos.TaskKilled)
	for _, d := range f.updatesOf("long") {
		if d.Status.State.IsTerminal() {
			t.Fatalf("the first group's task ended (%s) with the second group", d.Status.State)
		}
	}
	f.send(shutdownFrameworkEvent("fw-1"))
	f.waitState(t, "long", mesos.TaskKilled)
}

// TestGroup_FetchesEachTasksURIsIntoItsSandbox: a task's URIs are
// fetched into its own sandbox before it starts; a URI that cannot be
// fetched fails its task, and so kills its group.
func TestGroup_FetchesEachTasksURIsIntoItsSandbox(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/payload.txt" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte("fetched-payload\n"))
	}))
	defer srv.Close()
	f := newFakeServer(t)
	a := startAgent(t, testConfig(t, f))
	a.waitRegistered(t)
	fw := testFramework("fw-1")
	withURI := func(task mesos.TaskInfo, path string) mesos.TaskInfo {
		task.Command.URIs = []mesos.CommandURI{{Value: srv.URL + path}}
		return task
	}
	f.launchGroup(fw, defaultExecutorInfo("pod"), withURI(commandTask("reads", "cat payload.txt"), "/payload.txt"))
	f.waitState(t, "reads", mesos.TaskFinished)
	if out := readSandboxFile(filepath.Join(groupTaskSandbox(a, "fw-1", "pod", "reads"), "stdout")); !strings.Contains(out, "fetched-payload") {
		t.Fatalf("task's stdout %q, want the fetched file's content", out)
	}
	f.launchGroup(fw, defaultExecutorInfo("pod2"), withURI(commandTask("missing", "true"), "/missing"), commandTask("waits", "exec sleep 1000"))
	st := f.waitState(t, "missing", mesos.TaskFailed)
	if st.Reason != mesos.ReasonContainerLaunchFailed || !strings.Contains(st.Message, "Failed to fetch all URIs") {
		t.Errorf("task with a URI that 404s: %s %q", st.Reason, st.Message)
	}
	f.waitState(t, "waits", mesos.TaskKilled)
}

// TestGroup_RefusedGroupsFailWhole: a group the agent cannot run fails
// every one of its tasks, and the agent goes on serving.
func TestGroup_RefusedGroupsFailWhole(t *testing.T) {
	f := newFakeServer(t)
	a := startAgent(t, testConfig(t, f))
	a.waitRegistered(t)
	fw := testFramework("fw-1")
	custom := defaultExecutorInfo("custom")
	custom.Type = mesos.ExecutorTypeCustom
	f.launchGroup(fw, custom, commandTask("c1", "true"), commandTask("c2", "true"))
	f.launchGroup(fw, defaultExecutorInfo("dup"), commandTask("d1", "true"), commandTask("d1", "true"))
	hostVol := commandTask("h2", "true")
	hostVol.Container = &mesos.ContainerInfo{Type: mesos.ContainerTypeMesos, Volumes: []mesos.Volume{{Mode: "RW", ContainerPath: "/data", HostPath: "/tmp"}}}
	f.launchGroup(fw, defaultExecutorInfo("vol"), commandTask("h1", "true"), hostVol)
	for id, want := range map[string]string{"c1": "DEFAULT executor only", "c2": "DEFAULT executor only",
		"d1": "appears twice", "h1": "the volumes its tasks share", "h2": "the volumes its tasks share"} {
		st := f.waitState(t, id, mesos.TaskFailed)
		if st.Source != mesos.SourceAgent || !strings.Contains(st.Message, want) {
			t.Errorf("%s: %s %s %q, want a message with %q", id, st.State, st.Reason, st.Message, want)
		}
	}
	f.launchGroup(fw, defaultExecutorInfo("ok"), commandTask("ok", "true"))
	f.waitState(t, "ok", mesos.TaskFinished)
}

// TestGroup_SurvivesAgentRestart: a group's tasks keep running across an
// agent restart; the default executor resubscribes to the new agent, and
// a kill of one task then kills its group.
func TestGroup_SurvivesAgentRestart(t *testing.T) {
	f := newFakeServer(t)
	cfg := testConfig(t, f)
	cfg.KillTasksOnShutdown = false
	a1 := startAgent(t, cfg)
	a1.waitRegistered(t)
	fw := testFramework("fw-1")
	f.launchGroup(fw, defaultExecutorInfo("pod"), commandTask("a", "exec sleep 1000"), commandTask("b", "exec sleep 1000"))
	f.waitAcked(t, "a", mesos.TaskRunning)
	f.waitAcked(t, "b", mesos.TaskRunning)
	a1.stop(t)
	a2 := restartAgent(t, cfg, a1)
	waitFor(t, 20*time.Second, "the default executor to resubscribe", func() bool {
		st := a2.State()
		return len(st.Frameworks) == 1 && len(st.Frameworks[0].Executors) == 1 && st.Frameworks[0].Executors[0].State == "RUNNING"
	})
	f.kill("fw-1", "a")
	f.waitState(t, "a", mesos.TaskKilled)
	f.waitState(t, "b", mesos.TaskKilled)
}

// TestGroup_KillBeforeDeliveryKillsItsGroup: a kill of a task of a group
// the executor has not received yet ends that whole group; another group
// of the executor is untouched, and once nothing is left to run the
// container is destroyed.
func TestGroup_KillBeforeDeliveryKillsItsGroup(t *testing.T) {
	f := newFakeServer(t)
	cfg := testConfig(t, f)
	cfg.ExecutorCommand = []string{"/bin/sleep", "100"} // never subscribes
	a := startAgent(t, cfg)
	a.waitRegistered(t)
	fw := testFramework("fw-1")
	exec := defaultExecutorInfo("pod")
	f.launchGroup(fw, exec, commandTask("a", "true"), commandTask("b", "true"))
	var pid int
	waitFor(t, 10*time.Second, "the executor to start", func() bool {
		st := a.State()
		if len(st.Frameworks) == 1 && len(st.Frameworks[0].Executors) == 1 {
			pid = st.Frameworks[0].Executors[0].Pid
		}
		return pid > 0
	})
	f.launchGroup(fw, exec, commandTask("c", "true"))
	waitFor(t, 10*time.Second, "the second group to join the run", func() bool {
		st := a.State()
		return len(st.Frameworks) == 1 && len(st.Frameworks[0].Executors) == 1 && len(st.Frameworks[0].Executors[0].Tasks) == 3
	})
	f.kill("fw-1", "a")
	for _, id := range []string{"a", "b"} {
		st := f.waitState(t, id, mesos.TaskKilled)
		if st.Source != mesos.SourceAgent || st.Reason != mesos.ReasonTaskKilledDuringLaunch {
			t.Errorf("%s: %+v", id, st)
		}
	}
	if syscall.Kill(pid, 0) != nil {
		t.Fatal("the executor's container went with the first group, while the second still waits for it")
	}
	if got := f.updatesOf("c"); len(got) != 0 {
		t.Fatalf("the other group's task got %+v", got)
	}
	f.kill("fw-1", "c")
	f.waitState(t, "c", mesos.TaskKilled)
	waitFor(t, 10*time.Second, "the container to be destroyed", func() bool {
		return syscall.Kill(pid, 0) != nil
	})
}

// TestGroup_CheckpointKeepsGroups: a default executor's checkpoint is a
// valid one (it has no command) that keeps which group each task is of,
// so that a restarted agent hands the executor the groups it never
// received whole, one LAUNCH_GROUP each.
func TestGroup_CheckpointKeepsGroups(t *testing.T) {
	cp := runCheckpoint{
		FrameworkInfo: testFramework("fw-1"),
		ExecutorInfo:  defaultExecutorInfo("pod"),
		ContainerID:   "c1",
		Directory:     "/sandbox",
		Tasks:         []mesos.TaskInfo{commandTask("a", "true"), commandTask("b", "true"), commandTask("c", "true")},
		TaskGroups:    map[string]int{"a": 1, "b": 1, "c": 2},
	}
	b, err := json.Marshal(cp)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeRunCheckpoint(b, "fw-1", "pod")
	if err != nil {
		t.Fatalf("a default executor's checkpoint is taken for damage: %v", err)
	}
	a := &Agent{log: testLogger(t, "agent"), cfg: DefaultConfig()}
	r := a.newRunner(runnerSpec{kind: kindGroup, fwID: "fw-1", info: got.ExecutorInfo, containerID: "c1", directory: "/sandbox", state: runRecovered})
	r.restore(got.Tasks, got.TaskGroups, func(tid string) (mesos.TaskState, bool) {
		return mesos.TaskRunning, tid == "a" // a was delivered, and reported on
	})
	r.mu.Lock()
	r.redeliverGroups()
	out := r.outbox
	r.mu.Unlock()
	var groups [][]string
	for _, ev := range out {
		var ids []string
		for _, ti := range ev.LaunchGroup.TaskGroup.Tasks {
			ids = append(ids, ti.TaskID.Value)
		}
		groups = append(groups, ids)
	}
	if len(groups) != 2 || strings.Join(groups[0], ",") != "b" || strings.Join(groups[1], ",") != "c" {
		t.Fatalf("groups handed again %v, want [b] (a was delivered) then [c]", groups)
	}
}
