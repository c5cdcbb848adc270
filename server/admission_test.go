package server

import (
	"context"
	"errors"
	"net/http"
	"strings"
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

	hold, err := a.enter(ctx, "a", 0)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan error, 1)
	go func() {
		release, err := a.enter(ctx, "b", 0)
		if err == nil {
			release()
		}
		got <- err
	}()
	// The queue (one place) is taken by b once a.waiting says so.
	waitUntil(t, func() bool {
		a.mu.Lock()
		defer a.mu.Unlock()
		return a.waiting == 1
	})
	if _, err := a.enter(ctx, "c", 0); statusOf(err) != http.StatusTooManyRequests {
		t.Fatalf("beyond the queue: %v, want 429", err)
	}
	hold()
	if err := <-got; err != nil {
		t.Fatalf("the waiting request: %v", err)
	}

	hold, _ = a.enter(ctx, "a", 0)
	if _, err := a.enter(ctx, "a", 0); statusOf(err) != http.StatusTooManyRequests {
		t.Fatalf("past the wait: %v, want 429", err)
	}
	a.limits.perClient = 1
	if _, err := a.enter(ctx, "a", 0); statusOf(err) != http.StatusTooManyRequests {
		t.Fatalf("a client at its bound: %v, want 429", err)
	}
	go func() {
		_, err := a.enter(ctx, "d", 0)
		got <- err
	}()
	endTerm()
	if err := <-got; !errors.Is(err, ErrNotLeader) {
		t.Fatalf("a wait when the term ended: %v, want ErrNotLeader", err)
	}
	hold()
}

// TestAdmission_WaitingBodiesAreBounded: the requests waiting for a slot
// hold their decoded bodies, so their bytes are bounded as well as their
// count: one that would take the waiting bytes past the bound is refused
// 429 at once, saying why; a request may always wait when none does,
// however large; what a wait ends gives its bytes back.
func TestAdmission_WaitingBodiesAreBounded(t *testing.T) {
	a := newAdmission(context.Background(), admissionLimits{slots: 1, queue: 10, queueBytes: 100, wait: 10 * time.Second, perClient: 10})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	hold, err := a.enter(ctx, "holder", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer hold()
	waiting := func(n int, bytes int64) {
		t.Helper()
		waitUntil(t, func() bool {
			a.mu.Lock()
			defer a.mu.Unlock()
			return a.waiting == n && a.waitingBytes == bytes
		})
	}
	waitIn := func(client string, size int64) chan error {
		got := make(chan error, 1)
		go func() {
			_, err := a.enter(ctx, client, size)
			got <- err
		}()
		return got
	}
	big := waitIn("big", 1000) // alone in the queue: it waits
	waiting(1, 1000)
	if _, err := a.enter(ctx, "small", 1); statusOf(err) != http.StatusTooManyRequests || !strings.Contains(err.Error(), "1 requests of 1000 bytes waiting") {
		t.Fatalf("a request beyond the waiting bytes: %v, want 429 saying what waits", err)
	}
	cancel()
	if err := <-big; !errors.Is(err, context.Canceled) {
		t.Fatalf("the big request's wait: %v", err)
	}
	waiting(0, 0)

	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	first, second := waitIn("w1", 60), waitIn("w2", 40)
	waiting(2, 100)
	if _, err := a.enter(ctx, "w3", 1); statusOf(err) != http.StatusTooManyRequests {
		t.Fatalf("a request past 100 waiting bytes: %v, want 429", err)
	}
	cancel()
	<-first
	<-second
	waiting(0, 0)
}

// waitUntil polls cond until it holds, failing t after 5 s.
func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
	}
}
