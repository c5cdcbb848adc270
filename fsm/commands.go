package fsm

import (
	"bytes"
	"fmt"

	"github.com/hashicorp/go-memdb"

	"mesh/mesos"
)

// maxStatusHistory bounds the status history kept per task.
const maxStatusHistory = 32

func mustInsert(txn *memdb.Txn, table string, obj any) {
	if err := txn.Insert(table, obj); err != nil {
		panic(fmt.Sprintf("fsm: insert into %s: %v", table, err))
	}
}

func mustDelete(txn *memdb.Txn, table string, obj any) {
	if err := txn.Delete(table, obj); err != nil && err != memdb.ErrNotFound {
		panic(fmt.Sprintf("fsm: delete from %s: %v", table, err))
	}
}

func getMeta(txn *memdb.Txn) Meta {
	return (&State{txn: txn}).Meta()
}

func putMeta(txn *memdb.Txn, m Meta) {
	mustInsert(txn, tableMeta, &metaRow{Key: "meta", Meta: m})
}

func applyClusterInit(txn *memdb.Txn, req *ClusterInitRequest) any {
	m := getMeta(txn)
	if m.ClusterID != "" {
		return nil // bootstrap happens once; a repeat is a no-op
	}
	m.ClusterID = req.ClusterID
	putMeta(txn, m)
	return nil
}

func applyServerAnnounce(txn *memdb.Txn, req *ServerAnnounceRequest) any {
	s := req.Server
	mustInsert(txn, tableServers, &s)
	return nil
}

func applyFrameworkRegister(txn *memdb.Txn, req *FrameworkRegisterRequest) any {
	st := &State{txn: txn}
	if old := st.Framework(req.Framework.ID); old != nil && old.Removed {
		return ErrFrameworkRemoved
	}
	fw := req.Framework
	mustInsert(txn, tableFrameworks, &fw)
	if m := getMeta(txn); req.New && req.Seq >= m.NextFramework {
		m.NextFramework = req.Seq + 1
		putMeta(txn, m)
	}
	return nil
}

func applyFrameworkDisconnect(txn *memdb.Txn, req *FrameworkDisconnectRequest) any {
	old := (&State{txn: txn}).Framework(req.FrameworkID)
	if old == nil || old.Removed {
		return ErrUnknownFramework
	}
	fw := *old
	fw.Connected = false
	fw.DisconnectedAt = req.At
	fw.FailoverDeadline = req.Deadline
	mustInsert(txn, tableFrameworks, &fw)
	return nil
}

func applyFrameworkRemove(txn *memdb.Txn, req *FrameworkRemoveRequest) any {
	st := &State{txn: txn}
	old := st.Framework(req.FrameworkID)
	if old == nil {
		return ErrUnknownFramework
	}
	res := &FrameworkRemoveResult{}
	if old.Removed {
		return res
	}
	fw := *old
	fw.Removed = true
	fw.Connected = false
	fw.RemovedAt = req.At
	fw.FailoverDeadline = 0
	mustInsert(txn, tableFrameworks, &fw)
	dropFrameworkFilters(txn, req.FrameworkID, nil)
	dropOperations(txn, req.FrameworkID)
	for _, o := range st.OffersByFramework(req.FrameworkID) {
		res.Offers = append(res.Offers, *o)
		mustDelete(txn, tableOffers, o)
	}
	res.Executors = removeExecutors(txn, st.ExecutorsByFramework(req.FrameworkID), func(*Executor) bool { return true })
	for _, t := range st.TasksByFramework(req.FrameworkID) {
		if t.Completed {
			continue
		}
		live := !t.State.IsTerminal()
		nt := t.Copy()
		if live {
			s := mesos.TaskStatus{
				TaskID: t.Info.TaskID, State: mesos.TaskKilled, Source: mesos.SourceMaster,
				Reason: mesos.ReasonFrameworkRemoved, Message: req.Message,
				AgentID: &mesos.AgentID{Value: t.AgentID}, Timestamp: float64(req.At) / 1e9,
			}
			recordStatus(nt, s)
			res.Tasks = append(res.Tasks, *t)
		}
		nt.Completed = true
		nt.PendingAck = nil
		putTask(txn, nt)
	}
	return res
}

func applyAgentRegister(txn *memdb.Txn, req *AgentRegisterRequest) any {
	a := req.Agent
	// A deactivated or draining agent stays so when it re-registers, and
	// the state's record of its reservations and volumes wins over the
	// agent's.
	if old := (&State{txn: txn}).Agent(a.ID); old != nil {
		a.Deactivated, a.Drain = old.Deactivated, old.Drain
		a.Checkpointed = old.Checkpointed
	}
	mustInsert(txn, tableAgents, &a)
	if req.ReportsExecutors {
		reconcileAgentExecutors(txn, a.ID, req.Executors, req.Exiting, a.ReregisteredAt)
	}
	if m := getMeta(txn); req.New && req.Seq >= m.NextAgent {
		m.NextAgent = req.Seq + 1
		putMeta(txn, m)
	}
	return nil
}

func applyAgentRegisterBatch(txn *memdb.Txn, req *AgentRegisterBatchRequest) any {
	for i := range req.Agents {
		applyAgentRegister(txn, &req.Agents[i])
	}
	return nil
}

func applyAgentState(txn *memdb.Txn, req *AgentStateRequest) any {
	st := &State{txn: txn}
	old := st.Agent(req.AgentID)
	if old == nil {
		return ErrUnknownAgent
	}
	if old.State == AgentGone && req.State != AgentGone {
		return ErrAgentGone
	}
	a := *old
	a.State = req.State
	if req.State == AgentUnreachable {
		a.UnreachableAt = req.At
	}
	mustInsert(txn, tableAgents, &a)
	if req.State == AgentGone {
		dropAgentFilters(txn, req.AgentID)
	}
	res := &AgentStateResult{}
	if req.State == AgentActive || req.TaskState == "" {
		return res
	}
	for _, o := range st.OffersByAgent(req.AgentID) {
		mustDelete(txn, tableOffers, o)
	}
	res.Executors = removeExecutors(txn, st.ExecutorsByAgent(req.AgentID), func(e *Executor) bool {
		return req.State == AgentGone || st.agentLossState(req, e.FrameworkID).IsTerminal()
	})
	for _, t := range st.TasksByAgent(req.AgentID) {
		if t.Completed || t.State.IsTerminal() {
			continue
		}
		state := st.agentLossState(req, t.FrameworkID)
		nt := t.Copy()
		s := mesos.TaskStatus{
			TaskID: t.Info.TaskID, State: state, Source: mesos.SourceMaster,
			Reason: req.Reason, Message: req.Message,
			AgentID: &mesos.AgentID{Value: t.AgentID}, Timestamp: float64(req.At) / 1e9,
		}
		if state == mesos.TaskUnreachable {
			s.UnreachableTime = &mesos.TimeInfo{Nanoseconds: req.At}
		}
		recordStatus(nt, s)
		nt.PendingAck = nil
		if state.IsTerminal() {
			nt.Completed = true
		}
		putTask(txn, nt)
		res.Tasks = append(res.Tasks, *nt)
	}
	return res
}

// agentLossState is the state req gives the tasks of framework fid.
func (s *State) agentLossState(req *AgentStateRequest, fid string) mesos.TaskState {
	if fw := s.Framework(fid); req.PartitionAwareState != "" && fw != nil &&
		fw.Info.HasCapability(mesos.CapabilityPartitionAware) {
		return req.PartitionAwareState
	}
	return req.TaskState
}

func applyOffersCreate(txn *memdb.Txn, req *OffersCreateRequest) any {
	for i := range req.Offers {
		o := req.Offers[i]
		mustInsert(txn, tableOffers, &o)
	}
	return nil
}

func applyOffersRemove(txn *memdb.Txn, req *OffersRemoveRequest) any {
	st := &State{txn: txn}
	var removed []Offer
	for _, id := range req.OfferIDs {
		if o := st.Offer(id); o != nil {
			removed = append(removed, *o)
			mustDelete(txn, tableOffers, o)
		}
	}
	if req.Filter != nil {
		addFilters(txn, req.Filter.Now, offerFilters(removed, req.Filter))
	}
	return removed
}

// LaunchResult is what a successful TaskLaunch consumed.
type LaunchResult struct {
	Offers []Offer
}

func applyTaskLaunch(txn *memdb.Txn, req *TaskLaunchRequest) any {
	return launchTasks(txn, req, nil)
}

// launchTasks consumes the offers and launches the tasks, which may use
// what the conversions (the ACCEPT's operations, in order) made of the
// offers' resources.
func launchTasks(txn *memdb.Txn, req *TaskLaunchRequest, convs []mesos.Conversion) any {
	st := &State{txn: txn}
	fw := st.Framework(req.FrameworkID)
	if fw == nil {
		return ErrUnknownFramework
	}
	if fw.Removed {
		return ErrFrameworkRemoved
	}
	var offered mesos.Resources
	res := &LaunchResult{}
	for _, id := range req.OfferIDs {
		o := st.Offer(id)
		if o == nil {
			return fmt.Errorf("%w: %s", ErrUnknownOffer, id)
		}
		if o.FrameworkID != req.FrameworkID {
			return fmt.Errorf("%w: %s", ErrOfferNotOwned, id)
		}
		if o.AgentID != req.AgentID {
			return fmt.Errorf("%w: %s", ErrOfferAgent, id)
		}
		offered = offered.Add(o.Resources...)
		res.Offers = append(res.Offers, *o)
	}
	for _, c := range convs {
		next, err := offered.Apply(c)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrOperationConflict, err)
		}
		offered = next
	}
	var need mesos.Resources
	for i := range req.Tasks {
		t := &req.Tasks[i]
		if old := st.Task(t.FrameworkID, t.TaskID); old != nil && !old.Completed {
			return fmt.Errorf("%w: %s", ErrDuplicateTask, t.TaskID)
		}
		need = need.Add(t.Info.Resources...)
	}
	if len(req.OfferIDs) > 0 && !offered.Contains(need) {
		return ErrInsufficient
	}
	for _, o := range res.Offers {
		mustDelete(txn, tableOffers, st.Offer(o.ID))
	}
	insertLaunched(txn, st, req)
	addLaunchedExecutors(txn, req.Tasks, req.At)
	addFilters(txn, req.At, req.Filters)
	return res
}

// recordStatus makes s the task's latest status and appends it to the
// bounded history; the last history entry is the latest status, which
// the task keeps apart only when it carries data. The ids a status
// repeats share the task's memory rather than each keeping its own copy:
// a leader holds a history for every task.
func recordStatus(t *Task, s mesos.TaskStatus) {
	s.State = mesos.TaskState(intern(string(s.State)))
	s.Source, s.Reason = intern(s.Source), intern(s.Reason)
	t.State = s.State
	s.TaskID = t.Info.TaskID
	if n := len(t.Statuses); n > 0 {
		prev := &t.Statuses[n-1]
		s.AgentID = sameID(s.AgentID, prev.agentID)
		s.ExecutorID = sameID(s.ExecutorID, prev.executorID)
	}
	t.status = nil
	if len(s.Data) > 0 {
		st := s
		t.status = &st
	}
	h := newStatusEntry(s, t.ids())
	n := min(len(t.Statuses)+1, maxStatusHistory)
	hist := make([]StatusEntry, 0, n)
	hist = append(hist, t.Statuses[len(t.Statuses)+1-n:]...)
	t.Statuses = append(hist, h)
}

// sameID returns prev when it holds the same id as id, so that the two
// share one copy.
func sameID[T comparable](id, prev *T) *T {
	if id != nil && prev != nil && *id == *prev {
		return prev
	}
	return id
}

func applyStatusUpdate(txn *memdb.Txn, req *StatusUpdateRequest) any {
	st := &State{txn: txn}
	out := make([]StatusUpdateResult, len(req.Updates))
	for i, u := range req.Updates {
		t, r := st.classifyStatusUpdate(u)
		out[i] = r
		if t == nil || r.Duplicate {
			continue
		}
		nt := t.Copy()
		wasTerminal := t.State.IsTerminal()
		recordStatus(nt, u.Status)
		if len(u.Status.UUID) > 0 {
			// The status recorded holds the uuid: the two share it.
			nt.PendingAck = u.Status.UUID
		} else if u.Status.State.IsTerminal() {
			nt.Completed = true
		}
		if !wasTerminal && u.Status.State.IsTerminal() {
			out[i].BecameTerminal = true
			out[i].Resources = t.Info.Resources
		}
		putTask(txn, nt)
	}
	return out
}

// classifyStatusUpdate looks u's task up and tells whether applying u
// would change it: the task (nil when unknown) and the result of an
// update that changes nothing (Duplicate: its uuid is recorded already,
// or the task is completed).
func (s *State) classifyStatusUpdate(u StatusUpdate) (*Task, StatusUpdateResult) {
	var r StatusUpdateResult
	t := s.Task(u.FrameworkID, u.Status.TaskID.Value)
	if t == nil {
		return nil, r
	}
	r.Known = true
	r.AgentID = t.AgentID
	r.Role = t.Role
	if len(u.Status.UUID) > 0 {
		for i := range t.Statuses {
			if bytes.Equal(t.Statuses[i].uuid, u.Status.UUID) {
				r.Duplicate = true
				break
			}
		}
	}
	if t.Completed {
		r.Duplicate, r.WasCompleted = true, true
	}
	return t, r
}

// RecordedStatusUpdate answers, from this state, what applying u would
// return when u changes nothing: an update an agent sent again whose
// uuid is committed already, or one for a completed task. ok is false
// when u must be committed (it is new, or its task is unknown here).
func (s *State) RecordedStatusUpdate(u StatusUpdate) (r StatusUpdateResult, ok bool) {
	t, r := s.classifyStatusUpdate(u)
	return r, t != nil && r.Duplicate
}

func applyStatusAck(txn *memdb.Txn, req *StatusAckRequest) any {
	st := &State{txn: txn}
	out := make([]AckResult, len(req.Acks))
	for i, a := range req.Acks {
		t := st.Task(a.FrameworkID, a.TaskID)
		if t == nil {
			continue
		}
		out[i].AgentID = t.AgentID
		if !ackMatches(t, a) {
			// An ack of an older update still goes to the agent: the agent
			// matches it against its own stream.
			continue
		}
		out[i].Matched = true
		nt := t.Copy()
		nt.PendingAck = nil
		if nt.State.IsTerminal() {
			nt.Completed = true
		}
		putTask(txn, nt)
	}
	return out
}

// ackMatches tells whether a acknowledges t's outstanding update.
func ackMatches(t *Task, a StatusAck) bool { return bytes.Equal(t.PendingAck, a.UUID) }

// AckChangesNothing tells whether applying a would leave this state as it
// is: its task is unknown, or a does not acknowledge the task's
// outstanding update (it was acknowledged already, or a is of an older
// update). The leader relays such an acknowledgement to the agent without
// committing it.
func (s *State) AckChangesNothing(a StatusAck) bool {
	t := s.Task(a.FrameworkID, a.TaskID)
	return t == nil || !ackMatches(t, a)
}

func applyHistoryPrune(txn *memdb.Txn, req *HistoryPruneRequest) any {
	st := &State{txn: txn}
	res := &HistoryPruneResult{}
	var dropped []*Task
	for _, r := range req.Tasks {
		if t := st.Task(r.FrameworkID, r.TaskID); t != nil && t.Completed {
			deleteTask(txn, t)
			dropped = append(dropped, t)
			res.Tasks++
		}
	}
	for _, id := range req.Frameworks {
		fw := st.Framework(id)
		if fw == nil || !fw.Removed {
			continue
		}
		for _, t := range st.TasksByFramework(id) {
			if t.Completed {
				deleteTask(txn, t)
				dropped = append(dropped, t)
				res.Tasks++
			}
		}
		mustDelete(txn, tableFrameworks, fw)
		res.Frameworks++
	}
	unplaceTasks(txn, dropped)
	if req.FiltersExpiredBy > 0 {
		res.Filters = pruneFilters(txn, req.FiltersExpiredBy)
	}
	return res
}
