package fsm

import (
	"bytes"
	"sync"
	"weak"

	"github.com/google/btree"
	"github.com/hashicorp/go-memdb"

	"mesh/mesos"
	"mesh/slab"
)

// A state that has taken 100,000 launches holds each task's record (and
// its history and pending acknowledgement) in heap pages among the freed
// records of the updates before it and the garbage of everything else
// done meanwhile: Go never moves an object, and a page stays in use while
// one object on it lives. Compact copies the records of the tasks and of
// the decline filters into arrays of compactSlab records, packed, so that
// the pages of the old ones can be freed and returned. The values do not
// change, nor what any view reads; only where they lie. The server runs it
// when it comes to rest.
//
// An array is freed once none of its records is current. Until the next
// compaction, the records replaced since the last one keep theirs: the
// arrays never hold more than what was live at that compaction.

// compactSlab is how many records a compaction allocates together.
const compactSlab = 128

// compaction remembers the trees the last compaction installed, to skip
// a compaction when nothing changed since. It holds them weakly: held
// strongly, a tree replaced by later writes would keep every record those
// writes replaced alive until the next compaction.
type compaction struct {
	mu      sync.Mutex
	tasks   weak.Pointer[btree.BTreeG[keyed[*Task]]]
	filters weak.Pointer[btree.BTreeG[keyed[*FilterSet]]]
}

// Compact copies the records of the tasks and decline filters into
// packed arrays (see above) and returns how many it copied. It runs beside
// applies: it copies from a view, then installs the copies in a write
// transaction only if no write changed them meanwhile (ok false
// otherwise; the state was busy, and is left as it was). Nothing changed
// since the last compaction: it copies nothing.
func (f *FSM) Compact() (copied int, ok bool) { return f.compact(nil) }

// compact is Compact; between, when set, runs after the copies are made
// and before they are installed.
func (f *FSM) compact(between func()) (int, bool) {
	f.compaction.mu.Lock()
	defer f.compaction.mu.Unlock()
	db := f.db.Load()
	view := db.Txn(false)
	tasks, filters := readTasks(view), filterTree.read(view)
	if tasks == f.compaction.tasks.Value() && filters == f.compaction.filters.Value() {
		return 0, true
	}
	newTasks, n := compactTasks(tasks)
	newFilters, m := compactFilters(filters)
	var lists []*agentTasks
	if newTasks != nil {
		lists = compactAgentTasks(view, newTasks)
	}
	if between != nil {
		between()
	}
	txn := db.Txn(true)
	if readTasks(txn) != tasks || filterTree.read(txn) != filters {
		txn.Abort()
		return 0, false
	}
	if newTasks != nil {
		mustInsert(txn, taskTree.table, &treeRow[keyed[*Task]]{Key: taskTree.table, tree: newTasks})
	}
	// A launch or a drop changes the tasks' tree with their agents' lists:
	// the tree unchanged, the lists are the ones copied.
	for _, l := range lists {
		mustInsert(txn, tableAgentTasks, l)
	}
	if newFilters != nil {
		mustInsert(txn, filterTree.table, &treeRow[keyed[*FilterSet]]{Key: filterTree.table, tree: newFilters})
	}
	txn.Commit()
	f.compaction.tasks, f.compaction.filters = weak.Make(newTasks), weak.Make(newFilters)
	if newFilters != nil {
		// The resources remembered for sharing are the copies before:
		// the next filters share afresh.
		forgetFilterResources()
	}
	// The observer holds the latest state it was given: given the one
	// before, it would keep every old record alive until the next apply.
	if obs := f.observer.Load(); obs != nil {
		(*obs).Begin()
		(*obs).End(f.State())
	}
	return n + m, true
}

// compactTasks is tree with every task's record, id, history, and the
// uuids of its updates and pending acknowledgement copied into packed
// arrays (nil for nil). The task's info names its id with the record's
// copy, as when it was launched, and so does the tree's key. An update's
// uuid that is the pending acknowledgement's shares its copy, as when
// the update was recorded.
func compactTasks(tree *btree.BTreeG[keyed[*Task]]) (*btree.BTreeG[keyed[*Task]], int) {
	var hist []StatusEntry
	var uuids, ids []byte
	return compactTree(taskTree, tree, func(t *Task) {
		old := t.TaskID
		t.TaskID = slab.String(&ids, old, 32*compactSlab)
		if t.Info.TaskID.Value == old {
			t.Info.TaskID.Value = t.TaskID
		}
		if t.Info.Name == old {
			t.Info.Name = t.TaskID
		}
		t.PendingAck = slab.Copy(&uuids, t.PendingAck, 32*compactSlab)
		t.Statuses = slab.Copy(&hist, t.Statuses, 2*compactSlab)
		for i := range t.Statuses {
			e := &t.Statuses[i]
			if len(t.PendingAck) > 0 && bytes.Equal(e.uuid, t.PendingAck) {
				e.uuid = t.PendingAck
			} else {
				e.uuid = slab.Copy(&uuids, e.uuid, 32*compactSlab)
			}
		}
	}, func(t *Task) (string, string) { return t.FrameworkID, t.TaskID })
}

// compactAgentTasks is every agent's list of tasks (as txn reads it) copied
// into packed arrays, each entry naming its task with the id tasks (the
// compacted tree) holds: the list keeps no id the tree no longer does.
func compactAgentTasks(txn *memdb.Txn, tasks *btree.BTreeG[keyed[*Task]]) []*agentTasks {
	var rows []agentTasks
	var refs []TaskRef
	var out []*agentTasks
	for _, l := range listAll[*agentTasks](txn, tableAgentTasks, "id") {
		c := slab.One(&rows, agentTasks{AgentID: l.AgentID}, compactSlab)
		c.Tasks = slab.Copy(&refs, l.Tasks, 16*compactSlab)
		for i := range c.Tasks {
			r := &c.Tasks[i]
			if t := findTask(tasks, r.FrameworkID, r.TaskID); t != nil {
				r.TaskID = t.TaskID
			}
		}
		out = append(out, c)
	}
	return out
}

// compactFilters is tree with every filter set, its entries and their
// resources copied into packed arrays (nil for nil). Entries that shared
// resources share the copy.
func compactFilters(tree *btree.BTreeG[keyed[*FilterSet]]) (*btree.BTreeG[keyed[*FilterSet]], int) {
	var entries []FilterEntry
	var resources mesos.ResourcePacker
	return compactTree(filterTree, tree, func(s *FilterSet) {
		s.Filters = slab.Copy(&entries, s.Filters, 2*compactSlab)
		for i := range s.Filters {
			s.Filters[i].Resources = resources.Pack(s.Filters[i].Resources)
		}
	}, nil)
}

// compactTree is a new tree of tt's holding tree's records as copies in
// arrays of compactSlab records; pack packs, in turn, what each copy
// points to, and key, when set, gives the ids the copy is keyed by
// (packing may have copied them; they are equal to the old). It returns
// how many records it copied (nil and none for nil).
//
// The new tree is filled from its last record to its first. A B-tree
// node that fills up splits in two halves, and a node grown one record
// at a time has an array of room for twice the records a half holds:
// filled in order, every node the inserts leave behind keeps that array
// half empty. Filled backwards, the half left behind is the one made
// anew, in an array just large enough for it. At a leader's 100,000
// tasks, this halves the memory of the tree's nodes.
func compactTree[R any](tt treeTable[keyed[*R]], tree *btree.BTreeG[keyed[*R]], pack func(*R), key func(*R) (string, string)) (*btree.BTreeG[keyed[*R]], int) {
	if tree == nil {
		return nil, 0
	}
	out := btree.NewG(tt.degree, tt.less)
	var recs []R
	n := 0
	tree.Descend(func(p keyed[*R]) bool {
		if len(recs) == 0 {
			recs = make([]R, min(compactSlab, tree.Len()-n))
		}
		r := &recs[0]
		recs = recs[1:]
		*r = *p.v
		pack(r)
		id1, id2 := p.id1, p.id2
		if key != nil {
			id1, id2 = key(r)
		}
		out.ReplaceOrInsert(keyed[*R]{id1, id2, r})
		n++
		return true
	})
	return out, n
}
