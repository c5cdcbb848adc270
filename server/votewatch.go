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
	// behind holds the term of the latest candidate seen behind this
	// server's log.
	behind chan uint64
	obsCh  chan raft.Observation
	obs    *raft.Observer
}

func newCandidateWatch() *candidateWatch {
	w := &candidateWatch{behind: make(chan uint64, 1), obsCh: make(chan raft.Observation, 16)}
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
				select { // the latest candidate replaces one not yet taken
				case <-w.behind:
				default:
				}
				w.behind <- req.Term
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

// wait waits d, or less if a candidate behind this server's log shows up
// (behind) campaigning for a term after term; ok is false once ctx ends.
// A candidate of term or before belongs to an earlier election: it is
// forgotten. One seen before the wait began is not: the candidate of
// the election this follower waits for may ask for its vote before the
// follower sees its leader gone (its vote request came 12 ms earlier in
// one run; forgotten, the cluster waited a second more for a leader).
func (w *candidateWatch) wait(ctx context.Context, d time.Duration, term uint64) (behind, ok bool) {
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return false, false
		case <-t.C:
			return false, true
		case cand := <-w.behind:
			if cand > term {
				return true, true
			}
		}
	}
}
