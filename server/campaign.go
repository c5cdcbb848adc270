package server

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"slices"
	"syscall"
	"time"

	"github.com/hashicorp/raft"
)

// campaignStagger separates the campaigns of a dead leader's followers:
// the first in id order campaigns at once, the next a stagger later if
// no leader has appeared by then, and so on, so that they do not split
// the vote. It is longer than an election on a loaded machine (one took
// 330 ms at 5,000 agents; with 80 ms the second follower, whose raft had
// not yet counted the first's vote request, campaigned, and deposed the
// leader just elected). It costs nothing when the first follower's log
// is behind: its vote request wakes the next one at once (candidateWatch).
const campaignStagger = electionSettle

// campaignJitter spreads campaigns of the same rank.
const campaignJitter = 20 * time.Millisecond

// electionSettle is how long a follower lets another server's election
// run before it campaigns itself. Elections on a LAN end in milliseconds,
// but a winner's first heartbeat must reach this follower within it, or
// the campaign that follows deposes the winner (whose log is then ahead,
// so that neither leads until raft's timeouts): it is generous for a
// loaded machine.
const electionSettle = 500 * time.Millisecond

// processCheckTimeout bounds the dial that tells a dead leader process
// from a slow one.
const processCheckTimeout = 250 * time.Millisecond

// leaderWatchBroke decides what a broken watch on leader (at its HTTP
// address addr), leading in term, means: if the leader's port refuses
// connections its process is gone and this follower campaigns now, unless
// another server's campaign has begun; otherwise raft's own timeouts
// decide, as they do for a leader that is stopped or cut off.
func (s *Server) leaderWatchBroke(ctx context.Context, leader raft.ServerID, addr string, term uint64) {
	if !processGoneWithin(ctx, addr, processCheckTimeout, processExitWindow) {
		s.logger.Info("lost the watch on the leader, which still accepts connections; raft's timeouts decide",
			"leader_id", leader)
		return
	}
	rank, voter := s.campaignRank(leader)
	if !voter {
		return
	}
	delay := time.Duration(rank)*campaignStagger + rand.N(campaignJitter)
	s.logger.Info("the leader's process is gone; campaigning unless another server does", "leader_id", leader, "after", delay)
	leaderTerm := term
	for tries := 0; tries < 8; tries++ {
		behind, ok := s.behindCandidates.wait(ctx, delay, leaderTerm)
		if !ok {
			return
		}
		if s.raft.State() != raft.Follower {
			return
		}
		if _, now := s.raft.LeaderWithID(); now != "" && now != leader {
			return // another follower won
		}
		if behind {
			// A candidate whose log is behind this server's asked for its
			// vote and was refused: with three voters and the leader gone
			// it cannot win, and this server's longer log is the one a
			// leader should have anyway. Standing back would only make the
			// cluster wait.
			s.logger.Info("a candidate behind this server's log cannot win; campaigning", "leader_id", leader)
		} else if now := s.raft.CurrentTerm(); now != term {
			// Another server campaigns (its vote request moved our term
			// past the leader's, maybe before this follower even saw the
			// watch break): a campaign now would only disrupt it, and a
			// higher term would depose it if it has just won. Give its
			// election time to end, and campaign if it failed.
			term, delay = now, electionSettle
			continue
		}
		if err := s.campaignNow(); err != nil {
			s.logger.Warn("cannot start a campaign; raft's timeouts decide", "error", err)
		}
		return
	}
}

// processExitWindow is how long a broken watch's leader is probed before
// it counts as alive. A process killed a moment ago closes its listening
// socket among thousands of others: at 5,000 agents a follower whose
// watch broke found the port still accepting, stood back for raft's
// timeouts, and the cluster had no leader for 3.7 s.
const processExitWindow = 250 * time.Millisecond

// processRecheck is the wait between two probes within processExitWindow.
const processRecheck = 25 * time.Millisecond

// processGoneWithin probes addr (processGone) until it refuses a
// connection, within has passed, or ctx ends.
func processGoneWithin(ctx context.Context, addr string, timeout, within time.Duration) bool {
	deadline := time.Now().Add(within)
	for {
		if processGone(addr, timeout) {
			return true
		}
		if time.Now().After(deadline) || !sleepCtx(ctx, processRecheck) {
			return false
		}
	}
}

// processGone tells whether nothing listens at addr any more: a refused
// connection, not a slow or unanswered one (a stopped process or a
// partition answers nothing, and is left to raft's timeouts).
func processGone(addr string, timeout time.Duration) bool {
	conn, err := net.DialTimeout("tcp", addr, timeout)
	if err == nil {
		_ = conn.Close()
		return false
	}
	return errors.Is(err, syscall.ECONNREFUSED)
}

// campaignRank is this server's place, in id order, among the voters of
// the raft configuration other than the gone leader; voter is false when
// this server has no vote.
func (s *Server) campaignRank(gone raft.ServerID) (rank int, voter bool) {
	f := s.raft.GetConfiguration()
	if f.Error() != nil {
		return 0, false
	}
	ids := slices.DeleteFunc(votersOf(f.Configuration()), func(id string) bool { return id == string(gone) })
	i := slices.Index(ids, s.nodeID)
	return i, i >= 0
}

// campaignNow makes this server's raft a candidate at once, as a leader
// does with the follower it hands its leadership to (TimeoutNow): the
// vote request it sends then counts although the other voters still
// believe in the old leader. Their log check still applies, so a
// follower whose log is behind cannot win.
func (s *Server) campaignNow() error {
	id, addr := raft.ServerID(s.nodeID), raft.ServerAddress(s.raftAddr)
	req := &raft.TimeoutNowRequest{RPCHeader: raft.RPCHeader{
		ProtocolVersion: raft.ProtocolVersionMax,
		ID:              []byte(id),
		Addr:            s.raftTrans.EncodePeer(id, addr),
	}}
	return s.raftTrans.TimeoutNow(id, addr, req, &raft.TimeoutNowResponse{})
}

// campaignIfAlone lets a server that is the only voter of its raft
// configuration lead at once: raft would first wait out a heartbeat
// timeout (2–4 s by default) for a leader, and a lone voter has none to
// hear from. A server still learning its configuration (joining) is
// given a few seconds; one in a larger cluster does nothing.
func (s *Server) campaignIfAlone(ctx context.Context) {
	for tries := 0; tries < 250 && ctx.Err() == nil; tries++ {
		if s.raft.State() != raft.Follower {
			return
		}
		f := s.raft.GetConfiguration()
		if f.Error() == nil && len(f.Configuration().Servers) > 0 {
			if voters := votersOf(f.Configuration()); len(voters) == 1 && voters[0] == s.nodeID {
				if err := s.campaignNow(); err != nil {
					s.logger.Warn("cannot start a campaign; raft's timeouts decide", "error", err)
				}
			}
			return
		}
		if !sleepCtx(ctx, 20*time.Millisecond) {
			return
		}
	}
}

// votersOf lists the ids of the voters of c, sorted.
func votersOf(c raft.Configuration) []string {
	var ids []string
	for _, srv := range c.Servers {
		if srv.Suffrage == raft.Voter {
			ids = append(ids, string(srv.ID))
		}
	}
	slices.Sort(ids)
	return ids
}
