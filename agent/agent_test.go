package agent

import (
	"encoding/json"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"mesh/executor"
	"mesh/mesos"
)

// checkOrdered asserts that a task's deliveries form contiguous groups
// (each update resent until acknowledged, the next one only after it) in
// the given state order, and returns how often each was delivered.
func checkOrdered(t *testing.T, ds []delivery, states ...mesos.TaskState) []int {
	t.Helper()
	var groups []delivery
	var counts []int
	for _, d := range ds {
		if n := len(groups); n > 0 && string(groups[n-1].Status.UUID) == string(d.Status.UUID) {
			counts[n-1]++
			if d.Status.State != groups[n-1].Status.State {
				t.Errorf("resend of %s changed state to %s", groups[n-1].Status.State, d.Status.State)
			}
			continue
		}
		if n := len(groups); n > 0 && !anyAcked(ds, groups[n-1].Status.UUID) {
			t.Errorf("%s was sent before %s was acknowledged", d.Status.State, groups[n-1].Status.State)
		}
		groups = append(groups, d)
		counts = append(counts, 1)
	}
	var got []mesos.TaskState
	for _, g := range groups {
		got = append(got, g.Status.State)
	}
	if len(got) != len(states) {
		t.Fatalf("updates %v, want %v", got, states)
	}
	for i := range states {
		if got[i] != states[i] {
			t.Fatalf("updates %v, want %v", got, states)
		}
	}
	return counts
}

func anyAcked(ds []delivery, id mesos.Bytes) bool {
	for _, d := range ds {
		if string(d.Status.UUID) == string(id) && d.Acked {
			return true
		}
	}
	return false
}

func TestAgent_RunsCommandTaskAndDeliversUpdatesReliably(t *testing.T) {
	f := newFakeServer(t)
	// The first delivery of TASK_RUNNING goes unacknowledged: the agent
	// must send it again.
	f.setWithhold(mesos.TaskRunning, 1)
	cfg := testConfig(t, f)
	a := startAgent(t, cfg)
	id := a.waitRegistered(t)
	if id != "agent-1" {
		t.Fatalf("agent id = %q", id)
	}
	sub := f.subscribeCalls()[0]
	if sub.Subscribe.AgentInfo.Hostname != "test-host" || sub.Subscribe.AgentInfo.Port == 0 {
		t.Errorf("agent info = %+v", sub.Subscribe.AgentInfo)
	}
	if rs := mesos.Resources(sub.Subscribe.AgentInfo.Resources); rs.Scalar("cpus") < 1 || rs.Scalar("mem") <= 0 || rs.Scalar("disk") <= 0 || len(rs.Ranges("ports")) == 0 {
		t.Errorf("detected resources = %s", rs)
	}

	f.launch(testFramework("fw-1"), commandTask("t1", "echo hello"))
	f.waitAcked(t, "t1", mesos.TaskFinished)

	ds := f.updatesOf("t1")
	counts := checkOrdered(t, ds, mesos.TaskStarting, mesos.TaskRunning, mesos.TaskFinished)
	if counts[1] < 2 {
		t.Errorf("unacknowledged TASK_RUNNING was delivered %d times, want a resend", counts[1])
	}
	for _, d := range ds {
		st := d.Status
		if d.FrameworkID != "fw-1" || st.Source != mesos.SourceExecutor || len(st.UUID) != 16 ||
			st.AgentID == nil || st.AgentID.Value != id || st.ExecutorID == nil || st.ExecutorID.Value != "t1" || st.Timestamp == 0 {
			t.Errorf("update %+v lacks a field", st)
		}
	}

	// The sandbox holds the output, readable through the files API.
	base := "http://" + a.Addr()
	sandbox := "/frameworks/fw-1/executors/t1/runs/latest"
	code, body := httpGet(t, base+"/files/read?path="+url.QueryEscape(sandbox+"/stdout")+"&offset=0")
	var rd readAnswer
	if code != 200 || json.Unmarshal(body, &rd) != nil || rd.Data != "hello\n" || rd.Offset != 0 {
		t.Errorf("read stdout: %d %s", code, body)
	}
	code, body = httpGet(t, base+"/files/browse?path="+url.QueryEscape(sandbox))
	var entries []fileInfoJSON
	if code != 200 || json.Unmarshal(body, &entries) != nil {
		t.Fatalf("browse: %d %s", code, body)
	}
	found := map[string]fileInfoJSON{}
	for _, e := range entries {
		found[e.Path] = e
	}
	if e, ok := found[sandbox+"/stdout"]; !ok || e.Mode != "-rw-r--r--" || e.Size != 6 || e.Nlink != 1 || e.UID == "" || e.Mtime == 0 {
		t.Errorf("browse entries %+v lack a correct stdout", entries)
	}
	if _, ok := found[sandbox+"/stderr"]; !ok {
		t.Errorf("browse entries %+v lack stderr", entries)
	}

	// /state names the sandbox; the task is forgotten once its terminal
	// update is acknowledged, and its checkpoint goes with it.
	waitFor(t, 10*time.Second, "the task to be forgotten", func() bool {
		_, err := os.Stat(filepath.Join(a.workDir, "meta", "frameworks", "fw-1", "tasks", "t1"))
		return errors.Is(err, os.ErrNotExist)
	})
	var dir string
	waitFor(t, 10*time.Second, "the executor to end", func() bool {
		st := a.State()
		if len(st.Frameworks) != 1 || len(st.Frameworks[0].CompletedExecutors) != 1 {
			return false
		}
		ex := st.Frameworks[0].CompletedExecutors[0]
		dir = ex.Directory
		return ex.State == "TERMINATED" && len(ex.CompletedTasks) == 1 && ex.CompletedTasks[0].State == mesos.TaskFinished
	})
	if st := a.State(); st.ID != id || st.PendingStatusUpdates != 0 {
		t.Errorf("state = %+v", st)
	}
	code, body = httpGet(t, base+"/files/read?path="+url.QueryEscape(dir+"/stdout"))
	if code != 200 || json.Unmarshal(body, &rd) != nil || rd.Data != "" || rd.Offset != 6 {
		t.Errorf("read by absolute path without offset: %d %s", code, body)
	}
	// Nothing outside the sandboxes is reachable, not even through a
	// link a task leaves in its sandbox.
	if err := os.Symlink("/etc/passwd", filepath.Join(dir, "passwd")); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"../../etc/passwd", "/frameworks/../../etc/passwd", "/etc/passwd", sandbox + "/passwd", dir + "/passwd", "/meta/agent_id"} {
		code, body := httpGet(t, base+"/files/read?offset=0&path="+url.QueryEscape(p))
		if (code != 403 && code != 404) || strings.Contains(string(body), "root:") {
			t.Errorf("read %s: %d %s", p, code, body)
		}
	}
	te, err := executor.ReadTaskExit(dir)
	if err != nil || te.TaskID != "t1" || te.ExitCode != 0 || te.State != mesos.TaskFinished {
		t.Errorf("exit status file = %+v, %v", te, err)
	}
}

func TestAgent_FailedCommandReportsExitStatus(t *testing.T) {
	f := newFakeServer(t)
	a := startAgent(t, testConfig(t, f))
	a.waitRegistered(t)
	shellFalse := false
	task := commandTask("t1", "")
	task.Command = &mesos.CommandInfo{Shell: &shellFalse, Value: "/bin/sh", Arguments: []string{"sh", "-c", "echo to-stderr >&2; exit 3"}}
	f.launch(testFramework("fw-1"), task)
	st := f.waitState(t, "t1", mesos.TaskFailed)
	if st.Message != "Command exited with status 3" || st.Source != mesos.SourceExecutor {
		t.Errorf("TASK_FAILED = %+v", st)
	}
	f.waitAcked(t, "t1", mesos.TaskFailed)
	code, body := httpGet(t, "http://"+a.Addr()+"/files/download?path=/frameworks/fw-1/executors/t1/runs/latest/stderr")
	if code != 200 || !strings.Contains(string(body), "to-stderr\n") {
		t.Errorf("download stderr: %d %q", code, body)
	}
}

func TestAgent_KillTask(t *testing.T) {
	f := newFakeServer(t)
	a := startAgent(t, testConfig(t, f))
	a.waitRegistered(t)
	// With TASK_KILLING_STATE the executor reports TASK_KILLING first.
	f.launch(testFramework("fw-1", mesos.CapabilityTaskKillingState), commandTask("t1", "sleep 100"))
	f.waitAcked(t, "t1", mesos.TaskRunning)
	f.kill("fw-1", "t1")
	st := f.waitState(t, "t1", mesos.TaskKilled)
	if st.Source != mesos.SourceExecutor || !strings.Contains(st.Message, "SIGTERM") {
		t.Errorf("TASK_KILLED = %+v", st)
	}
	f.waitAcked(t, "t1", mesos.TaskKilled)
	checkOrdered(t, f.updatesOf("t1"), mesos.TaskStarting, mesos.TaskRunning, mesos.TaskKilling, mesos.TaskKilled)

	// Killing an unknown task answers TASK_LOST.
	f.kill("fw-1", "nope")
	lost := f.waitState(t, "nope", mesos.TaskLost)
	if lost.Source != mesos.SourceAgent || lost.Reason != mesos.ReasonTaskUnknown || len(lost.UUID) != 16 {
		t.Errorf("kill of an unknown task: %+v", lost)
	}
}

func TestAgent_KillBeforeExecutorSubscribes(t *testing.T) {
	f := newFakeServer(t)
	cfg := testConfig(t, f)
	cfg.ExecutorCommand = []string{"/bin/sleep", "100"} // never subscribes
	a := startAgent(t, cfg)
	a.waitRegistered(t)
	f.launch(testFramework("fw-1"), commandTask("t1", "true"))
	var pid int
	waitFor(t, 10*time.Second, "the executor to start", func() bool {
		st := a.State()
		if len(st.Frameworks) == 1 && len(st.Frameworks[0].Executors) == 1 {
			pid = st.Frameworks[0].Executors[0].Pid
		}
		return pid > 0
	})
	f.kill("fw-1", "t1")
	st := f.waitState(t, "t1", mesos.TaskKilled)
	if st.Source != mesos.SourceAgent || st.Reason != mesos.ReasonTaskKilledDuringLaunch {
		t.Errorf("TASK_KILLED = %+v", st)
	}
	waitFor(t, 10*time.Second, "the container to be destroyed", func() bool {
		return syscall.Kill(pid, 0) != nil
	})
}

func TestAgent_ExecutorRegistrationTimeout(t *testing.T) {
	f := newFakeServer(t)
	cfg := testConfig(t, f)
	cfg.ExecutorCommand = []string{"/bin/sleep", "100"}
	cfg.ExecutorRegistrationTimeout = 300 * time.Millisecond
	a := startAgent(t, cfg)
	a.waitRegistered(t)
	f.launch(testFramework("fw-1"), commandTask("t1", "true"))
	st := f.waitState(t, "t1", mesos.TaskFailed)
	if st.Source != mesos.SourceAgent || st.Reason != mesos.ReasonExecutorRegistrationTO || !strings.Contains(st.Message, "did not register") {
		t.Errorf("TASK_FAILED = %+v", st)
	}
}

func TestAgent_ExecutorExitWithoutTerminalUpdate(t *testing.T) {
	f := newFakeServer(t)
	cfg := testConfig(t, f)
	cfg.ExecutorCommand = []string{"/bin/sh", "-c", "exit 7"}
	a := startAgent(t, cfg)
	a.waitRegistered(t)
	f.launch(testFramework("fw-1"), commandTask("t1", "true"))
	st := f.waitState(t, "t1", mesos.TaskFailed)
	if st.Source != mesos.SourceAgent || st.Reason != mesos.ReasonExecutorTerminated || !strings.Contains(st.Message, "exited with status 7") {
		t.Errorf("TASK_FAILED = %+v", st)
	}
}

func TestAgent_LaunchFailures(t *testing.T) {
	f := newFakeServer(t)
	cfg := testConfig(t, f)
	cfg.ExecutorCommand = []string{"/no/such/executor"}
	a := startAgent(t, cfg)
	a.waitRegistered(t)

	f.launch(testFramework("fw-1"), commandTask("t1", "true"))
	st := f.waitState(t, "t1", mesos.TaskFailed)
	if st.Source != mesos.SourceAgent || st.Reason != mesos.ReasonContainerLaunchFailed || !strings.Contains(st.Message, "/no/such/executor") {
		t.Errorf("TASK_FAILED = %+v", st)
	}

	fw := testFramework("fw-1")
	fw.User = "no-such-user-mesh"
	f.launch(fw, commandTask("t2", "true"))
	st = f.waitState(t, "t2", mesos.TaskFailed)
	if st.Reason != mesos.ReasonContainerLaunchFailed || !strings.Contains(st.Message, `user "no-such-user-mesh" does not exist`) {
		t.Errorf("TASK_FAILED = %+v", st)
	}

	img := commandTask("t3", "true")
	img.Container = &mesos.ContainerInfo{Type: "DOCKER"}
	f.launch(testFramework("fw-1"), img)
	st = f.waitState(t, "t3", mesos.TaskFailed)
	if st.Reason != mesos.ReasonContainerLaunchFailed || !strings.Contains(st.Message, "posix isolation cannot run container images") {
		t.Errorf("TASK_FAILED = %+v", st)
	}
}

func TestAgent_DuplicateTaskID(t *testing.T) {
	f := newFakeServer(t)
	a := startAgent(t, testConfig(t, f))
	a.waitRegistered(t)
	f.launch(testFramework("fw-1"), commandTask("t1", "sleep 100"))
	f.waitAcked(t, "t1", mesos.TaskRunning)
	f.launch(testFramework("fw-1"), commandTask("t1", "echo again"))
	st := f.waitState(t, "t1", mesos.TaskFailed)
	if st.Source != mesos.SourceAgent || !strings.Contains(st.Message, "already running") {
		t.Errorf("TASK_FAILED = %+v", st)
	}
	// The first task is untouched.
	if s := a.State(); len(s.Frameworks) != 1 || len(s.Frameworks[0].Executors) != 1 || s.Frameworks[0].Executors[0].Tasks[0].State != mesos.TaskRunning {
		t.Errorf("state after the duplicate: %+v", s)
	}
}

func TestAgent_ShutdownFramework(t *testing.T) {
	f := newFakeServer(t)
	a := startAgent(t, testConfig(t, f))
	a.waitRegistered(t)
	f.launch(testFramework("fw-1"), commandTask("t1", "sleep 100"), commandTask("t2", "sleep 100"))
	f.waitAcked(t, "t1", mesos.TaskRunning)
	f.waitAcked(t, "t2", mesos.TaskRunning)
	var pids []int
	for _, ex := range a.State().Frameworks[0].Executors {
		pids = append(pids, ex.Pid)
	}
	f.send(shutdownFrameworkEvent("fw-1"))
	waitFor(t, 20*time.Second, "the framework to be forgotten", func() bool {
		_, err := os.Stat(filepath.Join(a.workDir, "meta", "frameworks", "fw-1"))
		return len(a.State().Frameworks) == 0 && errors.Is(err, os.ErrNotExist)
	})
	for _, pid := range pids {
		if syscall.Kill(pid, 0) == nil {
			t.Errorf("executor %d still running", pid)
		}
	}
	if n := a.updates.Pending(); n != 0 {
		t.Errorf("%d updates still pending", n)
	}
}

func TestAgent_IgnoresCommandsFromOlderTerms(t *testing.T) {
	f := newFakeServer(t)
	a := startAgent(t, testConfig(t, f))
	a.waitRegistered(t)
	f.mu.Lock()
	f.term = 5
	f.mu.Unlock()
	f.launch(testFramework("fw-1"), commandTask("t1", "true")) // term 5
	f.waitAcked(t, "t1", mesos.TaskFinished)
	ev := killEvent("fw-1", "t2")
	ev.Term = 4 // a deposed leader's
	f.send(ev)
	f.kill("fw-1", "t3") // term 5: answered
	f.waitState(t, "t3", mesos.TaskLost)
	if ds := f.updatesOf("t2"); len(ds) != 0 {
		t.Errorf("a command from an older term was carried out: %+v", ds)
	}
}

func TestAgent_ReconnectsAndResendsAfterStreamLoss(t *testing.T) {
	f := newFakeServer(t)
	f.setWithhold(mesos.TaskFinished, -1)
	a := startAgent(t, testConfig(t, f))
	a.waitRegistered(t)
	f.launch(testFramework("fw-1"), commandTask("t1", "echo hi"))
	fin := f.waitState(t, "t1", mesos.TaskFinished)
	f.dropStream()
	f.setWithhold(mesos.TaskFinished, 0)
	waitFor(t, 10*time.Second, "a second subscription", func() bool { return len(f.subscribeCalls()) >= 2 })
	sub := f.subscribeCalls()[1]
	if sub.AgentID == nil || sub.AgentID.Value != "agent-1" {
		t.Errorf("resubscription without the agent id: %+v", sub)
	}
	f.waitAcked(t, "t1", mesos.TaskFinished)
	for _, d := range f.updatesOf("t1") {
		if d.Status.State == mesos.TaskFinished && string(d.Status.UUID) != string(fin.UUID) {
			t.Errorf("resent TASK_FINISHED has a new uuid")
		}
	}
}

func TestAgent_FollowsRedirectsAndRetriesWithoutLeader(t *testing.T) {
	f := newFakeServer(t)
	follower := newRedirector(t, f.addr(), 2)
	cfg := testConfig(t, f)
	cfg.Servers = []string{follower.addr()}
	a := startAgent(t, cfg)
	a.waitRegistered(t)
	if n := follower.calls(); n < 3 {
		t.Errorf("follower saw %d calls, want 2 answered 503 then a redirect", n)
	}
	// Updates go to the leader the agent registered with.
	f.launch(testFramework("fw-1"), commandTask("t1", "true"))
	f.waitAcked(t, "t1", mesos.TaskFinished)
}

func TestNew_RejectsBadConfig(t *testing.T) {
	f := newFakeServer(t)
	for name, mutate := range map[string]func(*Config){
		"no servers":     func(c *Config) { c.Servers = nil },
		"bad server":     func(c *Config) { c.Servers = []string{"nohostport"} },
		"no work dir":    func(c *Config) { c.WorkDir = "" },
		"bad resources":  func(c *Config) { c.Resources = "cpus:abc" },
		"bad attributes": func(c *Config) { c.Attributes = "rack" },
		"bad isolation":  func(c *Config) { c.Isolation = "vm" },
	} {
		t.Run(name, func(t *testing.T) {
			cfg := testConfig(t, f)
			mutate(&cfg)
			if a, err := New(cfg); err == nil {
				a.ln.Close()
				t.Fatal("New succeeded")
			} else if !errors.Is(err, ErrBadConfig) {
				t.Errorf("err = %v, want ErrBadConfig", err)
			}
		})
	}
}

func TestNew_ResourcesOverrideDetected(t *testing.T) {
	f := newFakeServer(t)
	cfg := testConfig(t, f)
	cfg.Resources = "cpus:3;gpus:1"
	cfg.Attributes = "rack:r1"
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { a.ln.Close(); a.containerizer.Close(); a.lock.release() }()
	rs := a.resources
	if rs.Scalar("cpus") != 3 || rs.Scalar("gpus") != 1 || rs.Scalar("mem") <= 0 || rs.Scalar("disk") <= 0 {
		t.Errorf("resources = %s", rs)
	}
	if len(a.attributes) != 1 || a.attributes[0].Name != "rack" {
		t.Errorf("attributes = %+v", a.attributes)
	}
}

func TestUnreachableBy(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "a", "b")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(base, "a"), 0o700); err != nil {
		t.Fatal(err)
	}
	if got := unreachableBy(dir); got != filepath.Join(base, "a") {
		t.Errorf("unreachableBy = %q, want %q", got, filepath.Join(base, "a"))
	}
	for _, d := range []string{filepath.Join(base, "a"), base, filepath.Dir(base)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if got := unreachableBy(dir); got != "" && strings.HasPrefix(got, filepath.Dir(base)) {
		t.Errorf("unreachableBy = %q, want none below %s", got, filepath.Dir(base))
	}
}

// A secret given by reference cannot be resolved here: the task fails
// before any container is made, naming the variable.
func TestAgent_SecretReferenceFailsTheTask(t *testing.T) {
	f := newFakeServer(t)
	a := startAgent(t, testConfig(t, f))
	a.waitRegistered(t)
	task := commandTask("t1", "true")
	task.Command.Environment = &mesos.Environment{Variables: []mesos.EnvironmentVariable{
		{Name: "PW", Type: "SECRET", Secret: json.RawMessage(`{"type":"REFERENCE","reference":{"name":"/db/pw"}}`)}}}
	f.launch(testFramework("fw-1"), task)
	st := f.waitState(t, "t1", mesos.TaskFailed)
	if st.Reason != mesos.ReasonContainerLaunchFailed || !strings.Contains(st.Message, "variable PW") || !strings.Contains(st.Message, "secret resolver") {
		t.Errorf("TASK_FAILED = %+v", st)
	}
	if runs, _ := filepath.Glob(filepath.Join(a.workDir, "frameworks", "*", "executors", "*")); len(runs) > 0 {
		t.Errorf("an executor was started: %v", runs)
	}
}
