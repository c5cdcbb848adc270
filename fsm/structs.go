package fsm

import "mesh/mesos"

// MessageType is the first byte of every log entry. Types are appended at
// the end and never renumbered: an old log must replay on a new binary.
// They stay below 64: the byte's two high bits are flags
// (IgnoreUnknownTypeFlag, MsgpackFlag).
type MessageType uint8

// Log entry types.
const (
	ClusterInitRequestType         MessageType = 0
	ServerAnnounceRequestType      MessageType = 1
	FrameworkRegisterRequestType   MessageType = 2
	FrameworkDisconnectRequestType MessageType = 3
	FrameworkRemoveRequestType     MessageType = 4
	AgentRegisterRequestType       MessageType = 5
	AgentStateRequestType          MessageType = 6
	OffersCreateRequestType        MessageType = 7
	OffersRemoveRequestType        MessageType = 8
	TaskLaunchRequestType          MessageType = 9
	StatusUpdateRequestType        MessageType = 10
	StatusAckRequestType           MessageType = 11
	HistoryPruneRequestType        MessageType = 12
	AgentRegisterBatchRequestType  MessageType = 13
	OfferSuppressionRequestType    MessageType = 14
	WeightsUpdateRequestType       MessageType = 15
	QuotaUpdateRequestType         MessageType = 16
	AgentDrainRequestType          MessageType = 17
	ExecutorRemoveRequestType      MessageType = 18
	AcceptOperationsRequestType    MessageType = 19
	AgentOperationsRequestType     MessageType = 20
	OperationAckRequestType        MessageType = 21
	MaintenanceScheduleRequestType MessageType = 24
	MaintenanceStartRequestType    MessageType = 25
	MaintenanceStopRequestType     MessageType = 26
	InverseOfferStatusRequestType  MessageType = 27
)

// IgnoreUnknownTypeFlag marks an entry an older binary may skip instead of
// refusing to apply it.
const IgnoreUnknownTypeFlag MessageType = 128

// Agent states.
const (
	AgentActive      = "active"
	AgentUnreachable = "unreachable"
	AgentGone        = "gone"
)

// Meta is cluster-wide bookkeeping.
type Meta struct {
	ClusterID string
	// NextFramework and NextAgent are the sequence numbers the next
	// framework and agent ids use; the leader reads them and the Apply of
	// the registering command advances them.
	NextFramework uint64
	NextAgent     uint64
	// Weights are the role weights operators set (UPDATE_WEIGHTS); a
	// role not listed weighs 1.
	Weights map[string]float64 `json:",omitempty"`
	// Quotas are the role quotas operators set (UPDATE_QUOTA), by role.
	Quotas map[string]QuotaConfig `json:",omitempty"`
	// Maintenance is the maintenance schedule and where each of its
	// machines stands (nil: no machine is scheduled).
	Maintenance *Maintenance `json:",omitempty"`
}

// Server is a member of the quorum as it announced itself.
type Server struct {
	ID       string // raft server id
	RaftAddr string
	HTTPAddr string
}

// Framework is a registered framework.
type Framework struct {
	ID             string
	Info           mesos.FrameworkInfo
	RegisteredAt   int64 // unix nanoseconds
	ReregisteredAt int64
	// Connected is true while the framework has a subscription stream to
	// the leader. A new leader treats every framework as disconnected until
	// it resubscribes.
	Connected bool
	// FailoverDeadline is when a disconnected framework is removed (unix
	// nanoseconds; 0 while connected). It is replicated so a new leader
	// re-arms the same timer.
	FailoverDeadline int64
	DisconnectedAt   int64
	Removed          bool
	RemovedAt        int64
	SuppressedRoles  []string
	// OfferConstraints are the constraints of the framework's latest
	// SUBSCRIBE or UPDATE_FRAMEWORK, kept beside its FrameworkInfo.
	OfferConstraints *mesos.OfferConstraints `json:",omitempty"`
}

// Agent is a registered agent.
type Agent struct {
	ID             string
	Info           mesos.AgentInfo
	Address        string // host:port of the agent's HTTP API
	Version        string
	State          string
	RegisteredAt   int64
	ReregisteredAt int64
	UnreachableAt  int64
	// Deactivated agents are offered to no framework (DEACTIVATE_AGENT,
	// DRAIN_AGENT) until REACTIVATE_AGENT; their tasks run on.
	Deactivated bool `json:",omitempty"`
	// Drain is set once the agent is asked to drain.
	Drain *DrainInfo `json:",omitempty"`
	// Checkpointed are the agent's dynamic reservations and persistent
	// volumes (see AgentTotal).
	Checkpointed mesos.Resources `json:",omitempty"`
}

// Offer is an outstanding offer.
type Offer struct {
	ID          string
	FrameworkID string
	AgentID     string
	Role        string
	Term        uint64
	Resources   mesos.Resources
	CreatedAt   int64
}

// Task is a launched task and what is known of it.
type Task struct {
	FrameworkID string
	TaskID      string
	AgentID     string
	Info        mesos.TaskInfo
	Role        string
	State       mesos.TaskState
	// status is the latest status update received, which Status returns,
	// when it is not the last entry of Statuses as it is: when it carries
	// data (or is noStatus: none despite a history). A leader holds a
	// task for every task it knows, and most updates carry no data.
	status *mesos.TaskStatus
	// Statuses is the history of states (without data), oldest first;
	// History lists it as mesos.TaskStatus values.
	Statuses []StatusEntry
	// PendingAck is the uuid of the latest reliable update not yet
	// acknowledged by the framework.
	PendingAck mesos.Bytes
	// Completed is set once the task is terminal and its terminal update
	// acknowledged (or its framework removed): its resources are free and
	// it is kept only for history.
	Completed  bool
	LaunchedAt int64
}

// Key returns the task's primary key.
func (t *Task) Key() string { return t.FrameworkID + "/" + t.TaskID }

// Copy returns a copy of t safe to mutate.
func (t *Task) Copy() *Task {
	c := *t
	if t.status != nil && t.status != noStatus {
		s := *t.status
		c.status = &s
	}
	c.Statuses = append([]StatusEntry(nil), t.Statuses...)
	c.PendingAck = append(mesos.Bytes(nil), t.PendingAck...)
	return &c
}

// ClusterInitRequest sets the cluster id, once, right after bootstrap.
type ClusterInitRequest struct {
	ClusterID string
}

// ServerAnnounceRequest records a server's addresses.
type ServerAnnounceRequest struct {
	Server Server
}

// FrameworkRegisterRequest adds a framework or updates a resubscribing one.
type FrameworkRegisterRequest struct {
	Framework Framework
	// New marks a framework registering for the first time; its id used
	// sequence number Seq, and Meta.NextFramework moves past it.
	New bool
	Seq uint64
}

// FrameworkDisconnectRequest records that a framework's stream closed.
type FrameworkDisconnectRequest struct {
	FrameworkID string
	At          int64
	Deadline    int64
}

// FrameworkRemoveRequest removes a framework (TEARDOWN or failover expiry):
// its offers go away and its live tasks are recorded as killed.
type FrameworkRemoveRequest struct {
	FrameworkID string
	At          int64
	Message     string
}

// AgentRegisterRequest adds an agent or re-registers a known one.
type AgentRegisterRequest struct {
	Agent Agent
	// New marks an agent registering for the first time; its id used
	// sequence number Seq, and Meta.NextAgent moves past it.
	New bool
	Seq uint64
	// ReportsExecutors is set when the agent reported the executors it
	// runs (Executors): the agent's executor records become those.
	ReportsExecutors bool                 `json:",omitempty"`
	Executors        []mesos.ExecutorInfo `json:",omitempty"`
	// Exiting are executors that ended whose exit the agent is still
	// sending: their records stay, for the exit to remove.
	Exiting []ExecutorRef `json:",omitempty"`
}

// AgentRegisterBatchRequest registers several agents in one entry, in
// order: after a leader change a data center's agents re-register at
// once, and one entry per agent would cost the log, and every server's
// state machine, thousands of entries.
type AgentRegisterBatchRequest struct {
	Agents []AgentRegisterRequest
}

// AgentStateRequest moves an agent to a new state. Moving to unreachable
// or gone records each of its live tasks with the given task state, or
// with PartitionAwareState for frameworks that are PARTITION_AWARE; the
// records of a framework's executors there are removed when that state
// is terminal, and all of them when the agent is gone.
type AgentStateRequest struct {
	AgentID             string
	State               string
	At                  int64
	TaskState           mesos.TaskState
	PartitionAwareState mesos.TaskState
	Reason              string
	Message             string
}

// OffersCreateRequest records the offers of one allocation round.
type OffersCreateRequest struct {
	Offers []Offer
}

// OffersRemoveRequest removes offers (declined, rescinded, expired).
type OffersRemoveRequest struct {
	OfferIDs []string
	// Filter, when set, filters the removed offers' resources from their
	// framework (a DECLINE with refuse_seconds).
	Filter *DeclineFilter `json:",omitempty"`
}

// TaskLaunchRequest consumes offers and launches tasks in one entry, so a
// launch is never lost or doubled by a failover. Apply re-checks that every
// offer still exists and belongs to the framework, and that the tasks fit.
type TaskLaunchRequest struct {
	FrameworkID string
	AgentID     string
	OfferIDs    []string
	Tasks       []Task
	At          int64
	// Filters are installed when the launch commits (the offers'
	// unused resources, filtered for the ACCEPT's refuse_seconds).
	Filters []OfferFilter `json:",omitempty"`
}

// StatusUpdate is one update from an agent (or the leader itself).
type StatusUpdate struct {
	FrameworkID string
	Status      mesos.TaskStatus
}

// StatusUpdateRequest records a batch of status updates.
type StatusUpdateRequest struct {
	Updates []StatusUpdate
}

// StatusAck is one framework acknowledgement.
type StatusAck struct {
	FrameworkID string
	TaskID      string
	UUID        mesos.Bytes
}

// StatusAckRequest records a batch of acknowledgements.
type StatusAckRequest struct {
	Acks []StatusAck
}

// HistoryPruneRequest forgets history the leader chose to drop to keep
// within its limits: completed tasks, and removed frameworks with all of
// their tasks. Anything not (or no longer) in that state is left alone.
type HistoryPruneRequest struct {
	Tasks      []TaskRef
	Frameworks []string
	// FiltersExpiredBy, when set, deletes every offer filter that has
	// expired by then (unix nanoseconds).
	FiltersExpiredBy int64 `json:",omitempty"`
}

// TaskRef names a task.
type TaskRef struct {
	FrameworkID string
	TaskID      string
}

// HistoryPruneResult counts what a prune removed.
type HistoryPruneResult struct {
	Tasks      int
	Frameworks int
	Filters    int
}

// StatusUpdateResult tells the leader what one update changed.
type StatusUpdateResult struct {
	// Known is false when no such task exists.
	Known bool
	// Duplicate is true when the update's uuid was already recorded, or
	// the task was already completed.
	Duplicate bool
	// WasCompleted is true when the task was completed before this update:
	// the update changed nothing and nobody will acknowledge it.
	WasCompleted bool
	// BecameTerminal is true when this update moved the task to a terminal
	// state: its resources are free now.
	BecameTerminal bool
	AgentID        string
	Role           string
	Resources      mesos.Resources
}

// AckResult tells the leader what one acknowledgement did.
type AckResult struct {
	Matched bool
	AgentID string
}

// FrameworkRemoveResult lists what the removal freed.
type FrameworkRemoveResult struct {
	Offers    []Offer
	Tasks     []Task     // live tasks at removal, now recorded TASK_KILLED
	Executors []Executor // its executors, whose records are removed
}

// AgentStateResult lists the tasks whose state changed, as they are now,
// and the executors whose records were removed.
type AgentStateResult struct {
	Tasks     []Task
	Executors []Executor
}
