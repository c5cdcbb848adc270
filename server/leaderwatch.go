package server

import (
	"context"
	"io"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/hashicorp/raft"
)

// leaderWatchPath is a request every follower keeps open on the leader.
const leaderWatchPath = "/internal/v1/raft/leader-watch"

// Why a leader watch: raft finds a dead leader only when its heartbeats
// stop for a heartbeat timeout, and a busy but healthy leader is found
// "dead" the same way when it is slow. Short timeouts gave sub-second
// failover and a leader that lost its leadership whenever the machine was
// saturated; long ones, a steady leader and slow failover. The two are
// told apart here: a leader whose process died closes its connections at
// once (the kernel does it) and its port refuses new ones, while a slow
// one keeps them and accepts. So the raft timeouts are long, and a
// follower whose watch on the leader breaks checks the leader's port: if
// it refuses connections the process is gone, and the follower campaigns
// at once (a raft TimeoutNow to itself, as in a leadership transfer, so
// that the other followers vote although their heartbeat timeouts have
// not passed). A dropped watch on a live leader therefore costs nothing,
// and a leader that is merely stopped (SIGSTOP, a partition, a dead
// machine that answers nothing) is found by the long timeouts as before.

// handleLeaderWatch holds the request open for as long as this server is
// the raft leader and running. It writes nothing but its status.
func (s *Server) handleLeaderWatch(w http.ResponseWriter, r *http.Request) {
	if s.raft.State() != raft.Leader {
		writeError(w, httpErrorf(http.StatusServiceUnavailable, "this server is not the raft leader"))
		return
	}
	w.WriteHeader(http.StatusOK)
	_ = http.NewResponseController(w).Flush()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-s.runCtx.Done():
			return
		case <-tick.C:
			if s.raft.State() != raft.Leader {
				return
			}
		}
	}
}

// watchLeader keeps a watch open on the current raft leader while this
// server follows it, and hurries the election when the watch breaks.
func (s *Server) watchLeader(ctx context.Context) {
	client := s.peerClient(0)
	for ctx.Err() == nil {
		// The term in which leader leads: an election begun since moves it.
		term := s.raft.CurrentTerm()
		_, leader := s.raft.LeaderWithID()
		addr := ""
		if leader != "" && string(leader) != s.nodeID {
			addr = s.serverHTTPAddr(string(leader))
		}
		if addr == "" {
			if !sleepCtx(ctx, 50*time.Millisecond) {
				return
			}
			continue
		}
		s.holdWatch(ctx, client, addr, leader)
		if _, now := s.raft.LeaderWithID(); now == leader && ctx.Err() == nil {
			s.leaderWatchBroke(ctx, leader, addr, term)
		}
		// However the watch ended, do not spin on a leader that refuses it.
		if !sleepCtx(ctx, 20*time.Millisecond+rand.N(30*time.Millisecond)) {
			return
		}
	}
}

// holdWatch holds a watch on the leader at addr until it breaks or the
// leader changes.
func (s *Server) holdWatch(ctx context.Context, client *http.Client, addr string, leader raft.ServerID) {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		// Stop watching a leader raft no longer follows.
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-wctx.Done():
				return
			case <-t.C:
				if _, now := s.raft.LeaderWithID(); now != leader {
					cancel()
					return
				}
			}
		}
	}()
	req, err := http.NewRequestWithContext(wctx, http.MethodGet, s.peerURL(addr, leaderWatchPath), nil)
	if err != nil {
		return
	}
	resp, err := client.Do(req)
	if err != nil {
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return
	}
	s.watching.Store(string(leader))
	defer s.watching.Store("")
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<10))
}

// WatchingLeader returns the raft id of the leader this follower holds a
// watch on, "" when it holds none.
func (s *Server) WatchingLeader() string {
	id, _ := s.watching.Load().(string)
	return id
}

// serverHTTPAddr is the HTTP address a server announced, "" if unknown.
func (s *Server) serverHTTPAddr(id string) string {
	for _, srv := range s.fsm.State().Servers() {
		if srv.ID == id {
			return srv.HTTPAddr
		}
	}
	return ""
}

// sleepCtx waits d or until ctx ends; false if ctx ended.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
