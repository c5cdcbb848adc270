package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"mesh/executor"
)

// TestAgent_KillNineKeepsTasksRunning: kill -9 of `mesh agent` with three
// running tasks; the restarted agent (same work dir) recovers them, they
// finish, and each terminal update reaches the framework exactly once. A
// task that ends while the agent is down is still reported with its real
// exit status. The restart is an upgrade: the first agent runs from a copy
// of the binary that is removed while it is down, as a package upgrade
// replaces it, and its executors go on from the removed file.
func TestAgent_KillNineKeepsTasksRunning(t *testing.T) {
	oldBin := copyBinary(t)
	httpAddr, workDir, agentArgs := serverForAgent(t, "cpus:2;mem:2048;disk:1000;ports:[31000-31100]")
	agent := startBin(t, oldBin, agentArgs...)
	waitAgents(t, httpAddr, 1)

	long := start(t, "execute", "-master", httpAddr, "-name", "long", "-command", "sleep 4; echo survived", "-instances", "3", "-output", "all")
	short := start(t, "execute", "-master", httpAddr, "-name", "short", "-command", "sleep 1; exit 3")
	waitFor(t, 30*time.Second, "4 tasks running", func() bool {
		return strings.Count(long.out.String(), "TASK_RUNNING") == 3 && strings.Contains(short.out.String(), "TASK_RUNNING")
	})
	agent.kill(t)
	if err := os.Remove(oldBin); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			out, _ := exec.Command("sh", "-c", "find "+workDir+"/frameworks -path '*short*' | head -30; cat "+workDir+"/frameworks/*/executors/short-0/runs/latest/stderr").CombinedOutput()
			t.Logf("short task sandbox:\n%s", out)
		}
	})
	// The short task ends while no agent is there to see it: its executor
	// records the exit status in the sandbox.
	waitFor(t, 30*time.Second, "the short task to end while the agent is down", func() bool {
		m, _ := filepath.Glob(filepath.Join(workDir, "frameworks", "*", "executors", "short-0", "runs", "latest", ".mesh", "exit_status"))
		return len(m) == 1
	})
	start(t, agentArgs...)

	if code := long.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("mesh execute of the long tasks exited %d:\n%s", code, long.out.String())
	}
	out := long.out.String()
	for _, id := range []string{"long-0", "long-1", "long-2"} {
		if n := strings.Count(out, "task "+id+" TASK_FINISHED"); n != 1 {
			t.Errorf("%s reported TASK_FINISHED %d times, want once:\n%s", id, n, out)
		}
	}
	if n := strings.Count(out, "survived"); n != 3 {
		t.Errorf("%d tasks printed their output after the agent restart, want 3:\n%s", n, out)
	}
	if strings.Contains(out, "TASK_LOST") || strings.Contains(out, "TASK_FAILED") {
		t.Errorf("a task was lost or failed across the agent restart:\n%s", out)
	}
	if code := short.wait(t, 60*time.Second); code == 0 {
		t.Fatalf("the task that exited 3 was reported a success:\n%s", short.out.String())
	}
	sout := short.out.String()
	if n := strings.Count(sout, "task short-0 TASK_FAILED"); n != 1 || !strings.Contains(sout, "exited with status 3") {
		t.Errorf("the task that ended while the agent was down: want one TASK_FAILED with its exit status 3:\n%s", sout)
	}
	// Nothing was launched twice.
	for id, n := range runDirs(t, workDir) {
		if n != 1 {
			t.Errorf("%s has %d run directories, want 1", id, n)
		}
	}
}

// copyBinary copies the mesh binary and returns the copy's path.
func copyBinary(t *testing.T) string {
	t.Helper()
	return copyBinaryTo(t, t.TempDir(), "mesh-old")
}

// copyBinaryTo copies the mesh binary into dir as name and returns the
// copy's path.
func copyBinaryTo(t *testing.T, dir, name string) string {
	t.Helper()
	b, err := os.ReadFile(meshBin)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestAgent_RecoverCleanupKillsExecutors: `mesh agent -recover cleanup`
// on the work directory of a stopped agent kills the executors it left
// running and exits; the next agent on the directory forwards their tasks'
// final updates: TASK_KILLED, or TASK_FINISHED for a task that finished
// while no agent was there.
func TestAgent_RecoverCleanupKillsExecutors(t *testing.T) {
	httpAddr, workDir, agentArgs := serverForAgent(t, "cpus:2;mem:2048;disk:1000;ports:[31000-31100]")
	agent := start(t, agentArgs...)
	waitAgents(t, httpAddr, 1)

	long := start(t, "execute", "-master", httpAddr, "-name", "long", "-command", "sleep 600", "-instances", "2")
	// Long enough that the agent is stopped before it ends, also on a
	// loaded machine: the test is about a task that ends while no agent
	// is there.
	short := start(t, "execute", "-master", httpAddr, "-name", "short", "-command", "sleep 5")
	waitFor(t, 30*time.Second, "3 tasks running", func() bool {
		return strings.Count(long.out.String(), "TASK_RUNNING") == 2 && strings.Contains(short.out.String(), "TASK_RUNNING")
	})
	agent.stop(t)
	waitFor(t, 30*time.Second, "the short task to end while the agent is down", func() bool {
		m, _ := filepath.Glob(filepath.Join(workDir, "frameworks", "*", "executors", "short-0", "runs", "latest", ".mesh", "exit_status"))
		return len(m) == 1
	})

	out, code := run(t, time.Minute, "agent", "-recover", "cleanup", "-work-dir", workDir)
	if code != 0 || !strings.Contains(out, "killed 3 executors") {
		t.Fatalf("mesh agent -recover cleanup exited %d:\n%s", code, out)
	}
	if left, _ := os.ReadDir(filepath.Join(workDir, "meta", "containers", "lc")); len(left) > 0 {
		t.Errorf("%d containers left after the cleanup", len(left))
	}
	// Nothing to do a second time.
	if out, code := run(t, time.Minute, "agent", "-recover", "cleanup", "-work-dir", workDir); code != 0 || !strings.Contains(out, "killed 0 executors") {
		t.Errorf("a second cleanup exited %d:\n%s", code, out)
	}
	if strings.Contains(long.out.String(), "TASK_KILLED") {
		t.Fatalf("a task's end reached the framework before an agent ran again:\n%s", long.out.String())
	}

	start(t, agentArgs...)
	if code := long.wait(t, 60*time.Second); code == 0 {
		t.Fatalf("mesh execute of the killed tasks exited 0:\n%s", long.out.String())
	}
	lout := long.out.String()
	for _, id := range []string{"long-0", "long-1"} {
		if n := strings.Count(lout, "task "+id+" TASK_KILLED"); n != 1 || !strings.Contains(lout, "-recover cleanup") {
			t.Errorf("%s: want one TASK_KILLED naming the cleanup, got %d:\n%s", id, n, lout)
		}
	}
	if code := short.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("the task that finished while the agent was down was not reported finished:\n%s", short.out.String())
	}
	if n := strings.Count(short.out.String(), "task short-0 TASK_FINISHED"); n != 1 {
		t.Errorf("short-0 reported TASK_FINISHED %d times, want once:\n%s", n, short.out.String())
	}
}

// TestAgent_KillNineDuringALaunchBurst: kill -9 of the agent while it
// launches 20 tasks. The restarted agent recovers the running ones and
// launches again those whose executors never subscribed: the ones whose
// launch had not begun (they waited for a launch slot) and, under linux
// isolation, those whose containers were being created when it died. Only
// a posix agent, which cannot find an executor it did not record, fails
// those. Every task ends exactly once, none runs twice.
func TestAgent_KillNineDuringALaunchBurst(t *testing.T) {
	const n = 20
	out, _, failed := killNineDuringABurst(t, n)
	for i := range n {
		id := fmt.Sprintf("burst-%d", i)
		if strings.Contains(out, "task "+id+" TASK_FAILED") && !strings.Contains(out, "task "+id+" TASK_FAILED (REASON_AGENT_RESTARTED)") {
			t.Errorf("%s failed for another reason than the agent's restart:\n%s", id, out)
		}
	}
	if iso, _ := executor.DefaultIsolation(); iso == executor.IsolationLinux && failed > 0 {
		t.Errorf("%d tasks failed under linux isolation, want none:\n%s", failed, out)
	} else if inFlight := max(2, 2*runtime.NumCPU()); failed > inFlight {
		// The agent creates at most 2 × cores containers at a time.
		t.Errorf("%d tasks failed, more than the %d launches that can be in flight:\n%s", failed, inFlight, out)
	}
}

// killNineDuringABurst starts a server and an agent (with extra arguments),
// launches a burst of n one-second tasks, kills the agent with SIGKILL once
// the first task runs and starts it again on its work dir. It requires
// every task to end exactly once (TASK_FINISHED or TASK_FAILED) and to have
// one run directory, and returns mesh execute's output, the agent's work
// dir and how many tasks failed.
func killNineDuringABurst(t *testing.T, n int, extra ...string) (out, workDir string, failed int) {
	t.Helper()
	httpAddr, workDir, agentArgs := serverForAgent(t, "cpus:4;mem:4096;disk:1000;ports:[31000-31100]")
	agentArgs = append(agentArgs, extra...)
	agent := start(t, agentArgs...)
	waitAgents(t, httpAddr, 1)

	burst := start(t, "execute", "-master", httpAddr, "-name", "burst", "-command", "sleep 1", "-cpus", "0.1", "-mem", "32", "-instances", strconv.Itoa(n))
	waitFor(t, 60*time.Second, "the first task running", func() bool { return strings.Contains(burst.out.String(), "TASK_RUNNING") })
	agent.kill(t)
	start(t, agentArgs...)

	burst.wait(t, 2*time.Minute)
	out = burst.out.String()
	finished := 0
	for i := range n {
		id := fmt.Sprintf("burst-%d", i)
		f, x := strings.Count(out, "task "+id+" TASK_FINISHED"), strings.Count(out, "task "+id+" TASK_FAILED")
		if f+x != 1 {
			t.Errorf("%s: %d TASK_FINISHED and %d TASK_FAILED, want one end", id, f, x)
		}
		finished += f
		failed += x
	}
	t.Logf("%d tasks finished, %d failed", finished, failed)
	for id, runs := range runDirs(t, workDir) {
		if runs != 1 {
			t.Errorf("%s has %d run directories, want 1", id, runs)
		}
	}
	return out, workDir, failed
}

// serverForAgent starts a server and returns its HTTP address, a fresh work
// directory and the arguments of an agent with those resources that joins
// it.
func serverForAgent(t *testing.T, resources string) (httpAddr, workDir string, agentArgs []string) {
	t.Helper()
	dataDir, workDir := t.TempDir(), t.TempDir()
	httpAddr, raftAddr, agentAddr := freePort(t), freePort(t), freePort(t)
	start(t, "server", "-data-dir", dataDir, "-http-addr", httpAddr, "-raft-addr", raftAddr, "-bootstrap-expect", "1")
	return httpAddr, workDir, []string{"agent", "-allow-root-tasks", "-join", httpAddr, "-http-addr", agentAddr, "-work-dir", workDir, "-resources", resources}
}
