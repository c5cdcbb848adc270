package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"mesh/auth"
	"mesh/mesos"
	"mesh/mesos/agentapi"
	"mesh/mesos/codec"
	"mesh/mesos/recordio"
	"mesh/version"
)

// serverConn keeps the agent subscribed to the leading server: it
// registers, reads the command stream, and reconnects (rotating through
// the configured servers, following redirects to the leader) whenever the
// stream ends.
type serverConn struct {
	a       *Agent
	log     hclog.Logger
	servers []string
	http    *http.Client

	mu      sync.Mutex
	idx     int    // next configured server to try
	target  string // where a redirect pointed; tried next
	leader  string // the server the agent is registered through
	maxTerm uint64 // newest raft term seen in a command
	// ponging: a PONG call is in flight; pongAgain: a PING arrived since
	// it left.
	ponging, pongAgain bool
}

func newServerConn(a *Agent, servers []string) *serverConn {
	tr := &http.Transport{
		TLSClientConfig:       serverTLSConfig(a.cfg.TLS),
		Proxy:                 nil, // loopback and cluster addresses only
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ResponseHeaderTimeout: 30 * time.Second,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       agentapi.IdleCallTimeout,
		DisableCompression:    true,
	}
	return &serverConn{
		a:       a,
		log:     a.log.Named("conn"),
		servers: append([]string(nil), servers...),
		http: &http.Client{
			Transport: &auth.Transport{Base: tr, Header: func() string {
				if t := a.cfg.JoinToken.Value(); t != "" {
					return "Bearer " + t
				}
				return ""
			}},
			// Redirects are followed by hand: the Location is
			// protocol-relative and a redirect changes the leader.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
}

// nextAddr picks the server for the next subscription attempt.
func (c *serverConn) nextAddr() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.target != "" {
		t := c.target
		c.target = ""
		return t
	}
	return c.servers[c.idx%len(c.servers)]
}

// rotate moves on to the next configured server after a failure.
func (c *serverConn) rotate() {
	c.mu.Lock()
	c.idx = (c.idx + 1) % len(c.servers)
	c.target = ""
	c.mu.Unlock()
}

func (c *serverConn) setLeader(addr string) {
	c.mu.Lock()
	c.leader = addr
	c.mu.Unlock()
}

func (c *serverConn) leaderAddr() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.leader
}

// run subscribes again and again until ctx ends.
func (c *serverConn) run(ctx context.Context) {
	var pace agentapi.Reconnect
	for {
		registered, err := c.session(ctx)
		c.setLeader("")
		c.a.updates.SetRegistered(false)
		if ctx.Err() != nil {
			return
		}
		if registered {
			c.log.Warn("lost the server connection; reconnecting", "error", err)
		} else {
			c.log.Debug("cannot register with a server", "error", err)
		}
		// Servers that answer while a leader is being elected are asked
		// again soon, so the agent is back a moment after the new leader.
		wait := pace.Next(registered, errors.Is(err, ErrNoLeader) || errors.Is(err, errLeaderChanging))
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// redirectTarget extracts host:port from a Location header such as
// "//host:port/path" or "http://host:port/path".
func redirectTarget(loc string) (string, error) {
	u, err := url.Parse(loc)
	if err != nil {
		return "", fmt.Errorf("bad redirect location %q: %w", loc, err)
	}
	if u.Host == "" {
		return "", fmt.Errorf("redirect location %q names no server", loc)
	}
	if _, _, err := net.SplitHostPort(u.Host); err != nil {
		return "", fmt.Errorf("redirect location %q names no port", loc)
	}
	return u.Host, nil
}

// post sends call to the server at addr, following redirects. It returns
// the server that answered and its 200 response.
func (c *serverConn) post(ctx context.Context, addr string, call *agentapi.Call) (string, *http.Response, error) {
	body, err := json.Marshal(call)
	if err != nil {
		return addr, nil, fmt.Errorf("encode %s call: %w", call.Type, err)
	}
	for hops := 0; ; hops++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.a.cfg.TLS.Scheme()+"://"+addr+agentapi.Path, bytes.NewReader(body))
		if err != nil {
			return addr, nil, err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json")
		resp, err := c.http.Do(req)
		if err != nil {
			if hops > 0 {
				// A server answered but pointed at a leader that is gone:
				// the cluster is electing a new one.
				return addr, nil, fmt.Errorf("%s call to %s: %w: %v", call.Type, addr, errLeaderChanging, err)
			}
			return addr, nil, fmt.Errorf("%s call to %s: %w", call.Type, addr, err)
		}
		switch {
		case resp.StatusCode == http.StatusOK:
			return addr, resp, nil
		case resp.StatusCode == http.StatusTemporaryRedirect || resp.StatusCode == http.StatusPermanentRedirect:
			loc := resp.Header.Get("Location")
			drain(resp)
			next, err := redirectTarget(loc)
			if err != nil {
				return addr, nil, err
			}
			if hops >= agentapi.MaxRedirects {
				return addr, nil, fmt.Errorf("%s call: too many redirects (last to %s)", call.Type, next)
			}
			c.log.Debug("following redirect to the leader", "from", addr, "to", next)
			addr = next
		case resp.StatusCode == http.StatusServiceUnavailable:
			drain(resp)
			return addr, nil, fmt.Errorf("%s call to %s: %w", call.Type, addr, ErrNoLeader)
		default:
			msg := readBody(resp)
			return addr, nil, &answerError{call: call.Type, addr: addr, code: resp.StatusCode, msg: msg}
		}
	}
}

func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	resp.Body.Close()
}

func readBody(resp *http.Response) string {
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return strings.TrimSpace(string(b))
}

// subscribeCall builds the registration: this agent, every task it
// knows that is not acknowledged terminal, with its latest state, and
// every executor it runs.
func (a *Agent) subscribeCall() *agentapi.Call {
	known := map[streamKey]bool{}
	var tasks []agentapi.Task
	for _, r := range a.liveRuns() {
		for _, t := range r.taskStates() {
			known[streamKey{r.fwID, t.TaskID.Value}] = true
			tasks = append(tasks, t)
		}
	}
	for _, t := range a.updates.Tasks() {
		if !known[streamKey{t.FrameworkID.Value, t.TaskID.Value}] {
			tasks = append(tasks, t)
		}
	}
	execs := a.reportedExecutors()
	checkpointed, err := a.volumes.Checkpointed()
	if err != nil {
		a.log.Error("cannot read the checkpointed resources; the leader's record will replace them", "error", err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	call := &agentapi.Call{
		Type: agentapi.CallSubscribe,
		Subscribe: &agentapi.Subscribe{AgentInfo: a.agentInfo(), Version: version.MeshVersion, Tasks: tasks,
			Executors: execs, ExitingExecutors: a.exits.list(), CheckpointedResources: checkpointed,
			Capabilities: []string{agentapi.CapabilityPing, agentapi.CapabilityExecutors}},
	}
	if a.id != "" {
		call.AgentID = &mesos.AgentID{Value: a.id}
	}
	return call
}

// session runs one subscription: it registers and handles commands until
// the stream ends. registered says whether REGISTERED arrived.
func (c *serverConn) session(ctx context.Context) (registered bool, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	addr, resp, err := c.post(ctx, c.nextAddr(), c.a.subscribeCall())
	if err != nil {
		c.rotate()
		return false, err
	}
	defer resp.Body.Close()

	// The watchdog drops the stream when the server falls silent.
	silent := false
	var smu sync.Mutex
	watchdog := time.AfterFunc(agentapi.FirstRecordTimeout, func() {
		smu.Lock()
		silent = true
		smu.Unlock()
		cancel()
	})
	defer watchdog.Stop()
	timeout := agentapi.FirstRecordTimeout
	var answers *agentapi.Answerer // the registration's answers to PINGs
	defer func() { answers.Close() }()

	r := recordio.NewReader(resp.Body)
	for {
		rec, err := r.ReadRecord()
		if err != nil {
			smu.Lock()
			s := silent
			smu.Unlock()
			if s {
				return registered, fmt.Errorf("server %s silent for %s", addr, timeout)
			}
			if errors.Is(err, io.EOF) {
				return registered, fmt.Errorf("server %s closed the stream", addr)
			}
			return registered, fmt.Errorf("read stream from %s: %w", addr, err)
		}
		watchdog.Reset(timeout)
		var ev agentapi.Event
		if err := codec.UnmarshalJSON(rec, &ev); err != nil {
			return registered, fmt.Errorf("decode event from %s: %w", addr, err)
		}
		if ev.Term != 0 {
			c.mu.Lock()
			stale := ev.Term < c.maxTerm
			if !stale {
				c.maxTerm = ev.Term
			}
			newest := c.maxTerm
			c.mu.Unlock()
			if stale {
				c.log.Debug("ignoring command from an older term", "type", ev.Type, "term", ev.Term, "newest_term", newest)
				if ev.Type == agentapi.EventRegistered {
					return false, fmt.Errorf("server %s is a deposed leader (term %d < %d)", addr, ev.Term, newest)
				}
				continue
			}
		}
		switch ev.Type {
		case agentapi.EventRegistered:
			if ev.Registered == nil || ev.Registered.AgentID.Value == "" {
				return registered, fmt.Errorf("server %s sent REGISTERED without an agent id", addr)
			}
			if err := c.a.registered(ev.Registered.AgentID.Value); err != nil {
				return registered, err
			}
			hb := time.Duration(ev.Registered.HeartbeatIntervalSeconds * float64(time.Second))
			if hb <= 0 {
				hb = agentapi.DefaultHeartbeat
			}
			timeout = agentapi.MissedHeartbeats * hb
			watchdog.Reset(timeout)
			registered = true
			answers = agentapi.NewAnswerer(c.http, c.a.cfg.TLS.Scheme()+"://"+addr+agentapi.Path, ev.Registered)
			c.setLeader(addr)
			c.a.updates.SetRegistered(true)
			c.log.Info("registered", "agent_id", ev.Registered.AgentID.Value, "server", addr,
				"leader", ev.Registered.MasterInfo.ID, "heartbeat_interval", hb)
		case agentapi.EventHeartbeat:
		case agentapi.EventPing:
			if !registered {
				break
			}
			call, gaveUp := answers.Answer(ctx, &ev)
			if gaveUp != nil {
				c.log.Warn("answering the leader's pings with calls", "server", addr, "reason", gaveUp)
			}
			if call {
				c.pong(ctx, addr)
			}
		case agentapi.EventError:
			msg := ""
			if ev.Error != nil {
				msg = ev.Error.Message
			}
			return registered, fmt.Errorf("server %s refused the agent: %s", addr, msg)
		default:
			if !registered {
				c.log.Warn("ignoring command received before REGISTERED", "type", ev.Type)
				continue
			}
			c.a.handleCommand(&ev)
		}
	}
}

// pongTimeout bounds one PONG call: an answer later than this is worth
// nothing to a leader that pings every few seconds.
const pongTimeout = 10 * time.Second

// pong answers the leader's PING with a PONG call, off the stream's
// reading loop so that commands keep flowing while it is in flight. At
// most one is in flight; a ping that arrives meanwhile is answered by one
// more call once it returns (the one in flight may have left before that
// ping was sent).
func (c *serverConn) pong(ctx context.Context, addr string) {
	c.mu.Lock()
	if c.ponging {
		c.pongAgain = true
		c.mu.Unlock()
		return
	}
	c.ponging = true
	c.mu.Unlock()
	call := &agentapi.Call{Type: agentapi.CallPong, AgentID: &mesos.AgentID{Value: c.a.ID()}}
	go func() {
		for {
			c.postPong(ctx, addr, call)
			c.mu.Lock()
			again := c.pongAgain && ctx.Err() == nil
			c.pongAgain = false
			c.ponging = again
			c.mu.Unlock()
			if !again {
				return
			}
		}
	}()
}

func (c *serverConn) postPong(ctx context.Context, addr string, call *agentapi.Call) {
	ctx, cancel := context.WithTimeout(ctx, pongTimeout)
	defer cancel()
	_, resp, err := c.post(ctx, addr, call)
	if err != nil {
		c.log.Debug("cannot answer the leader's ping", "server", addr, "error", err)
		return
	}
	drain(resp)
}

// postUpdates sends a batch of status updates to the server the agent is
// registered through; nil means the server committed them, and
// resendAfter is how long it asked the agent not to send them again.
func (c *serverConn) postUpdates(ctx context.Context, updates []agentapi.StatusUpdate) (resendAfter time.Duration, err error) {
	addr := c.leaderAddr()
	if addr == "" {
		return 0, ErrNotRegistered
	}
	id := c.a.ID()
	ctx, cancel := context.WithTimeout(ctx, agentapi.UpdateCallTimeout)
	defer cancel()
	call := &agentapi.Call{
		Type:    agentapi.CallUpdate,
		AgentID: &mesos.AgentID{Value: id},
		Update:  &agentapi.Update{Updates: updates},
	}
	_, resp, err := c.post(ctx, addr, call)
	if err != nil {
		return 0, err
	}
	defer drain(resp)
	return agentapi.ResendAfter(resp.Body), nil
}

// registered records the id the server gave the agent.
func (a *Agent) registered(id string) error {
	a.mu.Lock()
	old := a.id
	a.setID(id)
	a.mu.Unlock()
	if old == id {
		return nil
	}
	if old != "" {
		a.log.Warn("server gave the agent a new id", "old_agent_id", old, "agent_id", id)
	}
	return a.saveAgentID(id)
}

// handleCommand carries out one command from the leader.
func (a *Agent) handleCommand(ev *agentapi.Event) {
	switch ev.Type {
	case agentapi.EventLaunch:
		switch l := ev.Launch; {
		case l != nil && l.Executor != nil:
			a.launchGroup(l.FrameworkInfo, *l.Executor, l.Tasks)
		case l != nil:
			a.launchTasks(l.FrameworkInfo, l.Tasks)
		}
	case agentapi.EventKill:
		if ev.Kill != nil {
			a.killTask(ev.Kill.FrameworkID.Value, ev.Kill.TaskID, ev.Kill.KillPolicy)
		}
	case agentapi.EventShutdownFramework:
		if ev.ShutdownFramework != nil {
			a.shutdownFramework(ev.ShutdownFramework.FrameworkID.Value)
		}
	case agentapi.EventAcknowledge:
		if ack := ev.Acknowledge; ack != nil {
			if _, err := a.updates.Acknowledge(ack.FrameworkID.Value, ack.TaskID.Value, ack.UUID); err != nil {
				a.log.Error("cannot record acknowledgement", "framework_id", ack.FrameworkID.Value, "task_id", ack.TaskID.Value, "error", err)
			}
		}
	case agentapi.EventMessage:
		if ev.Message != nil {
			a.frameworkMessage(ev.Message)
		}
	case agentapi.EventShutdownExecutor:
		if ev.ShutdownExecutor != nil {
			a.shutdownExecutor(ev.ShutdownExecutor.FrameworkID.Value, ev.ShutdownExecutor.ExecutorID.Value)
		}
	case agentapi.EventCheckpointResources:
		if ev.CheckpointResources != nil {
			if err := a.volumes.Checkpoint(ev.CheckpointResources.Resources); err != nil {
				a.log.Error("cannot checkpoint the agent's reservations and volumes", "error", err)
			}
		}
	default:
		a.log.Debug("ignoring unknown command", "type", ev.Type)
	}
}

// answerError is a server's answer to a call other than 200, a redirect
// or 503.
type answerError struct {
	call, addr string
	code       int
	msg        string
}

func (e *answerError) Error() string {
	return fmt.Sprintf("%s call to %s: server answered %d: %s", e.call, e.addr, e.code, e.msg)
}
