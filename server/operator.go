package server

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/hashicorp/raft"
)

// Paths of the operator endpoints behind `mesh operator`.
const (
	removePeerPath = "/internal/v1/raft/remove-peer"
	snapshotPath   = "/internal/v1/snapshot"
)

// RaftPeer is one member of the raft configuration.
type RaftPeer struct {
	ID       string `json:"id"`
	Address  string `json:"address"`
	HTTPAddr string `json:"http_addr,omitempty"`
	Suffrage string `json:"suffrage"`
	Leader   bool   `json:"leader"`
}

// Peers returns the raft configuration as this server sees it.
func (s *Server) Peers() ([]RaftPeer, error) {
	f := s.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return nil, err
	}
	_, leader := s.raft.LeaderWithID()
	http := map[string]string{}
	for _, srv := range s.fsm.State().Servers() {
		http[srv.ID] = srv.HTTPAddr
	}
	var out []RaftPeer
	for _, srv := range f.Configuration().Servers {
		out = append(out, RaftPeer{ID: string(srv.ID), Address: string(srv.Address), HTTPAddr: http[string(srv.ID)],
			Suffrage: srv.Suffrage.String(), Leader: srv.ID == leader})
	}
	return out, nil
}

// handlePeers lists the raft configuration; any server answers.
func (s *Server) handlePeers(w http.ResponseWriter, r *http.Request) {
	peers, err := s.Peers()
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, peers)
}

// handleRemovePeer removes a server from the raft configuration (leader).
func (s *Server) handleRemovePeer(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ID string `json:"id"`
	}
	if s.leaderPostJSON(w, r, &req) == nil {
		return
	}
	peers, err := s.Peers()
	if err != nil {
		writeError(w, err)
		return
	}
	found := false
	for _, p := range peers {
		found = found || p.ID == req.ID
	}
	if !found {
		writeError(w, httpErrorf(http.StatusNotFound, "no raft peer has id %q; see `mesh operator raft list-peers`", req.ID))
		return
	}
	if err := s.raft.RemoveServer(raft.ServerID(req.ID), 0, s.cfg.ApplyTimeout).Error(); err != nil {
		writeError(w, fmt.Errorf("remove peer %s: %w", req.ID, err))
		return
	}
	s.logger.Info("removed raft peer", "node_id", req.ID)
	w.WriteHeader(http.StatusOK)
}

// handleSnapshot saves (GET) or restores (POST) a snapshot of the whole
// replicated state on the leader. The body is one JSON line of raft's
// snapshot metadata followed by the snapshot data.
func (s *Server) handleSnapshot(w http.ResponseWriter, r *http.Request) {
	if s.leaderOrRedirect(w, r) == nil {
		return
	}
	switch r.Method {
	case http.MethodGet:
		f := s.raft.Snapshot()
		if err := f.Error(); err != nil {
			writeError(w, fmt.Errorf("take snapshot: %w", err))
			return
		}
		meta, rc, err := f.Open()
		if err != nil {
			writeError(w, fmt.Errorf("open snapshot: %w", err))
			return
		}
		defer rc.Close()
		w.Header().Set("Content-Type", "application/octet-stream")
		line, _ := json.Marshal(meta)
		// A snapshot may take longer to send than the write timeout
		// allows a whole answer: each write gets its own deadline.
		out := &progressWriter{w: w, rc: http.NewResponseController(w), timeout: s.cfg.HTTPWriteTimeout}
		if _, err := out.Write(append(line, '\n')); err == nil {
			_, _ = io.Copy(out, rc)
		}
	case http.MethodPost:
		if err := s.restoreSnapshot(w, r); err != nil {
			writeError(w, err)
			return
		}
		w.WriteHeader(http.StatusOK)
	default:
		w.Header().Set("Allow", "GET, POST")
		writeError(w, httpErrorf(http.StatusMethodNotAllowed, "GET saves a snapshot, POST restores one"))
	}
}
