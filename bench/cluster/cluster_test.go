package main

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

// testWriter sends log lines to t.Log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// runForTest runs cfg with the mesh binary of MESH_BIN (skipping the test
// without one, saying it runs what) in the test's temp dir, logging to the
// test, and logs the report.
func runForTest(t *testing.T, cfg *config, what string) *result {
	t.Helper()
	cfg.MeshBin = os.Getenv("MESH_BIN")
	if cfg.MeshBin == "" {
		t.Skipf("MESH_BIN is not set: build mesh (make build) and set MESH_BIN to run the cluster benchmark's %s", what)
	}
	cfg.Dir = t.TempDir()
	cfg.Log = hclog.New(&hclog.LoggerOptions{Name: "bench", Level: hclog.Warn, Output: testWriter{t}})
	if err := cfg.validate(); err != nil {
		t.Fatal(err)
	}
	res, err := run(context.Background(), *cfg)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	var sb strings.Builder
	res.writeText(&sb)
	t.Log("\n" + sb.String())
	return res
}

// TestCluster_SmallRunLosesNothing runs the small configuration: three
// real servers, 100 simulated agents, 10 frameworks × 1,000 tasks, tasks
// killed to time freed resources, and one kill -9 of the leader once
// every task runs. It checks correctness only, never wall time: every
// task RUNNING exactly once at its framework, launched once at an agent,
// every update with a uuid delivered and acknowledged, every agent
// re-registered after the kill, the framework of a process of its own
// subscribed again and offered, no ERROR event.
func TestCluster_SmallRunLosesNothing(t *testing.T) {
	cfg := config{Agents: 100, Frameworks: 10, TasksPerFramework: 1000,
		AgentsPerGroup: 100, TaskCPUs: 0.01, TaskMem: 1, FreeSamples: 10, KillLeader: true, TimeLimit: 5 * time.Minute}
	res := runForTest(t, &cfg, "small configuration")
	c := res.Counts
	total := cfg.Frameworks * cfg.TasksPerFramework
	if res.Placement.Running != total {
		t.Errorf("%d of %d tasks reached RUNNING at their frameworks", res.Placement.Running, total)
	}
	if got := c.Launches - c.DuplicateLaunches; c.DuplicateLaunches != 0 || got != int64(total) {
		t.Errorf("agents launched %d distinct tasks (%d again), want each of %d once", got, c.DuplicateLaunches, total)
	}
	if c.DuplicateRunning != 0 || c.UnexpectedTerminal != 0 || c.NotRunningAtEnd != 0 {
		t.Errorf("tasks: %d running twice, %d unexpected terminal updates, %d not running at the end",
			c.DuplicateRunning, c.UnexpectedTerminal, c.NotRunningAtEnd)
	}
	if c.UnacknowledgedAtEnd != 0 {
		t.Errorf("%d status updates were never acknowledged to their agents", c.UnacknowledgedAtEnd)
	}
	if c.FrameworkErrorEvents != 0 || c.AgentErrorEvents != 0 {
		t.Errorf("ERROR events: %d at frameworks, %d at agents", c.FrameworkErrorEvents, c.AgentErrorEvents)
	}
	if fo := res.Failover; fo == nil || fo.Reregistered != cfg.Agents {
		t.Errorf("after the leader was killed, re-registered agents: %+v, want all %d", fo, cfg.Agents)
	} else if o := fo.Observer; o == nil || o.Subscribed < 0 || o.FreshOffer < o.Subscribed {
		t.Errorf("the framework of a process of its own, after the kill: %+v, want it subscribed again and then offered", o)
	}
	if res.Freed.Samples != cfg.FreeSamples {
		t.Errorf("%d of %d freed resources reached the waiting framework as offers", res.Freed.Samples, cfg.FreeSamples)
	}
	if m := res.LeaderRSS; len(m.OthersEnd) != 1 || m.OthersEnd[0] <= 0 || len(m.OthersFileEnd) != 1 {
		t.Errorf("the other servers' RSS at the end: %v (file-backed %v), want the one survivor's", m.OthersEnd, m.OthersFileEnd)
	}
	for _, p := range res.Problems {
		t.Errorf("problem: %s", p)
	}
	if t.Failed() {
		for _, l := range res.ErrorLogs {
			t.Log(l)
		}
	}
}

// TestCluster_SmallChurnReplacesWhatFinishes runs a small churn: tasks
// finish after 3 s, and for 8 s after placement each one that finishes is
// replaced by a new task. Correctness only: every replacement launched
// once and run, every task finished once the churn is over, every update
// acknowledged, no ERROR event.
func TestCluster_SmallChurnReplacesWhatFinishes(t *testing.T) {
	cfg := config{Agents: 50, Frameworks: 4, TasksPerFramework: 250, AgentsPerGroup: 50, TaskCPUs: 0.01, TaskMem: 1,
		TaskDuration: 3 * time.Second, Churn: 8 * time.Second, TimeLimit: 3 * time.Minute}
	res := runForTest(t, &cfg, "churn")
	c, ch := res.Counts, res.Churn
	if ch == nil || ch.Replaced == 0 || int64(ch.Running) > ch.Replaced {
		t.Fatalf("churn: %+v, want finished tasks replaced, at most as many replacements running", ch)
	}
	total := int64(cfg.Frameworks*cfg.TasksPerFramework) + ch.Replaced
	if got := c.Launches - c.DuplicateLaunches; c.DuplicateLaunches != 0 || got != total {
		t.Errorf("agents launched %d distinct tasks (%d again), want each of %d once", got, c.DuplicateLaunches, total)
	}
	if c.DuplicateRunning != 0 || c.UnexpectedTerminal != 0 || c.NotRunningAtEnd != 0 || c.UnacknowledgedAtEnd != 0 {
		t.Errorf("tasks: %d running twice, %d unexpected terminal updates, %d neither running nor finished at the end, %d updates unacknowledged",
			c.DuplicateRunning, c.UnexpectedTerminal, c.NotRunningAtEnd, c.UnacknowledgedAtEnd)
	}
	if c.FrameworkErrorEvents != 0 || c.AgentErrorEvents != 0 {
		t.Errorf("ERROR events: %d at frameworks, %d at agents", c.FrameworkErrorEvents, c.AgentErrorEvents)
	}
	for _, p := range res.Problems {
		t.Errorf("problem: %s", p)
	}
}
