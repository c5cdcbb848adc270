package fsm

import (
	"github.com/hashicorp/go-memdb"
)

// tableAgentTasks lists, per agent, the tasks placed on it. It stands in
// for an index of the tasks table by agent: such an index costs every
// task a radix tree leaf and node (about 380 bytes), a list entry costs
// it the two strings the task already holds. A task's agent never
// changes, so the list changes only when a task is launched or dropped,
// once per agent and log entry. It is not written to snapshots: Restore
// derives it from the tasks.
const tableAgentTasks = "agent_tasks"

// agentTasks are the tasks on one agent, in the order they were placed
// there. A launch appends to the list in place when its array has room:
// a row of an older read holds the list's shorter length and never sees
// what lies beyond it, and the state has one writer at a time.
type agentTasks struct {
	AgentID string
	Tasks   []TaskRef
}

func agentTasksSchema() *memdb.TableSchema {
	return &memdb.TableSchema{Name: tableAgentTasks, Indexes: map[string]*memdb.IndexSchema{
		"id": uniqueKey(func(r *agentTasks) string { return r.AgentID }),
	}}
}

// refsByAgent groups tasks' refs by agent, in the order agents first
// appear; the refs share the tasks' strings.
func refsByAgent(tasks []*Task) (agents []string, refs map[string][]TaskRef) {
	refs = map[string][]TaskRef{}
	for _, t := range tasks {
		if t.AgentID == "" {
			continue // on no agent: listed nowhere
		}
		if _, ok := refs[t.AgentID]; !ok {
			agents = append(agents, t.AgentID)
		}
		refs[t.AgentID] = append(refs[t.AgentID], TaskRef{FrameworkID: t.FrameworkID, TaskID: t.TaskID})
	}
	return agents, refs
}

// placeTasks adds tasks, none of them listed yet, to their agents'
// lists.
func placeTasks(txn *memdb.Txn, tasks []*Task) {
	agents, refs := refsByAgent(tasks)
	for _, aid := range agents {
		var cur []TaskRef
		if row := first[*agentTasks](txn, tableAgentTasks, "id", aid); row != nil {
			cur = row.Tasks
		}
		mustInsert(txn, tableAgentTasks, &agentTasks{AgentID: aid, Tasks: append(cur, refs[aid]...)})
	}
}

// unplaceTasks removes tasks from their agents' lists.
func unplaceTasks(txn *memdb.Txn, tasks []*Task) {
	agents, refs := refsByAgent(tasks)
	for _, aid := range agents {
		row := first[*agentTasks](txn, tableAgentTasks, "id", aid)
		if row == nil {
			continue
		}
		gone := map[TaskRef]bool{}
		for _, r := range refs[aid] {
			gone[r] = true
		}
		kept := make([]TaskRef, 0, len(row.Tasks))
		for _, r := range row.Tasks {
			if !gone[r] {
				kept = append(kept, r)
			}
		}
		if len(kept) == 0 {
			mustDelete(txn, tableAgentTasks, row)
			continue
		}
		mustInsert(txn, tableAgentTasks, &agentTasks{AgentID: aid, Tasks: kept})
	}
}

// deriveAgentTasks lists every task on its agent, after a restore.
func deriveAgentTasks(txn *memdb.Txn) {
	placeTasks(txn, (&State{txn: txn}).Tasks())
}

// insertLaunched inserts a launch's tasks and lists each on its agent,
// taken off the list of the agent a completed task of the same id was
// on. A task id the launch repeats is the last task of that id.
func insertLaunched(txn *memdb.Txn, st *State, req *TaskLaunchRequest) {
	before := make([]*Task, len(req.Tasks))
	last := map[TaskRef]int{}
	for i, t := range req.Tasks {
		before[i] = st.Task(t.FrameworkID, t.TaskID)
		last[TaskRef{FrameworkID: t.FrameworkID, TaskID: t.TaskID}] = i
	}
	var replaced, placed []*Task
	for i := range req.Tasks {
		t := req.Tasks[i]
		t.LaunchedAt = req.At
		shareStrings(st, &t)
		shareLaunchParts(&t.Info)
		putTask(txn, &t)
		if last[TaskRef{FrameworkID: t.FrameworkID, TaskID: t.TaskID}] != i {
			continue
		}
		switch old := before[i]; {
		case old == nil:
			placed = append(placed, &t)
		case old.AgentID != t.AgentID:
			replaced, placed = append(replaced, old), append(placed, &t)
		}
	}
	unplaceTasks(txn, replaced)
	placeTasks(txn, placed)
}
