package fsm

import (
	"fmt"

	"github.com/google/btree"
	"github.com/hashicorp/go-memdb"
)

// The tasks are kept in a copy-on-write B-tree ordered by framework id then
// task id (a treeTable), instead of in a memdb table of their own: a
// memdb table cost a task about 370 bytes of radix tree nodes and change
// channels, the B-tree keeps it as one entry of 40 bytes.
const tableTaskTree = "task_tree"

// taskTree holds the tasks by framework id then task id.
var taskTree = keyedTable[*Task](tableTaskTree)

// readTasks is the tree of the tasks txn sees; nil while there is none.
func readTasks(txn *memdb.Txn) *btree.BTreeG[keyed[*Task]] { return taskTree.read(txn) }

// putTask inserts t, replacing the task of its ids.
func putTask(txn *memdb.Txn, t *Task) {
	if t.FrameworkID == "" || t.TaskID == "" {
		panic(fmt.Sprintf("fsm: a task needs a framework id and a task id (framework %q, task %q)", t.FrameworkID, t.TaskID))
	}
	taskTree.write(txn).ReplaceOrInsert(keyed[*Task]{t.FrameworkID, t.TaskID, t})
}

// deleteTask removes the task of t's ids, if there is one.
func deleteTask(txn *memdb.Txn, t *Task) {
	taskTree.delete(txn, keyed[*Task]{id1: t.FrameworkID, id2: t.TaskID})
}

// getTask is the task of framework fid with id tid, nil if none.
func getTask(txn *memdb.Txn, fid, tid string) *Task { return findTask(readTasks(txn), fid, tid) }

// findTask is getTask in a tree already read (nil: no tasks).
func findTask(tree *btree.BTreeG[keyed[*Task]], fid, tid string) *Task {
	if tree == nil {
		return nil
	}
	it, _ := tree.Get(keyed[*Task]{id1: fid, id2: tid})
	return it.v
}

// eachTask calls f for every task, by framework id then task id, while f
// returns true; with fid set, only that framework's.
func eachTask(txn *memdb.Txn, fid string, f func(*Task) bool) { eachKeyed(taskTree, txn, fid, f) }

// collectTasks lists what eachTask visits.
func collectTasks(txn *memdb.Txn, fid string) []*Task { return collectKeyed(taskTree, txn, fid) }
