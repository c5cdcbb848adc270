package master

import "mesh/mesos"

// Event types of the operator event stream, as master.proto names them.
const (
	EventSubscribed       = "SUBSCRIBED"
	EventTaskAdded        = "TASK_ADDED"
	EventTaskUpdated      = "TASK_UPDATED"
	EventAgentAdded       = "AGENT_ADDED"
	EventAgentRemoved     = "AGENT_REMOVED"
	EventFrameworkAdded   = "FRAMEWORK_ADDED"
	EventFrameworkUpdated = "FRAMEWORK_UPDATED"
	EventFrameworkRemoved = "FRAMEWORK_REMOVED"
	EventHeartbeat        = "HEARTBEAT"
)

// Event is one event of the stream a SUBSCRIBE call opens.
type Event struct {
	Type             string            `json:"type"`
	Subscribed       *Subscribed       `json:"subscribed,omitempty"`
	TaskAdded        *TaskAdded        `json:"task_added,omitempty"`
	TaskUpdated      *TaskUpdated      `json:"task_updated,omitempty"`
	AgentAdded       *AgentAdded       `json:"agent_added,omitempty"`
	AgentRemoved     *AgentRemoved     `json:"agent_removed,omitempty"`
	FrameworkAdded   *FrameworkEvent   `json:"framework_added,omitempty"`
	FrameworkUpdated *FrameworkEvent   `json:"framework_updated,omitempty"`
	FrameworkRemoved *FrameworkRemoved `json:"framework_removed,omitempty"`
}

// Subscribed is the first event: the whole state, from which the events
// that follow are changes.
type Subscribed struct {
	GetState                 *GetState `json:"get_state,omitempty"`
	HeartbeatIntervalSeconds float64   `json:"heartbeat_interval_seconds,omitempty"`
}

// TaskAdded carries a task just launched.
type TaskAdded struct {
	Task Task `json:"task"`
}

// TaskUpdated carries a task's new status and its latest state.
type TaskUpdated struct {
	FrameworkID mesos.FrameworkID `json:"framework_id"`
	Status      mesos.TaskStatus  `json:"status"`
	State       mesos.TaskState   `json:"state"`
}

// AgentAdded carries an agent that registered (or came back).
type AgentAdded struct {
	Agent Agent `json:"agent"`
}

// AgentRemoved names an agent that left (unreachable or gone).
type AgentRemoved struct {
	AgentID mesos.AgentID `json:"agent_id"`
}

// FrameworkEvent carries a framework added or updated.
type FrameworkEvent struct {
	Framework Framework `json:"framework"`
}

// FrameworkRemoved carries a framework torn down or failed over.
type FrameworkRemoved struct {
	FrameworkInfo mesos.FrameworkInfo `json:"framework_info"`
}
