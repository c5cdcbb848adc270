// Package client is a small Mesos v1 scheduler HTTP client: it subscribes
// to the leading server (following redirects and retrying unavailable
// servers), reads the RecordIO event stream, and sends the other calls with
// the subscription's Mesos-Stream-Id.
package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"mesh/mesos"
	"mesh/mesos/codec"
	"mesh/mesos/scheduler"
)

// DefaultPath is the scheduler API endpoint on every server.
const DefaultPath = "/api/v1/scheduler"

// Default retry bounds for Subscribe.
const (
	DefaultMinBackoff = 100 * time.Millisecond
	DefaultMaxBackoff = 5 * time.Second
)

// maxRedirects is how many 307s in a row are followed at once before the
// client backs off: during an election servers may point at each other.
const maxRedirects = 5

// electionRetry is the wait between Subscribe attempts while servers
// answer but no leader serves yet, for the first electionTries attempts
// (about a second: an election's length); after that it doubles up to
// MaxBackoff.
const (
	electionRetry = 50 * time.Millisecond
	electionTries = 20
)

// maxErrorBody bounds how much of an error response is kept.
const maxErrorBody = 4 << 10

// Config configures a Client.
type Config struct {
	// Masters lists servers as host:port; any of them will do, the client
	// follows redirects to the leader. A leading "http://" is tolerated.
	Masters []string
	// Logger receives the client's logs; nil discards them.
	Logger hclog.Logger
	// HTTPClient sends the requests; nil means a fresh http.Client. The
	// client never follows redirects itself (the Client does), and its
	// Timeout, if any, is ignored for the SUBSCRIBE stream.
	HTTPClient *http.Client
	// Path is the endpoint path; empty means DefaultPath.
	Path string
	// Scheme is "https" for servers that serve TLS (HTTPClient then
	// carries the TLS configuration); empty means "http".
	Scheme string
	// MinBackoff and MaxBackoff bound the wait between Subscribe attempts;
	// zero means DefaultMinBackoff and DefaultMaxBackoff.
	MinBackoff, MaxBackoff time.Duration
	// Principal and Secret, when Principal is set, authenticate every
	// request with HTTP Basic, as a framework authenticates to a server
	// that requires it (-authenticate-frameworks). The secret is sent to
	// every server the client is redirected to: use TLS.
	Principal, Secret string
	// Encoding is the media type the client speaks: codec.JSON (empty
	// means JSON) or codec.Protobuf. Calls are sent in it and events
	// are asked for in it.
	Encoding string
}

// Client talks to the leading server on behalf of one framework. It is safe
// for concurrent use: typically one goroutine reads events while others
// send calls.
type Client struct {
	cfg        Config
	log        hclog.Logger
	calls      *http.Client // for non-SUBSCRIBE calls
	stream     *http.Client // for SUBSCRIBE: no timeout
	path       string
	minBackoff time.Duration
	maxBackoff time.Duration
	encoding   string

	mu          sync.Mutex
	masters     []string
	idx         int    // index in masters of the last server picked from the list
	current     string // host:port the next request goes to
	streamID    string
	frameworkID string
}

// StatusError is returned when a server answers with an unexpected HTTP
// status; Message is the response body (Mesos explains itself in plain
// text).
type StatusError struct {
	Code    int
	Message string
}

// Error implements error.
func (e *StatusError) Error() string {
	msg := strings.TrimSpace(e.Message)
	if msg == "" {
		return fmt.Sprintf("scheduler api: %d %s", e.Code, http.StatusText(e.Code))
	}
	return fmt.Sprintf("scheduler api: %d %s: %s", e.Code, http.StatusText(e.Code), msg)
}

// Sentinel errors.
var (
	// ErrNoMasters is returned when Config.Masters is empty.
	ErrNoMasters = errors.New("scheduler client: no masters configured")
	// ErrHeartbeatTimeout is returned by Next when the server sent nothing
	// for 5 heartbeat intervals.
	ErrHeartbeatTimeout = errors.New("scheduler client: no event within 5 heartbeat intervals")
	// ErrProtocol is wrapped by errors for responses that break the wire
	// contract (wrong Content-Type, no Mesos-Stream-Id, bad records).
	ErrProtocol = errors.New("scheduler client: protocol error")
	// ErrNotSubscribed is returned by Call before any subscription.
	ErrNotSubscribed = errors.New("scheduler client: not subscribed")
	// ErrUnreachable is wrapped by errors for requests no server answered
	// (refused, reset or timed out connections).
	ErrUnreachable = errors.New("scheduler client: server unreachable")
	// ErrTooManyRedirects is wrapped by errors for requests that servers
	// kept redirecting: a leader is being elected.
	ErrTooManyRedirects = errors.New("scheduler client: too many redirects")
)

// New returns a Client for cfg.
func New(cfg Config) *Client {
	log := cfg.Logger
	if log == nil {
		log = hclog.NewNullLogger()
	}
	base := cfg.HTTPClient
	if base == nil {
		base = &http.Client{}
	}
	noRedirect := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	calls := *base
	calls.CheckRedirect = noRedirect
	stream := calls
	stream.Timeout = 0
	c := &Client{
		cfg:        cfg,
		log:        log,
		calls:      &calls,
		stream:     &stream,
		path:       cfg.Path,
		minBackoff: cfg.MinBackoff,
		maxBackoff: cfg.MaxBackoff,
	}
	if c.encoding = cfg.Encoding; c.encoding == "" {
		c.encoding = codec.JSON
	}
	if c.path == "" {
		c.path = DefaultPath
	}
	if c.minBackoff <= 0 {
		c.minBackoff = DefaultMinBackoff
	}
	if c.maxBackoff <= 0 {
		c.maxBackoff = DefaultMaxBackoff
	}
	if c.maxBackoff < c.minBackoff {
		c.maxBackoff = c.minBackoff
	}
	for _, m := range cfg.Masters {
		m = strings.TrimSpace(m)
		m = strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(m, "http://"), "https://"), "/")
		if m != "" {
			c.masters = append(c.masters, m)
		}
	}
	if len(c.masters) > 0 {
		c.current = c.masters[0]
	}
	return c
}

// Master returns the host:port the client currently sends requests to.
func (c *Client) Master() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.current
}

// StreamID returns the Mesos-Stream-Id of the latest subscription, or "".
func (c *Client) StreamID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.streamID
}

// FrameworkID returns the framework id: the one subscribed with, or the one
// the server assigned in SUBSCRIBED; "" before either.
func (c *Client) FrameworkID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.frameworkID
}

// setFrameworkID records the framework id the server confirmed.
func (c *Client) setFrameworkID(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.frameworkID = id
}

// redirect points the client at the server a 307 named.
func (c *Client) redirect(location string) error {
	u, err := url.Parse(location)
	if err != nil || u.Host == "" {
		return fmt.Errorf("%w: bad redirect location %q", ErrProtocol, location)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.current = u.Host
	return nil
}

// rotate moves on to the next configured server after failed went wrong.
func (c *Client) rotate(failed string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.current != failed || len(c.masters) == 0 {
		return // someone already moved on
	}
	c.idx = (c.idx + 1) % len(c.masters)
	c.current = c.masters[c.idx]
}

// post sends one call to host and returns the raw response.
func (c *Client) post(ctx context.Context, hc *http.Client, host string, body []byte, streamID string) (*http.Response, error) {
	scheme := c.cfg.Scheme
	if scheme == "" {
		scheme = "http"
	}
	u := scheme + "://" + host + c.path
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("build request to %s: %w", u, err)
	}
	req.Header.Set("Content-Type", c.encoding)
	req.Header.Set("Accept", c.encoding)
	if c.cfg.Principal != "" {
		req.SetBasicAuth(c.cfg.Principal, c.cfg.Secret)
	}
	if streamID != "" {
		req.Header.Set("Mesos-Stream-Id", streamID)
	}
	return hc.Do(req)
}

// statusError reads resp's body into a StatusError and closes it.
func statusError(resp *http.Response) *StatusError {
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	return &StatusError{Code: resp.StatusCode, Message: strings.TrimSpace(string(b))}
}

// drain discards what is left of a body so the connection can be reused.
func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
	resp.Body.Close()
}

// send posts body to the server the client follows and follows its 307s
// to the leader, at most maxRedirects hops. Every redirect moves the
// client, so the event stream and the calls always go to the same leader:
// this is the one leader-following path of the package. A transport error
// moves the client on to the next configured server (unless the caller
// cancelled) and wraps ErrUnreachable. The response returned is never a
// 307; host is the server that sent it (or failed to).
func (c *Client) send(ctx context.Context, hc *http.Client, typ string, body []byte, streamID string) (resp *http.Response, host string, err error) {
	host = c.Master()
	if host == "" {
		return nil, "", ErrNoMasters
	}
	for hops := 0; ; hops++ {
		resp, err := c.post(ctx, hc, host, body, streamID)
		if err != nil {
			if !errors.Is(ctx.Err(), context.Canceled) {
				c.rotate(host)
			}
			return nil, host, fmt.Errorf("%w: %s call to %s: %w", ErrUnreachable, typ, host, err)
		}
		if resp.StatusCode != http.StatusTemporaryRedirect {
			return resp, host, nil
		}
		loc := resp.Header.Get("Location")
		drain(resp)
		if hops >= maxRedirects {
			return nil, host, fmt.Errorf("%w: %s call, last to %q", ErrTooManyRedirects, typ, loc)
		}
		if err := c.redirect(loc); err != nil {
			return nil, host, err
		}
		c.log.Debug("call redirected", "type", typ, "from", host, "to", c.Master())
		host = c.Master()
	}
}

// Call sends a non-SUBSCRIBE call with the current Mesos-Stream-Id, filling
// in the framework id when the call has none. It returns nil for 202 (and
// 200, which UPDATE_FRAMEWORK answers), a *StatusError for any other
// status, and an error wrapping ErrUnreachable when no server answered.
// Redirects are followed, and a 503 or an unreachable server moves the
// client on to the next server; nothing is retried, so the caller decides
// whether a call is worth repeating (see Transient and StaleSubscription).
func (c *Client) Call(ctx context.Context, call *scheduler.Call) error {
	if call.Type == scheduler.CallSubscribe {
		return errors.New("scheduler client: use Subscribe for SUBSCRIBE")
	}
	c.mu.Lock()
	streamID, fid, host := c.streamID, c.frameworkID, c.current
	c.mu.Unlock()
	if host == "" {
		return ErrNoMasters
	}
	if streamID == "" {
		return ErrNotSubscribed
	}
	if call.FrameworkID == nil && fid != "" {
		cp := *call
		cp.FrameworkID = &mesos.FrameworkID{Value: fid}
		call = &cp
	}
	body, err := codec.Marshal(c.encoding, call)
	if err != nil {
		return fmt.Errorf("encode %s call: %w", call.Type, err)
	}
	resp, host, err := c.send(ctx, c.calls, call.Type, body, streamID)
	if err != nil {
		return err
	}
	switch resp.StatusCode {
	case http.StatusAccepted, http.StatusOK:
		drain(resp)
		return nil
	case http.StatusServiceUnavailable:
		// This server lost (or never had) the leadership: look elsewhere.
		c.rotate(host)
	}
	return fmt.Errorf("%s call to %s: %w", call.Type, host, statusError(resp))
}
