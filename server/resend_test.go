package server_test

import (
	"bytes"
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"mesh/fsm"
	"mesh/mesos"
	"mesh/mesos/scheduler"
	"mesh/server/servertest"
)

// countingStore counts the entries written to the log, by type, and the
// agent registrations in them; its writes can be held back like a
// stallingStore's (an entry is counted before its write waits).
type countingStore struct {
	stallingStore
	mu            sync.Mutex
	counts        map[fsm.MessageType]int
	registrations int
}

func newCountingStore() *countingStore {
	s := &countingStore{}
	s.InmemStore = raft.NewInmemStore()
	return s
}

func (s *countingStore) StoreLog(l *raft.Log) error { return s.StoreLogs([]*raft.Log{l}) }

func (s *countingStore) StoreLogs(logs []*raft.Log) error {
	s.mu.Lock()
	if s.counts == nil {
		s.counts = map[fsm.MessageType]int{}
	}
	for _, l := range logs {
		if l.Type != raft.LogCommand || len(l.Data) == 0 {
			continue
		}
		t := fsm.EntryType(l.Data[0])
		s.counts[t]++
		switch t {
		case fsm.AgentRegisterRequestType:
			s.registrations++
		case fsm.AgentRegisterBatchRequestType:
			var b fsm.AgentRegisterBatchRequest
			if fsm.DecodeEntry(l.Data, &b) == nil {
				s.registrations += len(b.Agents)
			}
		}
	}
	s.mu.Unlock()
	return s.stallingStore.StoreLogs(logs)
}

// registered is how many agent registrations the log entries written so
// far hold.
func (s *countingStore) registered() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.registrations
}

func (s *countingStore) entries(t fsm.MessageType) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[t]
}

// TestAgent_ResentUpdateIsForwardedWithoutANewLogEntry: an agent sends an
// update again while its acknowledgement is outstanding (as it does every
// 10 s and more often under load); the leader answers from the state it
// has committed, without writing the update to the log a second time. The
// stream that had the update does not get it again within the quiet
// period (it has it: the stream is one connection); a new stream of the
// framework does, as Mesos forwards every resend. The framework
// acknowledges each copy; only the first acknowledgement is committed.
func TestAgent_ResentUpdateIsForwardedWithoutANewLogEntry(t *testing.T) {
	store := newCountingStore()
	c := servertest.NewClusterWithStores(t, 1, []raft.LogStore{store}, nil)
	srv := c.Servers[c.WaitLeader()]
	agent := servertest.NewSimAgent(srv.HTTPAddr(), agentResources())
	agent.Start(t)
	old := subscribe(t, srv.HTTPAddr(), subscribeBody("resend", "", ""))
	old.subscribed()
	old.launch(old.await(scheduler.EventOffers, 10*time.Second).Offers.Offers[0], "sleep 100", "t1")
	first := old.await(scheduler.EventUpdate, 10*time.Second).Update.Status
	if first.State != mesos.TaskRunning {
		t.Fatalf("first update %s, want TASK_RUNNING", first.State)
	}
	entries := store.entries(fsm.StatusUpdateRequestType)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := 0; i < 3; i++ {
		code, after, err := agent.ResendWithAnswer(ctx)
		if err != nil || code != http.StatusOK {
			t.Fatalf("resend %d: %d %v", i, code, err)
		}
		// The answer tells the agent how long a resend would not be passed
		// on: the rest of the quiet period since the update went out.
		if after <= 50*time.Second || after > 60*time.Second {
			t.Fatalf("resend %d: the server asked the agent to wait %s before resending, want the rest of 60 s", i, after)
		}
	}
	// A resend is passed on (or not) before the agent's call is answered,
	// so had one been, it would come before the answer to this RECONCILE.
	old.mustCall("RECONCILE", "reconcile", `{"tasks":[{"task_id":{"value":"t1"}}]}`)
	if st := old.await(scheduler.EventUpdate, 10*time.Second).Update.Status; st.Reason != mesos.ReasonReconciliation {
		t.Fatalf("the stream that had the update got a resend of it again (%s %x)", st.State, st.UUID)
	}

	// A new stream gets the update at once, and then not again within
	// the quiet period.
	f := subscribe(t, srv.HTTPAddr(), subscribeBody("resend", old.id, ""))
	f.subscribed()
	again := f.await(scheduler.EventUpdate, 10*time.Second).Update.Status
	if again.State != mesos.TaskRunning || !bytes.Equal(again.UUID, first.UUID) {
		t.Fatalf("the unacknowledged update reached the new stream as %s %x, want TASK_RUNNING %x", again.State, again.UUID, first.UUID)
	}
	for i := 0; i < 3; i++ {
		if code, err := agent.Resend(ctx); err != nil || code != http.StatusOK {
			t.Fatalf("resend %d: %d %v", i, code, err)
		}
	}
	f.mustCall("RECONCILE", "reconcile", `{"tasks":[{"task_id":{"value":"t1"}}]}`)
	if st := f.await(scheduler.EventUpdate, 10*time.Second).Update.Status; st.Reason != mesos.ReasonReconciliation {
		t.Fatalf("the new stream got a resend of the update it had (%s %x)", st.State, st.UUID)
	}
	if n := store.entries(fsm.StatusUpdateRequestType); n != entries {
		t.Fatalf("%d status update entries written for 3 resends of a committed update, want none", n-entries)
	}

	// Acknowledged, the task's next update is new and is committed.
	f.ack(first)
	servertest.WaitFor(t, 10*time.Second, "the acknowledgement to reach the agent", func() bool {
		return agent.TaskState(f.id, "t1") == mesos.TaskRunning
	})
	acks := store.entries(fsm.StatusAckRequestType)
	if acks != 1 {
		t.Fatalf("%d acknowledgement entries for one acknowledgement, want 1", acks)
	}
	for i := 0; i < 3; i++ {
		f.ack(first) // as a framework acknowledges every copy it gets
	}
	f.mustCall("KILL", "kill", `{"task_id":{"value":"t1"}}`)
	killed := f.await(scheduler.EventUpdate, 10*time.Second).Update.Status
	if killed.State != mesos.TaskKilled {
		t.Fatalf("after the kill: %s", killed.State)
	}
	if n := store.entries(fsm.StatusUpdateRequestType); n != entries+1 {
		t.Fatalf("%d status update entries for the kill's update, want 1", n-entries)
	}
	// Acknowledgements are handled in the order they came: once the
	// agent has the kill's, the repeated ones before it were handled.
	f.ack(killed)
	servertest.WaitFor(t, 10*time.Second, "the kill's acknowledgement to reach the agent", func() bool {
		return agent.TaskState(f.id, "t1") == mesos.TaskKilled
	})
	if n := store.entries(fsm.StatusAckRequestType); n != acks+1 {
		t.Fatalf("%d acknowledgement entries for 3 repeated acknowledgements and a new one, want 1", n-acks)
	}
}
