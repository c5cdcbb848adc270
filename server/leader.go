package server

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"mesh/fsm"
)

// monitorLeadership follows raft's ordered leadership notifications and
// establishes or revokes the master for each change.
func (s *Server) monitorLeadership(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case isLeader := <-s.leaderCh:
			if isLeader {
				s.establishLeadership(ctx)
			} else {
				s.revokeLeadership()
			}
		}
	}
}

// establishLeadership makes this server the master for its term: it waits
// until every earlier entry is applied (Barrier), initializes the cluster
// on first boot, announces itself, and starts every leader-only routine.
// If any step fails the leadership is revoked and handed on.
func (s *Server) establishLeadership(ctx context.Context) {
	s.revokeLeadership()
	start := time.Now()
	if err := s.raft.Barrier(s.cfg.ApplyTimeout).Error(); err != nil {
		s.logger.Error("barrier failed; not establishing leadership", "error", err)
		s.abdicate()
		return
	}
	// how long the entries committed before this term took to apply
	caughtUp := time.Since(start)
	if err := s.initClusterID(); err != nil {
		s.logger.Error("failed to initialize cluster", "error", err)
		s.abdicate()
		return
	}
	// The announcement commits while the master is built, which commits
	// too (old offers rescinded, frameworks disconnected): under load each
	// commit of a new leader took 0.1–0.3 s, one after the other.
	announce := make(chan error, 1)
	go func() { announce <- s.announce() }()
	term := s.currentTerm()
	m, err := newMaster(ctx, s, term)
	if aerr := <-announce; aerr != nil {
		if m != nil {
			m.revoke()
		}
		s.logger.Error("failed to announce this server", "error", aerr)
		s.abdicate()
		return
	}
	if err != nil {
		s.logger.Error("failed to establish leadership", "error", err)
		s.abdicate()
		return
	}
	s.mu.Lock()
	s.leader = m
	s.mu.Unlock()
	if len(s.fsm.State().Agents()) > 0 {
		// Agents come back to this new leader: it settles (settle.go). A
		// cluster without any (its first election) has none to wait for,
		// and its first launches do not run with a raised GC target.
		s.settling.hold()
	}
	s.logger.Info("established leadership", "term", term, "took", time.Since(start), "caught_up_in", caughtUp)
}

// revokeLeadership undoes establishLeadership: streams close, routines
// stop, timers are dropped. The replicated state is untouched.
func (s *Server) revokeLeadership() {
	s.mu.Lock()
	m := s.leader
	s.leader = nil
	s.mu.Unlock()
	if m != nil {
		s.settling.end()
		m.revoke()
		s.logger.Info("revoked leadership", "term", m.term)
	}
}

// abdicate gives up leadership after a failed establish.
func (s *Server) abdicate() {
	s.revokeLeadership()
	if err := s.raft.LeadershipTransfer().Error(); err != nil {
		s.logger.Warn("leadership transfer failed", "error", err)
	}
}

func (s *Server) currentTerm() uint64 {
	var term uint64
	fmt.Sscan(s.raft.Stats()["term"], &term)
	return term
}

// initClusterID commits the cluster id on first boot.
func (s *Server) initClusterID() error {
	if s.fsm.State().Meta().ClusterID == "" {
		if _, err := s.raftApply(fsm.ClusterInitRequestType, &fsm.ClusterInitRequest{ClusterID: uuid.NewString()}); err != nil {
			return err
		}
	}
	return nil
}

// announce commits this server's addresses, on every leadership.
func (s *Server) announce() error {
	_, err := s.raftApply(fsm.ServerAnnounceRequestType, &fsm.ServerAnnounceRequest{Server: fsm.Server{
		ID: s.nodeID, RaftAddr: s.raftAddr, HTTPAddr: s.HTTPAddr(),
	}})
	return err
}

// currentMaster returns the master of this term, or an error that the
// HTTP layer turns into a redirect or 503.
func (s *Server) currentMaster() (*master, error) {
	s.mu.RLock()
	m := s.leader
	s.mu.RUnlock()
	if m != nil {
		return m, nil
	}
	if s.raft.State().String() == "Leader" {
		// Elected but still establishing: Mesos answers 503 while recovering.
		return nil, httpErrorf(503, "leader is recovering its state; retry shortly")
	}
	return nil, ErrNotLeader
}
