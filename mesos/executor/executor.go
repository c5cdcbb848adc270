// Package executor holds the Call and Event types of the Mesos v1
// Executor HTTP API (POST /api/v1/executor on the agent).
package executor

import "mesh/mesos"

// Call types.
const (
	CallUnknown   = "UNKNOWN"
	CallSubscribe = "SUBSCRIBE"
	CallUpdate    = "UPDATE"
	CallMessage   = "MESSAGE"
	CallHeartbeat = "HEARTBEAT"
)

// Call is one request from an executor to its agent.
type Call struct {
	ExecutorID  *mesos.ExecutorID  `json:"executor_id"`
	FrameworkID *mesos.FrameworkID `json:"framework_id"`
	Type        string             `json:"type"`

	Subscribe *Subscribe `json:"subscribe,omitempty"`
	Update    *Update    `json:"update,omitempty"`
	Message   *Message   `json:"message,omitempty"`
}

// Subscribe is the body of SUBSCRIBE; a resubscribing executor lists what
// the agent may not have seen.
type Subscribe struct {
	UnacknowledgedTasks   []mesos.TaskInfo `json:"unacknowledged_tasks,omitempty"`
	UnacknowledgedUpdates []Update         `json:"unacknowledged_updates,omitempty"`
}

// Update carries one status update.
type Update struct {
	Status *mesos.TaskStatus `json:"status"`
}

// Message carries framework data.
type Message struct {
	Data mesos.Bytes `json:"data"`
}

// Event types.
const (
	EventSubscribed   = "SUBSCRIBED"
	EventLaunch       = "LAUNCH"
	EventLaunchGroup  = "LAUNCH_GROUP"
	EventKill         = "KILL"
	EventAcknowledged = "ACKNOWLEDGED"
	EventMessage      = "MESSAGE"
	EventError        = "ERROR"
	EventShutdown     = "SHUTDOWN"
	EventHeartbeat    = "HEARTBEAT"
)

// Event is one record of the executor's SUBSCRIBE stream.
type Event struct {
	Type string `json:"type"`

	Subscribed   *Subscribed   `json:"subscribed,omitempty"`
	Launch       *Launch       `json:"launch,omitempty"`
	LaunchGroup  *LaunchGroup  `json:"launch_group,omitempty"`
	Kill         *Kill         `json:"kill,omitempty"`
	Acknowledged *Acknowledged `json:"acknowledged,omitempty"`
	Message      *Message      `json:"message,omitempty"`
	Error        *Error        `json:"error,omitempty"`
}

// Subscribed is the first event.
type Subscribed struct {
	ExecutorInfo  mesos.ExecutorInfo  `json:"executor_info"`
	FrameworkInfo mesos.FrameworkInfo `json:"framework_info"`
	AgentInfo     mesos.AgentInfo     `json:"agent_info"`
	ContainerID   *mesos.ContainerID  `json:"container_id,omitempty"`
}

// Launch asks the executor to start a task.
type Launch struct {
	Task mesos.TaskInfo `json:"task"`
}

// LaunchGroup asks the executor to start a task group.
type LaunchGroup struct {
	TaskGroup mesos.TaskGroupInfo `json:"task_group"`
}

// Kill asks the executor to kill a task.
type Kill struct {
	TaskID     mesos.TaskID      `json:"task_id"`
	KillPolicy *mesos.KillPolicy `json:"kill_policy,omitempty"`
}

// Acknowledged tells the executor the agent stored an update.
type Acknowledged struct {
	TaskID mesos.TaskID `json:"task_id"`
	UUID   mesos.Bytes  `json:"uuid"`
}

// Error reports a problem.
type Error struct {
	Message string `json:"message"`
}
