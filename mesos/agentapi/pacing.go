package agentapi

import "time"

// How an agent paces its conversation with the servers. The real agent
// follows these, and so does the cluster benchmark's simulated agent, so
// that what the benchmark measures is mesh and not its simulator.
const (
	// MinConnectBackoff is the first wait after no server could be reached;
	// it doubles up to MaxConnectBackoff.
	MinConnectBackoff = 100 * time.Millisecond
	MaxConnectBackoff = 2 * time.Second
	// ElectionRetry is the wait between attempts while servers answer but
	// no leader serves yet.
	ElectionRetry = 50 * time.Millisecond
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
