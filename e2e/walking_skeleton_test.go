package e2e

import (
	"strings"
	"testing"
	"time"
)

// TestDev_ExecuteRunsTasksAndShowsOutput: `mesh dev` plus
// `mesh execute -instances 3` exits 0 and prints every task's output.
func TestDev_ExecuteRunsTasksAndShowsOutput(t *testing.T) {
	httpAddr, agentAddr := freePort(t), freePort(t)
	dev := start(t, "dev", "-http-addr", httpAddr, "-agent-http-addr", agentAddr,
		"-resources", "cpus:2;mem:1024;disk:1000;ports:[31000-31100]")
	// mesh dev says it runs only once a framework can be served: by then
	// its server leads and its agent is registered.
	waitFor(t, 60*time.Second, "mesh dev to say it is running", func() bool {
		return strings.Contains(dev.out.String(), "mesh execute -master "+httpAddr)
	})
	var h health
	if err := getHealth(httpAddr, &h); err != nil || !h.Healthy || !h.IsLeader {
		t.Fatalf("mesh dev said it was running while its server was not a healthy leader: %+v, %v", h, err)
	}
	var st clusterState
	if err := getJSON(httpAddr, "/state", &st); err != nil || len(st.Agents) != 1 || st.Agents[0].State != "active" {
		t.Fatalf("mesh dev said it was running before its agent registered: %+v, %v", st.Agents, err)
	}
	out, code := run(t, 60*time.Second, "execute", "-master", httpAddr, "-name", "hello",
		"-command", "echo hello from mesh", "-instances", "3", "-output", "all")
	if code != 0 {
		t.Fatalf("mesh execute exited %d:\n%s", code, out)
	}
	if n := strings.Count(out, "hello from"); n != 3 {
		t.Errorf("output shows %d task outputs, want 3:\n%s", n, out)
	}
	for _, state := range []string{"TASK_RUNNING", "TASK_FINISHED"} {
		if n := strings.Count(out, state); n < 3 {
			t.Errorf("output shows %s %d times, want 3:\n%s", state, n, out)
		}
	}

	// A failing command: exit code 1, the state and reason shown.
	out, code = run(t, 60*time.Second, "execute", "-master", httpAddr, "-name", "fails", "-command", "echo oops >&2; exit 3")
	if code == 0 {
		t.Fatalf("mesh execute of a failing command exited 0:\n%s", out)
	}
	if !strings.Contains(out, "TASK_FAILED") || !strings.Contains(out, "oops") {
		t.Errorf("failing task output lacks TASK_FAILED or its stderr:\n%s", out)
	}
}

// TestServer_RestartKeepsFrameworksAgentsAndTasks stops and restarts
// `mesh server` on the same data dir.
func TestServer_RestartKeepsFrameworksAgentsAndTasks(t *testing.T) {
	dataDir, workDir := t.TempDir(), t.TempDir()
	httpAddr, raftAddr, agentAddr := freePort(t), freePort(t), freePort(t)
	serverArgs := []string{"server", "-data-dir", dataDir, "-http-addr", httpAddr, "-raft-addr", raftAddr, "-bootstrap-expect", "1"}
	srv := start(t, serverArgs...)
	start(t, "agent", "-allow-root-tasks", "-join", httpAddr, "-http-addr", agentAddr, "-work-dir", workDir,
		"-resources", "cpus:2;mem:1024;disk:1000;ports:[31000-31100]", "-attributes", "rack:r1;os:linux")
	before := waitAgents(t, httpAddr, 1)
	out, code := run(t, 60*time.Second, "execute", "-master", httpAddr, "-name", "persist", "-command", "echo persisted", "-instances", "2")
	if code != 0 {
		t.Fatalf("mesh execute exited %d:\n%s", code, out)
	}
	srv.stop(t)
	start(t, serverArgs...)
	after := waitAgents(t, httpAddr, 1)
	if after.ClusterID != before.ClusterID {
		t.Errorf("cluster id changed across restart: %s → %s", before.ClusterID, after.ClusterID)
	}
	if len(after.Agents) != 1 || after.Agents[0].ID != before.Agents[0].ID {
		t.Errorf("agents after restart %+v, want the same agent %s", after.Agents, before.Agents[0].ID)
	}
	found := 0
	for _, fw := range append(after.CompletedFrameworks, after.Frameworks...) {
		if fw.Name != "persist" {
			continue
		}
		for _, tk := range fw.CompletedTasks {
			if tk.State == "TASK_FINISHED" {
				found++
			}
		}
	}
	if found != 2 {
		t.Errorf("found %d finished tasks of framework persist after restart, want 2: %+v", found, after)
	}
}

// TestAgent_BadResourcesFailsClearly: a bad -resources string stops the
// agent at start with a message that says what was wrong.
func TestAgent_BadResourcesFailsClearly(t *testing.T) {
	out, code := run(t, 20*time.Second, "agent", "-join", "127.0.0.1:1", "-http-addr", "127.0.0.1:0",
		"-work-dir", t.TempDir(), "-resources", "cpus:abc")
	if code == 0 {
		t.Fatalf("agent accepted -resources cpus:abc:\n%s", out)
	}
	if !strings.Contains(out, "cpus") || !strings.Contains(out, "abc") {
		t.Errorf("error does not say what was wrong:\n%s", out)
	}
}
