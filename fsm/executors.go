package fsm

import (
	"github.com/hashicorp/go-memdb"

	"mesh/mesos"
)

// Executors (a framework's own, or the default executor of task groups)
// are recorded apart from their tasks, as the Mesos master keeps them: a
// record is added when the first task of an executor is launched, in the
// same entry as the launch, and removed when the agent reports that the
// executor exited (ExecutorRemoveRequest), when the agent re-registers
// without it, when the agent is lost or gone, or when the framework is
// removed. Its resources are held on the agent all that time, whether or
// not it still runs a task. Mesh's command executor has no record: its
// task's resources are all it is accounted for.

// tableExecutors holds one Executor per executor of a framework on an agent.
const tableExecutors = "executors"

// Executor is an executor the leader placed on an agent (or an agent
// reported running).
type Executor struct {
	AgentID     string
	FrameworkID string
	ExecutorID  string
	Info        mesos.ExecutorInfo
	// Role is the role its resources are allocated to.
	Role       string
	LaunchedAt int64
}

// ExecutorRef names an executor of a framework on an agent.
type ExecutorRef struct {
	AgentID     string
	FrameworkID string
	ExecutorID  string
}

// ExecutorRemoveRequest removes executors that ended: their resources are
// free. Executors without a record are skipped.
type ExecutorRemoveRequest struct {
	Executors []ExecutorRef
}

// ExecutorRemoveResult lists the records the removal deleted.
type ExecutorRemoveResult struct {
	Removed []Executor
}

func executorsSchema() *memdb.TableSchema {
	by := func(name, field string) *memdb.IndexSchema {
		return &memdb.IndexSchema{Name: name, Indexer: &memdb.StringFieldIndex{Field: field}}
	}
	return &memdb.TableSchema{Name: tableExecutors, Indexes: map[string]*memdb.IndexSchema{
		"id": {Name: "id", Unique: true, Indexer: &memdb.CompoundIndex{Indexes: []memdb.Indexer{
			&memdb.StringFieldIndex{Field: "AgentID"}, &memdb.StringFieldIndex{Field: "FrameworkID"},
			&memdb.StringFieldIndex{Field: "ExecutorID"},
		}}},
		"agent":     by("agent", "AgentID"),
		"framework": by("framework", "FrameworkID"),
	}}
}

// Executor returns the record of executor eid of framework fid on agent
// aid, nil if there is none.
func (s *State) Executor(aid, fid, eid string) *Executor {
	return first[*Executor](s.txn, tableExecutors, "id", aid, fid, eid)
}

// Executors returns every executor record.
func (s *State) Executors() []*Executor {
	return listAll[*Executor](s.txn, tableExecutors, "id")
}

// ExecutorsByAgent returns the executors recorded on an agent.
func (s *State) ExecutorsByAgent(aid string) []*Executor {
	return list[*Executor](s.txn, tableExecutors, "agent", aid)
}

// ExecutorsByFramework returns a framework's executors.
func (s *State) ExecutorsByFramework(fid string) []*Executor {
	return list[*Executor](s.txn, tableExecutors, "framework", fid)
}

// addLaunchedExecutors records the executors of launched tasks that have
// no record yet.
func addLaunchedExecutors(txn *memdb.Txn, tasks []Task, at int64) {
	st := &State{txn: txn}
	for i := range tasks {
		t := &tasks[i]
		e := t.Info.Executor
		if e == nil || !completeRef(t.AgentID, t.FrameworkID, e.ExecutorID.Value) ||
			st.Executor(t.AgentID, t.FrameworkID, e.ExecutorID.Value) != nil {
			continue
		}
		mustInsert(txn, tableExecutors, &Executor{AgentID: t.AgentID, FrameworkID: t.FrameworkID,
			ExecutorID: e.ExecutorID.Value, Info: *e, Role: t.Role, LaunchedAt: at})
	}
}

func applyExecutorRemove(txn *memdb.Txn, req *ExecutorRemoveRequest) any {
	st := &State{txn: txn}
	res := &ExecutorRemoveResult{}
	for _, r := range req.Executors {
		if e := st.Executor(r.AgentID, r.FrameworkID, r.ExecutorID); e != nil {
			res.Removed = append(res.Removed, *e)
			mustDelete(txn, tableExecutors, e)
		}
	}
	return res
}

// removeExecutors deletes the records drop picks and returns them.
func removeExecutors(txn *memdb.Txn, execs []*Executor, drop func(*Executor) bool) []Executor {
	var out []Executor
	for _, e := range execs {
		if drop(e) {
			out = append(out, *e)
			mustDelete(txn, tableExecutors, e)
		}
	}
	return out
}

// reconcileAgentExecutors makes the records of agent aid those of the
// executors it reported when it registered: a record it did not report,
// as running or as exiting, is removed (the executor is gone), an
// executor it reported running without a record is added unless its
// framework is unknown or removed.
func reconcileAgentExecutors(txn *memdb.Txn, aid string, reported []mesos.ExecutorInfo, exiting []ExecutorRef, at int64) {
	st := &State{txn: txn}
	has := map[ExecutorRef]bool{}
	for _, e := range reported {
		if e.FrameworkID != nil {
			has[ExecutorRef{aid, e.FrameworkID.Value, e.ExecutorID.Value}] = true
		}
	}
	for _, r := range exiting {
		has[ExecutorRef{aid, r.FrameworkID, r.ExecutorID}] = true
	}
	removeExecutors(txn, st.ExecutorsByAgent(aid), func(e *Executor) bool {
		return !has[ExecutorRef{aid, e.FrameworkID, e.ExecutorID}]
	})
	for _, e := range reported {
		if e.FrameworkID == nil || !completeRef(aid, e.FrameworkID.Value, e.ExecutorID.Value) ||
			st.Executor(aid, e.FrameworkID.Value, e.ExecutorID.Value) != nil {
			continue
		}
		fw := st.Framework(e.FrameworkID.Value)
		if fw == nil || fw.Removed {
			continue
		}
		mustInsert(txn, tableExecutors, &Executor{AgentID: aid, FrameworkID: fw.ID, ExecutorID: e.ExecutorID.Value,
			Info: e, Role: executorRole(e, fw), LaunchedAt: at})
	}
}

// completeRef tells whether every part of an executor's key is set, as
// the table's index needs.
func completeRef(aid, fid, eid string) bool { return aid != "" && fid != "" && eid != "" }

// executorRole is the role an executor's resources are allocated to: the
// allocation of its resources, else its framework's first role.
func executorRole(e mesos.ExecutorInfo, fw *Framework) string {
	for _, r := range e.Resources {
		if r.AllocationInfo != nil && r.AllocationInfo.Role != "" {
			return r.AllocationInfo.Role
		}
	}
	if roles := fw.Info.AllRoles(); len(roles) > 0 {
		return roles[0]
	}
	return "*"
}

// deriveExecutors records the executors of live tasks that have none: a
// snapshot written before executors were recorded holds only the tasks.
func deriveExecutors(txn *memdb.Txn) {
	st := &State{txn: txn}
	var live []Task
	for _, t := range st.Tasks() {
		if !t.Completed && !t.State.IsTerminal() && t.Info.Executor != nil {
			live = append(live, *t)
		}
	}
	addLaunchedExecutors(txn, live, 0)
}
