package agent

import (
	"slices"
	"testing"
	"time"

	"mesh/mesos"
	"mesh/mesos/agentapi"
)

// exitOf returns the EXECUTOR_EXITED the fake server answered for
// executor eid of framework fid, and how many it received in all.
func (f *fakeServer) exitOf(fid, eid string) (*agentapi.ExecutorExited, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.exits {
		if e := f.exits[i]; e.FrameworkID.Value == fid && e.ExecutorID.Value == eid {
			return &e, f.exitCalls
		}
	}
	return nil, f.exitCalls
}

// reregister drops the agent's stream and returns its next registration.
func reregister(t *testing.T, f *fakeServer) *agentapi.Subscribe {
	t.Helper()
	n := len(f.subscribeCalls())
	f.dropStream()
	waitFor(t, 20*time.Second, "the agent to register again", func() bool { return len(f.subscribeCalls()) > n })
	sub := f.subscribeCalls()[n].Subscribe
	if !slices.Contains(sub.Capabilities, agentapi.CapabilityExecutors) {
		t.Fatalf("registration capabilities %v, want %s", sub.Capabilities, agentapi.CapabilityExecutors)
	}
	return sub
}

// TestExecutorExits_SentUntilTheLeaderAnswers: when a default executor
// ends (its group's last task finished), the agent tells the leader, and
// keeps telling it while the leader does not answer 200.
func TestExecutorExits_SentUntilTheLeaderAnswers(t *testing.T) {
	f := newFakeServer(t)
	f.mu.Lock()
	f.exitFailures = 2
	f.mu.Unlock()
	a := startAgent(t, testConfig(t, f))
	a.waitRegistered(t)
	f.launchGroup(testFramework("fw-1"), defaultExecutorInfo("pod"), commandTask("one", "true"))
	f.waitState(t, "one", mesos.TaskFinished)
	var exit *agentapi.ExecutorExited
	calls := 0
	waitFor(t, 30*time.Second, "the leader to be told the executor exited", func() bool {
		exit, calls = f.exitOf("fw-1", "pod")
		return exit != nil
	})
	if exit.Status != 0 {
		t.Errorf("executor exit status %d, want 0", exit.Status)
	}
	if calls != 3 {
		t.Errorf("%d EXECUTOR_EXITED calls, want 3 (two refused, then answered)", calls)
	}
}

// TestExecutorExits_RegistrationListsRunningExecutors: the agent lists
// the executors it runs (not its command executors) when it registers
// again, each with its framework id, and no longer lists one that ended.
func TestExecutorExits_RegistrationListsRunningExecutors(t *testing.T) {
	f := newFakeServer(t)
	a := startAgent(t, testConfig(t, f))
	a.waitRegistered(t)
	fw := testFramework("fw-1")
	f.launchGroup(fw, defaultExecutorInfo("pod"), commandTask("long", "exec sleep 1000"))
	f.launch(fw, commandTask("plain", "exec sleep 1000"))
	f.waitAcked(t, "long", mesos.TaskRunning)
	f.waitAcked(t, "plain", mesos.TaskRunning)

	sub := reregister(t, f)
	if len(sub.Executors) != 1 || sub.Executors[0].ExecutorID.Value != "pod" ||
		sub.Executors[0].FrameworkID == nil || sub.Executors[0].FrameworkID.Value != "fw-1" {
		t.Fatalf("registration lists executors %+v, want pod of fw-1 alone", sub.Executors)
	}
	f.kill("fw-1", "long")
	f.waitAcked(t, "long", mesos.TaskKilled)
	waitFor(t, 30*time.Second, "the executor's exit to be reported", func() bool {
		exit, _ := f.exitOf("fw-1", "pod")
		return exit != nil
	})
	if sub := reregister(t, f); len(sub.Executors) != 0 {
		t.Fatalf("registration after the executor ended lists %+v, want none", sub.Executors)
	}
}

// TestExecutorExits_RefusedLaunchReportsTheExecutor: a task group the
// agent refuses before starting its executor has its executor reported
// as exited (status -1), so that the leader frees what it holds for it.
func TestExecutorExits_RefusedLaunchReportsTheExecutor(t *testing.T) {
	f := newFakeServer(t)
	a := startAgent(t, testConfig(t, f))
	a.waitRegistered(t)
	f.launchGroup(testFramework("fw-1"), defaultExecutorInfo("dup"), commandTask("d1", "true"), commandTask("d1", "true"))
	f.waitState(t, "d1", mesos.TaskFailed)
	var exit *agentapi.ExecutorExited
	waitFor(t, 20*time.Second, "the refused executor to be reported", func() bool {
		exit, _ = f.exitOf("fw-1", "dup")
		return exit != nil
	})
	if exit.Status != -1 {
		t.Errorf("refused executor reported with status %d, want -1", exit.Status)
	}
}

// TestExecutorExits_PendingExitIsListedAsExiting: an executor whose exit
// the leader has not answered is listed as exiting, not running, when the
// agent registers again meanwhile; once the exit is answered it is no
// longer listed.
func TestExecutorExits_PendingExitIsListedAsExiting(t *testing.T) {
	f := newFakeServer(t)
	f.mu.Lock()
	f.exitFailures = 1 << 20
	f.mu.Unlock()
	a := startAgent(t, testConfig(t, f))
	a.waitRegistered(t)
	f.launchGroup(testFramework("fw-1"), defaultExecutorInfo("pod"), commandTask("one", "true"))
	f.waitState(t, "one", mesos.TaskFinished)
	waitFor(t, 30*time.Second, "the agent to try to report the exit", func() bool {
		_, calls := f.exitOf("fw-1", "pod")
		return calls > 0
	})
	sub := reregister(t, f)
	if len(sub.Executors) != 0 || len(sub.ExitingExecutors) != 1 || sub.ExitingExecutors[0].ExecutorID.Value != "pod" ||
		sub.ExitingExecutors[0].FrameworkID == nil || sub.ExitingExecutors[0].FrameworkID.Value != "fw-1" {
		t.Fatalf("registration lists running %+v and exiting %+v, want pod of fw-1 exiting alone", sub.Executors, sub.ExitingExecutors)
	}
	f.mu.Lock()
	f.exitFailures = f.exitCalls
	f.mu.Unlock()
	waitFor(t, 30*time.Second, "the exit to be answered", func() bool {
		exit, _ := f.exitOf("fw-1", "pod")
		return exit != nil
	})
	waitFor(t, 10*time.Second, "the exit to be forgotten", func() bool { return len(a.exits.list()) == 0 })
	if sub := reregister(t, f); len(sub.Executors) != 0 || len(sub.ExitingExecutors) != 0 {
		t.Fatalf("registration after the exit was answered lists running %+v and exiting %+v, want none", sub.Executors, sub.ExitingExecutors)
	}
}
