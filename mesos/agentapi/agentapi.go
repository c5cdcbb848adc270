// Package agentapi is the internal wire protocol between mesh agents and
// the leading server: HTTP + JSON with the same RecordIO streaming as the
// scheduler API.
//
// The agent POSTs a SUBSCRIBE call (its registration, with what it is
// running) to /internal/v1/agent and reads a RecordIO stream of Events
// (REGISTERED first, then commands). Status updates go in separate UPDATE
// calls, answered 200 only once the server has committed them.
package agentapi

import "mesh/mesos"

// Path is the server endpoint agents talk to.
const Path = "/internal/v1/agent"

// Call types.
const (
	CallSubscribe = "SUBSCRIBE"
	CallUpdate    = "UPDATE"
	// CallPong answers a PING event (agents with CapabilityPing only).
	CallPong = "PONG"
)

// CapabilityPing, advertised in Subscribe.Capabilities, says the agent
// answers every PING event with a PONG call. The leader counts missed
// pongs only for agents that advertise it: an agent of an older version,
// which ignores PING, is not marked unreachable for its silence during a
// rolling upgrade; the leader relies on its stream's end instead.
const CapabilityPing = "PING"

// Call is one request from an agent to the server.
type Call struct {
	Type      string         `json:"type"`
	AgentID   *mesos.AgentID `json:"agent_id,omitempty"`
	Subscribe *Subscribe     `json:"subscribe,omitempty"`
	Update    *Update        `json:"update,omitempty"`
}

// Subscribe registers (or re-registers, when AgentInfo.ID is set) an agent.
type Subscribe struct {
	AgentInfo mesos.AgentInfo `json:"agent_info"`
	// Version is the agent's mesh version.
	Version string `json:"version,omitempty"`
	// Tasks lists every task the agent knows that is not yet acknowledged
	// terminal, with its latest state, so a new leader can reconcile.
	Tasks []Task `json:"tasks,omitempty"`
	// Capabilities lists the protocol features the agent supports
	// (CapabilityPing).
	Capabilities []string `json:"capabilities,omitempty"`
}

// HasCapability reports whether the agent advertised capability c.
func (s *Subscribe) HasCapability(c string) bool {
	for _, have := range s.Capabilities {
		if have == c {
			return true
		}
	}
	return false
}

// Task is what an agent reports of one task.
type Task struct {
	FrameworkID mesos.FrameworkID `json:"framework_id"`
	TaskID      mesos.TaskID      `json:"task_id"`
	State       mesos.TaskState   `json:"state"`
}

// StatusUpdate is one task status update travelling from agent to server.
type StatusUpdate struct {
	FrameworkID mesos.FrameworkID `json:"framework_id"`
	Status      mesos.TaskStatus  `json:"status"`
}

// Update carries a batch of status updates.
type Update struct {
	Updates []StatusUpdate `json:"updates"`
}

// Event types sent to agents.
const (
	EventRegistered        = "REGISTERED"
	EventLaunch            = "LAUNCH"
	EventKill              = "KILL"
	EventShutdownFramework = "SHUTDOWN_FRAMEWORK"
	EventAcknowledge       = "ACKNOWLEDGE"
	EventHeartbeat         = "HEARTBEAT"
	EventError             = "ERROR"
	// EventPing asks the agent to answer with a PONG call; the leader
	// marks unreachable an agent that misses too many in a row.
	EventPing = "PING"
)

// Event is one record of an agent's stream. Every command carries the
// Raft term of the leader that sent it; an agent ignores commands older
// than the newest term it has seen.
type Event struct {
	Type string `json:"type"`
	Term uint64 `json:"term,omitempty"`

	Registered        *Registered        `json:"registered,omitempty"`
	Launch            *Launch            `json:"launch,omitempty"`
	Kill              *Kill              `json:"kill,omitempty"`
	ShutdownFramework *ShutdownFramework `json:"shutdown_framework,omitempty"`
	Acknowledge       *Acknowledge       `json:"acknowledge,omitempty"`
	Error             *Error             `json:"error,omitempty"`
}

// Registered tells the agent its id and the leader's heartbeat interval.
type Registered struct {
	AgentID                  mesos.AgentID    `json:"agent_id"`
	MasterInfo               mesos.MasterInfo `json:"master_info"`
	HeartbeatIntervalSeconds float64          `json:"heartbeat_interval_seconds"`
}

// Launch asks the agent to run tasks of one framework.
type Launch struct {
	FrameworkInfo mesos.FrameworkInfo `json:"framework_info"`
	Tasks         []mesos.TaskInfo    `json:"tasks"`
}

// Kill asks the agent to kill one task.
type Kill struct {
	FrameworkID mesos.FrameworkID `json:"framework_id"`
	TaskID      mesos.TaskID      `json:"task_id"`
	KillPolicy  *mesos.KillPolicy `json:"kill_policy,omitempty"`
}

// ShutdownFramework asks the agent to kill every task of a framework and
// forget it.
type ShutdownFramework struct {
	FrameworkID mesos.FrameworkID `json:"framework_id"`
}

// Acknowledge relays a framework's acknowledgement of a status update.
type Acknowledge struct {
	FrameworkID mesos.FrameworkID `json:"framework_id"`
	TaskID      mesos.TaskID      `json:"task_id"`
	UUID        mesos.Bytes       `json:"uuid"`
}

// Error tells the agent why it was refused; the stream closes after it.
type Error struct {
	Message string `json:"message"`
}
