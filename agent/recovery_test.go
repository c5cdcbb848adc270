package agent

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"mesh/executor"
	"mesh/mesos"
)

// The states a crash can leave in a run's checkpoint directory (see the
// table in runcheckpoint.go), each laid out exactly, then recovered.

// editRunCheckpoint rewrites run.json of fw-1's executor t1 through edit.
func editRunCheckpoint(t *testing.T, a *testAgent, edit func(*runCheckpoint)) {
	t.Helper()
	path := a.runCheckpointPath("fw-1", "t1")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := decodeRunCheckpoint(b, "fw-1", "t1")
	if err != nil {
		t.Fatal(err)
	}
	edit(&cp)
	if b, err = json.Marshal(cp); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// checkStillServes launches task t2 on a and waits for it to finish.
func checkStillServes(t *testing.T, f *fakeServer) {
	t.Helper()
	f.launch(testFramework("fw-1"), commandTask("t2", "true"))
	f.waitState(t, "t2", mesos.TaskFinished)
}

// gone reports whether path does not exist.
func gone(path string) bool {
	_, err := os.Lstat(path)
	return errors.Is(err, os.ErrNotExist)
}

// A run checkpoint listing no task and without its launching marker, as
// an interrupted removal of a finished run's directory left it: the next
// agent panicked on every start launching it (issue 15, defect 4). It is
// forgotten, and nothing is launched.
func TestAgent_RestartForgetsARunWithNoTasks(t *testing.T) {
	f := newFakeServer(t)
	cfg := testConfig(t, f)
	cfg.KillTasksOnShutdown = false
	a1 := startWithQueuedLaunch(t, f, cfg, testFramework("fw-1"))
	a1.stop(t)
	editRunCheckpoint(t, a1, func(cp *runCheckpoint) { cp.Tasks = nil })

	a2 := restartAgent(t, cfg, a1)
	waitFor(t, 10*time.Second, "the checkpoint to be forgotten", func() bool {
		return gone(filepath.Dir(a2.runCheckpointPath("fw-1", "t1")))
	})
	checkStillServes(t, f)
	if runs := timesRan(t, cfg.WorkDir); runs != 0 {
		t.Errorf("the task ran %d times", runs)
	}
	if n := len(f.updatesOf("t1")); n != 0 {
		t.Errorf("%d updates of t1, want none", n)
	}
}

// A run checkpoint without its launching marker but with signs that its
// executor started (what an interrupted removal of an ended run left) is
// not taken for a run never launched: its task is not run again, and it
// fails with a message naming the missing marker.
func TestAgent_RestartNeverRelaunchesARunThatStarted(t *testing.T) {
	for _, sign := range []string{subscribedMarker, "stdout"} {
		t.Run(sign, func(t *testing.T) {
			f := newFakeServer(t)
			cfg := testConfig(t, f)
			cfg.KillTasksOnShutdown = false
			a1 := startWithQueuedLaunch(t, f, cfg, testFramework("fw-1"))
			a1.stop(t)
			ex := a1.State().Frameworks[0].Executors[0]
			path := filepath.Join(filepath.Dir(a1.runCheckpointPath("fw-1", "t1")), subscribedMarker)
			if sign == "stdout" {
				path = filepath.Join(ex.Directory, "stdout")
			}
			if err := os.WriteFile(path, []byte(ex.Container), 0o600); err != nil {
				t.Fatal(err)
			}

			restartAgent(t, cfg, a1)
			st := f.waitState(t, "t1", mesos.TaskFailed)
			if st.Reason != mesos.ReasonAgentRestarted || !strings.Contains(st.Message, launchingMarker+" missing") {
				t.Errorf("TASK_FAILED = %+v, want REASON_AGENT_RESTARTED naming the missing marker", st)
			}
			checkStillServes(t, f)
			if runs := timesRan(t, cfg.WorkDir); runs != 0 {
				t.Errorf("the task ran %d times", runs)
			}
		})
	}
}

// The removal of a run's checkpoint is one rename: a crash right after it
// leaves no part of the checkpoint where recovery looks, only the trash,
// which the next agent empties.
func TestAgent_RemovedCheckpointLeavesNoPartBehind(t *testing.T) {
	f := newFakeServer(t)
	cfg := testConfig(t, f)
	a1 := startAgent(t, cfg)
	a1.waitRegistered(t)
	a1.mu.Lock()
	a1.testCrashAt = func(point string) bool { return point == "checkpoint_in_trash" }
	a1.mu.Unlock()
	f.launch(testFramework("fw-1"), commandTask("t1", "echo ran >> ran"))
	f.waitAcked(t, "t1", mesos.TaskFinished)
	dir := filepath.Dir(a1.runCheckpointPath("fw-1", "t1"))
	waitFor(t, 10*time.Second, "the run's checkpoint to be removed", func() bool { return gone(dir) })
	trash, _ := os.ReadDir(a1.metaPath(trashDir))
	if len(trash) != 1 {
		t.Fatalf("trash holds %d entries, want the removed checkpoint", len(trash))
	}
	a1.stop(t)

	a2 := restartAgent(t, cfg, a1)
	if trash, _ := os.ReadDir(a2.metaPath(trashDir)); len(trash) != 0 {
		t.Errorf("the restarted agent left %d entries in the trash", len(trash))
	}
	checkStillServes(t, f)
	if runs := timesRan(t, cfg.WorkDir); runs != 1 {
		t.Errorf("the task ran %d times, want once", runs)
	}
}

// What a crash leaves in the middle of checkpoint writes and removals:
// temporary files, a directory without run.json, a checkpoint in the
// trash. The next agent removes them and launches the queued run once.
func TestAgent_RestartCleansWhatACrashLeft(t *testing.T) {
	f := newFakeServer(t)
	cfg := testConfig(t, f)
	cfg.KillTasksOnShutdown = false
	a1 := startWithQueuedLaunch(t, f, cfg, testFramework("fw-1"))
	a1.stop(t)
	dir := filepath.Dir(a1.runCheckpointPath("fw-1", "t1"))
	b, err := os.ReadFile(filepath.Join(dir, runFile))
	if err != nil {
		t.Fatal(err)
	}
	write := func(path string, b []byte) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// A rewrite of run.json and a marker cut short.
	write(filepath.Join(dir, "."+runFile+tmpInfix+"1"), b[:len(b)/2])
	write(filepath.Join(dir, "."+launchingMarker+tmpInfix+"2"), nil)
	// A first checkpoint cut short.
	other := filepath.Join(filepath.Dir(dir), "t9")
	write(filepath.Join(other, "."+runFile+tmpInfix+"3"), b[:10])
	// A removal cut short: a whole checkpoint of an ended run in the trash.
	tomb := a1.metaPath(trashDir, "x")
	write(filepath.Join(tomb, runFile), b)

	a2 := restartAgent(t, cfg, a1)
	f.waitState(t, "t1", mesos.TaskFinished)
	if runs := timesRan(t, cfg.WorkDir); runs != 1 {
		t.Errorf("the task ran %d times, want once", runs)
	}
	for _, p := range []string{filepath.Join(dir, "."+runFile+tmpInfix+"1"), filepath.Join(dir, "."+launchingMarker+tmpInfix+"2"), other, tomb} {
		if !gone(p) {
			t.Errorf("%s is still there", p)
		}
	}
	if n := len(a2.State().Frameworks[0].Executors); n > 1 {
		t.Errorf("%d executors after the restart", n)
	}
}

// Bad input: a damaged checkpoint of a running executor. The agent
// starts, kills the executor, reports the task TASK_LOST naming the file,
// and keeps serving.
func TestAgent_RestartReportsADamagedCheckpoint(t *testing.T) {
	damages := []struct {
		name   string
		damage func(path string) error
		want   string
	}{
		{"empty", func(p string) error { return os.WriteFile(p, nil, 0o600) }, "is empty"},
		{"truncated", func(p string) error {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return os.WriteFile(p, b[:len(b)/2], 0o600)
		}, "not a run checkpoint"},
		{"garbage", func(p string) error { return os.WriteFile(p, []byte("\x00\xffnot json"), 0o600) }, "not a run checkpoint"},
		{"another framework's", func(p string) error {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return os.WriteFile(p, []byte(strings.Replace(string(b), `"fw-1"`, `"fw-2"`, 1)), 0o600)
		}, `framework id "fw-2"`},
		{"another sandbox", func(p string) error {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			var cp map[string]any
			if err := json.Unmarshal(b, &cp); err != nil {
				return err
			}
			cp["directory"] = "/etc"
			b, _ = json.Marshal(cp)
			return os.WriteFile(p, b, 0o600)
		}, `sandbox "/etc" is not the run's`},
		{"missing", os.Remove, "is missing"},
	}
	for _, d := range damages {
		t.Run(d.name, func(t *testing.T) {
			f, cfg, a1, ex := stopWithRunningTask(t)
			path := a1.runCheckpointPath("fw-1", "t1")
			if err := d.damage(path); err != nil {
				t.Fatal(err)
			}

			restartAgent(t, cfg, a1)
			st := f.waitState(t, "t1", mesos.TaskLost)
			if !strings.Contains(st.Message, path) || !strings.Contains(st.Message, d.want) || st.Source != mesos.SourceAgent {
				t.Errorf("TASK_LOST = %+v, want a message naming %s and saying %q", st, path, d.want)
			}
			waitFor(t, 20*time.Second, "the executor to be killed", func() bool { return syscall.Kill(ex.Pid, 0) != nil })
			checkStillServes(t, f)
			if !gone(filepath.Dir(path)) {
				t.Error("the damaged checkpoint is still there")
			}
		})
	}
}

// The run forgets a task whose terminal update is acknowledged before the
// update's checkpoint goes: a crash in between must not leave a run
// checkpoint naming a task without updates, which is how a run never
// launched looks.
func TestStatusUpdates_TerminalAckReachesTheRunBeforeTheStreamGoes(t *testing.T) {
	dir := t.TempDir()
	rec := &sendRecorder{}
	var streamThere []bool
	m := newTestUpdates(t, dir, rec, func(ack ackedUpdate) {
		streamThere = append(streamThere, !gone(filepath.Join(dir, "fw", "tasks", ack.Status.TaskID.Value, updatesFile)))
	})
	fin := testStatus("t1", mesos.TaskFinished)
	if _, err := m.Update("fw", fin); err != nil {
		t.Fatal(err)
	}
	if ok, err := m.Acknowledge("fw", "t1", fin.UUID); !ok || err != nil {
		t.Fatal(ok, err)
	}
	if len(streamThere) != 1 || !streamThere[0] {
		t.Errorf("the update checkpoint was gone when the run learnt of the acknowledgement: %v", streamThere)
	}
	if !gone(filepath.Join(dir, "fw", "tasks", "t1")) {
		t.Error("the acknowledged task's updates are still there")
	}
}

func FuzzDecodeRunCheckpoint(f *testing.F) {
	valid, err := json.Marshal(runCheckpoint{
		FrameworkInfo:   mesos.FrameworkInfo{ID: &mesos.FrameworkID{Value: "fw"}},
		ExecutorInfo:    mesos.ExecutorInfo{ExecutorID: mesos.ExecutorID{Value: "e"}},
		CommandExecutor: true,
		ContainerID:     "c",
		Directory:       "/w/frameworks/fw/executors/e/runs/c",
		Tasks:           []mesos.TaskInfo{{TaskID: mesos.TaskID{Value: "e"}, Command: &mesos.CommandInfo{Value: "true"}}},
	})
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range [][]byte{valid, valid[:len(valid)/2], nil, []byte("null"), []byte("{}"), []byte("[]"),
		append(append([]byte{}, valid...), valid...), []byte(`{"framework_info":{"id":{"value":"fw"}},"executor_info":{"executor_id":{"value":"e"}},"container_id":"..","directory":"/d"}`)} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		cp, err := decodeRunCheckpoint(b, "fw", "e")
		if err != nil {
			if err.Error() == "" {
				t.Error("an error that says nothing")
			}
			return
		}
		if cp.FrameworkInfo.ID.Value != "fw" || cp.ExecutorInfo.ExecutorID.Value != "e" || safeID(cp.ContainerID) != nil || !filepath.IsAbs(cp.Directory) {
			t.Fatalf("accepted an unusable checkpoint: %+v", cp)
		}
		for _, ti := range cp.Tasks {
			if safeID(ti.TaskID.Value) != nil {
				t.Fatalf("accepted an unusable task id %q", ti.TaskID.Value)
			}
		}
		again, err := json.Marshal(cp)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := decodeRunCheckpoint(again, "fw", "e"); err != nil {
			t.Fatalf("a checkpoint it accepted does not decode again: %v", err)
		}
	})
}

// launchUnrecorded starts the executor of a1's queued run t1 in a posix
// container and removes the container's state file: the state an agent
// killed between starting an executor and recording it leaves (issue 15,
// defect 5). It returns the executor's pid; the test kills its process
// group when it ends.
func launchUnrecorded(t *testing.T, a1 *testAgent, cid string, argv ...string) int {
	t.Helper()
	a1.mu.Lock()
	run := a1.frameworks["fw-1"].executors["t1"]
	a1.mu.Unlock()
	run.mu.Lock()
	first := run.tasks["t1"].info
	run.mu.Unlock()
	spec, err := a1.containerSpec(run, first)
	if err != nil {
		t.Fatal(err)
	}
	if argv != nil {
		spec.Argv = argv
	}
	p, err := executor.NewPosix(executor.Options{StateDir: a1.metaPath("containers"), Logger: testLogger(t, "posix")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	st, err := p.Launch(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(-st.Pid, syscall.SIGKILL) })
	if err := os.Remove(filepath.Join(a1.metaPath("containers"), cid+".json")); err != nil {
		t.Fatal(err)
	}
	return st.Pid
}

// Under posix isolation, an executor that an agent died launching, before
// the container was recorded, is found by the next agent and adopted: it
// subscribes, and its task runs once, instead of being reported failed
// while it runs on unknown to any agent.
func TestAgent_RestartAdoptsAnExecutorThatWasNeverRecorded(t *testing.T) {
	f := newFakeServer(t)
	cfg := testConfig(t, f)
	a1, cid := crashedMidLaunch(t, f, cfg, testFramework("fw-1"))
	pid := launchUnrecorded(t, a1, cid)

	restartAgent(t, cfg, a1)
	st := f.waitState(t, "t1", mesos.TaskFinished)
	if st.Source != mesos.SourceExecutor {
		t.Errorf("TASK_FINISHED = %+v, want it from the executor", st)
	}
	for _, d := range f.updatesOf("t1") {
		if d.Status.State == mesos.TaskFailed {
			t.Errorf("the adopted task was reported failed: %+v", d.Status)
		}
	}
	if runs := timesRan(t, cfg.WorkDir); runs != 1 {
		t.Errorf("the task ran %d times, want once", runs)
	}
	waitFor(t, 20*time.Second, "the executor to exit", func() bool { return syscall.Kill(pid, 0) != nil })
	checkStillServes(t, f)
}

// An executor found that way which does not resubscribe is killed once
// its time is up, and its task's update says so.
func TestAgent_RestartKillsAFoundExecutorThatDoesNotResubscribe(t *testing.T) {
	f := newFakeServer(t)
	cfg := testConfig(t, f)
	a1, cid := crashedMidLaunch(t, f, cfg, testFramework("fw-1"))
	pid := launchUnrecorded(t, a1, cid, "/bin/sleep", "100")

	cfg.ExecutorRegistrationTimeout = time.Second
	restartAgent(t, cfg, a1)
	st := f.waitState(t, "t1", mesos.TaskFailed)
	if st.Reason != reasonExecutorReregistrationTimeout || !strings.Contains(st.Message, "killed") {
		t.Errorf("TASK_FAILED = %+v, want a reregistration timeout saying the executor was killed", st)
	}
	waitFor(t, 10*time.Second, "the executor to be killed", func() bool { return syscall.Kill(pid, 0) != nil })
	if runs := timesRan(t, cfg.WorkDir); runs != 0 {
		t.Errorf("the task ran %d times", runs)
	}
}

// `-recover cleanup` kills such an executor too.
func TestAgent_CleanupKillsAnExecutorThatWasNeverRecorded(t *testing.T) {
	f := newFakeServer(t)
	cfg := testConfig(t, f)
	a1, cid := crashedMidLaunch(t, f, cfg, testFramework("fw-1"))
	pid := launchUnrecorded(t, a1, cid)

	cc := cfg
	cc.Servers, cc.Recover = nil, RecoverCleanup
	a, err := New(cc)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := a.Cleanup(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if sum.Executors != 1 {
		t.Errorf("cleanup summary = %+v, want 1 executor killed", sum)
	}
	waitFor(t, 10*time.Second, "the executor to be gone", func() bool { return syscall.Kill(pid, 0) != nil })
}

// A running executor's checkpoint without its subscribed marker (a
// checkpoint missing the file it gains last) is recovered as it is: the
// executor is reattached and its task can be killed.
func TestAgent_RestartWithoutASubscribedMarkerReattaches(t *testing.T) {
	f, cfg, a1, ex := stopWithRunningTask(t)
	if err := os.Remove(filepath.Join(filepath.Dir(a1.runCheckpointPath("fw-1", "t1")), subscribedMarker)); err != nil {
		t.Fatal(err)
	}
	a2 := restartAgent(t, cfg, a1)
	if st := a2.State(); len(st.Frameworks) != 1 || len(st.Frameworks[0].Executors) != 1 || st.Frameworks[0].Executors[0].Pid != ex.Pid {
		t.Fatalf("restarted agent did not recover the executor: %+v", st)
	}
	f.kill("fw-1", "t1")
	if st := f.waitState(t, "t1", mesos.TaskKilled); st.Source != mesos.SourceExecutor {
		t.Errorf("TASK_KILLED = %+v", st)
	}
	waitFor(t, 10*time.Second, "the executor to exit", func() bool { return syscall.Kill(ex.Pid, 0) != nil })
}

// Each isolation finds only its own containers: an agent or a cleanup on a
// work directory takes the isolation its executors were started under,
// and refuses another one while executors are checkpointed, rather than
// take them for gone while they run.
func TestAgent_IsolationFollowsTheWorkDirectory(t *testing.T) {
	_, cfg, _, ex := stopWithRunningTask(t) // under posix isolation
	cc := cfg
	cc.Servers, cc.Recover = nil, RecoverCleanup

	cc.Isolation = executor.IsolationLinux
	if _, err := New(cc); !errors.Is(err, ErrBadConfig) || !strings.Contains(err.Error(), "-isolation posix") {
		t.Fatalf("New with another isolation = %v, want it refused, naming posix", err)
	}
	cc.Isolation = ""
	a, err := New(cc)
	if err != nil {
		t.Fatal(err)
	}
	if name := a.containerizer.Name(); name != executor.IsolationPosix {
		t.Errorf("isolation = %s, want the work directory's posix", name)
	}
	if sum, err := a.Cleanup(context.Background()); err != nil || sum.Executors != 1 {
		t.Errorf("cleanup = %+v, %v; want the executor killed", sum, err)
	}
	waitFor(t, 10*time.Second, "the executor to be gone", func() bool { return syscall.Kill(ex.Pid, 0) != nil })
}
