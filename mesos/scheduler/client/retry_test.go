package client

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"mesh/mesos/scheduler"
)

func TestTransient_ClassifiesCallErrors(t *testing.T) {
	se := func(code int, msg string) error {
		return fmt.Errorf("ACCEPT call to m: %w", &StatusError{Code: code, Message: msg})
	}
	cases := []struct {
		name                   string
		err                    error
		transient, stale, none bool
	}{
		{"not subscribed", se(403, "Framework is not subscribed"), true, true, true},
		{"stream id mismatch", se(400, "the stream ID 's1' included in this request didn't match the stream ID currently associated with framework ID F"), true, true, true},
		{"no stream id", se(400, "all non-subscribe calls should include the 'Mesos-Stream-Id' header"), true, true, true},
		{"before subscribe", ErrNotSubscribed, true, true, true},
		{"no leader", se(503, "no leader is elected; retry shortly"), true, false, false},
		{"gateway", se(504, ""), true, false, false},
		{"leader busy", se(429, "the leader is overloaded (20000 requests waiting); retry later"), true, false, true},
		{"unreachable", fmt.Errorf("%w: x: %w", ErrUnreachable, errors.New("connection refused")), true, false, false},
		{"redirect loop", fmt.Errorf("%w: x", ErrTooManyRedirects), true, false, true},
		{"bad call", se(400, "failed to validate scheduler::Call: expecting 'accept' to be present"), false, false, false},
		{"framework gone", se(400, "Framework cannot be found"), false, false, false},
		{"unauthorized", se(403, "not authorized to launch as root"), false, false, false},
		{"internal", se(500, "boom"), false, false, false},
		{"nil", nil, false, false, false},
	}
	for _, c := range cases {
		if got := Transient(c.err); got != c.transient {
			t.Errorf("%s: Transient = %v, want %v", c.name, got, c.transient)
		}
		if got := StaleSubscription(c.err); got != c.stale {
			t.Errorf("%s: StaleSubscription = %v, want %v", c.name, got, c.stale)
		}
		if got := NotCarriedOut(c.err); got != c.none {
			t.Errorf("%s: NotCarriedOut = %v, want %v", c.name, got, c.none)
		}
	}
}

// subscribedClient returns a client subscribed to srv (whose SUBSCRIBE
// answer is a stream) with masters as its server list, and its stream.
func subscribedClient(t *testing.T, srv *callServer, masters ...string) (*Client, *Subscription) {
	t.Helper()
	c := New(Config{Masters: append([]string{host(srv.Server)}, masters...), Logger: testLogger(t)})
	sub, err := c.Subscribe(context.Background(), subscribeCall())
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	mustNext(t, sub, "SUBSCRIBED")
	return c, sub
}

func TestCall_UnavailableMovesToTheNextServer(t *testing.T) {
	srv := newCallServer(t, func(w http.ResponseWriter, _ *scheduler.Call) {
		http.Error(w, "no leader is elected; retry shortly", http.StatusServiceUnavailable)
	})
	defer srv.Close()
	other := "127.0.0.1:1"
	c, sub := subscribedClient(t, srv, other)
	defer sub.Close()
	err := c.Call(context.Background(), ReviveCall())
	if !Transient(err) || NotCarriedOut(err) {
		t.Fatalf("Call: %v, want a transient error that may have been carried out", err)
	}
	if c.Master() != other {
		t.Errorf("after a 503 the client follows %q, want the next server %q", c.Master(), other)
	}
}

func TestCall_UnreachableServerIsTransientAndMovesOn(t *testing.T) {
	srv := newCallServer(t, func(w http.ResponseWriter, _ *scheduler.Call) { w.WriteHeader(http.StatusAccepted) })
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := l.Addr().String()
	l.Close()
	c, sub := subscribedClient(t, srv, dead)
	sub.Close()
	srv.Close() // the leader dies
	err = c.Call(context.Background(), ReviveCall())
	if !errors.Is(err, ErrUnreachable) || !Transient(err) {
		t.Fatalf("Call to a dead server: %v, want ErrUnreachable", err)
	}
	if c.Master() != dead {
		t.Errorf("after a dead server the client follows %q, want the next server %q", c.Master(), dead)
	}
}

func TestCall_RedirectMovesStreamAndCallsAlike(t *testing.T) {
	srv := newCallServer(t, func(w http.ResponseWriter, _ *scheduler.Call) { w.WriteHeader(http.StatusAccepted) })
	defer srv.Close()
	follower := newCallServer(t, func(w http.ResponseWriter, _ *scheduler.Call) {
		w.Header().Set("Location", "//"+host(srv.Server)+DefaultPath)
		w.WriteHeader(http.StatusTemporaryRedirect)
	})
	defer follower.Close()
	c, sub := subscribedClient(t, follower)
	defer sub.Close()
	if err := c.Call(context.Background(), ReviveCall()); err != nil {
		t.Fatalf("Call: %v", err)
	}
	if c.Master() != host(srv.Server) {
		t.Errorf("client follows %q after a redirect, want the leader %q", c.Master(), host(srv.Server))
	}
	srv.mu.Lock()
	n := len(srv.calls)
	srv.mu.Unlock()
	if n != 1 {
		t.Errorf("leader saw %d calls, want 1", n)
	}
}

func TestBackoff_EachKindDoublesToMaxWithJitter(t *testing.T) {
	b := backoff{election: 50 * time.Millisecond, unreachable: 100 * time.Millisecond, minUnreachable: 100 * time.Millisecond, max: time.Second}
	check := func(answered bool, base time.Duration) {
		t.Helper()
		if got := b.next(answered); got < base/2 || got > base {
			t.Fatalf("wait %s, want within [%s, %s]", got, base/2, base)
		}
	}
	// Servers that answer without a leader: every ~50 ms for about a
	// second (an election), then less and less often.
	for i := 0; i < electionTries; i++ {
		check(true, 50*time.Millisecond)
	}
	for _, base := range []time.Duration{50, 100, 200, 400, 800, 1000, 1000} {
		check(true, base*time.Millisecond)
	}
	// The waits for unreachable servers grow on their own, and start
	// again from the shortest once a server answers.
	for _, base := range []time.Duration{100, 200, 400, 800, 1000} {
		check(false, base*time.Millisecond)
	}
	check(true, time.Second)
	check(false, 100*time.Millisecond)
}

// FuzzTransient feeds the error classifiers any status and message: they
// never panic, and what they say is consistent — a stale subscription or a
// call certainly not carried out is always worth repeating.
func FuzzTransient(f *testing.F) {
	f.Add(403, "Framework is not subscribed")
	f.Add(400, "the stream ID 's' included in this request didn't match")
	f.Add(400, "Framework cannot be found")
	f.Add(503, "no leader is elected; retry shortly")
	f.Add(500, "")
	f.Add(0, "\x00\xff")
	f.Fuzz(func(t *testing.T, code int, msg string) {
		err := fmt.Errorf("call: %w", &StatusError{Code: code, Message: msg})
		stale, transient, none := StaleSubscription(err), Transient(err), NotCarriedOut(err)
		if (stale || none) && !transient {
			t.Fatalf("%d %q: stale %v, not carried out %v, but not transient", code, msg, stale, none)
		}
		if stale && code != http.StatusForbidden && code != http.StatusBadRequest {
			t.Fatalf("%d %q: stale subscription from a status other than 400 or 403", code, msg)
		}
		_ = err.Error()
	})
}

// TestSubscribe_BusyLeaderIsAskedAgainAfterRetryAfter: a SUBSCRIBE answered
// 429 (the leader's admission is full) is not an error: the client waits
// about the Retry-After it was given and subscribes again to the same
// server.
func TestSubscribe_BusyLeaderIsAskedAgainAfterRetryAfter(t *testing.T) {
	var mu sync.Mutex
	var attempts []time.Time
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		attempts = append(attempts, time.Now())
		n := len(attempts)
		mu.Unlock()
		if n == 1 {
			w.Header().Set("Retry-After", "1")
			http.Error(w, "the leader is overloaded; retry later", http.StatusTooManyRequests)
			return
		}
		startStream(t, w, "stream-1", subscribedEvent("F1", 15))
		<-r.Context().Done()
	}))
	defer srv.Close()
	c := New(Config{Masters: []string{host(srv)}, Logger: testLogger(t)})
	sub, err := c.Subscribe(context.Background(), subscribeCall())
	if err != nil {
		t.Fatalf("Subscribe after a 429: %v", err)
	}
	defer sub.Close()
	mustNext(t, sub, scheduler.EventSubscribed)
	mu.Lock()
	defer mu.Unlock()
	if len(attempts) != 2 {
		t.Fatalf("%d attempts, want 2", len(attempts))
	}
	if gap := attempts[1].Sub(attempts[0]); gap < 400*time.Millisecond {
		t.Errorf("subscribed again %s after a 429 with Retry-After: 1", gap)
	}
}
