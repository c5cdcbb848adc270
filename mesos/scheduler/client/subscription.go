package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"mime"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"mesh/mesos/codec"
	"mesh/mesos/recordio"
	"mesh/mesos/scheduler"
)

// initialHeartbeatTimeout bounds the wait for SUBSCRIBED, before the server
// has advertised its heartbeat interval: 5 × Mesos' 15 s.
const initialHeartbeatTimeout = 75 * time.Second

// missedHeartbeats is how many silent heartbeat intervals end a stream.
const missedHeartbeats = 5

// ErrClosed is returned by Next after Close.
var ErrClosed = errors.New("scheduler client: subscription closed")

// Subscription is one open SUBSCRIBE stream. Next must be called from one
// goroutine at a time; Close may be called from any.
type Subscription struct {
	c        *Client
	resp     *http.Response
	r        *recordio.Reader
	cancel   context.CancelFunc
	streamID string

	timeout  time.Duration // written only by Next
	watchdog *time.Timer
	timedOut atomic.Bool
	closed   atomic.Bool
	once     sync.Once
}

// Subscribe POSTs call (a SUBSCRIBE) and returns the open event stream. It
// follows 307 redirects to the leader, and retries 503s, redirect loops and
// unreachable servers across Config.Masters with bounded, jittered backoff
// until ctx is done; any other non-200 status is returned at once as a
// *StatusError. ctx also bounds the stream's life; Close ends it early.
func (c *Client) Subscribe(ctx context.Context, call *scheduler.Call) (*Subscription, error) {
	if call.Type != scheduler.CallSubscribe || call.Subscribe == nil || call.Subscribe.FrameworkInfo == nil {
		return nil, errors.New("scheduler client: Subscribe needs a SUBSCRIBE call with framework_info")
	}
	if c.Master() == "" {
		return nil, ErrNoMasters
	}
	body, err := codec.Marshal(c.encoding, call)
	if err != nil {
		return nil, fmt.Errorf("encode SUBSCRIBE call: %w", err)
	}
	// Two backoffs: servers that answer but have no leader yet (503, or
	// redirecting to each other) are retried soon (see backoff.next);
	// servers that cannot be reached are retried from minBackoff up,
	// doubling to maxBackoff.
	b := backoff{election: min(electionRetry, c.maxBackoff), unreachable: c.minBackoff, minUnreachable: c.minBackoff, max: c.maxBackoff}
	for {
		start := c.Master()
		sctx, cancel := context.WithCancel(ctx)
		resp, host, err := c.send(sctx, c.stream, scheduler.CallSubscribe, body, "")
		var wait time.Duration
		switch {
		case err != nil && ctx.Err() != nil:
			cancel()
			return nil, fmt.Errorf("subscribe: %w", ctx.Err())
		case errors.Is(err, ErrUnreachable):
			cancel()
			c.log.Warn("subscribe failed, trying the next server", "master", host, "error", err)
			// A redirect that led to an unreachable leader is the answer of
			// a follower whose view of the leader is stale: retry soon.
			wait = b.next(host != start)
		case errors.Is(err, ErrTooManyRedirects):
			cancel()
			c.log.Warn("servers keep redirecting, backing off", "master", host)
			wait = b.next(true)
		case err != nil:
			cancel()
			return nil, fmt.Errorf("subscribe: %w", err)
		case resp.StatusCode == http.StatusOK:
			return c.open(resp, cancel, call)
		case resp.StatusCode == http.StatusServiceUnavailable:
			serr := statusError(resp)
			cancel()
			c.log.Warn("server unavailable, trying the next server", "master", host, "error", serr.Message)
			c.rotate(host)
			wait = b.next(true)
		case resp.StatusCode == http.StatusTooManyRequests:
			// The leader is busy: come back when it says, give or take.
			after := retryAfter(resp)
			serr := statusError(resp)
			cancel()
			c.log.Warn("the leader is busy, subscribing again later", "master", host, "retry_after", after, "error", serr.Message)
			wait = after/2 + rand.N(after+1)
		default:
			serr := statusError(resp)
			cancel()
			return nil, fmt.Errorf("subscribe to %s: %w", host, serr)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("subscribe: %w", ctx.Err())
		case <-t.C:
		}
	}
}

// backoff holds Subscribe's two waits.
type backoff struct {
	election, unreachable, max time.Duration
	minUnreachable             time.Duration
	answered                   int // attempts servers answered without a leader
}

// next returns a jittered wait (in [d/2, d]) for the next attempt. While
// servers answer without a leader, the first electionTries attempts come
// every electionRetry — an election takes well under a second and a
// framework should be back as soon as it ends — and only then does the
// wait double, so a cluster that stays without a leader is not hammered.
// Waits for unreachable servers double from the start, and start again
// from the shortest once a server answers: the dead one is then only one of
// the servers tried in turn. Both stop at max. Jitter keeps many frameworks
// from stampeding a new leader.
func (b *backoff) next(answered bool) time.Duration {
	d := &b.unreachable
	if answered {
		b.unreachable = b.minUnreachable
		d = &b.election
		if b.answered++; b.answered <= electionTries {
			return *d/2 + rand.N(*d/2+1)
		}
	}
	wait := *d/2 + rand.N(*d/2+1)
	*d = min(2**d, b.max)
	return wait
}

// open checks a 200 SUBSCRIBE response and wraps it in a Subscription.
func (c *Client) open(resp *http.Response, cancel context.CancelFunc, call *scheduler.Call) (*Subscription, error) {
	mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if err != nil || mt != c.encoding {
		// A 200 is a stream that does not end: cancel before closing it,
		// or the close would wait for the server.
		cancel()
		drain(resp)
		return nil, fmt.Errorf("%w: SUBSCRIBE answered with Content-Type %q, want %s",
			ErrProtocol, resp.Header.Get("Content-Type"), c.encoding)
	}
	sid := resp.Header.Get("Mesos-Stream-Id")
	if sid == "" {
		cancel()
		drain(resp)
		return nil, fmt.Errorf("%w: SUBSCRIBE answered without Mesos-Stream-Id", ErrProtocol)
	}
	c.mu.Lock()
	c.streamID = sid
	if id := call.Subscribe.FrameworkInfo.ID; id != nil && id.Value != "" {
		c.frameworkID = id.Value
	}
	c.mu.Unlock()
	s := &Subscription{
		c:        c,
		resp:     resp,
		r:        recordio.NewReader(resp.Body),
		cancel:   cancel,
		streamID: sid,
		timeout:  initialHeartbeatTimeout,
	}
	// The watchdog cancels the request, which makes the blocked read in
	// Next return; Next then reports ErrHeartbeatTimeout.
	s.watchdog = time.AfterFunc(s.timeout, func() {
		s.timedOut.Store(true)
		cancel()
	})
	c.log.Debug("subscribed", "master", c.Master(), "stream_id", sid)
	return s, nil
}

// StreamID returns the Mesos-Stream-Id the server gave this stream.
func (s *Subscription) StreamID() string { return s.streamID }

// Next returns the next event, heartbeats included. It returns io.EOF when
// the server ends the stream, ErrHeartbeatTimeout when it falls silent for
// 5 heartbeat intervals, and ErrClosed after Close. A SUBSCRIBED event
// records the framework id in the Client and arms the watchdog with the
// advertised interval.
func (s *Subscription) Next() (*scheduler.Event, error) {
	rec, err := s.r.ReadRecord()
	if err != nil {
		s.release()
		switch {
		case s.closed.Load():
			return nil, ErrClosed
		case s.timedOut.Load():
			return nil, ErrHeartbeatTimeout
		case errors.Is(err, io.EOF):
			return nil, io.EOF
		case errors.Is(err, recordio.ErrBadRecord):
			return nil, fmt.Errorf("%w: %w", ErrProtocol, err)
		}
		return nil, fmt.Errorf("read event: %w", err)
	}
	var ev scheduler.Event
	if err := codec.Unmarshal(s.c.encoding, rec, &ev); err != nil {
		s.release()
		return nil, fmt.Errorf("%w: decode event: %w", ErrProtocol, err)
	}
	if ev.Type == scheduler.EventSubscribed && ev.Subscribed != nil {
		if ev.Subscribed.FrameworkID != nil {
			s.c.setFrameworkID(ev.Subscribed.FrameworkID.Value)
		}
		if hb := ev.Subscribed.HeartbeatIntervalSeconds; hb > 0 {
			s.timeout = time.Duration(missedHeartbeats * hb * float64(time.Second))
		}
	}
	s.watchdog.Reset(s.timeout)
	return &ev, nil
}

// Close ends the stream. It is safe to call more than once and from any
// goroutine.
func (s *Subscription) Close() error {
	s.closed.Store(true)
	s.release()
	return nil
}

// release stops the watchdog and frees the connection.
func (s *Subscription) release() {
	s.once.Do(func() {
		s.watchdog.Stop()
		s.cancel()
		s.resp.Body.Close()
	})
}
