package agent

import (
	"encoding/json"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"mesh/executor"
	"mesh/mesos"
	"mesh/mesos/fieldlist"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden field lists of the agent's read endpoints")

// meshAgentStateFields are the fields of the agent's /state that mesh
// adds to Mesos'.
var meshAgentStateFields = []string{"port", "isolation", "mesh_version", "pending_status_updates", "prestarted_containers",
	"frameworks[].executors[].state", "frameworks[].executors[].pid", "frameworks[].executors[].exit_status",
	"frameworks[].completed_executors[].state", "frameworks[].completed_executors[].pid",
	"frameworks[].completed_executors[].exit_status", "frameworks[].executors[].tasks[].directory",
	"frameworks[].executors[].completed_tasks[].directory", "frameworks[].completed_executors[].completed_tasks[].directory"}

// TestAgentState_MesosFieldsAndTypes: the agent's /state,
// /metrics/snapshot and /containers, with tasks running, finished and
// failed, have exactly the fields and JSON types of the golden lists
// (Mesos' agent shapes, mesh's additions marked).
func TestAgentState_MesosFieldsAndTypes(t *testing.T) {
	// Under posix isolation nothing is measured: the lists do not depend
	// on the machine the test runs on.
	a, _ := busyAgent(t)
	if a.containerizer.Name() != executor.IsolationPosix {
		t.Fatalf("isolation %s, want posix", a.containerizer.Name())
	}

	for _, c := range []struct {
		path, golden string
		meshOnly     []string
	}{
		{"/state", "agent_state", meshAgentStateFields},
		{"/metrics/snapshot", "agent_metrics_snapshot", nil},
		{"/containers", "agent_containers", nil},
	} {
		code, body := httpGet(t, "http://"+a.Addr()+c.path)
		if code != http.StatusOK {
			t.Fatalf("GET %s: %d %s", c.path, code, body)
		}
		fieldlist.Check(t, "../testdata/operator/"+c.golden+".golden", body, c.meshOnly, *updateGolden)
	}
}

// waitEnded waits until n executors have ended.
func waitEnded(t *testing.T, a *testAgent, n int) {
	t.Helper()
	waitFor(t, 30*time.Second, "executors to end", func() bool {
		ended := 0
		for _, fw := range a.view().frameworks {
			ended += len(fw.completed)
		}
		return ended == n
	})
}

// TestAgentState_ValuesMatchTheAgent: /state places each task where
// Mesos does, with its state and resources; /metrics/snapshot counts
// them (8 status updates: STARTING, RUNNING and the end of each, but
// the running one has not ended); /containers lists the running one's
// container.
func TestAgentState_ValuesMatchTheAgent(t *testing.T) {
	a, _ := busyAgent(t)
	var st MesosStateJSON
	getJSONBody(t, "http://"+a.Addr()+"/state", &st)
	if st.ID != a.ID() || st.PID != "slave(1)@"+a.Addr() || st.Hostname != "test-host" || st.MasterHostname != "127.0.0.1" ||
		len(st.Frameworks) != 1 || st.Frameworks[0].ID != "fw-1" || st.Flags["work_dir"] != a.workDir {
		t.Fatalf("/state = %+v", st)
	}
	fw := st.Frameworks[0]
	if len(fw.Executors) != 1 || len(fw.Executors[0].Tasks) != 1 || len(fw.CompletedExecutors) != 2 {
		t.Fatalf("/state framework: %d executors (%+v), %d completed; want 1 with 1 task, 2", len(fw.Executors), fw.Executors, len(fw.CompletedExecutors))
	}
	run := fw.Executors[0].Tasks[0]
	if run.ID != "t-run" || run.State != mesos.TaskRunning || run.SlaveID != a.ID() || run.Resources["cpus"] != 0.1 || run.Resources["mem"] != 32.0 {
		t.Errorf("/state running task = %+v", run)
	}
	ended := map[string]mesos.TaskState{}
	for _, e := range fw.CompletedExecutors {
		for _, task := range e.CompletedTasks {
			ended[task.ID] = task.State
		}
	}
	if ended["t-done"] != mesos.TaskFinished || ended["t-fail"] != mesos.TaskFailed {
		t.Errorf("/state completed tasks = %v", ended)
	}
	if cpus, ok := st.Resources["cpus"].(float64); !ok || cpus <= 0 {
		t.Errorf("/state resources = %v", st.Resources)
	}
	if st.UnreservedResourcesAllocated["cpus"] != 0.1 {
		t.Errorf("/state unreserved_resources_allocated = %v, want cpus 0.1", st.UnreservedResourcesAllocated)
	}

	var m map[string]float64
	getJSONBody(t, "http://"+a.Addr()+"/metrics/snapshot", &m)
	for key, want := range map[string]float64{"slave/tasks_running": 1, "slave/tasks_finished": 1, "slave/tasks_failed": 1,
		"slave/tasks_killed": 0, "slave/registered": 1, "slave/executors_running": 1, "slave/frameworks_active": 1,
		"slave/cpus_used": 0.1, "slave/mem_used": 32, "slave/cpus_total": st.Resources["cpus"].(float64)} {
		if got, ok := m[key]; !ok || got != want {
			t.Errorf("/metrics/snapshot %s = %v (present %v), want %v", key, got, ok, want)
		}
	}
	if m["containerizer/fetcher/cache_size_total_bytes"] != float64(a.cfg.FetcherCacheSize) || m["containerizer/fetcher/cache_size_used_bytes"] != 0 {
		t.Errorf("/metrics/snapshot fetcher cache: total %v used %v; want %d and 0", m["containerizer/fetcher/cache_size_total_bytes"],
			m["containerizer/fetcher/cache_size_used_bytes"], a.cfg.FetcherCacheSize)
	}
	cached := filepath.Join(a.fetcherCacheDir(), "someone")
	if err := os.MkdirAll(cached, 0o700); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string]string{"a.tar.gz": "0123456789", "b.tar.gz.part-1": "partial"} {
		if err := os.WriteFile(filepath.Join(cached, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	getJSONBody(t, "http://"+a.Addr()+"/metrics/snapshot", &m)
	if m["containerizer/fetcher/cache_size_used_bytes"] != 10 {
		t.Errorf("fetcher cache used %v with a 10-byte download and a partial one; want 10", m["containerizer/fetcher/cache_size_used_bytes"])
	}
	if m["slave/uptime_secs"] <= 0 || m["slave/valid_status_updates"] != 8 {
		t.Errorf("/metrics/snapshot uptime %v, valid status updates %v", m["slave/uptime_secs"], m["slave/valid_status_updates"])
	}

	var ctrs []MesosContainerJSON
	getJSONBody(t, "http://"+a.Addr()+"/containers", &ctrs)
	if len(ctrs) != 1 || ctrs[0].ExecutorID != "t-run" || ctrs[0].FrameworkID != "fw-1" || ctrs[0].ContainerID != fw.Executors[0].Container ||
		ctrs[0].Status == nil || ctrs[0].Status.ExecutorPID == nil || int(*ctrs[0].Status.ExecutorPID) != fw.Executors[0].Pid {
		t.Errorf("/containers = %+v", ctrs)
	}
}

func getJSONBody(t *testing.T, url string, v any) {
	t.Helper()
	code, body := httpGet(t, url)
	if code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, code, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("GET %s: %v: %s", url, err, body)
	}
}

// TestAgentState_TaskWaitingForItsExecutorIsQueued: a task whose
// executor has not subscribed is queued, as Mesos shows it: in
// GET_TASKS' queued_tasks and its executor's queued_tasks in /state,
// with the executor registering.
func TestAgentState_TaskWaitingForItsExecutorIsQueued(t *testing.T) {
	f := newFakeServer(t)
	cfg := testConfig(t, f)
	// An executor that never subscribes.
	cfg.ExecutorCommand = []string{"/bin/sleep", "60"}
	a := startAgent(t, cfg)
	a.waitRegistered(t)
	f.launch(testFramework("fw-1"), commandTask("t-q", "true"))
	waitFor(t, 10*time.Second, "t-q to be queued", func() bool {
		tasks := opCall(t, a.Addr(), `{"type":"GET_TASKS"}`).GetTasks
		return len(tasks.QueuedTasks) == 1 && tasks.QueuedTasks[0].TaskID.Value == "t-q" && len(tasks.LaunchedTasks) == 0
	})
	var st MesosStateJSON
	getJSONBody(t, "http://"+a.Addr()+"/state", &st)
	if len(st.Frameworks) != 1 || len(st.Frameworks[0].Executors) != 1 {
		t.Fatalf("/state frameworks = %+v", st.Frameworks)
	}
	e := st.Frameworks[0].Executors[0]
	if len(e.QueuedTasks) != 1 || e.QueuedTasks[0].ID != "t-q" || e.QueuedTasks[0].SlaveID != a.ID() ||
		e.QueuedTasks[0].Resources["cpus"] != 0.1 || len(e.Tasks) != 0 || e.State != "REGISTERING" {
		t.Errorf("/state executor = %+v", e)
	}
	var m map[string]float64
	getJSONBody(t, "http://"+a.Addr()+"/metrics/snapshot", &m)
	if m["slave/executors_registering"] != 1 || m["slave/executors_running"] != 0 {
		t.Errorf("executors registering %v, running %v; want 1 and 0", m["slave/executors_registering"], m["slave/executors_running"])
	}
}
