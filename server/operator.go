package server

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/hashicorp/raft"

	"mesh/fsm"
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
		w.Write(append(line, '\n'))
		io.Copy(w, rc)
	case http.MethodPost:
		br := bufio.NewReader(io.LimitReader(r.Body, 4<<30))
		line, err := br.ReadBytes('\n')
		var meta raft.SnapshotMeta
		if err != nil || json.Unmarshal(line, &meta) != nil || meta.Size <= 0 {
			writeError(w, httpErrorf(400, "not a mesh snapshot: the first line must be its metadata"))
			return
		}
		// Validate the data before raft installs it: a bad file must not
		// replace good state.
		data, err := io.ReadAll(io.LimitReader(br, meta.Size+1))
		if err != nil || int64(len(data)) != meta.Size {
			writeError(w, httpErrorf(400, "snapshot is truncated: metadata says %d bytes, got %d", meta.Size, len(data)))
			return
		}
		if err := validateSnapshot(data); err != nil {
			writeError(w, httpErrorf(400, "snapshot does not decode: %v", err))
			return
		}
		if err := s.raft.Restore(&meta, bytesReader(data), s.cfg.ApplyTimeout*6); err != nil {
			writeError(w, fmt.Errorf("restore: %w", err))
			return
		}
		// The master's view was built from the old state: rebuild it.
		s.logger.Warn("state restored from a snapshot; re-establishing leadership")
		s.establishLeadership(s.runCtx)
		w.WriteHeader(http.StatusOK)
	default:
		w.Header().Set("Allow", "GET, POST")
		writeError(w, httpErrorf(http.StatusMethodNotAllowed, "GET saves a snapshot, POST restores one"))
	}
}

func validateSnapshot(data []byte) error {
	return fsm.ValidateSnapshot(bytesReader(data))
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }
