package master

import (
	"time"

	"mesh/mesos"
)

// ProtoDuration is a google.protobuf.Duration in the JSON form Mesos'
// master reads it: {"seconds": S, "nanos": N}.
type ProtoDuration struct {
	Seconds int64 `json:"seconds,omitempty"`
	Nanos   int32 `json:"nanos,omitempty"`
}

// Duration returns d as a time.Duration.
func (d ProtoDuration) Duration() time.Duration {
	return time.Duration(d.Seconds)*time.Second + time.Duration(d.Nanos)
}

// DrainAgent deactivates an agent and kills its tasks, each with its kill
// policy's grace period capped by MaxGracePeriod; MarkGone marks the
// agent gone once it is drained.
type DrainAgent struct {
	AgentID        *mesos.AgentID `json:"agent_id"`
	MaxGracePeriod *ProtoDuration `json:"max_grace_period,omitempty"`
	MarkGone       bool           `json:"mark_gone,omitempty"`
}

// DeactivateAgent stops offers of an agent's resources; its tasks run on.
type DeactivateAgent struct {
	AgentID *mesos.AgentID `json:"agent_id"`
}

// ReactivateAgent resumes offers of a deactivated or drained agent.
type ReactivateAgent struct {
	AgentID *mesos.AgentID `json:"agent_id"`
}

// Drain states, as mesos.proto's DrainState names them.
const (
	DrainStateDraining = "DRAINING"
	DrainStateDrained  = "DRAINED"
)

// DrainConfig is how an agent was asked to drain.
type DrainConfig struct {
	MaxGracePeriod *mesos.DurationInfo `json:"max_grace_period,omitempty"`
	MarkGone       bool                `json:"mark_gone"`
}

// DrainInfo is where an agent's drain stands.
type DrainInfo struct {
	State  string      `json:"state"`
	Config DrainConfig `json:"config"`
}
