package fsm

import (
	"bytes"
	"io"
	"reflect"
	"strings"
	"testing"

	"mesh/mesos"
)

// execTask is a task of custom executor eid with its own resources.
func execTask(id, eid string) Task {
	exec := &mesos.ExecutorInfo{ExecutorID: mesos.ExecutorID{Value: eid}, FrameworkID: &mesos.FrameworkID{Value: "c1-0000"},
		Command: &mesos.CommandInfo{Value: "exec ./e"}, Resources: cpusMem(0.5, 64).Allocate("*")}
	return Task{FrameworkID: "c1-0000", TaskID: id, AgentID: "c1-S0", Role: "*", State: mesos.TaskStaging,
		Info: mesos.TaskInfo{Name: id, TaskID: mesos.TaskID{Value: id}, Executor: exec, Resources: cpusMem(1, 128).Allocate("*")}}
}

func launchExec(t *testing.T, f *FSM, offer string, tasks ...Task) {
	t.Helper()
	res := apply(t, f, TaskLaunchRequestType, &TaskLaunchRequest{FrameworkID: "c1-0000", AgentID: "c1-S0",
		OfferIDs: []string{offer}, Tasks: tasks, At: 7})
	if err, ok := res.(error); ok {
		t.Fatalf("launch: %v", err)
	}
}

func finish(t *testing.T, f *FSM, tid string) {
	t.Helper()
	apply(t, f, StatusUpdateRequestType, &StatusUpdateRequest{Updates: []StatusUpdate{{FrameworkID: "c1-0000",
		Status: mesos.TaskStatus{TaskID: mesos.TaskID{Value: tid}, State: mesos.TaskFinished}}}})
}

func TestExecutors_LaunchAddsOneRecordThatOutlivesItsTasks(t *testing.T) {
	f := seed(t)
	launchExec(t, f, "o1", execTask("t1", "e1"), execTask("t2", "e1"))
	st := f.State()
	execs := st.Executors()
	if len(execs) != 1 {
		t.Fatalf("%d executor records after launching two tasks to one executor, want 1", len(execs))
	}
	e := execs[0]
	if e.AgentID != "c1-S0" || e.FrameworkID != "c1-0000" || e.ExecutorID != "e1" || e.Role != "*" || e.LaunchedAt != 7 ||
		mesos.Resources(e.Info.Resources).Scalar("cpus") != 0.5 {
		t.Fatalf("record: %+v", e)
	}
	finish(t, f, "t1")
	finish(t, f, "t2")
	if st := f.State(); st.Executor("c1-S0", "c1-0000", "e1") == nil {
		t.Fatal("the executor's record went with its last task; it must stay until the executor exits")
	}
	if n := len(f.State().ExecutorsByAgent("c1-S0")); n != 1 {
		t.Fatalf("%d records on the agent, want 1", n)
	}
}

func TestExecutors_CommandTasksHaveNoRecord(t *testing.T) {
	f := seed(t)
	launch(t, f, "o1", "t1")
	if n := len(f.State().Executors()); n != 0 {
		t.Fatalf("%d executor records for a command task, want 0", n)
	}
}

func TestExecutors_RemoveDeletesOnceAndReturnsTheRecord(t *testing.T) {
	f := seed(t)
	launchExec(t, f, "o1", execTask("t1", "e1"))
	ref := ExecutorRef{AgentID: "c1-S0", FrameworkID: "c1-0000", ExecutorID: "e1"}
	res := apply(t, f, ExecutorRemoveRequestType, &ExecutorRemoveRequest{Executors: []ExecutorRef{ref}}).(*ExecutorRemoveResult)
	if len(res.Removed) != 1 || mesos.Resources(res.Removed[0].Info.Resources).Scalar("mem") != 64 {
		t.Fatalf("removal: %+v", res)
	}
	if f.State().Executor("c1-S0", "c1-0000", "e1") != nil {
		t.Fatal("record still there after its removal")
	}
	again := apply(t, f, ExecutorRemoveRequestType, &ExecutorRemoveRequest{Executors: []ExecutorRef{ref}}).(*ExecutorRemoveResult)
	if len(again.Removed) != 0 {
		t.Fatalf("a second removal removed %+v", again.Removed)
	}
}

func TestExecutors_FrameworkRemovalRemovesItsExecutors(t *testing.T) {
	f := seed(t)
	launchExec(t, f, "o1", execTask("t1", "e1"))
	finish(t, f, "t1")
	res := apply(t, f, FrameworkRemoveRequestType, &FrameworkRemoveRequest{FrameworkID: "c1-0000", At: 9}).(*FrameworkRemoveResult)
	if len(res.Executors) != 1 || res.Executors[0].ExecutorID != "e1" {
		t.Fatalf("removal freed executors %+v, want e1", res.Executors)
	}
	if n := len(f.State().Executors()); n != 0 {
		t.Fatalf("%d records left", n)
	}
}

func TestExecutors_AgentLostOrGoneRemovesItsExecutors(t *testing.T) {
	for _, tc := range []struct {
		name, state             string
		partitionAware, removed bool
	}{
		{"unreachable, tasks lost", AgentUnreachable, false, true},
		{"unreachable, partition-aware tasks unreachable", AgentUnreachable, true, false},
		{"gone", AgentGone, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := seed(t)
			if tc.partitionAware {
				fw := *f.State().Framework("c1-0000")
				fw.Info.Capabilities = []mesos.FrameworkCapability{{Type: mesos.CapabilityPartitionAware}}
				apply(t, f, FrameworkRegisterRequestType, &FrameworkRegisterRequest{Framework: fw})
			}
			launchExec(t, f, "o1", execTask("t1", "e1"))
			pa := mesos.TaskUnreachable
			if tc.state == AgentGone {
				pa = mesos.TaskGoneByOperator
			}
			res := apply(t, f, AgentStateRequestType, &AgentStateRequest{AgentID: "c1-S0", State: tc.state, At: 9,
				TaskState: mesos.TaskLost, PartitionAwareState: pa}).(*AgentStateResult)
			gone := f.State().Executor("c1-S0", "c1-0000", "e1") == nil
			if gone != tc.removed || (len(res.Executors) == 1) != tc.removed {
				t.Fatalf("record removed %v (result %+v), want %v", gone, res.Executors, tc.removed)
			}
		})
	}
}

func TestExecutors_ReregistrationReconcilesWithTheAgentsReport(t *testing.T) {
	f := seed(t)
	launchExec(t, f, "o1", execTask("t1", "e1"))
	agent := *f.State().Agent("c1-S0")
	agent.ReregisteredAt = 11
	e2 := *execTask("t9", "e2").Info.Executor
	// An agent that does not report its executors leaves the records.
	apply(t, f, AgentRegisterRequestType, &AgentRegisterRequest{Agent: agent})
	if f.State().Executor("c1-S0", "c1-0000", "e1") == nil {
		t.Fatal("a registration without a report removed a record")
	}
	unknownFw := e2
	unknownFw.ExecutorID = mesos.ExecutorID{Value: "e3"}
	unknownFw.FrameworkID = &mesos.FrameworkID{Value: "c1-0099"}
	apply(t, f, AgentRegisterRequestType, &AgentRegisterRequest{Agent: agent, ReportsExecutors: true,
		Executors: []mesos.ExecutorInfo{e2, unknownFw}})
	st := f.State()
	if st.Executor("c1-S0", "c1-0000", "e1") != nil {
		t.Fatal("e1, which the agent no longer has, is still recorded")
	}
	got := st.Executor("c1-S0", "c1-0000", "e2")
	if got == nil || got.Role != "*" || got.LaunchedAt != 11 || !reflect.DeepEqual(got.Info, e2) {
		t.Fatalf("e2, which the agent runs, recorded as %+v", got)
	}
	if st.Executor("c1-S0", "c1-0099", "e3") != nil {
		t.Fatal("an executor of an unknown framework was recorded")
	}
}

func TestExecutors_ExitingExecutorsKeepTheirRecordButAreNotMadeAgain(t *testing.T) {
	f := seed(t)
	launchExec(t, f, "o1", execTask("t1", "e1"))
	agent := *f.State().Agent("c1-S0")
	exiting := []ExecutorRef{{AgentID: "c1-S0", FrameworkID: "c1-0000", ExecutorID: "e1"},
		{AgentID: "c1-S0", FrameworkID: "c1-0000", ExecutorID: "e2"}}
	apply(t, f, AgentRegisterRequestType, &AgentRegisterRequest{Agent: agent, ReportsExecutors: true, Exiting: exiting})
	st := f.State()
	if st.Executor("c1-S0", "c1-0000", "e1") == nil {
		t.Fatal("the record of an executor whose exit the agent is still sending was removed before the exit")
	}
	if st.Executor("c1-S0", "c1-0000", "e2") != nil {
		t.Fatal("an exiting executor without a record was recorded")
	}
}

func TestExecutors_SnapshotRoundTrip(t *testing.T) {
	f := seed(t)
	launchExec(t, f, "o1", execTask("t1", "e1"))
	finish(t, f, "t1")
	g := New(nil)
	if err := g.Restore(io.NopCloser(bytes.NewReader(persist(t, f)))); err != nil {
		t.Fatal(err)
	}
	a, b := f.State().Executors(), g.State().Executors()
	if len(a) != 1 || !reflect.DeepEqual(a, b) {
		t.Fatalf("executors after restore:\n%+v\nwant\n%+v", b, a)
	}
}

func TestExecutors_SnapshotWithoutExecutorsLoads(t *testing.T) {
	f := seed(t)
	launchExec(t, f, "o1", execTask("t1", "e1"), execTask("t2", "e2"))
	finish(t, f, "t2")
	// A snapshot written before executors were recorded: no such lines.
	var old []string
	for _, line := range strings.Split(string(persist(t, f)), "\n") {
		if !strings.HasPrefix(line, `{"t":"executors"`) {
			old = append(old, line)
		}
	}
	g := New(nil)
	if err := g.Restore(io.NopCloser(strings.NewReader(strings.Join(old, "\n")))); err != nil {
		t.Fatalf("an old snapshot does not load: %v", err)
	}
	st := g.State()
	if len(st.Tasks()) != 2 || len(st.Frameworks()) != 1 {
		t.Fatalf("old snapshot restored %d tasks, %d frameworks", len(st.Tasks()), len(st.Frameworks()))
	}
	// The executor of the live task is recorded from it; that of the
	// finished one is not known to run.
	if st.Executor("c1-S0", "c1-0000", "e1") == nil || st.Executor("c1-S0", "c1-0000", "e2") != nil {
		t.Fatalf("executors derived from the old snapshot: %+v", st.Executors())
	}
}

func persist(t *testing.T, f *FSM) []byte {
	t.Helper()
	snap, err := f.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	sink := &memSink{}
	if err := snap.Persist(sink); err != nil {
		t.Fatal(err)
	}
	return sink.Bytes()
}
