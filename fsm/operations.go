package fsm

import (
	"fmt"

	"github.com/hashicorp/go-memdb"

	"mesh/mesos"
)

// Dynamic reservations and persistent volumes live in the replicated state
// as each agent's checkpointed resources (Agent.Checkpointed): the part of
// its total that its own -resources do not give it. Every operation that
// changes them (RESERVE, UNRESERVE, CREATE, DESTROY, GROW_VOLUME,
// SHRINK_VOLUME, from a framework's ACCEPT or the operator API) is one
// conversion the leader computed and Apply re-checks against the agent's
// total before it commits, so a rejected entry changes nothing.

// tableOperations holds the operations frameworks gave an id, until they
// acknowledge their status.
const tableOperations = "operations"

// AppliedOperation is one offer operation as the leader validated it.
type AppliedOperation struct {
	Type string
	// Conversion is what the operation does to the agent's resources;
	// from an ACCEPT it carries the offer's allocation_info.
	Conversion mesos.Conversion
	// OperationID, when the framework gave one, records the operation
	// for UPDATE_OPERATION_STATUS, acknowledgement and reconciliation;
	// UUID is the status' uuid the framework acknowledges.
	OperationID string      `json:",omitempty"`
	UUID        mesos.Bytes `json:",omitempty"`
}

// Operation is an operation with an id whose status the framework has not
// acknowledged yet.
type Operation struct {
	FrameworkID string
	OperationID string
	AgentID     string
	Type        string
	State       string
	UUID        mesos.Bytes
	Converted   mesos.Resources `json:",omitempty"`
	At          int64
}

// AcceptOperationsRequest is an ACCEPT with offer operations: the
// operations apply in order to the agent's resources, then the launch
// (which may use what they made) consumes the offers, all in one entry.
type AcceptOperationsRequest struct {
	Launch     TaskLaunchRequest
	Operations []AppliedOperation
}

// AgentOperationsRequest is an operator's RESERVE_RESOURCES,
// UNRESERVE_RESOURCES, CREATE_VOLUMES, DESTROY_VOLUMES, GROW_VOLUME or
// SHRINK_VOLUME on an agent: its resources must be free (neither used by
// a live task nor in an outstanding offer).
type AgentOperationsRequest struct {
	AgentID    string
	Operations []AppliedOperation
}

// OperationAck is a framework's ACKNOWLEDGE_OPERATION_STATUS.
type OperationAck struct {
	FrameworkID string
	OperationID string
	UUID        mesos.Bytes
}

// OperationAckRequest records acknowledgements of operation statuses.
type OperationAckRequest struct {
	Acks []OperationAck
}

func operationsSchema() *memdb.TableSchema {
	return &memdb.TableSchema{Name: tableOperations, Indexes: map[string]*memdb.IndexSchema{
		"id": {Name: "id", Unique: true, Indexer: &memdb.CompoundIndex{Indexes: []memdb.Indexer{
			&memdb.StringFieldIndex{Field: "FrameworkID"}, &memdb.StringFieldIndex{Field: "OperationID"},
		}}},
		"framework": {Name: "framework", Indexer: &memdb.StringFieldIndex{Field: "FrameworkID"}},
	}}
}

// Operation returns a framework's unacknowledged operation, nil if none.
func (s *State) Operation(fid, opID string) *Operation {
	return first[*Operation](s.txn, tableOperations, "id", fid, opID)
}

// OperationsByFramework returns a framework's unacknowledged operations.
func (s *State) OperationsByFramework(fid string) []*Operation {
	return list[*Operation](s.txn, tableOperations, "framework", fid)
}

// AgentTotal returns an agent's total resources: its own with its
// checkpointed ones applied.
func (a *Agent) AgentTotal() mesos.Resources {
	total, _ := mesos.WithCheckpointed(a.Info.Resources, a.Checkpointed)
	return total
}

// AgentUsed returns what the agent's live tasks (and their executors)
// hold, without allocation_info.
func (s *State) AgentUsed(aid string) mesos.Resources {
	var used mesos.Resources
	execs := map[string]bool{}
	for _, t := range s.TasksByAgent(aid) {
		if t.Completed || t.State.IsTerminal() {
			continue
		}
		used = used.Add(t.Info.Resources...)
		if e := t.Info.Executor; e != nil && !execs[t.FrameworkID+"/"+e.ExecutorID.Value] {
			execs[t.FrameworkID+"/"+e.ExecutorID.Value] = true
			used = used.Add(e.Resources...)
		}
	}
	return used.Unallocate()
}

// VolumesInUse returns the persistence ids of the volumes live tasks on
// the agent use.
func (s *State) VolumesInUse(aid string) map[string]bool {
	out := map[string]bool{}
	for _, r := range s.AgentUsed(aid) {
		if id := r.PersistenceID(); id != "" {
			out[id] = true
		}
	}
	return out
}

// applyOperations applies ops to the agent's total and records its new
// checkpointed resources and the operations with an id.
func applyOperations(txn *memdb.Txn, aid, fid string, ops []AppliedOperation, at int64) error {
	st := &State{txn: txn}
	old := st.Agent(aid)
	if old == nil {
		return ErrUnknownAgent
	}
	total := old.AgentTotal()
	inUse := st.VolumesInUse(aid)
	for i, op := range ops {
		for _, r := range op.Conversion.From {
			if id := r.PersistenceID(); id != "" && inUse[id] && (op.Type == mesos.OperationDestroy || op.Type == mesos.OperationShrinkVolume) {
				return fmt.Errorf("%w: %s", ErrVolumeInUse, id)
			}
		}
		if op.Type == mesos.OperationCreate {
			for _, r := range op.Conversion.To {
				if volumeExists(total, r.PersistenceID()) {
					return fmt.Errorf("%w: %s", ErrVolumeExists, r.PersistenceID())
				}
			}
		}
		next, err := total.Apply(mesos.Conversion{From: op.Conversion.From.Unallocate(), To: op.Conversion.To.Unallocate()})
		if err != nil {
			return fmt.Errorf("%w: operation %d (%s): %v", ErrOperationConflict, i, op.Type, err)
		}
		total = next
	}
	a := *old
	a.Checkpointed = total.Checkpointed()
	mustInsert(txn, tableAgents, &a)
	for _, op := range ops {
		if op.OperationID == "" || fid == "" {
			continue
		}
		mustInsert(txn, tableOperations, &Operation{FrameworkID: fid, OperationID: op.OperationID, AgentID: aid,
			Type: op.Type, State: mesos.OperationFinished, UUID: op.UUID, Converted: op.Conversion.To, At: at})
	}
	return nil
}

// volumeExists reports whether rs holds a persistent volume of that id.
func volumeExists(rs mesos.Resources, id string) bool {
	for i := range rs {
		if rs[i].PersistenceID() == id {
			return true
		}
	}
	return false
}

func applyAcceptOperations(txn *memdb.Txn, req *AcceptOperationsRequest) any {
	l := &req.Launch
	if err := applyOperations(txn, l.AgentID, l.FrameworkID, req.Operations, l.At); err != nil {
		return err
	}
	convs := make([]mesos.Conversion, len(req.Operations))
	for i := range req.Operations {
		convs[i] = req.Operations[i].Conversion
	}
	return launchTasks(txn, l, convs)
}

func applyAgentOperations(txn *memdb.Txn, req *AgentOperationsRequest) any {
	st := &State{txn: txn}
	a := st.Agent(req.AgentID)
	if a == nil {
		return ErrUnknownAgent
	}
	free := a.AgentTotal().Subtract(st.AgentUsed(req.AgentID)...)
	for _, o := range st.OffersByAgent(req.AgentID) {
		free = free.Subtract(o.Resources.Unallocate()...)
	}
	for i, op := range req.Operations {
		next, err := free.Apply(op.Conversion)
		if err != nil {
			return fmt.Errorf("%w: operation %d (%s): %v", ErrOperationConflict, i, op.Type, err)
		}
		free = next
	}
	return applyOperations(txn, req.AgentID, "", req.Operations, 0)
}

func applyOperationAck(txn *memdb.Txn, req *OperationAckRequest) any {
	st := &State{txn: txn}
	matched := make([]bool, len(req.Acks))
	for i, ack := range req.Acks {
		op := st.Operation(ack.FrameworkID, ack.OperationID)
		if op == nil || string(op.UUID) != string(ack.UUID) {
			continue
		}
		mustDelete(txn, tableOperations, op)
		matched[i] = true
	}
	return matched
}

// dropOperations forgets a removed framework's operations.
func dropOperations(txn *memdb.Txn, fid string) {
	for _, op := range (&State{txn: txn}).OperationsByFramework(fid) {
		mustDelete(txn, tableOperations, op)
	}
}
