package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The checker's own tests: each column counts what it is meant to, so a
// clean run of the fault suite means something.

// writeRunLog writes a mesh execute log and returns an execRun for it.
func writeRunLog(t *testing.T, name string, instances, exitCode int, hung bool, out string) *execRun {
	t.Helper()
	p := filepath.Join(t.TempDir(), name+".log")
	if err := os.WriteFile(p, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	return &execRun{name: name, instances: instances, log: p, exitCode: exitCode, hung: hung}
}

func stateWith(name string, tasks ...stateTask) fullState {
	return fullState{CompletedFrameworks: []stateFramew{{ID: "fw-" + name, Name: name, CompletedTasks: tasks}}}
}

// TestFaults_CheckerCountsLostDivergentAndGaveUp: a launched task with no
// end printed is lost, an end that /state contradicts is divergent, a run
// that exits with an error other than failed tasks gave up, and a clean
// run counts nothing.
func TestFaults_CheckerCountsLostDivergentAndGaveUp(t *testing.T) {
	const launch = "2026-12-06T01:55:42.529Z [INFO]  mesh.execute: launching tasks: task_ids=\"%s\" agent_id=a-S0 hostname=vm\n"
	clean := writeRunLog(t, "a", 2, 0, false, strings.ReplaceAll(launch, "%s", "a-0,a-1")+
		"task a-0 TASK_RUNNING\ntask a-1 TASK_RUNNING\ntask a-0 TASK_FINISHED: ok\ntask a-1 TASK_FINISHED: ok\n")
	rep := &faultReport{ends: map[string]int{}}
	rep.checkRun(clean, stateWith("a", stateTask{ID: "a-0", State: "TASK_FINISHED"}, stateTask{ID: "a-1", State: "TASK_FINISHED"}))
	if len(rep.lost)+len(rep.divergent)+len(rep.gaveUp)+len(rep.hung) != 0 || rep.launched != 2 || rep.ends["TASK_FINISHED"] != 2 {
		t.Fatalf("a clean run was counted: %+v", rep)
	}

	// b-0 never ends as printed; b-1 ends FINISHED but /state says LOST;
	// b-2 was only ever known to /state; b-3 was lost, then relaunched
	// and finished (not lost).
	bad := writeRunLog(t, "b", 4, 1, false, strings.ReplaceAll(launch, "%s", "b-0,b-1,b-3")+
		"task b-0 TASK_RUNNING\ntask b-1 TASK_FINISHED\ntask b-3 TASK_LOST (REASON_RECONCILIATION)\ntask b-3 TASK_FINISHED\n"+
		"mesh: execute: launch of b-4 refused 5 times: 403 Forbidden: Framework is not subscribed\n")
	rep = &faultReport{ends: map[string]int{}}
	rep.checkRun(bad, stateWith("b", stateTask{ID: "b-0", State: "TASK_RUNNING"}, stateTask{ID: "b-1", State: "TASK_LOST"},
		stateTask{ID: "b-2", State: "TASK_FINISHED"}, stateTask{ID: "b-3", State: "TASK_FINISHED"}))
	if len(rep.lost) != 2 || !strings.Contains(strings.Join(rep.lost, "\n"), "task b-0:") || !strings.Contains(strings.Join(rep.lost, "\n"), "task b-2:") {
		t.Errorf("lost: %q, want b-0 and b-2", rep.lost)
	}
	if len(rep.divergent) != 1 || !strings.Contains(rep.divergent[0], "task b-1:") {
		t.Errorf("divergent: %q, want b-1", rep.divergent)
	}
	if len(rep.gaveUp) != 1 || !strings.Contains(rep.gaveUp[0], "Framework is not subscribed") {
		t.Errorf("gave up: %q, want the refused launch", rep.gaveUp)
	}

	// c-0 ends only once the suite stops the hung run: not seen.
	hung := writeRunLog(t, "c", 1, -1, true, "task c-0 TASK_RUNNING\ntask c-0 TASK_KILLED\n")
	hung.atDeadline = "task c-0 TASK_RUNNING\n"
	rep = &faultReport{ends: map[string]int{}}
	rep.checkRun(hung, stateWith("c", stateTask{ID: "c-0", State: "TASK_FINISHED"}))
	if len(rep.hung) != 1 || len(rep.lost) != 1 || len(rep.gaveUp) != 0 {
		t.Errorf("a hung run: hung %q, lost %q, gave up %q; want one hung, one lost", rep.hung, rep.lost, rep.gaveUp)
	}
}

// TestFaults_CheckerCountsDoubled: two run directories of one task, or two
// executions in one, are what executions reports.
func TestFaults_CheckerCountsDoubled(t *testing.T) {
	dir := t.TempDir()
	s := &faultSuite{agents: []*faultAgent{{name: "agent1", workDir: filepath.Join(dir, "a1")}, {name: "agent2", workDir: filepath.Join(dir, "a2")}}}
	run := func(agent, task, run string, marker string) {
		d := filepath.Join(dir, agent, "frameworks", "fw-1", "executors", task, "runs", run)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if marker != "" {
			if err := os.WriteFile(filepath.Join(d, faultMarker), []byte(marker), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		os.Symlink(d, filepath.Join(filepath.Dir(d), "latest"))
	}
	run("a1", "once", "r1", "ran\n")
	run("a1", "twoagents", "r1", "ran\n")
	run("a2", "twoagents", "r2", "ran\n")
	run("a2", "tworuns", "r1", "ran\nran\n")
	run("a2", "never", "r1", "")
	got := s.executions()
	want := map[string][2]int{"once": {1, 1}, "twoagents": {2, 2}, "tworuns": {1, 2}, "never": {1, 0}}
	if len(got) != len(want) {
		t.Fatalf("executions found %d tasks, want %d: %v", len(got), len(want), got)
	}
	for id, w := range want {
		if e := got[id]; e == nil || len(e.runDirs) != w[0] || e.markers != w[1] {
			t.Errorf("%s: %+v, want %d run dirs and %d executions", id, e, w[0], w[1])
		}
	}
}

// TestFaults_CheckerFindsPanicsAndLeaks: a goroutine dump in a log is a
// panic; a process whose working directory is in the suite's directory is
// found, described and killed.
func TestFaults_CheckerFindsPanicsAndLeaks(t *testing.T) {
	dir := t.TempDir()
	f := newFleet(t, dir)
	s := &faultSuite{fleet: f, dir: dir}
	for name, text := range map[string]string{"ok": "[INFO]  mesh.agent: fine\n", "bad": "[INFO] start\npanic: runtime error: index out of range\n\ngoroutine 7 [running]:\n"} {
		p := filepath.Join(dir, name+".log")
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		f.procs = append(f.procs, &proc{})
		f.logs[f.procs[len(f.procs)-1]] = p
	}
	if got := s.findPanics(); len(got) != 1 || !strings.Contains(got[0], "bad.log: panic: runtime error") {
		t.Errorf("findPanics = %q, want the one in bad.log", got)
	}

	sleeper := exec.Command("sleep", "300")
	sleeper.Dir = dir
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { sleeper.Wait(); close(done) }()
	t.Cleanup(func() { sleeper.Process.Kill(); <-done })
	leaked := killLeaked(dir)
	if len(leaked) != 1 || !strings.Contains(leaked[0], "sleep 300") {
		t.Fatalf("killLeaked = %q, want the sleep", leaked)
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the leaked process was not killed")
	}
	if again := killLeaked(dir); len(again) != 0 {
		t.Errorf("a second scan found %q", again)
	}
}
