package e2e

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestCLI_ShowsClusterAgentsFrameworksTasksAndLogs runs the commands for
// people against 3 servers, 2 agents and 3 frameworks whose tasks
// finished, failed and still run, through a follower (which redirects).
func TestCLI_ShowsClusterAgentsFrameworksTasksAndLogs(t *testing.T) {
	c := newClusterWith(t, 3, false, testRaftTiming...)
	leader := c.startAll()
	follower := c.others(leader)[0].httpAddr
	var agentIDs []string
	for i := 0; i < 2; i++ {
		start(t, "agent", "-allow-root-tasks", "-join", c.addrs(), "-http-addr", freePort(t), "-work-dir", t.TempDir(),
			"-resources", "cpus:2;mem:1024;disk:1000;ports:[31000-31100]")
	}
	for _, a := range waitAgents(t, leader.httpAddr, 2).Agents {
		agentIDs = append(agentIDs, a.ID)
	}
	if out, code := run(t, 90*time.Second, "execute", "-master", c.addrs(), "-name", "done", "-command", "echo finished-output", "-instances", "2"); code != 0 {
		t.Fatalf("mesh execute done exited %d:\n%s", code, out)
	}
	if out, code := run(t, 90*time.Second, "execute", "-master", c.addrs(), "-name", "failing", "-command", "echo oops >&2; exit 3"); code == 0 {
		t.Fatalf("mesh execute of a failing command exited 0:\n%s", out)
	}
	start(t, "execute", "-master", c.addrs(), "-name", "live",
		"-command", `i=0; while [ $i -lt 1200 ]; do echo tick $i; i=$((i+1)); sleep 0.1; done`)
	// A server that is down is skipped; the follower redirects.
	t.Setenv("MESH_ADDR", freePort(t)+","+follower)
	waitFor(t, 60*time.Second, "task live-0 running", func() bool {
		out, code := run(t, 30*time.Second, "tasks", "-state", "running")
		return code == 0 && strings.Contains(out, "live-0")
	})

	checkStatus(t, leader.httpAddr)
	checkListings(t, agentIDs)
	checkLogsAndLs(t)
	// The operator API cannot kill one task: kill says so unless told
	// to tear the framework down.
	if out, code := run(t, 30*time.Second, "kill", "live-0"); code != 1 || !strings.Contains(out, "no call to kill one task") {
		t.Errorf("mesh kill without -teardown exited %d: %q", code, out)
	}
	checkLogsFollow(t)

	// Bad input and a server that is down: one line, exit 1.
	if out, code := run(t, 30*time.Second, "teardown", "nope"); code != 1 || !strings.Contains(out, `No framework found with specified ID "nope"`) {
		t.Errorf("mesh teardown nope exited %d: %q", code, out)
	}
	if out, code := run(t, 30*time.Second, "status", "-address", freePort(t)+","+freePort(t)); code != 1 ||
		strings.Count(strings.TrimSpace(out), "\n") != 0 || !strings.Contains(out, "cannot reach a mesh server") {
		t.Errorf("mesh status against a server that is down exited %d: %q", code, out)
	}

	checkStatusWithoutQuorum(t, c, leader)
}

// checkStatus: mesh status shows the leader, the 3 healthy servers and
// the agents, frameworks and tasks by state, as a table and as JSON.
func checkStatus(t *testing.T, leader string) {
	t.Helper()
	out := mustRun(t, "status")
	for _, want := range []string{"Leader:  " + leader, "Raft:    healthy", "Agents:      active 2",
		"Frameworks:  active 1, completed 2", "Tasks:       TASK_FAILED 1, TASK_FINISHED 2, TASK_RUNNING 1"} {
		if !strings.Contains(out, want) {
			t.Errorf("mesh status lacks %q:\n%s", want, out)
		}
	}
	if n, m := len(regexp.MustCompile(`(?m)Voter +leader +true$`).FindAllString(out, -1)), len(regexp.MustCompile(`(?m)Voter +follower +true$`).FindAllString(out, -1)); n != 1 || m != 2 {
		t.Errorf("mesh status shows %d healthy leaders and %d healthy followers, want 1 and 2:\n%s", n, m, out)
	}
	var st struct {
		Leader  string `json:"leader"`
		Quorum  bool   `json:"quorum"`
		Servers []struct {
			RaftState string `json:"raft_state"`
		} `json:"servers"`
		Tasks map[string]int `json:"tasks"`
	}
	mustJSON(t, mustRun(t, "status", "-json"), &st)
	if st.Leader != leader || !st.Quorum || len(st.Servers) != 3 || st.Tasks["TASK_FINISHED"] != 2 || st.Tasks["TASK_RUNNING"] != 1 {
		t.Errorf("mesh status -json = %+v", st)
	}

}

// checkListings: mesh agents, frameworks and tasks (with its filters).
func checkListings(t *testing.T, agentIDs []string) {
	t.Helper()
	out := mustRun(t, "agents")
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 3 || !strings.HasPrefix(lines[0], "ID") ||
		!strings.Contains(out, agentIDs[0]) || !strings.Contains(out, agentIDs[1]) || strings.Count(out, "cpus:2 disk:1000 mem:1024") != 2 {
		t.Errorf("mesh agents does not list the 2 agents:\n%s", out)
	}
	var ga struct {
		Agents []json.RawMessage `json:"agents"`
	}
	if mustJSON(t, mustRun(t, "agents", "-json"), &ga); len(ga.Agents) != 2 {
		t.Errorf("mesh agents -json lists %d agents, want 2", len(ga.Agents))
	}

	out = mustRun(t, "frameworks")
	for _, want := range []string{`done +\* +completed`, `failing +\* +completed`, `live +\* +active +cpus:0.1 mem:32`} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("mesh frameworks lacks a row matching %q:\n%s", want, out)
		}
	}

	out = mustRun(t, "tasks")
	for _, want := range []string{`done-0 +done +done +TASK_FINISHED`, `done-1 +done +done +TASK_FINISHED`,
		`failing-0 +failing +failing +TASK_FAILED`, `live-0 +live +live +TASK_RUNNING`} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("mesh tasks lacks a row matching %q:\n%s", want, out)
		}
	}
	var tasks []struct {
		TaskID struct{ Value string } `json:"task_id"`
		State  string                 `json:"state"`
	}
	if mustJSON(t, mustRun(t, "tasks", "-state", "finished", "-json"), &tasks); len(tasks) != 2 || tasks[0].State != "TASK_FINISHED" {
		t.Errorf("mesh tasks -state finished -json = %+v, want done-0 and done-1", tasks)
	}
	if mustJSON(t, mustRun(t, "tasks", "-framework", "live", "-json"), &tasks); len(tasks) != 1 || tasks[0].TaskID.Value != "live-0" {
		t.Errorf("mesh tasks -framework live -json = %+v, want live-0", tasks)
	}
	byAgent := 0
	for _, id := range agentIDs {
		mustJSON(t, mustRun(t, "tasks", "-agent", id, "-json"), &tasks)
		byAgent += len(tasks)
	}
	if byAgent != 4 {
		t.Errorf("mesh tasks -agent lists %d tasks over both agents, want 4", byAgent)
	}

}

// checkLogsAndLs: mesh logs (stdout, -stderr) and mesh ls of ended tasks.
func checkLogsAndLs(t *testing.T) {
	t.Helper()
	out := mustRun(t, "logs", "done-0")
	if out != "finished-output\n" {
		t.Errorf("mesh logs done-0 = %q, want the task's stdout", out)
	}
	if out = mustRun(t, "logs", "-stderr", "failing-0"); !strings.Contains(out, "oops") {
		t.Errorf("mesh logs -stderr failing-0 = %q, want the task's stderr", out)
	}
	out = mustRun(t, "ls", "done-0")
	for _, want := range []string{`(?m)^-\S+ +16 +\S+ +stdout$`, `(?m)^-\S+ +\d+ +\S+ +stderr$`} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("mesh ls done-0 lacks a row matching %q:\n%s", want, out)
		}
	}
	var entries []struct {
		Path  string `json:"path"`
		Size  int64  `json:"size"`
		Nlink int    `json:"nlink"`
	}
	mustJSON(t, mustRun(t, "ls", "-json", "done-0"), &entries)
	found := false
	for _, e := range entries {
		found = found || (strings.HasSuffix(e.Path, "/done-0/runs/latest/stdout") && e.Size == 16 && e.Nlink > 0)
	}
	if !found {
		t.Errorf("mesh ls -json done-0 lacks the agent's entry of stdout: %+v", entries)
	}
}

// checkStatusWithoutQuorum: with 2 of 3 servers stopped the last one
// knows no leader, and mesh status says so and exits 1.
func checkStatusWithoutQuorum(t *testing.T, c *testCluster, leader *testServer) {
	t.Helper()
	// Without a quorum: no leader, the servers that are down unreachable.
	last := c.others(leader)[1]
	for _, s := range c.others(last) {
		s.p.stop(t)
	}
	waitFor(t, 60*time.Second, "the last server to lose its leader", func() bool {
		var h health
		return getHealth(last.httpAddr, &h) == nil && h.Leader == ""
	})
	// It prints what it knows, and exits 1.
	out, code := run(t, 60*time.Second, "status", "-address", last.httpAddr)
	if code != 1 || !strings.Contains(out, "mesh: no leader") {
		t.Errorf("mesh status without a quorum exited %d, want 1 with an error line:\n%s", code, out)
	}
	for _, want := range []string{"Leader:  none", "Raft:    no quorum"} {
		if !strings.Contains(out, want) {
			t.Errorf("mesh status without a quorum lacks %q:\n%s", want, out)
		}
	}
	if n := len(regexp.MustCompile(`(?m)Voter +unreachable +false$`).FindAllString(out, -1)); n != 2 {
		t.Errorf("mesh status without a quorum shows %d unreachable servers, want 2:\n%s", n, out)
	}
}

// checkLogsFollow: mesh logs -f shows the lines live-0 prints after it
// started, and ends by itself once the task is killed.
func checkLogsFollow(t *testing.T) {
	t.Helper()
	last := lastTick(t, mustRun(t, "logs", "live-0"))
	p := start(t, "logs", "-f", "live-0")
	want := fmt.Sprintf("tick %d\n", last+10)
	waitFor(t, 60*time.Second, "mesh logs -f to show "+strings.TrimSpace(want), func() bool {
		return strings.Contains(p.out.String(), want)
	})
	if out := mustRun(t, "kill", "-teardown", "live-0"); !strings.Contains(out, "tore down framework") {
		t.Errorf("mesh kill -teardown live-0 = %q", out)
	}
	if code := p.wait(t, 60*time.Second); code != 0 {
		t.Errorf("mesh logs -f exited %d once the task was killed:\n%s", code, p.out.String())
	}
	if n := lastTick(t, p.out.String()); n < last+10 || !strings.HasPrefix(p.out.String(), "tick 0\n") {
		t.Errorf("mesh logs -f printed up to tick %d from %q..., want from tick 0 to at least %d", n, p.out.String()[:20], last+10)
	}
}

// lastTick returns the number of the last "tick N" line of out.
func lastTick(t *testing.T, out string) int {
	t.Helper()
	m := regexp.MustCompile(`(?m)^tick (\d+)$`).FindAllStringSubmatch(out, -1)
	if len(m) == 0 {
		t.Fatalf("no tick line in %q", out)
	}
	n, _ := strconv.Atoi(m[len(m)-1][1])
	return n
}

// mustRun runs a mesh command that must succeed and returns its output.
func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	out, code := run(t, 60*time.Second, args...)
	if code != 0 {
		t.Fatalf("mesh %s exited %d:\n%s", strings.Join(args, " "), code, out)
	}
	return out
}

func mustJSON(t *testing.T, out string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("unreadable JSON %v:\n%s", err, out)
	}
}
