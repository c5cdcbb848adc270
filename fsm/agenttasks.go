package fsm

import (
	"sort"

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

// agentTasks are the tasks on one agent, by framework id then task id.
type agentTasks struct {
	AgentID string
	Tasks   []TaskRef
}

func agentTasksSchema() *memdb.TableSchema {
	return &memdb.TableSchema{Name: tableAgentTasks, Indexes: map[string]*memdb.IndexSchema{
		"id": {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "AgentID"}},
	}}
}

func refLess(a, b TaskRef) bool {
	return a.FrameworkID < b.FrameworkID || a.FrameworkID == b.FrameworkID && a.TaskID < b.TaskID
}

// refsByAgent groups tasks' refs by agent, in the order agents first
// appear; the refs share the tasks' strings.
func refsByAgent(tasks []*Task) (agents []string, refs map[string][]TaskRef) {
	refs = map[string][]TaskRef{}
	for _, t := range tasks {
		if _, ok := refs[t.AgentID]; !ok {
			agents = append(agents, t.AgentID)
		}
		refs[t.AgentID] = append(refs[t.AgentID], TaskRef{FrameworkID: t.FrameworkID, TaskID: t.TaskID})
	}
	return agents, refs
}

// placeTasks adds tasks to their agents' lists (a task listed already
// stays listed once).
func placeTasks(txn *memdb.Txn, tasks []*Task) {
	agents, refs := refsByAgent(tasks)
	for _, aid := range agents {
		add := refs[aid]
		sort.Slice(add, func(i, j int) bool { return refLess(add[i], add[j]) })
		var cur []TaskRef
		if row := first[*agentTasks](txn, tableAgentTasks, "id", aid); row != nil {
			cur = row.Tasks
		}
		merged := make([]TaskRef, 0, len(cur)+len(add))
		i, j := 0, 0
		for i < len(cur) || j < len(add) {
			var next TaskRef
			switch {
			case j == len(add) || i < len(cur) && refLess(cur[i], add[j]):
				next, i = cur[i], i+1
			default:
				next, j = add[j], j+1
			}
			if n := len(merged); n == 0 || merged[n-1] != next {
				merged = append(merged, next)
			}
		}
		mustInsert(txn, tableAgentTasks, &agentTasks{AgentID: aid, Tasks: merged})
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
