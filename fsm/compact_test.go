package fsm

import (
	"bytes"
	"fmt"
	"reflect"
	"runtime"
	"testing"
	"unsafe"
	"weak"

	"github.com/google/btree"

	"mesh/mesos"
)

// compactFixture is a state of 300 tasks (more than one array of records)
// in every stage: running with a pending acknowledgement, acknowledged,
// finished and completed, one whose latest status carries data; and
// decline filters on two agents.
func compactFixture(t *testing.T) *FSM {
	t.Helper()
	f := seed(t)
	apply(t, f, AgentRegisterRequestType, &AgentRegisterRequest{Agent: Agent{ID: "c1-S1", State: AgentActive,
		Info: mesos.AgentInfo{Hostname: "h1", Resources: cpusMem(400, 409600)}}, New: true, Seq: 1})
	apply(t, f, OffersCreateRequestType, &OffersCreateRequest{Offers: []Offer{
		{ID: "big", FrameworkID: "c1-0000", AgentID: "c1-S1", Role: "*", Resources: cpusMem(400, 409600).Allocate("*")}}})
	var tasks []Task
	for i := range 300 {
		id := fmt.Sprintf("t%03d", i)
		tasks = append(tasks, Task{FrameworkID: "c1-0000", TaskID: id, AgentID: "c1-S1", State: mesos.TaskStaging,
			Info: mesos.TaskInfo{Name: id, TaskID: mesos.TaskID{Value: id}, Resources: cpusMem(1, 128).Allocate("*")}})
	}
	apply(t, f, TaskLaunchRequestType, &TaskLaunchRequest{FrameworkID: "c1-0000", AgentID: "c1-S1", OfferIDs: []string{"big"},
		Tasks: tasks, Filters: []OfferFilter{{FrameworkID: "c1-0000", AgentID: "c1-S1", Role: "*", Resources: cpusMem(100, 1), Until: 3600}}})
	apply(t, f, OffersRemoveRequestType, &OffersRemoveRequest{OfferIDs: []string{"o1"}, Filter: &DeclineFilter{Now: 10, Until: 3600}})
	var ups []StatusUpdate
	var acks []StatusAck
	for i := range 300 {
		id := fmt.Sprintf("t%03d", i)
		st := mesos.TaskStatus{TaskID: mesos.TaskID{Value: id}, State: mesos.TaskRunning, UUID: uuidOf(i)}
		switch i % 3 {
		case 1:
			st.Message = "a status with data"
		case 2:
			st.State = mesos.TaskFinished
		}
		ups = append(ups, StatusUpdate{FrameworkID: "c1-0000", Status: st})
		if i%2 == 0 {
			acks = append(acks, StatusAck{FrameworkID: "c1-0000", TaskID: id, UUID: uuidOf(i)})
		}
	}
	apply(t, f, StatusUpdateRequestType, &StatusUpdateRequest{Updates: ups})
	apply(t, f, StatusAckRequestType, &StatusAckRequest{Acks: acks})
	return f
}

// compactedFixture is compactFixture compacted, with its tasks as they
// were before, by id.
func compactedFixture(t *testing.T) (*FSM, map[string]*Task) {
	t.Helper()
	f := compactFixture(t)
	before := map[string]*Task{}
	for _, tk := range f.State().Tasks() {
		before[tk.TaskID] = tk
	}
	f.Compact()
	return f, before
}

func uuidOf(i int) mesos.Bytes { return bytes.Repeat([]byte{byte(i), byte(i >> 8)}, 8) }

// TestFSM_CompactChangesNoValue: after a compaction the snapshot is the
// same bytes, every task and filter set reads the same, every record is a
// new copy, and a view taken before reads what it read.
func TestFSM_CompactChangesNoValue(t *testing.T) {
	f := compactFixture(t)
	before := persist(t, f)
	view := f.State()
	tasks, filters := view.Tasks(), view.AllFilters()
	n, ok := f.Compact()
	if !ok || n != len(tasks)+len(filters) {
		t.Fatalf("compacted %d records (ok %v), want %d", n, ok, len(tasks)+len(filters))
	}
	if after := persist(t, f); !bytes.Equal(before, after) {
		t.Fatal("the snapshot changed with a compaction")
	}
	st := f.State()
	for _, old := range tasks {
		cur := st.Task(old.FrameworkID, old.TaskID)
		if cur == old {
			t.Fatalf("task %s was not copied", old.TaskID)
		}
		if !reflect.DeepEqual(cur, old) || !reflect.DeepEqual(cur.Status(), old.Status()) {
			t.Fatalf("task %s changed:\n got %+v\nwant %+v", old.TaskID, cur, old)
		}
		if view.Task(old.FrameworkID, old.TaskID) != old {
			t.Fatalf("a view from before reads another task %s", old.TaskID)
		}
	}
	for i, got := range st.AllFilters() {
		if got == filters[i] || !reflect.DeepEqual(got, filters[i]) {
			t.Fatalf("filter set %d: %+v, want a copy of %+v", i, got, filters[i])
		}
		for j, e := range got.Filters {
			if &e.Resources[0] == &filters[i].Filters[j].Resources[0] {
				t.Fatalf("filter set %d: the resources of filter %d were not copied", i, j)
			}
		}
	}
	if n, ok := f.Compact(); !ok || n != 0 {
		t.Fatalf("a second compaction with nothing changed copied %d records (ok %v)", n, ok)
	}
}

// TestFSM_CompactPacksUUIDs: the uuids of the updates are copied with
// their tasks, and an update's uuid that is its task's pending
// acknowledgement shares that one's copy.
func TestFSM_CompactPacksUUIDs(t *testing.T) {
	f, before := compactedFixture(t)
	pending := 0
	for _, tk := range f.State().Tasks() {
		old := before[tk.TaskID]
		for i, e := range tk.Statuses {
			if len(e.uuid) > 0 && &e.uuid[0] == &old.Statuses[i].uuid[0] {
				t.Fatalf("%s: update %d's uuid was not copied", tk.TaskID, i)
			}
		}
		if len(tk.PendingAck) == 0 {
			continue
		}
		pending++
		last := tk.Statuses[len(tk.Statuses)-1].uuid
		if !bytes.Equal(last, tk.PendingAck) || &last[0] != &tk.PendingAck[0] {
			t.Fatalf("%s: the latest update's uuid %x and the pending acknowledgement %x are not one copy", tk.TaskID, last, tk.PendingAck)
		}
	}
	if pending == 0 {
		t.Fatal("no task of the fixture awaits an acknowledgement")
	}
}

// TestFSM_CompactPacksTaskIDs: a task's id is copied with its record,
// and everything that names the task by it (the record's info, the
// tree's key, its agent's list) names it with the copy: nothing keeps
// the id as it was decoded.
func TestFSM_CompactPacksTaskIDs(t *testing.T) {
	f, before := compactedFixture(t)
	view := f.db.Load().Txn(false)
	same := func(a, b string) bool { return unsafe.StringData(a) == unsafe.StringData(b) }
	readTasks(view).Ascend(func(p keyed[*Task]) bool {
		tk := p.v
		if same(tk.TaskID, before[tk.TaskID].TaskID) {
			t.Fatalf("%s: the id was not copied", tk.TaskID)
		}
		if !same(tk.Info.TaskID.Value, tk.TaskID) || !same(tk.Info.Name, tk.TaskID) || !same(p.id2, tk.TaskID) {
			t.Fatalf("%s: the info's id, its name or the tree's key is not the record's copy", tk.TaskID)
		}
		return true
	})
	lists := listAll[*agentTasks](view, tableAgentTasks, "id")
	if len(lists) != 1 || len(lists[0].Tasks) != len(before) {
		t.Fatalf("agents' lists after compaction: %+v, want one of %d tasks", lists, len(before))
	}
	for _, r := range lists[0].Tasks {
		tk := f.State().Task(r.FrameworkID, r.TaskID)
		if tk == nil || !same(r.TaskID, tk.TaskID) {
			t.Fatalf("the agent's list names task %s with another copy of its id", r.TaskID)
		}
	}
}

// TestFSM_CompactedRecordsChangeApart: records copied side by side into
// one array change apart: an update's history or acknowledgement of one
// task leaves its neighbours' as they were.
func TestFSM_CompactedRecordsChangeApart(t *testing.T) {
	f := compactFixture(t)
	f.Compact()
	st := f.State()
	neighbours := map[string]*Task{}
	for _, id := range []string{"t000", "t002", "t003", "t004"} {
		neighbours[id] = st.Task("c1-0000", id).Copy()
	}
	apply(t, f, StatusUpdateRequestType, &StatusUpdateRequest{Updates: []StatusUpdate{
		{FrameworkID: "c1-0000", Status: mesos.TaskStatus{TaskID: mesos.TaskID{Value: "t001"}, State: mesos.TaskFailed, UUID: uuidOf(1000)}},
		{FrameworkID: "c1-0000", Status: mesos.TaskStatus{TaskID: mesos.TaskID{Value: "t003"}, State: mesos.TaskKilled, UUID: uuidOf(1001)}},
	}})
	apply(t, f, StatusAckRequestType, &StatusAckRequest{Acks: []StatusAck{{FrameworkID: "c1-0000", TaskID: "t001", UUID: uuidOf(1000)}}})
	after := f.State()
	if got := after.Task("c1-0000", "t001"); got.State != mesos.TaskFailed || !got.Completed {
		t.Fatalf("t001 after its failure and acknowledgement: %+v", got)
	}
	if got := after.Task("c1-0000", "t003"); got.State != mesos.TaskKilled || len(got.Statuses) != len(neighbours["t003"].Statuses)+1 {
		t.Fatalf("t003 after its kill: %+v", got)
	}
	for _, id := range []string{"t000", "t002", "t004"} {
		if got := after.Task("c1-0000", id); !reflect.DeepEqual(got, neighbours[id]) {
			t.Fatalf("%s changed with its neighbours' updates:\n got %+v\nwant %+v", id, got, neighbours[id])
		}
	}
	if got := st.Task("c1-0000", "t003"); !reflect.DeepEqual(got, neighbours["t003"]) {
		t.Fatalf("the view from before the update reads t003 changed: %+v", got)
	}
}

// TestFSM_CompactGivesWayToAWrite: a write committed while the copies are
// made wins; the copies are dropped and the write's values stay.
func TestFSM_CompactGivesWayToAWrite(t *testing.T) {
	f := compactFixture(t)
	before := f.State().Task("c1-0000", "t005")
	n, ok := f.compact(func() {
		apply(t, f, StatusUpdateRequestType, &StatusUpdateRequest{Updates: []StatusUpdate{
			{FrameworkID: "c1-0000", Status: mesos.TaskStatus{TaskID: mesos.TaskID{Value: "t004"}, State: mesos.TaskLost, UUID: uuidOf(2000)}}}})
	})
	if ok || n != 0 {
		t.Fatalf("a compaction overtaken by a write installed %d records (ok %v)", n, ok)
	}
	st := f.State()
	if got := st.Task("c1-0000", "t004"); got.State != mesos.TaskLost {
		t.Fatalf("the write was lost: t004 %+v", got)
	}
	if st.Task("c1-0000", "t005") != before {
		t.Fatal("copies were installed after a write")
	}
	if n, ok := f.Compact(); !ok || n == 0 {
		t.Fatalf("the next compaction copied %d records (ok %v)", n, ok)
	}
}

// compactObserver records the states End was given.
type compactObserver struct{ ends []*State }

func (o *compactObserver) Begin() bool                              { return false }
func (o *compactObserver) Command(MessageType, any, *State, *State) {}
func (o *compactObserver) End(after *State)                         { o.ends = append(o.ends, after) }

// TestFSM_CompactGivesTheObserverItsState: the observer, which holds the
// latest state it was given, is given the compacted one.
func TestFSM_CompactGivesTheObserverItsState(t *testing.T) {
	f := compactFixture(t)
	obs := &compactObserver{}
	f.SetObserver(obs)
	f.Compact()
	if len(obs.ends) != 1 {
		t.Fatalf("the observer was given %d states, want 1", len(obs.ends))
	}
	if got, want := obs.ends[0].Task("c1-0000", "t007"), f.State().Task("c1-0000", "t007"); got != want {
		t.Fatal("the observer's state holds the records from before the compaction")
	}
}

// TestFSM_CompactHoldsNoReplacedRecord: once later writes have replaced
// every record a compaction packed together, nothing keeps them: the last
// compaction's trees are not held but to compare.
func TestFSM_CompactHoldsNoReplacedRecord(t *testing.T) {
	f := compactFixture(t)
	f.Compact()
	sets := f.State().AllFilters()
	if len(sets) != 2 {
		t.Fatalf("%d filter sets, want 2", len(sets))
	}
	packed := weak.Make(sets[0])
	sets = nil
	apply(t, f, OffersCreateRequestType, &OffersCreateRequest{Offers: []Offer{
		{ID: "o3", FrameworkID: "c1-0000", AgentID: "c1-S1", Role: "*", Resources: cpusMem(1, 1).Allocate("*")}}})
	apply(t, f, OffersRemoveRequestType, &OffersRemoveRequest{OfferIDs: []string{"o2", "o3"}, Filter: &DeclineFilter{Now: 20, Until: 7200}})
	for _, s := range f.State().AllFilters() {
		if s.Filters[len(s.Filters)-1].Until != 7200 {
			t.Fatalf("the filter set of %s was not replaced: %+v", s.AgentID, s)
		}
	}
	runtime.GC()
	runtime.GC()
	if packed.Value() != nil {
		t.Fatal("the filter sets the compaction packed are still held after every one was replaced")
	}
	runtime.KeepAlive(f) // the state, and whatever the FSM holds, live through the check
}

// TestCompactTree_NodesPacked: the tree a compaction builds keeps its
// records in nodes whose arrays are nearly full. The tree compacted is
// shaped as a leader's is: a hundred frameworks launching side by side,
// which leaves its nodes half full, each with an array of room for twice
// its records; a clone of it would keep that shape (88 bytes a record).
func TestCompactTree_NodesPacked(t *testing.T) {
	type rec struct{ n int64 }
	tt := keyedTable[*rec]("test")
	tree := btree.NewG(tt.degree, tt.less)
	for i := range 200 {
		for f := range 100 {
			tree.ReplaceOrInsert(keyed[*rec]{fmt.Sprintf("fw-%04d", f), fmt.Sprintf("task-%05d", i), &rec{int64(i)}})
		}
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	out, n := compactTree(tt, tree, func(*rec) {}, nil)
	runtime.ReadMemStats(&after)
	if n != tree.Len() || out.Len() != n {
		t.Fatalf("compacted %d records into a tree of %d, want %d", n, out.Len(), tree.Len())
	}
	// Each record costs its copy (8 bytes) and its entry in a node (40
	// bytes) in an array with room to spare, and a share of its node.
	perRecord := float64(after.TotalAlloc-before.TotalAlloc) / float64(n)
	if perRecord > 60 {
		t.Fatalf("the compacted tree took %.1f bytes a record, want at most 60", perRecord)
	}
	i := 0
	out.Ascend(func(p keyed[*rec]) bool {
		fw, task := fmt.Sprintf("fw-%04d", i/200), fmt.Sprintf("task-%05d", i%200)
		if p.id1 != fw || p.id2 != task || p.v.n != int64(i%200) {
			t.Fatalf("record %d is %s/%s (%d), want %s/%s", i, p.id1, p.id2, p.v.n, fw, task)
		}
		i++
		return true
	})
}
