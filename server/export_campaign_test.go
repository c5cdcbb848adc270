package server

import (
	"context"

	"github.com/hashicorp/raft"
)

// LeaderWatchBrokeForTest runs what a follower does when its watch on
// leader, at HTTP address addr, breaks.
func (s *Server) LeaderWatchBrokeForTest(ctx context.Context, leader, addr string) {
	s.leaderWatchBroke(ctx, raft.ServerID(leader), addr, s.raft.CurrentTerm())
}

// RaftTermForTest returns the server's current raft term.
func (s *Server) RaftTermForTest() string { return s.raft.Stats()["term"] }

// RaftLeaderIDForTest returns the raft leader the server knows, "" if none.
func (s *Server) RaftLeaderIDForTest() string {
	_, id := s.raft.LeaderWithID()
	return string(id)
}

// SnapshotsHeldForTest reports whether periodic snapshots are postponed.
func (s *Server) SnapshotsHeldForTest() bool { return s.settling.snapshotsHeld() }
