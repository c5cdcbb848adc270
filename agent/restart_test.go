package agent

import (
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

func TestAgent_RestartKeepsIdentityAndResendsPendingUpdate(t *testing.T) {
	f := newFakeServer(t)
	f.setWithhold(mesos.TaskFinished, -1) // the framework never acknowledges it
	cfg := testConfig(t, f)
	cfg.KillTasksOnShutdown = false
	a1 := startAgent(t, cfg)
	id := a1.waitRegistered(t)
	f.launch(testFramework("fw-1"), commandTask("t1", "echo hi"))
	fin := f.waitState(t, "t1", mesos.TaskFinished)
	waitFor(t, 10*time.Second, "the executor to end", func() bool {
		st := a1.State()
		return len(st.Frameworks) == 1 && len(st.Frameworks[0].Executors) == 0
	})
	a1.stop(t)

	// The same work dir and address: a restarted agent.
	f.setWithhold(mesos.TaskFinished, 0)
	before := len(f.subscribeCalls())
	a2 := restartAgent(t, cfg, a1)
	if got := a2.ID(); got != id {
		t.Errorf("restarted agent's id = %q, want %q", got, id)
	}
	waitFor(t, 10*time.Second, "the restarted agent to subscribe", func() bool { return len(f.subscribeCalls()) > before })
	sub := f.subscribeCalls()[before]
	if sub.AgentID == nil || sub.AgentID.Value != id || sub.Subscribe.AgentInfo.ID == nil || sub.Subscribe.AgentInfo.ID.Value != id {
		t.Errorf("restarted agent subscribed without its id: %+v", sub)
	}
	foundTask := false
	for _, task := range sub.Subscribe.Tasks {
		if task.TaskID.Value == "t1" && task.FrameworkID.Value == "fw-1" && task.State == mesos.TaskFinished {
			foundTask = true
		}
	}
	if !foundTask {
		t.Errorf("subscription does not report the pending task: %+v", sub.Subscribe.Tasks)
	}
	f.waitAcked(t, "t1", mesos.TaskFinished)
	for _, d := range f.updatesOf("t1") {
		if d.Status.State == mesos.TaskFinished && string(d.Status.UUID) != string(fin.UUID) {
			t.Errorf("TASK_FINISHED resent with another uuid")
		}
	}
	waitFor(t, 10*time.Second, "the acknowledged task to be forgotten", func() bool {
		_, err := os.Stat(filepath.Join(a2.workDir, "meta", "frameworks", "fw-1", "tasks", "t1"))
		return errors.Is(err, os.ErrNotExist)
	})
}

func TestAgent_RestartReattachesRunningExecutor(t *testing.T) {
	f, cfg, a1, ex := stopWithRunningTask(t)
	pid := ex.Pid
	if syscall.Kill(pid, 0) != nil {
		t.Fatalf("executor %d did not survive the agent", pid)
	}

	a2 := restartAgent(t, cfg, a1)
	st := a2.State()
	if len(st.Frameworks) != 1 || len(st.Frameworks[0].Executors) != 1 || st.Frameworks[0].Executors[0].Pid != pid ||
		st.Frameworks[0].Executors[0].Tasks[0].State != mesos.TaskRunning {
		t.Fatalf("restarted agent did not recover the executor: %+v", st)
	}
	// The executor resubscribes to the new agent process, which can then
	// kill its task.
	f.kill("fw-1", "t1")
	killed := f.waitState(t, "t1", mesos.TaskKilled)
	if killed.Source != mesos.SourceExecutor {
		t.Errorf("TASK_KILLED = %+v", killed)
	}
	f.waitAcked(t, "t1", mesos.TaskKilled)
	waitFor(t, 10*time.Second, "the executor to exit", func() bool { return syscall.Kill(pid, 0) != nil })
}

func TestAgent_RestartFailsTasksOfVanishedExecutors(t *testing.T) {
	f, cfg, a1, ex := stopWithRunningTask(t)
	// The machine loses the executor while the agent is down.
	killExecutor(t, ex.Pid)

	restartAgent(t, cfg, a1)
	st := f.waitState(t, "t1", mesos.TaskFailed)
	if st.Source != mesos.SourceAgent || st.Reason != mesos.ReasonExecutorTerminated {
		t.Errorf("TASK_FAILED = %+v", st)
	}
}

// A task that ended while the agent was down, and whose executor died
// before it could report that, is reported as its sandbox records it.
func TestAgent_RestartReportsTheRecordedEndOfATask(t *testing.T) {
	f, cfg, a1, ex := stopWithRunningTask(t)
	killExecutor(t, ex.Pid)
	// As the executor records a task's end before reporting it.
	if err := executor.WriteTaskExit(ex.Directory, executor.TaskExit{TaskID: "t1", State: mesos.TaskFinished, Message: "Command exited with status 0"}); err != nil {
		t.Fatal(err)
	}

	restartAgent(t, cfg, a1)
	st := f.waitState(t, "t1", mesos.TaskFinished)
	if st.Source != mesos.SourceAgent || !strings.Contains(st.Message, "Command exited with status 0") {
		t.Errorf("TASK_FINISHED = %+v", st)
	}
}

// A task whose launch had not begun when the agent stopped (it waited for
// a launch slot) is launched by the next agent on the work directory:
// nothing of it ran. With -kill-tasks-on-shutdown it is killed instead.
func TestAgent_RestartLaunchesWhatWasNeverStarted(t *testing.T) {
	for _, kill := range []bool{false, true} {
		f := newFakeServer(t)
		cfg := testConfig(t, f)
		cfg.KillTasksOnShutdown = kill
		a1 := startWithQueuedLaunch(t, f, cfg, testFramework("fw-1"))
		a1.stop(t)
		if kill {
			if _, err := os.Stat(a1.runCheckpointPath("fw-1", "t1")); err == nil {
				t.Error("the killed run is still checkpointed")
			}
		} else if _, err := os.Stat(filepath.Join(filepath.Dir(a1.runCheckpointPath("fw-1", "t1")), launchingMarker)); err == nil {
			t.Fatal("the launch was marked as begun")
		}

		cfg.HTTPAddr = a1.Addr()
		a2 := startAgent(t, cfg)
		a2.waitRegistered(t)
		if kill {
			// The next agent forwards the end the stop gave the task,
			// and does not launch it.
			st := f.waitState(t, "t1", mesos.TaskKilled)
			if !strings.Contains(st.Message, msgAgentShutDown) {
				t.Errorf("TASK_KILLED = %+v", st)
			}
			if m, _ := filepath.Glob(filepath.Join(cfg.WorkDir, "frameworks", "fw-1", "executors", "t1", "runs", "*", "ran")); len(m) > 0 {
				t.Errorf("the killed task ran: %v", m)
			}
			continue
		}
		f.waitState(t, "t1", mesos.TaskFinished)
		if runs := timesRan(t, cfg.WorkDir); runs != 1 {
			t.Errorf("the task ran %d times, want once", runs)
		}
	}
}

// A run whose container was being created when a posix agent died is not
// launched again: the executor may have started, and only a linux agent
// finds every executor an earlier agent started. Its task fails, naming
// the restart.
func TestAgent_RestartFailsARunWhoseLaunchBegan(t *testing.T) {
	f := newFakeServer(t)
	cfg := testConfig(t, f)
	a1, _ := crashedMidLaunch(t, f, cfg, testFramework("fw-1"))
	restartAgent(t, cfg, a1)
	st := f.waitState(t, "t1", mesos.TaskFailed)
	if st.Reason != mesos.ReasonAgentRestarted {
		t.Errorf("TASK_FAILED = %+v, want REASON_AGENT_RESTARTED", st)
	}
	if runs := timesRan(t, cfg.WorkDir); runs != 0 {
		t.Errorf("the task ran %d times", runs)
	}
}

// startWithQueuedLaunch starts an agent on cfg whose launch slots are all
// taken, and gives it task t1 of framework fw, which appends "ran" to the
// file ran in its sandbox: its launch is checkpointed and waits for a slot.
func startWithQueuedLaunch(t *testing.T, f *fakeServer, cfg Config, fw mesos.FrameworkInfo) *testAgent {
	t.Helper()
	a := startAgent(t, cfg)
	a.waitRegistered(t)
	for range cap(a.launchSlots) {
		a.launchSlots <- struct{}{}
	}
	f.launch(fw, commandTask("t1", "echo ran >> ran"))
	waitFor(t, 10*time.Second, "the run's checkpoint", func() bool {
		_, err := os.Stat(a.runCheckpointPath(fw.ID.Value, "t1"))
		return err == nil
	})
	return a
}

// crashedMidLaunch leaves cfg's work directory as an agent that died
// while it created the container of task t1 (of startWithQueuedLaunch)
// leaves it: the run checkpointed and its launch marked as begun. It
// returns the stopped agent and the run's container id.
func crashedMidLaunch(t *testing.T, f *fakeServer, cfg Config, fw mesos.FrameworkInfo) (*testAgent, string) {
	t.Helper()
	cfg.KillTasksOnShutdown = false
	a := startWithQueuedLaunch(t, f, cfg, fw)
	a.stop(t)
	cid := a.State().Frameworks[0].Executors[0].Container
	if err := a.markLaunching(fw.ID.Value, "t1", cid); err != nil {
		t.Fatal(err)
	}
	return a, cid
}

// timesRan is how many times the task of startWithQueuedLaunch ran, in
// all its sandboxes; it fails the test if it ran in more than one.
func timesRan(t *testing.T, workDir string) int {
	t.Helper()
	all, _ := filepath.Glob(filepath.Join(workDir, "frameworks", "fw-1", "executors", "t1", "runs", "*", "ran"))
	var files []string
	for _, f := range all {
		if !strings.Contains(f, "/runs/latest/") {
			files = append(files, f)
		}
	}
	if len(files) > 1 {
		t.Errorf("the task ran in %d sandboxes, want 1: %v", len(files), files)
	}
	n := 0
	for _, f := range files {
		b, _ := os.ReadFile(f)
		n += strings.Count(string(b), "ran\n")
	}
	return n
}

// stopWithRunningTask starts an agent that leaves its tasks running when it
// stops, runs task t1 (sleep 100) in framework fw-1 and stops the agent
// once the task runs. It returns what a restart needs and t1's executor.
func stopWithRunningTask(t *testing.T) (*fakeServer, Config, *testAgent, ExecutorJSON) {
	t.Helper()
	f := newFakeServer(t)
	cfg := testConfig(t, f)
	cfg.KillTasksOnShutdown = false
	a := startAgent(t, cfg)
	a.waitRegistered(t)
	f.launch(testFramework("fw-1"), commandTask("t1", "sleep 100"))
	f.waitAcked(t, "t1", mesos.TaskRunning)
	ex := a.State().Frameworks[0].Executors[0]
	a.stop(t)
	return f, cfg, a, ex
}

// killExecutor kills an executor's process group and waits for it to die.
func killExecutor(t *testing.T, pid int) {
	t.Helper()
	if err := syscall.Kill(-pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the executor to die", func() bool { return syscall.Kill(pid, 0) != nil })
}
