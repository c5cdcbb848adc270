package fsm

import (
	"fmt"
	"strings"

	"github.com/google/btree"
	"github.com/hashicorp/go-memdb"
)

// The tasks are kept in a copy-on-write B-tree ordered by framework id then
// task id (a treeTable), instead of in a memdb table of their own: a
// memdb table cost a task about 370 bytes of radix tree nodes and change
// channels, the B-tree keeps it as one entry of 40 bytes.
const tableTaskTree = "task_tree"

// taskTree holds the tasks in nodes of 15 to 31 entries.
var taskTree = treeTable[taskItem]{table: tableTaskTree, degree: 16, less: taskLess}

// taskItem is one task in the tree with the two ids it is ordered by,
// which are the task's own strings.
type taskItem struct {
	fid, tid string
	t        *Task
}

func taskLess(a, b taskItem) bool {
	if c := strings.Compare(a.fid, b.fid); c != 0 {
		return c < 0
	}
	return a.tid < b.tid
}

// readTasks is the tree of the tasks txn sees; nil while there is none.
func readTasks(txn *memdb.Txn) *btree.BTreeG[taskItem] { return taskTree.read(txn) }

// putTask inserts t, replacing the task of its ids.
func putTask(txn *memdb.Txn, t *Task) {
	if t.FrameworkID == "" || t.TaskID == "" {
		panic(fmt.Sprintf("fsm: a task needs a framework id and a task id (framework %q, task %q)", t.FrameworkID, t.TaskID))
	}
	taskTree.write(txn).ReplaceOrInsert(taskItem{t.FrameworkID, t.TaskID, t})
}

// deleteTask removes the task of t's ids, if there is one.
func deleteTask(txn *memdb.Txn, t *Task) {
	taskTree.delete(txn, taskItem{fid: t.FrameworkID, tid: t.TaskID})
}

// getTask is the task of framework fid with id tid, nil if none.
func getTask(txn *memdb.Txn, fid, tid string) *Task { return findTask(readTasks(txn), fid, tid) }

// findTask is getTask in a tree already read (nil: no tasks).
func findTask(tree *btree.BTreeG[taskItem], fid, tid string) *Task {
	if tree == nil {
		return nil
	}
	it, _ := tree.Get(taskItem{fid: fid, tid: tid})
	return it.t
}

// eachTask calls f for every task, by framework id then task id, while f
// returns true; with fid set, only that framework's.
func eachTask(txn *memdb.Txn, fid string, f func(*Task) bool) {
	if fid == "" {
		taskTree.ascendFrom(txn, nil, func(it taskItem) bool { return f(it.t) })
		return
	}
	taskTree.ascendFrom(txn, &taskItem{fid: fid}, func(it taskItem) bool {
		return it.fid == fid && f(it.t)
	})
}

// collectTasks lists what eachTask visits.
func collectTasks(txn *memdb.Txn, fid string) []*Task {
	var out []*Task
	eachTask(txn, fid, func(t *Task) bool {
		out = append(out, t)
		return true
	})
	return out
}
