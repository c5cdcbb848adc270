package fsm

import (
	"io"
	"strings"
	"testing"

	"mesh/mesos"
)

// tasksOn lists, from every task, those on agent aid, in key order: what
// TasksByAgent must answer.
func tasksOn(st *State, aid string) string {
	var out []string
	for _, t := range st.Tasks() {
		if t.AgentID == aid {
			out = append(out, t.Key()+":"+string(t.State))
		}
	}
	return strings.Join(out, ",")
}

func byAgent(st *State, aid string) string {
	var out []string
	for _, t := range st.TasksByAgent(aid) {
		out = append(out, t.Key()+":"+string(t.State))
	}
	return strings.Join(out, ",")
}

// TestState_TasksByAgentFollowsLaunchesPrunesAndRestores: an agent's
// tasks are those the state holds on it, in key order, through launches
// on two agents, updates, a task id launched again on another agent once
// completed, prunes, a removed framework's history dropped, and a
// restore from a snapshot.
func TestState_TasksByAgentFollowsLaunchesPrunesAndRestores(t *testing.T) {
	f := seed(t)
	apply(t, f, FrameworkRegisterRequestType, &FrameworkRegisterRequest{Framework: Framework{ID: "c1-00001", Info: mesos.FrameworkInfo{User: "u"}, Connected: true}})
	apply(t, f, AgentRegisterRequestType, &AgentRegisterRequest{Agent: Agent{ID: "c1-S1", State: AgentActive, Info: mesos.AgentInfo{Hostname: "h1"}}})
	put := func(fid, aid string, ids ...string) {
		t.Helper()
		var tasks []Task
		for _, id := range ids {
			tasks = append(tasks, Task{FrameworkID: fid, TaskID: id, AgentID: aid, State: mesos.TaskStaging,
				Info: mesos.TaskInfo{Name: id, TaskID: mesos.TaskID{Value: id}}})
		}
		if err, ok := apply(t, f, TaskLaunchRequestType, &TaskLaunchRequest{FrameworkID: fid, AgentID: aid, Tasks: tasks}).(error); ok {
			t.Fatalf("launch %v: %v", ids, err)
		}
	}
	end := func(fid string, ids ...string) {
		t.Helper()
		for _, id := range ids {
			apply(t, f, StatusUpdateRequestType, &StatusUpdateRequest{Updates: []StatusUpdate{{FrameworkID: fid,
				Status: mesos.TaskStatus{TaskID: mesos.TaskID{Value: id}, State: mesos.TaskFinished}}}})
		}
	}
	check := func(step string, st *State) {
		t.Helper()
		for _, aid := range []string{"c1-S0", "c1-S1", "c1-S2"} {
			want := tasksOn(st, aid)
			if got := byAgent(st, aid); got != want {
				t.Fatalf("%s: tasks on %s: got %q, want %q", step, aid, got, want)
			}
			// The list keeps no task the state dropped.
			listed := 0
			if row := first[*agentTasks](st.txn, tableAgentTasks, "id", aid); row != nil {
				listed = len(row.Tasks)
			}
			if n := len(strings.Split(want, ",")); want == "" && listed != 0 || want != "" && listed != n {
				t.Fatalf("%s: %d tasks listed on %s, want %q", step, listed, aid, want)
			}
		}
	}
	put("c1-0000", "c1-S0", "b", "a", "c")
	put("c1-00001", "c1-S0", "a")
	put("c1-0000", "c1-S1", "d")
	check("launched", f.State())
	if got := byAgent(f.State(), "c1-S0"); got != "c1-0000/a:TASK_STAGING,c1-0000/b:TASK_STAGING,c1-0000/c:TASK_STAGING,c1-00001/a:TASK_STAGING" {
		t.Fatalf("tasks on c1-S0 in key order: %s", got)
	}
	end("c1-0000", "a", "b", "d")
	check("finished", f.State())
	put("c1-0000", "c1-S1", "a")
	check("a launched again on c1-S1", f.State())
	apply(t, f, HistoryPruneRequestType, &HistoryPruneRequest{Tasks: []TaskRef{{FrameworkID: "c1-0000", TaskID: "b"}, {FrameworkID: "c1-0000", TaskID: "d"}}})
	check("pruned", f.State())
	// One launch naming a task id twice launches the last of the two.
	twice := []Task{{FrameworkID: "c1-0000", TaskID: "e", AgentID: "c1-S0", State: mesos.TaskStaging},
		{FrameworkID: "c1-0000", TaskID: "e", AgentID: "c1-S1", State: mesos.TaskStaging},
		{FrameworkID: "c1-0000", TaskID: "f", AgentID: "c1-S1", State: mesos.TaskStaging},
		{FrameworkID: "c1-0000", TaskID: "f", AgentID: "c1-S1", State: mesos.TaskStaging}}
	if err, ok := apply(t, f, TaskLaunchRequestType, &TaskLaunchRequest{FrameworkID: "c1-0000", AgentID: "c1-S1", Tasks: twice}).(error); ok {
		t.Fatal(err)
	}
	check("ids launched twice at once", f.State())
	apply(t, f, FrameworkRemoveRequestType, &FrameworkRemoveRequest{FrameworkID: "c1-00001", At: 5})
	apply(t, f, HistoryPruneRequestType, &HistoryPruneRequest{Frameworks: []string{"c1-00001"}})
	check("framework dropped", f.State())
	if got := byAgent(f.State(), "c1-S0"); got != "c1-0000/c:TASK_STAGING" {
		t.Fatalf("tasks left on c1-S0: %s", got)
	}
	g := New(nil)
	if err := g.Restore(io.NopCloser(strings.NewReader(string(persist(t, f))))); err != nil {
		t.Fatal(err)
	}
	check("restored", g.State())
	if got, want := byAgent(g.State(), "c1-S1"), byAgent(f.State(), "c1-S1"); got != want || got == "" {
		t.Fatalf("tasks on c1-S1 after restore: %q, before %q", got, want)
	}
	if strings.Contains(string(persist(t, g)), tableAgentTasks) {
		t.Fatal("the agents' task lists are written to snapshots")
	}
}

// TestFSM_SnapshotTaskWithoutAgentIsRefused: a snapshot's task on no
// agent is refused with what is wrong, as the index by agent refused it.
func TestFSM_SnapshotTaskWithoutAgentIsRefused(t *testing.T) {
	err := New(nil).Restore(io.NopCloser(strings.NewReader(`{"t":"tasks","v":{"FrameworkID":"f","TaskID":"t1","State":"TASK_RUNNING"}}` + "\n")))
	if err == nil || !strings.Contains(err.Error(), `task "t1" of framework "f" has no agent id`) {
		t.Fatalf("restore of a task on no agent: %v", err)
	}
}
