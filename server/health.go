package server

import "net/http"

// healthReport is the answer of GET /health. healthy, leader and
// is_leader are read by scripts and tests; keep their names.
type healthReport struct {
	// Healthy is true when this server can serve a client: it leads and
	// has recovered its state, or it follows a leader it knows.
	Healthy bool `json:"healthy"`
	// Leader is the leader's HTTP address, "" when none is known.
	Leader string `json:"leader"`
	// IsLeader is true on the established leader only.
	IsLeader bool `json:"is_leader"`
	// RaftState is raft's view of this server: Leader, Follower,
	// Candidate or Shutdown.
	RaftState string `json:"raft_state"`
	// Reason says why the server is not healthy.
	Reason string `json:"reason,omitempty"`
}

// health reports whether this server knows a leader and whether it is the
// established one. A server without a leader (no quorum, an election
// under way) or a leader still recovering its state cannot serve a
// framework, so it is not healthy.
func (s *Server) health() healthReport {
	h := healthReport{Leader: s.leaderHTTPAddr(), IsLeader: s.IsLeader(), RaftState: s.raft.State().String()}
	switch {
	case h.IsLeader:
		h.Healthy = true
	case h.Leader == "":
		h.Reason = "no leader is known: no quorum, or an election is under way"
	case h.Leader == s.HTTPAddr():
		h.Reason = "elected leader, still recovering its state"
	default:
		h.Healthy = true
	}
	return h
}

// handleHealth answers 200 when the server is healthy and 503 when it is
// not, with the same body either way.
func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	h := s.health()
	code := http.StatusOK
	if !h.Healthy {
		code = http.StatusServiceUnavailable
	}
	writeJSONStatus(w, code, h)
}

// Healthy reports whether this server can serve a client now (see
// health).
func (s *Server) Healthy() bool { return s.health().Healthy }
