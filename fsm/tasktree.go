package fsm

import (
	"fmt"
	"strings"

	"github.com/google/btree"
	"github.com/hashicorp/go-memdb"
)

// The tasks are kept in a copy-on-write B-tree ordered by framework id then
// task id, held by the one row of tableTaskTree, instead of in a memdb
// table of their own. A memdb table keeps each row as a leaf of a radix
// tree whose every node and leaf carries a change channel: about 370 bytes
// a task, and an update copied the path of nodes above it with a channel
// each. The B-tree keeps a task as one entry of 40 bytes in an array of
// up to 31; a write transaction clones the tree when it first changes it,
// and copies each node the first time it changes it. Because the tree
// sits in a memdb row, a transaction sees its tasks exactly as of the rest
// of the state it reads: committing the row publishes them with
// everything else, and aborting it drops the clone.
const tableTaskTree = "task_tree"

// taskTreeDegree is the B-tree's degree: nodes of 15 to 31 entries.
const taskTreeDegree = 16

// taskTreeRow is the row holding the tasks. A committed row's tree is
// never changed again: owner is the write transaction that cloned it and
// may change it in place until it commits.
type taskTreeRow struct {
	Key   string
	tree  *btree.BTreeG[taskItem]
	owner *memdb.Txn
}

const taskTreeKey = "tasks"

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

func newTaskTree() *btree.BTreeG[taskItem] { return btree.NewG(taskTreeDegree, taskLess) }

func taskTreeSchema() *memdb.TableSchema {
	return &memdb.TableSchema{Name: tableTaskTree, Indexes: map[string]*memdb.IndexSchema{
		"id": uniqueKey(func(r *taskTreeRow) string { return r.Key }),
	}}
}

// readTasks is the tree of the tasks txn sees; nil while there is none.
func readTasks(txn *memdb.Txn) *btree.BTreeG[taskItem] {
	if row := first[*taskTreeRow](txn, tableTaskTree, "id", taskTreeKey); row != nil {
		return row.tree
	}
	return nil
}

// writeTasks is the tree txn may change in place: the first call in a
// write transaction clones the committed tree (its nodes are copied as
// they change) and puts the clone in the transaction's row.
func writeTasks(txn *memdb.Txn) *btree.BTreeG[taskItem] {
	row := first[*taskTreeRow](txn, tableTaskTree, "id", taskTreeKey)
	if row != nil && row.owner == txn {
		return row.tree
	}
	tree := newTaskTree()
	if row != nil {
		tree = row.tree.Clone()
	}
	mustInsert(txn, tableTaskTree, &taskTreeRow{Key: taskTreeKey, tree: tree, owner: txn})
	return tree
}

// putTask inserts t, replacing the task of its ids.
func putTask(txn *memdb.Txn, t *Task) {
	if t.FrameworkID == "" || t.TaskID == "" {
		panic(fmt.Sprintf("fsm: a task needs a framework id and a task id (framework %q, task %q)", t.FrameworkID, t.TaskID))
	}
	writeTasks(txn).ReplaceOrInsert(taskItem{t.FrameworkID, t.TaskID, t})
}

// deleteTask removes the task of t's ids, if there is one.
func deleteTask(txn *memdb.Txn, t *Task) {
	if readTasks(txn) == nil {
		return
	}
	writeTasks(txn).Delete(taskItem{fid: t.FrameworkID, tid: t.TaskID})
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
	tree := readTasks(txn)
	if tree == nil {
		return
	}
	if fid == "" {
		tree.Ascend(func(it taskItem) bool { return f(it.t) })
		return
	}
	tree.AscendGreaterOrEqual(taskItem{fid: fid}, func(it taskItem) bool {
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
