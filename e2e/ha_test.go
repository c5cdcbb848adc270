package e2e

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// agentResources is what the HA tests' agent offers: 2 cpus, so that 0.1
// cpu tasks run 20 at a time and a burst of launches spans several waves.
const agentResources = "cpus:2;mem:4096;disk:1000;ports:[31000-31100]"

// startAgent starts a `mesh agent` that -joins every server of c and
// waits until the leader lists it as active.
func startAgent(t testing.TB, c *testCluster, workDir string) *proc {
	t.Helper()
	p := start(t, "agent", "-allow-root-tasks", "-join", c.addrs(), "-http-addr", freePort(t), "-work-dir", workDir, "-resources", agentResources)
	l := c.waitStable(30 * time.Second)
	waitAgents(t, l.httpAddr, 1)
	return p
}

// countTasks returns how many tasks of the framework named name the
// server at addr knows (running or completed).
func countTasks(addr, name string) int {
	var st fullState
	if getJSON(addr, "/state", &st) != nil {
		return 0
	}
	n := 0
	for _, fw := range st.frameworks(name) {
		n += len(fw.allTasks())
	}
	return n
}

var taskLine = regexp.MustCompile(`(?m)^task (\S+) (TASK_[A-Z_]+)`)

// taskStates maps each task id in mesh execute's output to the states it
// printed, in order.
func taskStates(out string) map[string][]string {
	m := map[string][]string{}
	for _, sm := range taskLine.FindAllStringSubmatch(out, -1) {
		m[sm[1]] = append(m[sm[1]], sm[2])
	}
	return m
}

// checkExactlyOnce checks that every task <name>-<i>, i < n, ended
// TASK_FINISHED exactly once in the output, in the final state and in the
// agent's work dir (exactly one run directory).
func checkExactlyOnce(t *testing.T, name string, n int, out string, st fullState, workDir string) {
	t.Helper()
	printed := taskStates(out)
	fws := st.frameworks(name)
	if len(fws) != 1 {
		t.Fatalf("state holds %d frameworks named %s, want 1 (the framework must re-subscribe with its id): %+v", len(fws), name, fws)
	}
	final := map[string][]string{}
	for _, tk := range fws[0].allTasks() {
		final[tk.ID] = append(final[tk.ID], tk.State)
	}
	runs := runDirs(t, workDir)
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("%s-%d", name, i)
		finished := 0
		for _, s := range printed[id] {
			if s == "TASK_FINISHED" {
				finished++
			}
		}
		if finished != 1 {
			t.Errorf("task %s: mesh execute printed TASK_FINISHED %d times (states %v), want exactly once", id, finished, printed[id])
		}
		if got := final[id]; len(got) != 1 || got[0] != "TASK_FINISHED" {
			t.Errorf("task %s: final state %v, want exactly one TASK_FINISHED", id, got)
		}
		if runs[id] != 1 {
			t.Errorf("task %s: %d run directories in the agent's work dir, want exactly 1 (launched once)", id, runs[id])
		}
	}
	if len(final) != n {
		t.Errorf("final state holds %d tasks of %s, want %d", len(final), name, n)
	}
	if len(runs) != n {
		t.Errorf("agent work dir holds %d executors, want %d: %v", len(runs), n, runs)
	}
}

// TestHA_KillLeaderDuringLaunchOfHundredTasks: kill -9 the leader while
// mesh execute launches 100 tasks; every task finishes exactly once, none
// is lost or launched twice, and the framework re-subscribes and goes on.
func TestHA_KillLeaderDuringLaunchOfHundredTasks(t *testing.T) {
	c := newCluster(t, 3)
	c.startAll()
	workDir := t.TempDir()
	startAgent(t, c, workDir)

	const n = 100
	exec := start(t, "execute", "-master", c.addrs(), "-name", "burst", "-command", "sleep 1",
		"-instances", fmt.Sprint(n), "-cpus", "0.1", "-mem", "32", "-failover-timeout", "2m")
	old := c.waitStable(10 * time.Second)
	// Kill once the first wave runs and later waves are still to launch.
	waitFor(t, 60*time.Second, "the first tasks of burst", func() bool {
		k := countTasks(old.httpAddr, "burst")
		return k >= 15
	})
	if k := countTasks(old.httpAddr, "burst"); k >= n {
		t.Logf("warning: all %d tasks were known before the kill", k)
	}
	old.p.kill(t)
	t.Logf("killed leader %s with %d tasks known", old.name, countTasks(c.others(old)[0].httpAddr, "burst"))

	if code := exec.wait(t, 120*time.Second); code != 0 {
		t.Fatalf("mesh execute exited %d after the leader was killed:\n%s", code, exec.out.String())
	}
	out := exec.out.String()
	if !strings.Contains(out, "resubscribed=true") {
		t.Errorf("mesh execute never re-subscribed:\n%s", out)
	}
	// Bring the killed server back: all three must hold the same history.
	c.start(old)
	st := c.waitOneHistory(30 * time.Second)
	checkExactlyOnce(t, "burst", n, out, st, workDir)
}

// TestHA_PartitionedLeader: cut the leader off from the other two. The
// majority elects a new leader that serves a new framework; the old
// leader accepts no writes and answers 503 or 307; after healing all
// three servers hold one history.
func TestHA_PartitionedLeader(t *testing.T) {
	c := newCluster(t, 3)
	old := c.startAll()
	startAgent(t, c, t.TempDir())
	majority := c.others(old)

	c.partition(old)
	var l *testServer
	waitFor(t, 15*time.Second, "the majority to elect a new leader", func() bool {
		l = establishedLeader(majority)
		return l != nil
	})
	// The old leader steps down within its lease: it no longer claims to
	// lead, and it refuses writes.
	waitFor(t, 5*time.Second, "the isolated leader to step down", func() bool {
		var h health
		return getHealth(old.httpAddr, &h) == nil && !h.IsLeader
	})
	var before fullState
	if err := getJSON(old.httpAddr, "/state", &before); err != nil {
		t.Fatal(err)
	}
	subscribe := `{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"root","name":"minority"}}}`
	for i := 0; i < 5; i++ {
		code, err := postStatus(old.httpAddr, "/api/v1/scheduler", subscribe)
		if err != nil {
			t.Fatal(err)
		}
		if code != 503 && code != 307 {
			t.Fatalf("isolated old leader answered SUBSCRIBE with %d, want 503 or 307", code)
		}
	}

	// The majority serves: the agent follows it, and a framework that is
	// given all three servers subscribes and gets offers.
	waitAgents(t, l.httpAddr, 1)
	fw := newTestFramework(t, c.addrs(), "majority")
	fw.waitOffer(t, time.Time{}, 30*time.Second)

	var during fullState
	if err := getJSON(old.httpAddr, "/state", &during); err != nil {
		t.Fatal(err)
	}
	if len(during.frameworks("minority")) > 0 || len(during.Frameworks) != len(before.Frameworks) {
		t.Errorf("the isolated server's state changed while cut off: before %+v, after %+v", before, during)
	}

	c.heal()
	c.waitStable(30 * time.Second)
	st := c.waitOneHistory(30 * time.Second)
	if len(st.frameworks("majority")) != 1 {
		t.Errorf("after healing, the framework subscribed to the majority is not known once: %+v", st)
	}
	if len(st.frameworks("minority")) != 0 {
		t.Errorf("after healing, a write sent to the isolated leader is in the state: %+v", st)
	}
}

// TestHA_RollingRestartUnderLoad restarts each server in turn (SIGTERM,
// then start on the same data dir) while frameworks launch tasks; nothing
// a framework was told is lost.
func TestHA_RollingRestartUnderLoad(t *testing.T) {
	c := newCluster(t, 3)
	c.startAll()
	workDir := t.TempDir()
	startAgent(t, c, workDir)

	type runResult struct {
		name string
		out  string
		code int
	}
	stopLoad := make(chan struct{})
	var stopOnce sync.Once
	stop := func() { stopOnce.Do(func() { close(stopLoad) }) }
	results := make(chan runResult, 100)
	// However the test ends, the load stops and its last run is waited for
	// before the test's processes are cleaned up.
	defer func() {
		stop()
		for range results {
		}
	}()
	go func() {
		defer close(results)
		for i := 0; ; i++ {
			select {
			case <-stopLoad:
				return
			default:
			}
			name := fmt.Sprintf("roll%d", i)
			p := start(t, "execute", "-master", c.addrs(), "-name", name, "-command", "sleep 0.2",
				"-instances", "8", "-cpus", "0.1", "-mem", "32", "-failover-timeout", "2m")
			select {
			case <-p.done:
			case <-time.After(90 * time.Second):
				p.stop(t)
			}
			results <- runResult{name, p.out.String(), p.cmd.ProcessState.ExitCode()}
		}
	}()

	for _, s := range c.servers {
		// Let some work happen with all three up.
		before := countAllTasks(c)
		waitFor(t, 60*time.Second, "tasks to launch before restarting "+s.name, func() bool {
			return countAllTasks(c) >= before+8
		})
		s.p.stop(t)
		if code := s.p.cmd.ProcessState.ExitCode(); code != 0 {
			t.Errorf("%s exited %d on SIGTERM", s.name, code)
		}
		c.start(s)
		c.waitStable(30 * time.Second)
	}
	// One more batch after the last restart, then stop the load.
	before := countAllTasks(c)
	waitFor(t, 60*time.Second, "tasks to launch after the rolling restart", func() bool {
		return countAllTasks(c) >= before+8
	})
	stop()

	var runs []runResult
	for r := range results {
		runs = append(runs, r)
	}
	st := c.waitOneHistory(30 * time.Second)
	if len(runs) < 3 {
		t.Errorf("only %d mesh execute runs completed during the rolling restart", len(runs))
	}
	for _, r := range runs {
		if r.code != 0 {
			t.Errorf("mesh execute %s exited %d:\n%s", r.name, r.code, r.out)
			continue
		}
		fws := st.frameworks(r.name)
		if len(fws) != 1 {
			t.Errorf("framework %s is known %d times after the rolling restart, want 1", r.name, len(fws))
			continue
		}
		final := map[string]string{}
		for _, tk := range fws[0].allTasks() {
			final[tk.ID] = tk.State
		}
		for id, states := range taskStates(r.out) {
			if states[len(states)-1] == "TASK_FINISHED" && final[id] != "TASK_FINISHED" {
				t.Errorf("task %s was reported TASK_FINISHED to the framework but the final state says %q", id, final[id])
			}
		}
	}
	t.Logf("%d mesh execute runs across the rolling restart", len(runs))
}

// countAllTasks counts the tasks the current leader knows of.
func countAllTasks(c *testCluster) int {
	l := establishedLeader(c.servers)
	if l == nil {
		return 0
	}
	var st fullState
	if getJSON(l.httpAddr, "/state", &st) != nil {
		return 0
	}
	n := 0
	for _, fw := range append(st.Frameworks, st.CompletedFrameworks...) {
		n += len(fw.allTasks())
	}
	return n
}
