package executor

import (
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"mesh/executor/rootfstest"
	"mesh/mesos"
)

func f64(v float64) *float64 { return &v }

func u32(v uint32) *uint32 { return &v }

// freePort returns a loopback port nothing listens on.
func freePort(t *testing.T) uint32 {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return uint32(ln.Addr().(*net.TCPAddr).Port)
}

// updatesOf returns a copy of the updates the agent got.
func (f *fakeAgent) updatesOf() []mesos.TaskStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]mesos.TaskStatus(nil), f.updates...)
}

// waitUpdate waits for an update that satisfies ok and returns it.
func (f *fakeAgent) waitUpdate(t *testing.T, what string, ok func(mesos.TaskStatus) bool) mesos.TaskStatus {
	t.Helper()
	var found mesos.TaskStatus
	waitFor(t, 20*time.Second, what, func() bool {
		for _, u := range f.updatesOf() {
			if ok(u) {
				found = u
				return true
			}
		}
		return false
	})
	return found
}

func healthUpdate(healthy bool) func(mesos.TaskStatus) bool {
	return func(u mesos.TaskStatus) bool {
		return u.State == mesos.TaskRunning && u.Reason == mesos.ReasonTaskHealthCheckStatusUpdated && u.Healthy != nil && *u.Healthy == healthy
	}
}

// TestCommandExecutor_HTTPHealthCheckOfAClosedPortKillsTheTask: every
// failure is a TASK_RUNNING update with healthy=false and reason
// REASON_TASK_HEALTH_CHECK_STATUS_UPDATED; at consecutive_failures the
// task is killed with its kill policy (TASK_KILLING first, for a
// framework that wants it) and ends TASK_KILLED with healthy=false.
func TestCommandExecutor_HTTPHealthCheckOfAClosedPortKillsTheTask(t *testing.T) {
	path := "/health"
	task := &mesos.TaskInfo{Name: "t", TaskID: mesos.TaskID{Value: "t1"}, Command: &mesos.CommandInfo{Value: "sleep 60"},
		KillPolicy: &mesos.KillPolicy{GracePeriod: &mesos.DurationInfo{Nanoseconds: int64(time.Second)}},
		HealthCheck: &mesos.HealthCheck{Type: mesos.CheckTypeHTTP, HTTP: &mesos.HTTPCheckInfo{Port: freePort(t), Path: &path},
			DelaySeconds: f64(0), IntervalSeconds: f64(0.05), TimeoutSeconds: f64(5), GracePeriodSeconds: f64(0), ConsecutiveFailures: u32(3)}}
	f := newFakeAgent(t, task)
	f.fwInfo.Capabilities = []mesos.FrameworkCapability{{Type: mesos.CapabilityTaskKillingState}}
	done, _ := runExecutor(t, f, t.TempDir(), nil)
	if err := waitDone(t, done); err != nil {
		t.Fatal(err)
	}
	checkStates(t, f.states(), mesos.TaskStarting, mesos.TaskRunning, mesos.TaskRunning, mesos.TaskRunning, mesos.TaskRunning,
		mesos.TaskKilling, mesos.TaskKilled)
	ups := f.updatesOf()
	for _, u := range ups[2:5] {
		if !healthUpdate(false)(u) || u.Source != mesos.SourceExecutor || len(u.UUID) != 16 {
			t.Errorf("health update %+v", u)
		}
	}
	if string(ups[2].UUID) == string(ups[3].UUID) {
		t.Error("two health updates share a uuid")
	}
	end := ups[6]
	if end.Healthy == nil || *end.Healthy || end.Message != "Command terminated with signal SIGTERM" {
		t.Errorf("TASK_KILLED %+v (healthy %v), want healthy=false after SIGTERM", end, end.Healthy)
	}
	if ups[5].Healthy != nil {
		t.Errorf("TASK_KILLING carries healthy: %+v", ups[5])
	}
}

// TestCommandExecutor_CommandHealthCheckHealthyThenUnhealthy: a COMMAND
// health check runs in the sandbox; it passes while the task keeps a
// file, fails once the task deletes it.
func TestCommandExecutor_CommandHealthCheckHealthyThenUnhealthy(t *testing.T) {
	dir := t.TempDir()
	task := &mesos.TaskInfo{Name: "t", TaskID: mesos.TaskID{Value: "t1"},
		Command: &mesos.CommandInfo{Value: `touch ok; while [ ! -f gone ]; do sleep 0.02; done; rm ok; sleep 60`},
		HealthCheck: &mesos.HealthCheck{Type: mesos.CheckTypeCommand, Command: &mesos.CommandInfo{Value: `test -f "$MESOS_SANDBOX/ok"`},
			DelaySeconds: f64(0), IntervalSeconds: f64(0.05), TimeoutSeconds: f64(5), GracePeriodSeconds: f64(30), ConsecutiveFailures: u32(2)}}
	f := newFakeAgent(t, task)
	done, _ := runExecutor(t, f, dir, nil)
	f.waitUpdate(t, "healthy", healthUpdate(true))
	if err := os.WriteFile(filepath.Join(dir, "gone"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := waitDone(t, done); err != nil {
		t.Fatal(err)
	}
	// Healthy once, then two failures (the grace period ended at the
	// first success), then the kill.
	checkStates(t, f.states(), mesos.TaskStarting, mesos.TaskRunning, mesos.TaskRunning, mesos.TaskRunning, mesos.TaskRunning, mesos.TaskKilled)
	ups := f.updatesOf()
	if !healthUpdate(true)(ups[2]) || !healthUpdate(false)(ups[3]) || !healthUpdate(false)(ups[4]) {
		t.Errorf("health updates %+v %+v %+v", ups[2], ups[3], ups[4])
	}
}

// TestCommandExecutor_TCPHealthCheckHealthyThenUnhealthy: a TCP health
// check is healthy while something listens on the port and not once it
// closes.
func TestCommandExecutor_TCPHealthCheckHealthyThenUnhealthy(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	task := &mesos.TaskInfo{Name: "t", TaskID: mesos.TaskID{Value: "t1"}, Command: &mesos.CommandInfo{Value: "sleep 60"},
		HealthCheck: &mesos.HealthCheck{Type: mesos.CheckTypeTCP, TCP: &mesos.TCPCheckInfo{Port: uint32(ln.Addr().(*net.TCPAddr).Port)},
			DelaySeconds: f64(0), IntervalSeconds: f64(0.05), TimeoutSeconds: f64(5), GracePeriodSeconds: f64(0), ConsecutiveFailures: u32(1)}}
	f := newFakeAgent(t, task)
	done, _ := runExecutor(t, f, t.TempDir(), nil)
	f.waitUpdate(t, "healthy", healthUpdate(true))
	ln.Close()
	if err := waitDone(t, done); err != nil {
		t.Fatal(err)
	}
	checkStates(t, f.states(), mesos.TaskStarting, mesos.TaskRunning, mesos.TaskRunning, mesos.TaskRunning, mesos.TaskKilled)
	if ups := f.updatesOf(); !healthUpdate(false)(ups[3]) || *ups[4].Healthy {
		t.Errorf("updates %+v", ups)
	}
}

// TestCommandExecutor_MaxCompletionTimeFailsTheTask: the task is killed
// at once when its max_completion_time is reached (no TASK_KILLING) and
// ends TASK_FAILED with REASON_MAX_COMPLETION_TIME_REACHED, well before
// its own end.
func TestCommandExecutor_MaxCompletionTimeFailsTheTask(t *testing.T) {
	task := &mesos.TaskInfo{Name: "t", TaskID: mesos.TaskID{Value: "t1"}, Command: &mesos.CommandInfo{Value: "sleep 60"},
		MaxCompletionTime: &mesos.DurationInfo{Nanoseconds: int64(300 * time.Millisecond)}}
	f := newFakeAgent(t, task)
	f.fwInfo.Capabilities = []mesos.FrameworkCapability{{Type: mesos.CapabilityTaskKillingState}}
	dir := t.TempDir()
	start := time.Now()
	done, _ := runExecutor(t, f, dir, nil)
	if err := waitDone(t, done); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 30*time.Second {
		t.Fatalf("the task ran %s", took)
	}
	checkStates(t, f.states(), mesos.TaskStarting, mesos.TaskRunning, mesos.TaskFailed)
	if st := f.last(); st.Reason != mesos.ReasonMaxCompletionTimeReached || st.Message != "Command terminated with signal SIGKILL" {
		t.Errorf("TASK_FAILED %+v", st)
	}
	if te, err := ReadTaskExit(dir); err != nil || te.State != mesos.TaskFailed || te.Reason != mesos.ReasonMaxCompletionTimeReached {
		t.Errorf("exit status file %+v, %v", te, err)
	}
}

// TestCommandExecutor_CheckReportsStatusAndNeverKills: every update of a
// task with a check carries check_status (empty until a result); each
// change of the result is a TASK_RUNNING update with reason
// REASON_TASK_CHECK_STATUS_UPDATED; a failing check does not kill.
func TestCommandExecutor_CheckReportsStatusAndNeverKills(t *testing.T) {
	dir := t.TempDir()
	task := &mesos.TaskInfo{Name: "t", TaskID: mesos.TaskID{Value: "t1"},
		Command: &mesos.CommandInfo{Value: `echo 3 > code; while [ ! -f next ]; do sleep 0.02; done; echo 5 > code; while [ ! -f done ]; do sleep 0.02; done`},
		Check: &mesos.CheckInfo{Type: mesos.CheckTypeCommand, Command: &mesos.CheckCommand{Command: mesos.CommandInfo{Value: `exit "$(cat code 2>/dev/null || echo 3)"`}},
			DelaySeconds: f64(0), IntervalSeconds: f64(0.05), TimeoutSeconds: f64(5)}}
	f := newFakeAgent(t, task)
	done, _ := runExecutor(t, f, dir, nil)
	exitIs := func(code int32) func(mesos.TaskStatus) bool {
		return func(u mesos.TaskStatus) bool {
			return u.Reason == mesos.ReasonTaskCheckStatusUpdated && u.CheckStatus != nil && u.CheckStatus.Command != nil &&
				u.CheckStatus.Command.ExitCode != nil && *u.CheckStatus.Command.ExitCode == code
		}
	}
	f.waitUpdate(t, "check status 3", exitIs(3))
	if err := os.WriteFile(filepath.Join(dir, "next"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	f.waitUpdate(t, "check status 5", exitIs(5))
	if err := os.WriteFile(filepath.Join(dir, "done"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := waitDone(t, done); err != nil {
		t.Fatal(err)
	}
	ups := f.updatesOf()
	last := ups[len(ups)-1]
	if last.State != mesos.TaskFinished {
		t.Fatalf("a failing check ended the task: %+v", last)
	}
	for _, u := range ups {
		if u.CheckStatus == nil || u.CheckStatus.Type != mesos.CheckTypeCommand || u.CheckStatus.Command == nil {
			t.Errorf("%s update without a COMMAND check_status: %+v", u.State, u)
		}
		if u.State != mesos.TaskRunning && u.CheckStatus != nil && u.CheckStatus.Command != nil && u.CheckStatus.Command.ExitCode != nil {
			t.Errorf("%s update carries a check result: %+v", u.State, u.CheckStatus.Command)
		}
	}
	checks := 0
	for _, u := range ups {
		if u.Reason == mesos.ReasonTaskCheckStatusUpdated {
			checks++
		}
	}
	if checks != 2 {
		t.Errorf("%d check updates, want one per change (2): %v", checks, f.states())
	}
}

// TestCommandExecutor_CommandHealthCheckRunsInTheTaskRoot: for a task
// with its own root filesystem, a COMMAND health check runs as the task
// does (chrooted, as the task's user, in its sandbox): it sees a file
// only the image has and the file the task keeps in its sandbox.
func TestCommandExecutor_CommandHealthCheckRunsInTheTaskRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("chrooting a task needs root; this test runs in CI as root")
	}
	root, _ := rootfstest.Build(t)
	if err := os.WriteFile(filepath.Join(root, "etc", "only-in-image"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	sandbox := filepath.Join(root, "mnt", "mesos", "sandbox")
	if err := os.Chmod(sandbox, 0o777); err != nil {
		t.Fatal(err)
	}
	for d := filepath.Dir(root); d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
		os.Chmod(d, 0o755)
	}
	task := &mesos.TaskInfo{Name: "t", TaskID: mesos.TaskID{Value: "t1"},
		Command: &mesos.CommandInfo{Value: `touch ok; while [ ! -f gone ]; do sleep 0.02; done; rm ok; sleep 60`},
		HealthCheck: &mesos.HealthCheck{Type: mesos.CheckTypeCommand,
			Command:      &mesos.CommandInfo{Value: `test -f /etc/only-in-image && test -f ok && test "$(id -u)" = 65534`},
			DelaySeconds: f64(0), IntervalSeconds: f64(0.05), TimeoutSeconds: f64(5), GracePeriodSeconds: f64(30), ConsecutiveFailures: u32(1)}}
	f := newFakeAgent(t, task)
	done, _ := runExecutor(t, f, sandbox, func(c *CommandExecutorConfig) {
		c.TaskRootfs, c.TaskUser, c.Sandbox = root, "nobody", "/mnt/mesos/sandbox"
	})
	f.waitUpdate(t, "healthy", healthUpdate(true))
	if err := os.WriteFile(filepath.Join(sandbox, "gone"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := waitDone(t, done); err != nil {
		t.Fatal(err)
	}
	if st := f.last(); st.State != mesos.TaskKilled || st.Healthy == nil || *st.Healthy {
		t.Fatalf("last update %+v, want TASK_KILLED healthy=false", st)
	}
}
