// Package agentapi is the internal wire protocol between mesh agents and
// the leading server: HTTP + JSON with the same RecordIO streaming as the
// scheduler API.
//
// The agent POSTs a SUBSCRIBE call (its registration, with what it is
// running) to /internal/v1/agent and reads a RecordIO stream of Events
// (REGISTERED first, then commands). Status updates go in separate UPDATE
// calls, answered 200 only once the server has committed them.
package agentapi

import (
	"encoding/json"
	"io"
	"slices"
	"time"

	"mesh/mesos"
)

// Path is the server endpoint agents talk to.
const Path = "/internal/v1/agent"

// Call types.
const (
	CallSubscribe = "SUBSCRIBE"
	CallUpdate    = "UPDATE"
	// CallExecutorExited tells the server an executor ended (a custom
	// one or the default executor of task groups); the agent sends it
	// again until the server answers.
	CallExecutorExited = "EXECUTOR_EXITED"
	// CallMessage relays an executor's message to its framework (best
	// effort).
	CallMessage = "MESSAGE"
	// CallPong answers a PING event (agents with CapabilityPing only).
	CallPong = "PONG"
)

// CapabilityPing, advertised in Subscribe.Capabilities, says the agent
// answers every PING event with a PONG call. The leader counts missed
// pongs only for agents that advertise it: an agent of an older version,
// which ignores PING, is not marked unreachable for its silence during a
// rolling upgrade; the leader relies on its stream's end instead.
const CapabilityPing = "PING"

// CapabilityExecutors, advertised in Subscribe.Capabilities, says the
// agent lists in Subscribe.Executors every executor it runs (Mesos'
// executor_infos): the leader then forgets the executors the agent no
// longer runs. An agent of an older version lists none and the leader
// keeps its records.
const CapabilityExecutors = "EXECUTORS"

// CapabilityPongStream, advertised by the leader in
// Registered.Capabilities, says the agent may answer PINGs on a stream
// of its own instead of one PONG call each: a POST to Path with
// Content-Type PongStreamContentType whose chunked body is RecordIO
// records of PONG calls, the first sent at once. The leader answers 200
// once the first record names an agent subscribed to it and reads the
// records as they come; the response's body stays empty unless the
// leader ends the stream, when it says why. An idle agent then holds no
// call connection open: the leader keeps a stream's socket in its epoll
// set, not a goroutine and buffers. An older leader does not advertise
// it, and its agents answer with PONG calls.
const CapabilityPongStream = "PONG_STREAM"

// PongStreamContentType and PongStreamMessageType are the Content-Type
// and Message-Content-Type of a stream of PONG calls (the headers Mesos
// gives a streamed request of RecordIO records).
const (
	PongStreamContentType = "application/recordio"
	PongStreamMessageType = "application/json"
)

// Call is one request from an agent to the server.
type Call struct {
	Type           string          `json:"type"`
	AgentID        *mesos.AgentID  `json:"agent_id,omitempty"`
	Subscribe      *Subscribe      `json:"subscribe,omitempty"`
	Update         *Update         `json:"update,omitempty"`
	ExecutorExited *ExecutorExited `json:"executor_exited,omitempty"`
	Message        *Message        `json:"message,omitempty"`
}

// ExecutorExited says a framework's custom executor ended, with its
// status as waitpid reports it (exit code << 8, or the signal number),
// -1 when unknown.
type ExecutorExited struct {
	FrameworkID mesos.FrameworkID `json:"framework_id"`
	ExecutorID  mesos.ExecutorID  `json:"executor_id"`
	Status      int32             `json:"status"`
}

// Message is a framework message between a framework and one of its
// executors, either way: MESSAGE calls carry an executor's to the server,
// MESSAGE events a framework's to the agent.
type Message struct {
	FrameworkID mesos.FrameworkID `json:"framework_id"`
	ExecutorID  mesos.ExecutorID  `json:"executor_id"`
	Data        mesos.Bytes       `json:"data"`
}

// Subscribe registers (or re-registers, when AgentInfo.ID is set) an agent.
type Subscribe struct {
	AgentInfo mesos.AgentInfo `json:"agent_info"`
	// Version is the agent's mesh version.
	Version string `json:"version,omitempty"`
	// Tasks lists every task the agent knows that is not yet acknowledged
	// terminal, with its latest state, so a new leader can reconcile.
	Tasks []Task `json:"tasks,omitempty"`
	// Executors lists the executors the agent runs (custom executors and
	// default executors of task groups; not its command executors), each
	// with its framework_id, when it has CapabilityExecutors.
	Executors []mesos.ExecutorInfo `json:"executor_infos,omitempty"`
	// ExitingExecutors lists the executors that ended but whose
	// EXECUTOR_EXITED the server has not answered yet (with
	// CapabilityExecutors): their records stay for that call to remove,
	// but are not made again.
	ExitingExecutors []mesos.ExecutorInfo `json:"exiting_executor_infos,omitempty"`
	// Capabilities lists the protocol features the agent supports
	// (CapabilityPing, CapabilityExecutors).
	Capabilities []string `json:"capabilities,omitempty"`
	// CheckpointedResources are the dynamic reservations and persistent
	// volumes the agent holds from before; the leader's record wins, and
	// a difference is logged.
	CheckpointedResources []mesos.Resource `json:"checkpointed_resources,omitempty"`
}

// HasCapability reports whether the agent advertised capability c.
func (s *Subscribe) HasCapability(c string) bool { return slices.Contains(s.Capabilities, c) }

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

// UpdateResult is the server's answer to an UPDATE call it committed. A
// server sends no body when it has nothing to add (an older one, say).
type UpdateResult struct {
	// ResendAfterSeconds, when positive, is how long the agent should
	// wait before it sends these updates again unacknowledged: the server
	// has passed them on to their frameworks (or will when they
	// subscribe) and would not pass a resend on again before then, so a
	// resend sooner only costs a call.
	ResendAfterSeconds float64 `json:"resend_after_seconds,omitempty"`
}

// maxUpdateResultBytes bounds the body of an UPDATE's answer an agent
// reads.
const maxUpdateResultBytes = 4096

// ResendAfter reads an UPDATE's answer: how long the server asked the
// agent not to resend the updates. An empty body (an older server), one
// that does not decode or a value that is not a positive number of
// seconds asks nothing (0); no server asks more than
// MaxStatusRetryInterval.
func ResendAfter(body io.Reader) time.Duration {
	var res UpdateResult
	b, err := io.ReadAll(io.LimitReader(body, maxUpdateResultBytes))
	if err != nil || len(b) == 0 || json.Unmarshal(b, &res) != nil {
		return 0
	}
	s := res.ResendAfterSeconds
	switch {
	case !(s > 0):
		return 0
	case s >= MaxStatusRetryInterval.Seconds():
		return MaxStatusRetryInterval
	}
	return time.Duration(s * float64(time.Second))
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
	// EventMessage carries a framework's message for one of its
	// executors.
	EventMessage = "MESSAGE"
	// EventShutdownExecutor asks the agent to shut one executor down
	// (the framework's SHUTDOWN call).
	EventShutdownExecutor = "SHUTDOWN_EXECUTOR"
	// EventPing asks the agent to answer with a PONG call; the leader
	// marks unreachable an agent that misses too many in a row.
	EventPing = "PING"
	// EventCheckpointResources tells the agent its dynamic reservations
	// and persistent volumes, as the replicated state holds them: sent
	// after REGISTERED and after every operation that changes them, and
	// always before a LAUNCH that uses them.
	EventCheckpointResources = "CHECKPOINT_RESOURCES"
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
	Message           *Message           `json:"message,omitempty"`
	ShutdownExecutor  *ShutdownExecutor  `json:"shutdown_executor,omitempty"`
	// CheckpointResources is the body of CHECKPOINT_RESOURCES.
	CheckpointResources *CheckpointResources `json:"checkpoint_resources,omitempty"`
	// Ping is the body of a PING, absent while every earlier one was
	// answered.
	Ping *Ping `json:"ping,omitempty"`
}

// Ping tells an agent how many PINGs in a row before this one went
// unanswered: an agent that answered them on a pong stream learns that
// its answers are not arriving, and answers with calls instead.
type Ping struct {
	Unanswered int `json:"unanswered"`
}

// CheckpointResources is every dynamic reservation and persistent volume
// of the agent: the agent keeps exactly these, creating the directory of
// each new volume and removing those of volumes no longer listed.
type CheckpointResources struct {
	Resources []mesos.Resource `json:"resources"`
}

// ShutdownExecutor asks the agent to shut an executor down: it is sent
// SHUTDOWN and destroyed after its shutdown grace period.
type ShutdownExecutor struct {
	FrameworkID mesos.FrameworkID `json:"framework_id"`
	ExecutorID  mesos.ExecutorID  `json:"executor_id"`
}

// Registered tells the agent its id and the leader's heartbeat interval.
type Registered struct {
	AgentID                  mesos.AgentID    `json:"agent_id"`
	MasterInfo               mesos.MasterInfo `json:"master_info"`
	HeartbeatIntervalSeconds float64          `json:"heartbeat_interval_seconds"`
	// Capabilities are the leader's (CapabilityPongStream).
	Capabilities []string `json:"capabilities,omitempty"`
}

// HasCapability reports whether the leader advertised c.
func (r *Registered) HasCapability(c string) bool { return slices.Contains(r.Capabilities, c) }

// Launch asks the agent to run tasks of one framework.
type Launch struct {
	FrameworkInfo mesos.FrameworkInfo `json:"framework_info"`
	Tasks         []mesos.TaskInfo    `json:"tasks"`
	// Executor, when set, makes Tasks one task group (LAUNCH_GROUP) for
	// this executor, of type DEFAULT: the tasks start together in it.
	Executor *mesos.ExecutorInfo `json:"executor,omitempty"`
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
