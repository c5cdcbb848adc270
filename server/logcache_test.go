package server_test

import (
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"mesh/server/servertest"
)

// readCountingStore counts the reads of entries above a mark.
type readCountingStore struct {
	*raft.InmemStore
	mu    sync.Mutex
	above uint64
	reads int
}

func (s *readCountingStore) GetLog(index uint64, l *raft.Log) error {
	s.mu.Lock()
	if s.above > 0 && index > s.above {
		s.reads++
	}
	s.mu.Unlock()
	return s.InmemStore.GetLog(index, l)
}

// mark starts counting reads of entries written from now on.
func (s *readCountingStore) mark() {
	last, _ := s.LastIndex()
	s.mu.Lock()
	s.above, s.reads = last, 0
	s.mu.Unlock()
}

func (s *readCountingStore) readsAbove() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reads
}

// TestRaft_NewEntriesAreReadBackFromMemory: raft reads back each entry it
// writes, the leader to send it to each follower and a follower to apply
// it. Those reads are served from memory: no server's log store is asked
// for an entry written while agents register one after another.
func TestRaft_NewEntriesAreReadBackFromMemory(t *testing.T) {
	stores := make([]*readCountingStore, 3)
	logs := make([]raft.LogStore, 3)
	for i := range stores {
		stores[i] = &readCountingStore{InmemStore: raft.NewInmemStore()}
		logs[i] = stores[i]
	}
	c := servertest.NewClusterWithStores(t, 3, logs, steadyRaft)
	leader := c.Servers[c.WaitLeader()]
	for _, s := range stores {
		s.mark()
	}
	for i := 0; i < 20; i++ {
		a := servertest.NewSimAgent(leader.HTTPAddr(), agentResources())
		a.Start(t)
	}
	servertest.WaitFor(t, 10*time.Second, "every server to apply the registrations", func() bool {
		for _, s := range c.Servers {
			if len(s.FSM().State().Agents()) < 20 {
				return false
			}
		}
		return true
	})
	for i, s := range stores {
		if n := s.readsAbove(); n > 0 {
			t.Errorf("server %d read %d new entries back from its log store", i, n)
		}
	}
}
