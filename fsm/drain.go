package fsm

import (
	"fmt"

	"github.com/hashicorp/go-memdb"
)

// Agent drain states, as Mesos' DrainState names them.
const (
	DrainDraining = "DRAINING"
	DrainDrained  = "DRAINED"
)

// Agent drain operations.
const (
	AgentDeactivate = "DEACTIVATE"
	AgentReactivate = "REACTIVATE"
	AgentDrain      = "DRAIN"
	AgentDrained    = "DRAINED"
)

// DrainInfo is where an agent's drain stands and how it was asked for.
type DrainInfo struct {
	State string
	// MaxGracePeriod caps the kill grace of the agent's tasks (nanoseconds;
	// nil: each task's own grace).
	MaxGracePeriod *int64 `json:",omitempty"`
	// MarkGone marks the agent gone once it is drained.
	MarkGone bool `json:",omitempty"`
}

// AgentDrainRequest deactivates, reactivates or drains an agent (an
// operator's DEACTIVATE_AGENT, REACTIVATE_AGENT, DRAIN_AGENT), or records
// that a draining agent is drained (every task on it terminal and its
// terminal update acknowledged), which the leader decides.
type AgentDrainRequest struct {
	AgentID        string
	Op             string
	MaxGracePeriod *int64 `json:",omitempty"`
	MarkGone       bool   `json:",omitempty"`
}

// ErrAgentDraining refuses to reactivate an agent that is still draining.
var ErrAgentDraining = fmt.Errorf("agent is still in the %s state", DrainDraining)

// ErrAgentNotDeactivated refuses to reactivate an agent that is active.
var ErrAgentNotDeactivated = fmt.Errorf("agent is not deactivated")

func applyAgentDrain(txn *memdb.Txn, req *AgentDrainRequest) any {
	st := &State{txn: txn}
	old := st.Agent(req.AgentID)
	if old == nil {
		return ErrUnknownAgent
	}
	if old.State == AgentGone {
		return ErrAgentGone
	}
	a := *old
	switch req.Op {
	case AgentDeactivate:
		a.Deactivated = true
	case AgentReactivate:
		if !a.Deactivated {
			return ErrAgentNotDeactivated
		}
		if a.Drain != nil && a.Drain.State == DrainDraining {
			return ErrAgentDraining
		}
		a.Deactivated, a.Drain = false, nil
	case AgentDrain:
		if req.MaxGracePeriod != nil && *req.MaxGracePeriod < 0 {
			return fmt.Errorf("max_grace_period %dns is negative", *req.MaxGracePeriod)
		}
		a.Deactivated = true
		a.Drain = &DrainInfo{State: DrainDraining, MaxGracePeriod: req.MaxGracePeriod, MarkGone: req.MarkGone}
	case AgentDrained:
		if a.Drain == nil || a.Drain.State != DrainDraining {
			// Already drained, or reactivated meanwhile: nothing to do.
			return nil
		}
		d := *a.Drain
		d.State = DrainDrained
		a.Drain = &d
	default:
		return fmt.Errorf("%w: agent drain operation %q", ErrUnknownOp, req.Op)
	}
	mustInsert(txn, tableAgents, &a)
	return nil
}

// Drained reports whether nothing is left on the agent: every task it ran
// is terminal and its terminal update acknowledged.
func (s *State) Drained(agentID string) bool {
	for _, t := range s.TasksByAgent(agentID) {
		if !t.Completed {
			return false
		}
	}
	return true
}
