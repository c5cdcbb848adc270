package server

import (
	"fmt"
	"net/http"
	"time"

	"mesh/allocator"
	"mesh/fsm"
)

// WhyPath answers "why is my framework not offered anything?". It is
// mesh's own, not a call of the Mesos operator API: Mesos has no such
// call, and a call type Mesos does not define would be refused by the
// protobuf codecs of Mesos clients, so it lives on a mesh path:
//
//	GET /mesh/v1/why?framework_id=F[&agent_id=A]
//
// The answer is what the allocator recorded in its own passes (see
// allocator.Explainer); the first question about a framework starts the
// recording and waits for one pass.
const WhyPath = "/mesh/v1/why"

// WhyResponse is the answer of WhyPath.
type WhyResponse struct {
	FrameworkID string `json:"framework_id"`
	Name        string `json:"name,omitempty"`
	AgentID     string `json:"agent_id,omitempty"`
	// Roles are the framework's roles; RoleReasons the reasons that hold
	// for a whole role (suppressed, framework inactive).
	Roles       []string                    `json:"roles"`
	RoleReasons map[string]allocator.Reason `json:"role_reasons,omitempty"`
	// Passes sum the last allocation passes, newest first.
	Passes []allocator.PassSummary `json:"passes"`
	// Agents are the last decisions per agent and role.
	Agents []WhyAgent `json:"agents"`
}

// WhyAgent is one decision, with the agent's hostname.
type WhyAgent struct {
	allocator.AgentReason
	Hostname string `json:"hostname,omitempty"`
}

// handleWhy serves WhyPath on the leader.
func (s *Server) handleWhy(w http.ResponseWriter, r *http.Request) {
	if !readOnly(w, r) {
		return
	}
	m := s.leaderOrRedirect(w, r)
	if m == nil {
		return
	}
	resp, err := m.why(r, r.URL.Query().Get("framework_id"), r.URL.Query().Get("agent_id"))
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, resp)
}

// why asks the allocator about a framework, waiting for one pass when it
// was not watched yet.
func (m *master) why(r *http.Request, fid, aid string) (*WhyResponse, error) {
	if fid == "" {
		return nil, httpErrorf(http.StatusBadRequest, "missing query parameter 'framework_id'")
	}
	st := m.s.fsm.State()
	fw := st.Framework(fid)
	switch {
	case fw == nil:
		return nil, httpErrorf(http.StatusNotFound, "framework %s is not known", fid)
	case fw.Removed:
		return nil, httpErrorf(http.StatusNotFound, "framework %s has been removed", fid)
	}
	if aid != "" && st.Agent(aid) == nil {
		return nil, httpErrorf(http.StatusNotFound, "agent %s is not known", aid)
	}
	ex, ok := m.alloc.(allocator.Explainer)
	if !ok {
		return nil, httpErrorf(http.StatusNotImplemented, "allocator %q cannot say why it made its offers", m.s.cfg.Allocator)
	}
	resp := &WhyResponse{FrameworkID: fid, Name: fw.Info.Name, AgentID: aid, Roles: fw.Info.AllRoles(),
		Passes: []allocator.PassSummary{}, Agents: []WhyAgent{}}
	if len(resp.Roles) == 0 {
		resp.Roles = []string{"*"} // as the allocator subscribes it
	}
	got, next, known := ex.Explain(fid, aid)
	if !known {
		// Subscribed to an earlier leader and not (yet) to this one.
		resp.RoleReasons = map[string]allocator.Reason{}
		for _, role := range resp.Roles {
			resp.RoleReasons[role] = allocator.ReasonFrameworkInactive
		}
		return resp, nil
	}
	if got == nil {
		m.alloc.Trigger()
		wait := time.NewTimer(max(5*time.Second, 3*m.s.cfg.AllocationInterval))
		defer wait.Stop()
		select {
		case <-next:
		case <-wait.C:
		case <-r.Context().Done():
			return nil, r.Context().Err()
		}
		if got, _, _ = ex.Explain(fid, aid); got == nil {
			return nil, httpErrorf(http.StatusServiceUnavailable, "no allocation pass has run yet; retry")
		}
	}
	resp.RoleReasons = got.Roles
	resp.Passes = got.Passes
	for _, ar := range got.Agents {
		wa := WhyAgent{AgentReason: ar}
		if a := st.Agent(ar.AgentID); a != nil {
			wa.Hostname = a.Info.Hostname
			if ar.Reason == allocator.ReasonAgentInactive {
				wa.Reason, wa.Detail = inactiveAgentReason(st, a)
			}
		}
		resp.Agents = append(resp.Agents, wa)
	}
	return resp, nil
}

// inactiveAgentReason says why the allocator holds an agent back: its
// machine is DOWN for maintenance, or it is draining, or deactivated by an
// operator.
func inactiveAgentReason(st *fsm.State, a *fsm.Agent) (allocator.Reason, string) {
	if machine := fsm.AgentMachine(a); st.Maintenance().Mode(machine) == fsm.MachineDown {
		return allocator.ReasonAgentDown, fmt.Sprintf("machine %s of agent %s is DOWN for maintenance (START_MAINTENANCE)",
			fsm.MachineString(machine), a.Info.Hostname)
	}
	if a.Drain != nil {
		return allocator.ReasonAgentInactive, fmt.Sprintf("agent %s is draining (DRAIN_AGENT)", a.Info.Hostname)
	}
	return allocator.ReasonAgentInactive, fmt.Sprintf("agent %s is deactivated (DEACTIVATE_AGENT)", a.Info.Hostname)
}
