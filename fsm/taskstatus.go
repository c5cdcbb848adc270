package fsm

import (
	"encoding/json"

	msgpack "github.com/hashicorp/go-msgpack/v2/codec"

	"mesh/mesos"
)

// StatusEntry is one update of a task's status history. A leader keeps a
// history for every task it knows, so an entry holds only what an update
// says, compactly: the fields most updates leave empty are kept apart,
// and the strings that come from a fixed set (states, sources, reasons)
// point at one shared copy. It encodes, in a snapshot or a log entry,
// exactly as the mesos.TaskStatus it stands for (Status).
type StatusEntry struct {
	taskID     string // shared with the task's own id
	state      mesos.TaskState
	source     string
	timestamp  float64
	uuid       mesos.Bytes // shared with the task's latest status
	agentID    *mesos.AgentID
	executorID *mesos.ExecutorID
	rare       *statusRare
}

// statusRare are the fields of an update that most updates leave empty.
type statusRare struct {
	message         string
	reason          string
	healthy         *bool
	labels          *mesos.Labels
	containerStatus *mesos.ContainerStatus
	unreachableTime *mesos.TimeInfo
	checkStatus     *mesos.CheckStatusInfo
	limitation      *mesos.TaskResourceLimitation
}

// newStatusEntry keeps s, but for its data, as a history entry. The
// entry shares s's ids, uuid and optional fields: neither is ever
// mutated in place.
func newStatusEntry(s mesos.TaskStatus) StatusEntry {
	e := StatusEntry{taskID: s.TaskID.Value, state: mesos.TaskState(intern(string(s.State))), source: intern(s.Source),
		timestamp: s.Timestamp, uuid: s.UUID, agentID: s.AgentID, executorID: s.ExecutorID}
	r := statusRare{message: s.Message, reason: intern(s.Reason), healthy: s.Healthy, labels: s.Labels,
		containerStatus: s.ContainerStatus, unreachableTime: s.UnreachableTime, checkStatus: s.CheckStatus, limitation: s.Limitation}
	if r != (statusRare{}) {
		e.rare = &r
	}
	return e
}

// Status is the update the entry records, without its data.
func (e *StatusEntry) Status() mesos.TaskStatus {
	s := mesos.TaskStatus{TaskID: mesos.TaskID{Value: e.taskID}, State: e.state, Source: e.source, Timestamp: e.timestamp,
		UUID: e.uuid, AgentID: e.agentID, ExecutorID: e.executorID}
	if r := e.rare; r != nil {
		s.Message, s.Reason, s.Healthy, s.Labels = r.message, r.reason, r.healthy, r.labels
		s.ContainerStatus, s.UnreachableTime, s.CheckStatus, s.Limitation = r.containerStatus, r.unreachableTime, r.checkStatus, r.limitation
	}
	return s
}

// State is the task state the entry records.
func (e *StatusEntry) State() mesos.TaskState { return e.state }

// Timestamp is when the update was made (seconds since the epoch).
func (e *StatusEntry) Timestamp() float64 { return e.timestamp }

// MarshalJSON writes the entry as its mesos.TaskStatus.
func (e StatusEntry) MarshalJSON() ([]byte, error) { return json.Marshal(e.Status()) }

// UnmarshalJSON reads a mesos.TaskStatus (its data dropped).
func (e *StatusEntry) UnmarshalJSON(b []byte) error {
	var s mesos.TaskStatus
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	*e = newStatusEntry(s)
	return nil
}

// CodecEncodeSelf writes the entry in MessagePack as its
// mesos.TaskStatus.
func (e *StatusEntry) CodecEncodeSelf(enc *msgpack.Encoder) {
	s := e.Status()
	enc.MustEncode(&s)
}

// CodecDecodeSelf reads a mesos.TaskStatus in MessagePack.
func (e *StatusEntry) CodecDecodeSelf(dec *msgpack.Decoder) {
	var s mesos.TaskStatus
	dec.MustDecode(&s)
	*e = newStatusEntry(s)
}

// History is the task's status history as mesos.TaskStatus values
// (without data), oldest first.
func (t *Task) History() []mesos.TaskStatus {
	out := make([]mesos.TaskStatus, len(t.Statuses))
	for i := range t.Statuses {
		out[i] = t.Statuses[i].Status()
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
