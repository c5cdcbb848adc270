package fsm

import (
	"mesh/mesos"
)

// StatusEntry is one update of a task's status history. A leader keeps a
// history for every task it knows, so an entry holds only what an update
// says, compactly: its state and source as small numbers when they are
// among the known ones, the fields most updates leave empty kept apart.
// Snapshots and log entries carry the history as the mesos.TaskStatus
// values it stands for (Task.History).
type StatusEntry struct {
	state  uint8 // index+1 in entryStates; 0: rare.state
	source uint8 // index+1 in entrySources; 0: rare.source
	// own marks the ids the update gave that are its task's own: its
	// agent's id, and an executor id that is the task's id (a command
	// task's). Such an id is kept as this bit instead of a copy: nearly
	// every update carries both.
	own        uint8
	timestamp  float64
	uuid       mesos.Bytes       // shared with the task's pending acknowledgement
	agentID    *mesos.AgentID    // nil when none or the task's (own)
	executorID *mesos.ExecutorID // nil when none or the task's id (own)
	rare       *statusRare
}

// The bits of StatusEntry.own.
const (
	ownAgentID    = 1 << iota // agent_id is the task's agent's id
	ownExecutorID             // executor_id is the task's id
)

// statusRare are the fields of an update that most updates leave empty,
// and a state, source or task id that an entry cannot keep as a number
// or share with its task.
type statusRare struct {
	state           mesos.TaskState
	source          string
	taskID          *string // nil: the task's
	message         string
	reason          string
	healthy         *bool
	labels          *mesos.Labels
	containerStatus *mesos.ContainerStatus
	unreachableTime *mesos.TimeInfo
	checkStatus     *mesos.CheckStatusInfo
	limitation      *mesos.TaskResourceLimitation
}

// entryStates and entrySources are the states and sources an entry
// keeps as numbers. Entries are only ever appended here: a number's
// meaning never changes within a process, and none leaves it.
var (
	entryStates = []mesos.TaskState{mesos.TaskStaging, mesos.TaskStarting, mesos.TaskRunning, mesos.TaskKilling,
		mesos.TaskFinished, mesos.TaskFailed, mesos.TaskKilled, mesos.TaskError, mesos.TaskLost, mesos.TaskDropped,
		mesos.TaskUnreachable, mesos.TaskGone, mesos.TaskGoneByOperator, mesos.TaskUnknown}
	entrySources = []string{mesos.SourceMaster, mesos.SourceAgent, mesos.SourceExecutor}
)

func code[T comparable](v T, known []T) uint8 {
	for i, k := range known {
		if k == v {
			return uint8(i + 1)
		}
	}
	return 0
}

// taskIDs are the ids of the task a history is of, which its entries
// keep as bits when an update repeats them (StatusEntry.own).
type taskIDs struct{ task, agent string }

// ids are the task's ids its history's entries refer to.
func (t *Task) ids() taskIDs { return taskIDs{task: t.Info.TaskID.Value, agent: t.AgentID} }

// newStatusEntry keeps s, but for its data, as an entry of the history
// of the task with the given ids. The entry shares s's ids, uuid and
// optional fields: neither is ever mutated in place.
func newStatusEntry(s mesos.TaskStatus, ids taskIDs) StatusEntry {
	taskID := ids.task
	e := StatusEntry{state: code(s.State, entryStates), source: code(s.Source, entrySources), timestamp: s.Timestamp,
		uuid: s.UUID, agentID: s.AgentID, executorID: s.ExecutorID}
	if e.agentID != nil && e.agentID.Value == ids.agent {
		e.agentID, e.own = nil, e.own|ownAgentID
	}
	if e.executorID != nil && e.executorID.Value == taskID {
		e.executorID, e.own = nil, e.own|ownExecutorID
	}
	r := statusRare{message: s.Message, reason: intern(s.Reason), healthy: s.Healthy, labels: s.Labels,
		containerStatus: s.ContainerStatus, unreachableTime: s.UnreachableTime, checkStatus: s.CheckStatus, limitation: s.Limitation}
	if e.state == 0 {
		r.state = s.State
	}
	if e.source == 0 {
		r.source = s.Source
	}
	if s.TaskID.Value != taskID {
		id := s.TaskID.Value
		r.taskID = &id
	}
	if r != (statusRare{}) {
		e.rare = &r
	}
	return e
}

// Status is the update the entry records, without its data, for the
// task with the given ids.
func (e *StatusEntry) Status(ids taskIDs) mesos.TaskStatus {
	taskID := ids.task
	s := mesos.TaskStatus{TaskID: mesos.TaskID{Value: taskID}, State: e.State(), Timestamp: e.timestamp,
		UUID: e.uuid, AgentID: e.agentID, ExecutorID: e.executorID}
	if e.own&ownAgentID != 0 {
		s.AgentID = &mesos.AgentID{Value: ids.agent}
	}
	if e.own&ownExecutorID != 0 {
		s.ExecutorID = &mesos.ExecutorID{Value: taskID}
	}
	if e.source > 0 {
		s.Source = entrySources[e.source-1]
	}
	if r := e.rare; r != nil {
		if r.taskID != nil {
			s.TaskID.Value = *r.taskID
		}
		if e.source == 0 {
			s.Source = r.source
		}
		s.Message, s.Reason, s.Healthy, s.Labels = r.message, r.reason, r.healthy, r.labels
		s.ContainerStatus, s.UnreachableTime, s.CheckStatus, s.Limitation = r.containerStatus, r.unreachableTime, r.checkStatus, r.limitation
	}
	return s
}

// State is the task state the entry records.
func (e *StatusEntry) State() mesos.TaskState {
	switch {
	case e.state > 0:
		return entryStates[e.state-1]
	case e.rare != nil:
		return e.rare.state
	}
	return ""
}

// Timestamp is when the update was made (seconds since the epoch).
func (e *StatusEntry) Timestamp() float64 { return e.timestamp }

// entries keeps a history of mesos.TaskStatus values as entries.
func entries(hist []mesos.TaskStatus, ids taskIDs) []StatusEntry {
	if hist == nil {
		return nil
	}
	out := make([]StatusEntry, len(hist))
	for i, s := range hist {
		out[i] = newStatusEntry(s, ids)
	}
	return out
}

// History is the task's status history as mesos.TaskStatus values
// (without data), oldest first.
func (t *Task) History() []mesos.TaskStatus {
	if t.Statuses == nil {
		return nil
	}
	out := make([]mesos.TaskStatus, len(t.Statuses))
	ids := t.ids()
	for i := range t.Statuses {
		out[i] = t.Statuses[i].Status(ids)
	}
	return out
}

// interned are the strings every task repeats that come from a fixed
// set; intern returns their one shared copy.
var interned = func() map[string]string {
	m := map[string]string{}
	for _, s := range []string{
		mesos.SourceMaster, mesos.SourceAgent, mesos.SourceExecutor,
		mesos.ReasonCommandExecutorFailed, mesos.ReasonContainerLaunchFailed, mesos.ReasonContainerLimitation,
		mesos.ReasonContainerLimitationMem, mesos.ReasonExecutorTerminated, mesos.ReasonExecutorRegistrationTO,
		mesos.ReasonFrameworkRemoved, mesos.ReasonInvalidOffers, mesos.ReasonReconciliation, mesos.ReasonAgentDisconnected,
		mesos.ReasonAgentRemoved, mesos.ReasonAgentRestarted, mesos.ReasonAgentReregistered, mesos.ReasonAgentUnknown,
		mesos.ReasonAgentRemovedByOperator, mesos.ReasonTaskInvalid, mesos.ReasonTaskUnauthorized, mesos.ReasonTaskUnknown,
		mesos.ReasonTaskKilledDuringLaunch, mesos.ReasonMasterDisconnected, mesos.ReasonGCError,
		mesos.ReasonTaskCheckStatusUpdated, mesos.ReasonTaskHealthCheckStatusUpdated, mesos.ReasonMaxCompletionTimeReached,
	} {
		m[s] = s
	}
	// Resource names and types, and the default role, every launch
	// repeats.
	for _, s := range []string{"cpus", "mem", "disk", "gpus", "ports", "SCALAR", "RANGES", "SET", "*"} {
		m[s] = s
	}
	for _, s := range []mesos.TaskState{mesos.TaskStaging, mesos.TaskStarting, mesos.TaskRunning, mesos.TaskKilling,
		mesos.TaskFinished, mesos.TaskFailed, mesos.TaskKilled, mesos.TaskError, mesos.TaskLost, mesos.TaskDropped,
		mesos.TaskUnreachable, mesos.TaskGone, mesos.TaskGoneByOperator, mesos.TaskUnknown} {
		m[string(s)] = string(s)
	}
	return m
}()

// intern returns the shared copy of s when s is one of the interned
// strings, else s.
func intern(s string) string {
	if c, ok := interned[s]; ok {
		return c
	}
	return s
}

// shareStrings points the strings of a task about to be launched that
// repeat what the state holds already at one copy: its framework's and
// agent's ids, its own id where its TaskInfo repeats it, its roles where
// they are its framework's, and its resources' names and types. A leader
// holds every task it knows, each decoded from its own log entry.
func shareStrings(st *State, t *Task) {
	var roles []string
	if fw := st.Framework(t.FrameworkID); fw != nil {
		t.FrameworkID = fw.ID
		roles = append([]string{fw.Info.Role}, fw.Info.Roles...)
	}
	if a := st.Agent(t.AgentID); a != nil {
		t.AgentID = a.ID
	}
	t.Role = sameString(t.Role, roles)
	info := &t.Info
	info.TaskID.Value = sameString(info.TaskID.Value, []string{t.TaskID})
	info.Name = sameString(info.Name, []string{t.TaskID})
	info.AgentID.Value = sameString(info.AgentID.Value, []string{t.AgentID})
	for i := range info.Resources {
		r := &info.Resources[i]
		r.Name, r.Type, r.Role = intern(r.Name), intern(r.Type), sameString(intern(r.Role), roles)
		if r.AllocationInfo != nil {
			r.AllocationInfo.Role = sameString(intern(r.AllocationInfo.Role), roles)
		}
	}
}

// sameString returns the one of candidates equal to s, else s.
func sameString(s string, candidates []string) string {
	for _, c := range candidates {
		if c == s {
			return c
		}
	}
	return s
}
