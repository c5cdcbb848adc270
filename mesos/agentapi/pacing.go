package agentapi

import (
	"math/rand/v2"
	"time"
)

// How an agent paces its conversation with the servers. The real agent
// follows these, and so does the cluster benchmark's simulated agent, so
// that what the benchmark measures is mesh and not its simulator.
const (
	// MinConnectBackoff is the first wait after no server could be reached;
	// it doubles up to MaxConnectBackoff.
	MinConnectBackoff = 100 * time.Millisecond
	MaxConnectBackoff = 2 * time.Second
	// ElectionRetry is the first wait while servers answer but no leader
	// serves yet; it doubles up to MaxElectionRetry. A data center's
	// agents all ask at once after their leader died; at a fixed 50 ms,
	// 5,000 of them could send the surviving servers 100,000 requests a
	// second for as long as an election lasts.
	ElectionRetry    = 50 * time.Millisecond
	MaxElectionRetry = 500 * time.Millisecond
	// FirstRecordTimeout bounds the wait for REGISTERED.
	FirstRecordTimeout = 30 * time.Second
	// DefaultHeartbeat is assumed when REGISTERED names no interval.
	DefaultHeartbeat = 15 * time.Second
	// MissedHeartbeats silent intervals drop the stream.
	MissedHeartbeats = 3
	// MaxRedirects bounds how many 307s one call follows.
	MaxRedirects = 5
	// UpdateCallTimeout bounds one UPDATE call.
	UpdateCallTimeout = 30 * time.Second

	// StatusRetryInterval is how long a status update waits for its
	// acknowledgement before it is sent again, doubling up to
	// MaxStatusRetryInterval (Mesos: 10 s to 10 min).
	StatusRetryInterval    = 10 * time.Second
	MaxStatusRetryInterval = 10 * time.Minute
	// MinSendFailureBackoff is the first wait after an UPDATE call failed.
	MinSendFailureBackoff = 250 * time.Millisecond
	// MaxUpdatesPerCall bounds one UPDATE call's batch.
	MaxUpdatesPerCall = 100
)

// ResendWait is how long a status update sent and committed waits for its
// acknowledgement before it goes again: its retry interval, or longer
// when the server said it would not pass a resend on sooner (serverAsked,
// ResendAfter; counted up to MaxStatusRetryInterval).
func ResendWait(interval, serverAsked time.Duration) time.Duration {
	return max(interval, min(serverAsked, MaxStatusRetryInterval))
}

// Reconnect paces an agent's attempts to subscribe: a short wait that
// grows while servers answer that a leader is being elected, a longer
// backoff while no server can be reached, each jittered (half to the
// whole of it) so that agents that lost the same leader spread.
type Reconnect struct {
	backoff, election time.Duration
}

// Next is the wait before the next attempt. registered tells whether the
// attempt that ended had registered (a session that ran starts the
// pacing afresh), electing whether it ended because the servers answered
// that no leader serves yet.
func (r *Reconnect) Next(registered, electing bool) time.Duration {
	if registered {
		r.backoff, r.election = 0, 0
	}
	if electing {
		r.backoff = 0
		r.election = min(max(2*r.election, ElectionRetry), MaxElectionRetry)
		return jitter(r.election)
	}
	r.election = 0
	r.backoff = min(max(2*r.backoff, MinConnectBackoff), MaxConnectBackoff)
	return jitter(r.backoff)
}

// jitter is a random wait between half of d and d.
func jitter(d time.Duration) time.Duration { return d/2 + rand.N(d/2+1) }
