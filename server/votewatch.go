package server

import (
	"context"
	"strconv"
	"time"

	"github.com/hashicorp/raft"
)

// candidateWatch tells a follower that waits to campaign for a dead
// leader (leaderWatchBroke) that a candidate whose log is behind its own
// asked for its vote. raft tells its observers of every vote request it
// receives.
type candidateWatch struct {
	behind chan struct{}
	obsCh  chan raft.Observation
	obs    *raft.Observer
}

func newCandidateWatch() *candidateWatch {
	w := &candidateWatch{behind: make(chan struct{}, 1), obsCh: make(chan raft.Observation, 16)}
	w.obs = raft.NewObserver(w.obsCh, false, func(o *raft.Observation) bool {
		_, ok := o.Data.(raft.RequestVoteRequest)
		return ok
	})
	return w
}

// voteSource is what run needs of raft.
type voteSource interface {
	RegisterObserver(*raft.Observer)
	DeregisterObserver(*raft.Observer)
	Stats() map[string]string
	LastIndex() uint64
}

// run compares each vote request with this server's log until ctx ends.
func (w *candidateWatch) run(ctx context.Context, r voteSource) {
	r.RegisterObserver(w.obs)
	defer r.DeregisterObserver(w.obs)
	for {
		select {
		case <-ctx.Done():
			return
		case o := <-w.obsCh:
			req, ok := o.Data.(raft.RequestVoteRequest)
			if !ok {
				continue
			}
			lastTerm, _ := strconv.ParseUint(r.Stats()["last_log_term"], 10, 64)
			if candidateBehind(req, lastTerm, r.LastIndex()) {
				select {
				case w.behind <- struct{}{}:
				default:
				}
			}
		}
	}
}

// candidateBehind tells whether a candidate's log is less up to date
// than one whose last entry has lastTerm and lastIndex: raft refuses
// such a candidate its vote.
func candidateBehind(req raft.RequestVoteRequest, lastTerm, lastIndex uint64) bool {
	return req.LastLogTerm < lastTerm || req.LastLogTerm == lastTerm && req.LastLogIndex < lastIndex
}

// drain forgets a candidate seen before now.
func (w *candidateWatch) drain() {
	select {
	case <-w.behind:
	default:
	}
}

// wait waits d, or less if a candidate behind this server's log shows up
// (behind); ok is false once ctx ends.
func (w *candidateWatch) wait(ctx context.Context, d time.Duration) (behind, ok bool) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false, false
	case <-t.C:
		return false, true
	case <-w.behind:
		return true, true
	}
}
