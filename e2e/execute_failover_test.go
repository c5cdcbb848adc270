package e2e

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestExecute_StoppedLeaderContinuedAfterElection: SIGSTOP the leader
// (for longer than its lease) while mesh execute launches tasks, let the
// others elect a new leader, then SIGCONT the old one, which steps down.
// Its streams and calls straddle two leaders (redirected calls meet
// "Framework is not subscribed"); mesh execute must re-subscribe to the
// new leader, reconcile, and finish every task exactly once instead of
// counting those answers as refused launches, and no ERROR event (which
// tells a scheduler to abort) may reach it.
func TestExecute_StoppedLeaderContinuedAfterElection(t *testing.T) {
	c := newCluster(t, 3)
	c.startAll()
	workDir := t.TempDir()
	startAgent(t, c, workDir)

	const n = 40
	exec := start(t, "execute", "-master", c.addrs(), "-name", "stopped", "-command", "sleep 1",
		"-instances", fmt.Sprint(n), "-cpus", "0.1", "-mem", "32", "-checkpoint", "-failover-timeout", "2m")
	old := c.waitStable(10 * time.Second)
	waitFor(t, 60*time.Second, "the first tasks of stopped", func() bool {
		return countTasks(old.httpAddr, "stopped") >= 10
	})
	if err := old.p.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatalf("SIGSTOP: %v", err)
	}
	cont := func() { _ = old.p.cmd.Process.Signal(syscall.SIGCONT) }
	t.Cleanup(cont) // a stopped server would not stop
	// getJSON has no timeout: ask only the servers that run.
	waitFor(t, 60*time.Second, "a new leader", func() bool { return establishedLeader(c.others(old)) != nil })
	cont()
	t.Logf("stopped leader %s until %s was elected", old.name, establishedLeader(c.others(old)).name)

	if code := exec.wait(t, 180*time.Second); code != 0 {
		t.Fatalf("mesh execute exited %d after the leader was stopped and continued:\n%s", code, exec.out.String())
	}
	out := exec.out.String()
	if strings.Contains(out, "refused") {
		t.Errorf("mesh execute counted a leader change as a refusal:\n%s", out)
	}
	if strings.Contains(out, "framework error") { // how mesh execute reports an ERROR event
		t.Errorf("the framework saw an ERROR event:\n%s", out)
	}
	st := c.waitOneHistory(60 * time.Second)
	checkExactlyOnce(t, "stopped", n, out, st, workDir)
}

// TestExecute_TimeoutTearsDownAndSaysWhy: a run that times out kills its
// tasks, tears its framework down, exits 1 and says why, task by task.
func TestExecute_TimeoutTearsDownAndSaysWhy(t *testing.T) {
	httpAddr, agentAddr := freePort(t), freePort(t)
	start(t, "dev", "-http-addr", httpAddr, "-agent-http-addr", agentAddr,
		"-resources", "cpus:0.1;mem:1024;disk:1000;ports:[31000-31100]")
	waitAgents(t, httpAddr, 1)
	// Room for one task: the second never gets an offer.
	out, code := run(t, 90*time.Second, "execute", "-master", httpAddr, "-name", "slow",
		"-command", "sleep 600", "-instances", "2", "-timeout", "3s")
	if code == 0 {
		t.Fatalf("mesh execute exited 0 after timing out:\n%s", out)
	}
	// slow-0 is TASK_KILLED unless a loaded machine had not launched it
	// within the 3 s: its line is checked for being there, not its state.
	for _, want := range []string{
		"giving up: timed out after 3s",
		"  slow-0: ",
		"  slow-1: never launched",
		"execute: timed out after 3s; 2 of 2 tasks did not finish: slow-0 ",
		" torn down\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	var st fullState
	if err := getJSON(httpAddr, "/state", &st); err != nil {
		t.Fatal(err)
	}
	for _, fw := range st.frameworks("slow") {
		if !fw.Removed || fw.Active {
			t.Errorf("framework %s is still there (active %v, removed %v): mesh execute did not tear it down", fw.ID, fw.Active, fw.Removed)
		}
	}
	if len(st.frameworks("slow")) != 1 {
		t.Errorf("state holds %d frameworks named slow, want 1", len(st.frameworks("slow")))
	}
}
