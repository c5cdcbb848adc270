package e2e

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestAgentRecovery_PosixExecutorNoStateFileNames: under posix isolation,
// an agent killed between starting an executor and recording its
// container leaves an executor that no state file names. Laid out here by
// removing the state files after a kill -9: the next agent finds the
// executor through its environment and adopts it (the task runs on and
// can be killed), and `mesh agent -recover cleanup` kills such an
// executor too.
func TestAgentRecovery_PosixExecutorNoStateFileNames(t *testing.T) {
	httpAddr, workDir, agentArgs := serverForAgent(t, "cpus:2;mem:2048;disk:1000;ports:[31000-31100]")
	agentArgs = append(agentArgs, "-isolation", "posix")
	agentAddr := agentArgs[5]
	agent := start(t, agentArgs...)
	waitAgents(t, httpAddr, 1)

	long := start(t, "execute", "-master", httpAddr, "-name", "long", "-command", "sleep 600")
	waitFor(t, 30*time.Second, "the task running", func() bool { return strings.Contains(long.out.String(), "TASK_RUNNING") })
	pid := executorPid(t, agentAddr)
	agent.kill(t)
	forgetPosixContainers(t, workDir)

	// The next agent adopts the executor.
	agent = start(t, agentArgs...)
	waitFor(t, 30*time.Second, "the agent to adopt the executor", func() bool { return executorPidOrZero(agentAddr) == pid })
	agent.stop(t)
	if syscall.Kill(pid, 0) != nil {
		t.Fatalf("the adopted executor %d did not outlive the agent's stop", pid)
	}

	// A cleanup kills an executor no state file names.
	forgetPosixContainers(t, workDir)
	out, code := run(t, time.Minute, "agent", "-recover", "cleanup", "-work-dir", workDir)
	if code != 0 || !strings.Contains(out, "killed 1 executors") {
		t.Fatalf("mesh agent -recover cleanup exited %d:\n%s", code, out)
	}
	waitFor(t, 10*time.Second, "the executor to be gone", func() bool { return syscall.Kill(pid, 0) != nil })
	if strings.Contains(long.out.String(), "TASK_FAILED") {
		t.Errorf("the task was reported failed while its executor ran:\n%s", long.out.String())
	}

	start(t, agentArgs...)
	if code := long.wait(t, 60*time.Second); code == 0 {
		t.Fatalf("mesh execute of the killed task exited 0:\n%s", long.out.String())
	}
	if lout := long.out.String(); strings.Count(lout, "task long-0 TASK_KILLED") != 1 || !strings.Contains(lout, "-recover cleanup") {
		t.Errorf("want one TASK_KILLED naming the cleanup:\n%s", lout)
	}
}

// forgetPosixContainers removes the posix containerizer's state files of
// the work directory.
func forgetPosixContainers(t *testing.T, workDir string) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(workDir, "meta", "containers", "*.json"))
	if len(files) != 1 {
		t.Fatalf("%d posix container state files, want 1", len(files))
	}
	if err := os.Remove(files[0]); err != nil {
		t.Fatal(err)
	}
}

// executorPid is the pid of the one executor the agent at addr runs.
func executorPid(t *testing.T, addr string) int {
	t.Helper()
	pid := 0
	waitFor(t, 30*time.Second, "the agent to show its executor", func() bool {
		pid = executorPidOrZero(addr)
		return pid > 0
	})
	return pid
}

// executorPidOrZero is the pid of the one executor the agent at addr
// runs, 0 if it cannot tell.
func executorPidOrZero(addr string) int {
	var st struct {
		Frameworks []struct {
			Executors []struct {
				Pid int `json:"pid"`
			} `json:"executors"`
		} `json:"frameworks"`
	}
	if err := getJSON(addr, "/state", &st); err != nil || len(st.Frameworks) != 1 || len(st.Frameworks[0].Executors) != 1 {
		return 0
	}
	return st.Frameworks[0].Executors[0].Pid
}

// TestAgentRecovery_PosixKillNineDuringALaunchBurst: kill -9 of a posix
// agent while it launches 20 tasks. Every task ends exactly once, none
// runs twice, and once they have ended no process of the work directory
// is left: an executor the killed agent started is adopted or killed by
// the next agent, never left running unknown to it.
func TestAgentRecovery_PosixKillNineDuringALaunchBurst(t *testing.T) {
	_, workDir, _ := killNineDuringABurst(t, 20, "-isolation", "posix")
	waitFor(t, 30*time.Second, "no process of the work directory left", func() bool { return len(processesOf(workDir)) == 0 })
}

// processesOf lists the processes whose environment names dir.
func processesOf(dir string) []int {
	names, _ := filepath.Glob("/proc/[0-9]*/environ")
	var out []int
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil || !bytes.Contains(b, []byte(dir+"/")) {
			continue
		}
		if pid, err := strconv.Atoi(filepath.Base(filepath.Dir(n))); err == nil {
			out = append(out, pid)
		}
	}
	return out
}
