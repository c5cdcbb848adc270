package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"time"

	"github.com/hashicorp/raft"

	"mesh/fsm"
	"mesh/version"
)

// Paths of the server-to-server endpoints.
const (
	peerPath  = "/internal/v1/peer"
	joinPath  = "/internal/v1/join"
	peersPath = "/internal/v1/raft/peers"
)

// PeerInfo is what a server says about itself to servers that -join it.
type PeerInfo struct {
	NodeID          string `json:"node_id"`
	RaftAddr        string `json:"raft_addr"`
	HTTPAddr        string `json:"http_addr"`
	BootstrapExpect int    `json:"bootstrap_expect"`
	// ClusterID is set once the cluster has committed its id.
	ClusterID string `json:"cluster_id,omitempty"`
	// InCluster is true once the server has a raft configuration
	// (bootstrapped, joined, or restarted from its data dir).
	InCluster bool   `json:"in_cluster"`
	Leader    string `json:"leader,omitempty"`
	Version   string `json:"version"`
}

// JoinRequest asks the leader to add a server as a voter.
type JoinRequest struct {
	NodeID    string `json:"node_id"`
	RaftAddr  string `json:"raft_addr"`
	HTTPAddr  string `json:"http_addr"`
	ClusterID string `json:"cluster_id,omitempty"`
}

// errFatalJoin marks a join problem no retry can fix.
var errFatalJoin = errors.New("cannot join the cluster")

func (s *Server) peerInfo() PeerInfo {
	return PeerInfo{
		NodeID: s.nodeID, RaftAddr: s.raftAddr, HTTPAddr: s.HTTPAddr(),
		BootstrapExpect: s.cfg.BootstrapExpect, ClusterID: s.fsm.State().Meta().ClusterID,
		InCluster: s.inCluster(), Leader: s.leaderHTTPAddr(), Version: version.MeshVersion,
	}
}

// inCluster reports whether raft has a configuration that includes this
// server.
func (s *Server) inCluster() bool {
	f := s.raft.GetConfiguration()
	if f.Error() != nil {
		return false
	}
	for _, srv := range f.Configuration().Servers {
		if string(srv.ID) == s.nodeID {
			return true
		}
	}
	return false
}

func (s *Server) handlePeer(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, s.peerInfo())
}

// handleJoin adds a server to the cluster (leader only).
func (s *Server) handleJoin(w http.ResponseWriter, r *http.Request) {
	var req JoinRequest
	m := s.leaderPostJSON(w, r, &req)
	if m == nil {
		return
	}
	if req.NodeID == "" || req.RaftAddr == "" || req.HTTPAddr == "" {
		writeError(w, httpErrorf(400, "a join request needs node_id, raft_addr and http_addr"))
		return
	}
	if ours := s.fsm.State().Meta().ClusterID; req.ClusterID != "" && req.ClusterID != ours {
		writeError(w, httpErrorf(http.StatusConflict, "server %s holds data of cluster %s, but this is cluster %s; clear its data dir to join", req.NodeID, req.ClusterID, ours))
		return
	}
	if err := s.addVoter(req); err != nil {
		writeError(w, err)
		return
	}
	if _, err := m.apply(fsm.ServerAnnounceRequestType, &fsm.ServerAnnounceRequest{Server: fsm.Server{
		ID: req.NodeID, RaftAddr: req.RaftAddr, HTTPAddr: req.HTTPAddr,
	}}); err != nil {
		writeError(w, err)
		return
	}
	s.logger.Info("server joined", "node_id", req.NodeID, "raft_addr", req.RaftAddr, "http_addr", req.HTTPAddr)
	writeJSON(w, s.peerInfo())
}

// addVoter adds (or re-addresses) a voter in the raft configuration.
func (s *Server) addVoter(req JoinRequest) error {
	f := s.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return err
	}
	for _, srv := range f.Configuration().Servers {
		switch {
		case string(srv.ID) == req.NodeID && string(srv.Address) == req.RaftAddr:
			return nil // already a member
		case string(srv.ID) == req.NodeID || string(srv.Address) == req.RaftAddr:
			// Same server at a new address, or a new server at an old
			// address: drop the stale entry first.
			if err := s.raft.RemoveServer(srv.ID, 0, s.cfg.ApplyTimeout).Error(); err != nil {
				return fmt.Errorf("remove stale server %s: %w", srv.ID, err)
			}
		}
	}
	if err := s.raft.AddVoter(raft.ServerID(req.NodeID), raft.ServerAddress(req.RaftAddr), 0, s.cfg.ApplyTimeout).Error(); err != nil {
		return fmt.Errorf("add voter %s: %w", req.NodeID, err)
	}
	return nil
}

// joinLoop finds the other servers through -join until this server is in
// a cluster: it joins an existing cluster through its leader, or, when
// -bootstrap-expect servers are found and none is in a cluster yet, all of
// them bootstrap the same configuration. It returns an error wrapping
// errFatalJoin for what no retry can fix.
func (s *Server) joinLoop(ctx context.Context) error {
	client := s.peerClient(2 * time.Second)
	backoff := 100 * time.Millisecond
	for attempt := 0; ; attempt++ {
		if s.inCluster() {
			return nil
		}
		err := s.tryJoin(ctx, client)
		if err == nil || errors.Is(err, errFatalJoin) {
			return err
		}
		// Warn early (a -join address that is not a mesh server should be
		// seen at once), then every tenth attempt.
		if attempt == 2 || attempt%10 == 9 {
			s.logger.Warn("still looking for the other servers", "join", s.cfg.Join, "error", err)
		} else {
			s.logger.Debug("join attempt failed", "error", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		if backoff < time.Second {
			backoff *= 2
		}
	}
}

func (s *Server) tryJoin(ctx context.Context, client *http.Client) error {
	self := s.peerInfo()
	found := map[string]PeerInfo{self.NodeID: self}
	var problems []error
	for _, addr := range s.cfg.Join {
		p, err := s.fetchPeer(ctx, client, addr)
		if err != nil {
			problems = append(problems, err)
			continue
		}
		if p.NodeID == s.nodeID {
			continue // -join listed this server itself
		}
		if p.ClusterID != "" && self.ClusterID != "" && p.ClusterID != self.ClusterID {
			return fmt.Errorf("%w: %s belongs to cluster %s but this server's data dir holds cluster %s", errFatalJoin, addr, p.ClusterID, self.ClusterID)
		}
		if !p.InCluster && p.BootstrapExpect != s.cfg.BootstrapExpect {
			return fmt.Errorf("%w: %s was started with -bootstrap-expect %d but this server with %d; start every server with the same value",
				errFatalJoin, addr, p.BootstrapExpect, s.cfg.BootstrapExpect)
		}
		found[p.NodeID] = p
	}
	// An existing cluster: ask it to add us.
	for _, p := range found {
		if p.NodeID != s.nodeID && p.InCluster {
			if p.ClusterID == "" {
				return errors.New("a server is bootstrapping; waiting for its cluster to form")
			}
			return s.requestJoin(ctx, client, p.HTTPAddr, self)
		}
	}
	if len(found) < s.cfg.BootstrapExpect {
		return fmt.Errorf("found %d of %d expected servers (%v)", len(found), s.cfg.BootstrapExpect, errors.Join(problems...))
	}
	// Every server found is new: all of them bootstrap the same
	// configuration, which raft accepts from each.
	var servers []raft.Server
	for _, p := range found {
		servers = append(servers, raft.Server{ID: raft.ServerID(p.NodeID), Address: raft.ServerAddress(p.RaftAddr)})
	}
	sort.Slice(servers, func(i, j int) bool { return servers[i].ID < servers[j].ID })
	return s.bootstrap(servers)
}

// fetchPeer asks a server who it is; a clear error when addr is not a
// mesh server.
func (s *Server) fetchPeer(ctx context.Context, client *http.Client, addr string) (PeerInfo, error) {
	var p PeerInfo
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.peerURL(addr, peerPath), nil)
	if err != nil {
		return p, fmt.Errorf("-join %s: %w", addr, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return p, fmt.Errorf("-join %s: %w", addr, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &p) != nil || p.NodeID == "" || p.RaftAddr == "" {
		return p, fmt.Errorf("-join %s: not a mesh server (GET %s answered %s)", addr, peerPath, resp.Status)
	}
	return p, nil
}

// requestJoin asks the cluster, through any of its servers, to add this
// one; followers redirect to the leader and the client follows.
func (s *Server) requestJoin(ctx context.Context, client *http.Client, addr string, self PeerInfo) error {
	body, _ := json.Marshal(JoinRequest{NodeID: self.NodeID, RaftAddr: self.RaftAddr, HTTPAddr: self.HTTPAddr, ClusterID: self.ClusterID})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.peerURL(addr, joinPath), bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("join through %s: %w", addr, err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	switch {
	case resp.StatusCode == http.StatusOK:
		s.logger.Info("joined the cluster", "through", addr)
		return nil
	case resp.StatusCode == http.StatusConflict:
		return fmt.Errorf("%w: %s", errFatalJoin, bytes.TrimSpace(msg))
	default:
		return fmt.Errorf("join through %s: %s: %s", addr, resp.Status, bytes.TrimSpace(msg))
	}
}

// verifyCluster checks, once this server knows its cluster id, that the
// -join servers are of the same cluster: a restarted server must never
// bridge two clusters.
func (s *Server) verifyCluster(ctx context.Context) error {
	client := s.peerClient(2 * time.Second)
	for {
		ours := s.fsm.State().Meta().ClusterID
		if ours != "" {
			checked := 0
			for _, addr := range s.cfg.Join {
				p, err := s.fetchPeer(ctx, client, addr)
				if err != nil || p.ClusterID == "" {
					continue
				}
				if p.ClusterID != ours {
					return fmt.Errorf("%w: %s belongs to cluster %s but this server's data dir holds cluster %s", errFatalJoin, addr, p.ClusterID, ours)
				}
				checked++
			}
			if checked > 0 || len(s.cfg.Join) == 0 {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
	}
}

// announceLoop makes sure the replicated state holds this server's HTTP
// address (servers that bootstrapped together, or restarted on a new
// address, have not told the leader yet), so any server can redirect to it
// once it leads and operators see it in `raft list-peers`.
func (s *Server) announceLoop(ctx context.Context) {
	client := s.peerClient(2 * time.Second)
	for {
		announced := false
		for _, srv := range s.fsm.State().Servers() {
			if srv.ID == s.nodeID && srv.HTTPAddr == s.HTTPAddr() && srv.RaftAddr == s.raftAddr {
				announced = true
			}
		}
		if announced {
			return
		}
		if leader := s.leaderHTTPAddr(); leader != "" && leader != s.HTTPAddr() && s.inCluster() {
			if err := s.requestJoin(ctx, client, leader, s.peerInfo()); err != nil {
				s.logger.Debug("announcing this server to the leader failed", "error", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(500 * time.Millisecond):
		}
	}
}
