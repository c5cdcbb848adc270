// Package fsm is mesh's replicated state machine: a typed, append-only
// command log applied deterministically to an in-memory state store
// (frameworks, agents, offers, tasks), with cheap snapshots and atomic
// restores. The leader picks every id, timestamp and random choice and
// puts it in the command; Apply never reads the clock.
package fsm

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"sync/atomic"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-memdb"
	"github.com/hashicorp/raft"
)

// FSM implements raft.FSM over a go-memdb state store.
type FSM struct {
	db     atomic.Pointer[memdb.MemDB]
	logger hclog.Logger
	// index is the last applied raft index, for consistency checks.
	index atomic.Uint64
	// observer, when set, is told of every committed command.
	observer atomic.Pointer[Observer]
	// compaction is what the last Compact installed.
	compaction compaction
}

// Observer is told of the commands the FSM commits, in log order, on
// raft's apply goroutine; it must be quick and must not block. Each batch
// of entries (one for Apply) is framed by Begin and End, and the observer
// must not change what Begin found until End. When Begin reports that it
// wants each command, each is applied in a transaction of its own and
// Command tells of it with the state just before and just after it;
// otherwise the batch may be applied in one transaction and only End
// tells of it. Compact, which changes where records lie but no value,
// gives its state to End too, framed by Begin, from its own goroutine.
type Observer interface {
	Begin() (perCommand bool)
	Command(t MessageType, req any, before, after *State)
	End(after *State)
}

// SetObserver installs obs (nil removes it).
func (f *FSM) SetObserver(obs Observer) {
	if obs == nil {
		f.observer.Store(nil)
		return
	}
	f.observer.Store(&obs)
}

var _ raft.FSM = (*FSM)(nil)

// command is one log entry type: apply decodes its body and applies it
// inside a write transaction, returning the decoded request and the Apply
// result (a value or an error); newRequest makes an empty request.
type command struct {
	apply      func(f *FSM, txn *memdb.Txn, isMsgpack bool, buf []byte) (any, any)
	newRequest func() any
}

// applyTable registers one small apply function per command type.
var applyTable = map[MessageType]command{
	ClusterInitRequestType:         decodeApply(applyClusterInit),
	ServerAnnounceRequestType:      decodeApply(applyServerAnnounce),
	FrameworkRegisterRequestType:   decodeApply(applyFrameworkRegister),
	FrameworkDisconnectRequestType: decodeApply(applyFrameworkDisconnect),
	FrameworkRemoveRequestType:     decodeApply(applyFrameworkRemove),
	AgentRegisterRequestType:       decodeApply(applyAgentRegister),
	AgentStateRequestType:          decodeApply(applyAgentState),
	OffersCreateRequestType:        decodeApply(applyOffersCreate),
	OffersRemoveRequestType:        decodeApply(applyOffersRemove),
	TaskLaunchRequestType:          decodeApply(applyTaskLaunch),
	StatusUpdateRequestType:        decodeApply(applyStatusUpdate),
	StatusAckRequestType:           decodeApply(applyStatusAck),
	HistoryPruneRequestType:        decodeApply(applyHistoryPrune),
	AgentRegisterBatchRequestType:  decodeApply(applyAgentRegisterBatch),
	OfferSuppressionRequestType:    decodeApply(applyOfferSuppression),
	WeightsUpdateRequestType:       decodeApply(applyWeightsUpdate),
	QuotaUpdateRequestType:         decodeApply(applyQuotaUpdate),
	AgentDrainRequestType:          decodeApply(applyAgentDrain),
	ExecutorRemoveRequestType:      decodeApply(applyExecutorRemove),
	MaintenanceScheduleRequestType: decodeApply(applyMaintenanceSchedule),
	MaintenanceStartRequestType:    decodeApply(applyMaintenanceStart),
	MaintenanceStopRequestType:     decodeApply(applyMaintenanceStop),
	InverseOfferStatusRequestType:  decodeApply(applyInverseOfferStatus),
	AcceptOperationsRequestType:    decodeApply(applyAcceptOperations),
	AgentOperationsRequestType:     decodeApply(applyAgentOperations),
	OperationAckRequestType:        decodeApply(applyOperationAck),
}

// decodeApply adapts a typed apply function: a body that does not decode
// is a corrupt log and panics, as a state machine must not diverge.
func decodeApply[T any](fn func(txn *memdb.Txn, req *T) any) command {
	return command{
		apply: func(f *FSM, txn *memdb.Txn, isMsgpack bool, buf []byte) (any, any) {
			var req T
			if err := decodeBody(isMsgpack, buf, &req); err != nil {
				panic(fmt.Sprintf("fsm: failed to decode %T: %v", req, err))
			}
			return &req, fn(txn, &req)
		},
		newRequest: func() any { return new(T) },
	}
}

// New returns an empty FSM.
func New(logger hclog.Logger) *FSM {
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	f := &FSM{logger: logger.Named("fsm")}
	f.db.Store(newDB())
	return f
}

// State returns a consistent read-only view of the current state.
func (f *FSM) State() *State {
	return &State{txn: f.db.Load().Txn(false)}
}

// LastIndex returns the raft index of the last applied entry.
func (f *FSM) LastIndex() uint64 { return f.index.Load() }

// Apply applies one log entry, as a batch of one.
func (f *FSM) Apply(l *raft.Log) any { return f.ApplyBatch([]*raft.Log{l})[0] }

// Snapshot returns a point-in-time snapshot; memdb makes it O(1).
func (f *FSM) Snapshot() (raft.FSMSnapshot, error) {
	return &snapshot{db: f.db.Load().Snapshot()}, nil
}

// snapshotRecord is one line of a snapshot: a table name and a row.
type snapshotRecord struct {
	T string          `json:"t"`
	V json.RawMessage `json:"v"`
}

// snapshotTables lists every table with a constructor for its row type.
var snapshotTables = []struct {
	name string
	row  func() any
}{
	{tableMeta, func() any { return &metaRow{} }},
	{tableServers, func() any { return &Server{} }},
	{tableFrameworks, func() any { return &Framework{} }},
	{tableAgents, func() any { return &Agent{} }},
	{tableOffers, func() any { return &Offer{} }},
	{tableTasks, func() any { return &Task{} }},
	{tableFilters, func() any { return &FilterSet{} }},
	{tableExecutors, func() any { return &Executor{} }},
	{tableOperations, func() any { return &Operation{} }},
}

type snapshot struct {
	db *memdb.MemDB
}

// Persist writes every row as a JSON line, {"t":table,"v":row}. The line
// is put together here rather than by encoding a snapshotRecord, which
// would scan and copy every encoded row a second time.
func (s *snapshot) Persist(sink raft.SnapshotSink) error {
	w := bufio.NewWriterSize(sink, 1<<20)
	txn := s.db.Txn(false)
	for _, t := range snapshotTables {
		prefix := `{"t":"` + t.name + `","v":`
		err := eachRow(txn, t.name, func(raw any) error {
			v, err := encodeRow(raw)
			if err != nil {
				return fmt.Errorf("snapshot %s: %w", t.name, err)
			}
			w.WriteString(prefix)
			w.Write(v)
			_, err = w.WriteString("}\n")
			return err
		})
		if err != nil {
			sink.Cancel()
			return err
		}
	}
	if err := w.Flush(); err != nil {
		sink.Cancel()
		return err
	}
	return sink.Close()
}

// encodeRow is a row's JSON. A row that encodes itself (a task) is asked
// directly: json.Marshal would check and compact its output a second
// time, which its own json.Marshal has done, and that was nearly half of
// a snapshot's cost.
func encodeRow(raw any) ([]byte, error) {
	if m, ok := raw.(json.Marshaler); ok {
		return m.MarshalJSON()
	}
	return json.Marshal(raw)
}

// eachRow calls f with each row of a snapshot table, by id, until f
// fails.
func eachRow(txn *memdb.Txn, table string, f func(any) error) error {
	var err error
	switch table {
	case tableTasks:
		eachTask(txn, "", func(t *Task) bool {
			err = f(t)
			return err == nil
		})
		return err
	case tableFilters:
		eachFilterSet(txn, "", func(set *FilterSet) bool {
			err = f(set)
			return err == nil
		})
		return err
	}
	it, err := txn.Get(table, "id")
	if err != nil {
		return fmt.Errorf("snapshot %s: %w", table, err)
	}
	for raw := it.Next(); raw != nil && err == nil; raw = it.Next() {
		err = f(raw)
	}
	return err
}

// insertRow inserts a row restored from a snapshot into its table.
func insertRow(txn *memdb.Txn, table string, row any) error {
	switch r := row.(type) {
	case *Task:
		if r.FrameworkID == "" || r.TaskID == "" {
			return fmt.Errorf("a task needs a framework id and a task id (framework %q, task %q)", r.FrameworkID, r.TaskID)
		}
		putTask(txn, r)
	case *FilterSet:
		if r.FrameworkID == "" || r.AgentID == "" {
			return fmt.Errorf("a filter set needs a framework id and an agent id (framework %q, agent %q)", r.FrameworkID, r.AgentID)
		}
		for i := range r.Filters {
			r.Filters[i].Resources = sharedFilterResources(r.AgentID, r.Filters[i].Resources)
		}
		putFilterSet(txn, r)
	default:
		return txn.Insert(table, row)
	}
	return nil
}

// Release is a no-op: the memdb snapshot is garbage collected.
func (s *snapshot) Release() {}

// Restore replaces the whole state with a snapshot's, atomically: readers
// see either the old state or the new one.
func (f *FSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	db := newDB()
	txn := db.Txn(true)
	defer txn.Abort()
	rows := map[string]func() any{}
	for _, t := range snapshotTables {
		rows[t.name] = t.row
	}
	dec := json.NewDecoder(bufio.NewReaderSize(rc, 1<<20))
	executors := false
	for {
		var rec snapshotRecord
		if err := dec.Decode(&rec); err == io.EOF {
			break
		} else if err != nil {
			return fmt.Errorf("restore: %w", err)
		}
		mk, ok := rows[rec.T]
		if !ok {
			return fmt.Errorf("restore: unknown table %q", rec.T)
		}
		row := mk()
		if err := json.Unmarshal(rec.V, row); err != nil {
			return fmt.Errorf("restore %s: %w", rec.T, err)
		}
		// The tasks table's index by agent refused these once; the
		// agents' task lists that replace it cannot list them.
		if t, ok := row.(*Task); ok && t.AgentID == "" {
			return fmt.Errorf("restore %s: task %q of framework %q has no agent id", rec.T, t.TaskID, t.FrameworkID)
		}
		if err := insertRow(txn, rec.T, row); err != nil {
			return fmt.Errorf("restore %s: %w", rec.T, err)
		}
		executors = executors || rec.T == tableExecutors
	}
	deriveAgentTasks(txn)
	if !executors {
		// A snapshot without executor records predates them, or has no
		// executor: the live tasks' executors are recorded from the tasks.
		deriveExecutors(txn)
	}
	txn.Commit()
	f.db.Store(db)
	return nil
}

// ValidateSnapshot checks that data decodes as a snapshot of this state
// machine without touching the live state.
func ValidateSnapshot(r io.Reader) error {
	return New(nil).Restore(io.NopCloser(r))
}
