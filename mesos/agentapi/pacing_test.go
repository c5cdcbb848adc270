package agentapi

import (
	"testing"
	"time"
)

// within fails unless d is a jittered wait of base: half of it to all.
func within(t *testing.T, what string, d, base time.Duration) {
	t.Helper()
	if d < base/2 || d > base {
		t.Fatalf("%s: waited %v, want %v to %v", what, d, base/2, base)
	}
}

func TestReconnect_ElectionWaitsGrowToTheirBound(t *testing.T) {
	var r Reconnect
	want := ElectionRetry
	var total time.Duration
	for i := range 12 {
		d := r.Next(i == 0, true)
		within(t, "attempt while electing", d, want)
		total += d
		want = min(2*want, MaxElectionRetry)
	}
	// Twelve attempts at the first wait would have been over within
	// 0.6 s; growing, they cover seconds of an election (at least 2.4 s).
	if total < 2*time.Second {
		t.Fatalf("12 attempts while electing took %v; the waits did not grow", total)
	}
}

func TestReconnect_ARegisteredSessionStartsAfresh(t *testing.T) {
	var r Reconnect
	for range 8 {
		r.Next(false, true)
	}
	within(t, "electing after a session that registered", r.Next(true, true), ElectionRetry)
	for range 8 {
		r.Next(false, false)
	}
	within(t, "unreachable after a session that registered", r.Next(true, false), MinConnectBackoff)
}

func TestReconnect_UnreachableServersBackOffApartFromElections(t *testing.T) {
	var r Reconnect
	want := MinConnectBackoff
	for range 8 {
		within(t, "no server reachable", r.Next(false, false), want)
		want = min(2*want, MaxConnectBackoff)
	}
	// Servers answer again: the wait is an election's, not the backoff's.
	within(t, "servers answer, no leader yet", r.Next(false, true), ElectionRetry)
	// And the backoff starts again from its first step.
	within(t, "unreachable again", r.Next(false, false), MinConnectBackoff)
}
