package server

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"
)

func statusOf(err error) int {
	var ce *codedError
	if errors.As(err, &ce) {
		return ce.code
	}
	return 0
}

// TestAdmission_WaitsThenRefuses: a request waits while every slot is
// busy and gets one as soon as another is released; beyond the queue's
// bound, or past the wait, it is refused 429 with Retry-After; a client
// at its own bound is refused at once; the term's end ends every wait.
func TestAdmission_WaitsThenRefuses(t *testing.T) {
	term, endTerm := context.WithCancel(context.Background())
	defer endTerm()
	a := newAdmission(term, admissionLimits{slots: 1, queue: 1, wait: 200 * time.Millisecond, perClient: 2})
	ctx := context.Background()

	hold, err := a.enter(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan error, 1)
	go func() {
		release, err := a.enter(ctx, "b")
		if err == nil {
			release()
		}
		got <- err
	}()
	// The queue (one place) is taken by b once a.waiting says so.
	for deadline := time.Now().Add(5 * time.Second); ; {
		a.mu.Lock()
		w := a.waiting
		a.mu.Unlock()
		if w == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the second request never waited")
		}
		time.Sleep(time.Millisecond)
	}
	if _, err := a.enter(ctx, "c"); statusOf(err) != http.StatusTooManyRequests {
		t.Fatalf("beyond the queue: %v, want 429", err)
	}
	hold()
	if err := <-got; err != nil {
		t.Fatalf("the waiting request: %v", err)
	}

	hold, _ = a.enter(ctx, "a")
	if _, err := a.enter(ctx, "a"); statusOf(err) != http.StatusTooManyRequests {
		t.Fatalf("past the wait: %v, want 429", err)
	}
	a.limits.perClient = 1
	if _, err := a.enter(ctx, "a"); statusOf(err) != http.StatusTooManyRequests {
		t.Fatalf("a client at its bound: %v, want 429", err)
	}
	go func() {
		_, err := a.enter(ctx, "d")
		got <- err
	}()
	endTerm()
	if err := <-got; !errors.Is(err, ErrNotLeader) {
		t.Fatalf("a wait when the term ended: %v, want ErrNotLeader", err)
	}
	hold()
}
