package server

import (
	"testing"

	"mesh/fsm"
	mapi "mesh/mesos/master"
)

// TestOperatorHub_SlowSubscriberIsCutOff: a subscriber that takes
// nothing is closed and dropped once its outbox is full, while the other
// subscribers and the publisher go on; publishing never blocks.
func TestOperatorHub_SlowSubscriberIsCutOff(t *testing.T) {
	h := newOperatorHub(fsm.New(nil))
	slow, _ := h.subscribe(nil)
	fast, _ := h.subscribe(nil)
	ev := &mapi.Event{Type: mapi.EventHeartbeat}
	for i := 0; i < maxOutbox+10; i++ {
		h.mu.Lock()
		h.publishLocked([]*mapi.Event{ev}, nil)
		h.mu.Unlock()
		if i%100 == 0 {
			fast.take() // the fast one keeps up
		}
	}
	select {
	case <-slow.done:
	default:
		t.Fatal("the subscriber that never read is still open")
	}
	select {
	case <-fast.done:
		t.Fatal("the subscriber that kept up was closed")
	default:
	}
	if n := h.subscribers(); n != 1 {
		t.Errorf("%d subscribers left, want 1", n)
	}
	h.unsubscribe(fast)
	if n := h.subscribers(); n != 0 {
		t.Errorf("%d subscribers after unsubscribing, want 0", n)
	}
}
