package server

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

// TestProcessGone_OnlyARefusedPortCounts: a port that accepts is a live
// process, a closed one a dead process.
func TestProcessGone_OnlyARefusedPortCounts(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if processGone(addr, time.Second) {
		t.Fatalf("a listening port counted as a process gone")
	}
	_ = ln.Close()
	if !processGone(addr, time.Second) {
		t.Fatalf("a closed port did not count as a process gone")
	}
}

// TestProcessGoneWithin_WaitsForAListenerThatIsClosing: a port that
// accepts a moment longer, as a killed process's does while the kernel
// closes its sockets, counts as gone once it refuses within the window;
// one that keeps accepting counts as alive.
func TestProcessGoneWithin_WaitsForAListenerThatIsClosing(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	closing := make(chan struct{})
	go func() {
		// The first probe connects; the listener closes after it.
		c, err := ln.Accept()
		if err == nil {
			c.Close()
		}
		ln.Close()
		close(closing)
	}()
	if !processGoneWithin(context.Background(), addr, time.Second, time.Minute) {
		t.Fatal("a port closed within the window counted as a live process")
	}
	<-closing

	live, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	if processGoneWithin(context.Background(), live.Addr().String(), time.Second, 3*processRecheck) {
		t.Fatal("a port that keeps accepting counted as a process gone")
	}
}

// fakeVotes is a raft log's last entry for candidateWatch.
type fakeVotes struct{ lastTerm, lastIndex uint64 }

func (fakeVotes) RegisterObserver(*raft.Observer)   {}
func (fakeVotes) DeregisterObserver(*raft.Observer) {}
func (f fakeVotes) Stats() map[string]string {
	return map[string]string{"last_log_term": fmt.Sprint(f.lastTerm)}
}
func (f fakeVotes) LastIndex() uint64 { return f.lastIndex }

// TestCandidateWatch_WakesOnlyForACandidateBehind: a follower waiting to
// campaign is woken by a vote request whose log is behind its own (term
// 3, index 100), and only by such a one.
func TestCandidateWatch_WakesOnlyForACandidateBehind(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := newCandidateWatch()
	go w.run(ctx, fakeVotes{lastTerm: 3, lastIndex: 100})
	for _, c := range []struct {
		term, index uint64
		behind      bool
	}{{3, 90, true}, {2, 500, true}, {3, 100, false}, {3, 101, false}, {4, 1, false}} {
		w.obsCh <- raft.Observation{Data: raft.RequestVoteRequest{Term: 5, LastLogTerm: c.term, LastLogIndex: c.index}}
		w.obsCh <- raft.Observation{Data: raft.RequestPreVoteRequest{LastLogTerm: 1, LastLogIndex: 1}} // not a vote
		behind, ok := w.wait(ctx, 300*time.Millisecond, 4)
		if !ok || behind != c.behind {
			t.Errorf("candidate at term %d index %d: woken %v (ok %v), want %v", c.term, c.index, behind, ok, c.behind)
		}
	}
}

// TestCandidateWatch_KeepsACandidateOfTheNextTerm: the vote request of a
// candidate behind this follower's log can come before the follower sees
// its leader (of term 4) gone; it still wakes the follower's wait, while
// one left from an earlier election (term 4 or before) does not.
func TestCandidateWatch_KeepsACandidateOfTheNextTerm(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := newCandidateWatch()
	go w.run(ctx, fakeVotes{lastTerm: 4, lastIndex: 100})
	vote := func(term uint64) {
		w.obsCh <- raft.Observation{Data: raft.RequestVoteRequest{Term: term, LastLogTerm: 4, LastLogIndex: 90}}
	}
	waitSeen := func() {
		deadline := time.Now().Add(10 * time.Second)
		for len(w.behind) == 0 && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
	}
	vote(4) // an earlier election's candidate
	waitSeen()
	if behind, ok := w.wait(ctx, 100*time.Millisecond, 4); !ok || behind {
		t.Fatalf("a candidate of the dead leader's own term woke the wait (behind %v, ok %v)", behind, ok)
	}
	vote(5) // this election's, seen before the wait began
	waitSeen()
	if behind, ok := w.wait(ctx, time.Minute, 4); !ok || !behind {
		t.Fatalf("a candidate of the next term, seen before the wait, did not wake it (behind %v, ok %v)", behind, ok)
	}
}
