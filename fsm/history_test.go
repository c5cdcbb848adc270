package fsm

import (
	"fmt"
	"testing"

	"mesh/mesos"
)

// completeTasks launches n tasks of framework c1-0000 and finishes them
// without acknowledgement (master-style updates), the i-th at time i.
func completeTasks(t *testing.T, f *FSM, n int) {
	t.Helper()
	var tasks []Task
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("t%03d", i)
		tasks = append(tasks, Task{FrameworkID: "c1-0000", TaskID: id, AgentID: "c1-S0", State: mesos.TaskStaging,
			Info: mesos.TaskInfo{Name: id, TaskID: mesos.TaskID{Value: id}, Resources: cpusMem(0.001, 1).Allocate("*")}})
	}
	apply(t, f, TaskLaunchRequestType, &TaskLaunchRequest{FrameworkID: "c1-0000", AgentID: "c1-S0", OfferIDs: []string{"o1"}, Tasks: tasks})
	var ups []StatusUpdate
	// Finished in reverse id order: the oldest completion is the highest id.
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("t%03d", n-1-i)
		ups = append(ups, StatusUpdate{FrameworkID: "c1-0000", Status: mesos.TaskStatus{
			TaskID: mesos.TaskID{Value: id}, State: mesos.TaskFinished, Timestamp: float64(i)}})
	}
	apply(t, f, StatusUpdateRequestType, &StatusUpdateRequest{Updates: ups})
}

func TestHistory_KeepsTheNewestCompletedTasks(t *testing.T) {
	f := seed(t)
	completeTasks(t, f, 10)
	apply(t, f, TaskLaunchRequestType, &TaskLaunchRequest{FrameworkID: "c1-0000", AgentID: "c1-S0", OfferIDs: []string{"o2"},
		Tasks: []Task{{FrameworkID: "c1-0000", TaskID: "live", AgentID: "c1-S0", State: mesos.TaskStaging,
			Info: mesos.TaskInfo{Name: "live", TaskID: mesos.TaskID{Value: "live"}, Resources: cpusMem(0.001, 1).Allocate("*")}}}})
	if req := f.State().HistoryBeyond(10, 50); req != nil {
		t.Fatalf("nothing beyond the limits, got %+v", req)
	}
	req := f.State().HistoryBeyond(4, 50)
	if req == nil || len(req.Tasks) != 6 || len(req.Frameworks) != 0 {
		t.Fatalf("prune %+v, want the 6 oldest tasks", req)
	}
	res := apply(t, f, HistoryPruneRequestType, req).(*HistoryPruneResult)
	if res.Tasks != 6 {
		t.Fatalf("pruned %+v", res)
	}
	// t009 finished first (time 0), t000 last: t000..t003 remain, and the
	// live task.
	st := f.State()
	for i := 0; i < 10; i++ {
		id := fmt.Sprintf("t%03d", i)
		if got, want := st.Task("c1-0000", id) != nil, i < 4; got != want {
			t.Errorf("task %s kept = %v, want %v", id, got, want)
		}
	}
	if st.Task("c1-0000", "live") == nil {
		t.Error("a live task was pruned")
	}
	// Replayed on another state machine, the same entry gives the same
	// state; applied twice it changes nothing more.
	if again := apply(t, f, HistoryPruneRequestType, req).(*HistoryPruneResult); again.Tasks != 0 {
		t.Errorf("second apply pruned %+v", again)
	}
}

func TestHistory_DropsTheOldestRemovedFrameworks(t *testing.T) {
	f := seed(t)
	completeTasks(t, f, 3)
	for i := 1; i <= 3; i++ {
		id := fmt.Sprintf("c1-%04d", i)
		apply(t, f, FrameworkRegisterRequestType, &FrameworkRegisterRequest{Framework: Framework{ID: id}, New: true, Seq: uint64(i)})
	}
	for i, id := range []string{"c1-0002", "c1-0000", "c1-0003"} {
		apply(t, f, FrameworkRemoveRequestType, &FrameworkRemoveRequest{FrameworkID: id, At: int64(10 + i)})
	}
	req := f.State().HistoryBeyond(1000, 1)
	if req == nil || len(req.Frameworks) != 2 || req.Frameworks[0] != "c1-0002" || req.Frameworks[1] != "c1-0000" || len(req.Tasks) != 0 {
		t.Fatalf("prune %+v, want the two oldest removed frameworks", req)
	}
	res := apply(t, f, HistoryPruneRequestType, req).(*HistoryPruneResult)
	if res.Frameworks != 2 || res.Tasks != 3 {
		t.Fatalf("pruned %+v, want 2 frameworks and their 3 tasks", res)
	}
	st := f.State()
	if st.Framework("c1-0000") != nil || st.Framework("c1-0002") != nil || st.Framework("c1-0003") == nil || st.Framework("c1-0001") == nil {
		t.Errorf("frameworks left: %v", st.Frameworks())
	}
	if len(st.TasksByFramework("c1-0000")) != 0 {
		t.Error("a dropped framework's tasks remain")
	}
	// A framework that is not removed is never dropped, whatever the ids
	// say.
	if got := apply(t, f, HistoryPruneRequestType, &HistoryPruneRequest{Frameworks: []string{"c1-0001"}}).(*HistoryPruneResult); got.Frameworks != 0 {
		t.Errorf("pruned a registered framework: %+v", got)
	}
}
