package main

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
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

	"mesh/mesos"
	"mesh/mesos/agentapi"
	"mesh/mesos/codec"
	"mesh/mesos/recordio"
)

var (
	errNoLeader       = errors.New("no leader yet")
	errLeaderChanging = errors.New("the leader is changing")
	errNotRegistered  = errors.New("not registered")
)

// simStats are the simulator's counters, shared by every agent.
type simStats struct {
	registrations     atomic.Int64 // REGISTERED events, first ones included
	reregistrations   atomic.Int64 // REGISTERED events after the first
	noLeader          atomic.Int64 // calls answered 503: no leader serves yet
	launches          atomic.Int64 // tasks in LAUNCH commands
	dupLaunches       atomic.Int64 // tasks launched again on an agent that already had them
	errorEvents       atomic.Int64 // ERROR events on agent streams
	updateFailures    atomic.Int64 // UPDATE calls not answered 200
	updatesSent       atomic.Int64 // status updates put in UPDATE calls, resends included
	resends           atomic.Int64 // status updates sent again
	pongs             atomic.Int64 // PONG calls answered 200
	pongFailures      atomic.Int64 // PONG calls that failed
	streamPongs       atomic.Int64 // PONGs sent on pong streams
	pongStreamsFailed atomic.Int64 // pong streams given up for calls in a session
	pongStreamError   atomic.Value // string: why the last one given up was
}

// simulator runs many simulated agents in this process. Agents of one
// group share an http.Transport, so thousands cost thousands of TCP
// connections and goroutines, nothing more.
type simulator struct {
	servers      []string
	log          hclog.Logger
	taskDuration time.Duration // 0: tasks run until killed
	stats        simStats
	pipe         *pipeline // where updates wait (nil: not timed)
	agents       []*simAgent

	// freedAt records, per "framework/task", when its terminal update was
	// first sent: the moment its resources were freed on the agent.
	freedAt sync.Map
}

// newSimulator prepares n agents with res each, perGroup of them per
// http.Transport.
func newSimulator(servers []string, n, perGroup int, res mesos.Resources, log hclog.Logger) *simulator {
	s := &simulator{servers: servers, log: log}
	var hc *http.Client
	for i := 0; i < n; i++ {
		if i%max(perGroup, 1) == 0 {
			hc = newHTTPClient(perGroup)
		}
		s.agents = append(s.agents, &simAgent{sim: s, hostname: fmt.Sprintf("sim-%05d", i), res: res,
			http: hc, idx: i % len(servers), tasks: map[string]*simTask{}, launched: map[string]int{}})
	}
	return s
}

// newHTTPClient returns a client for conns connections at once per server
// that never follows redirects itself: the agent follows them by hand, as
// a redirect changes the leader.
func newHTTPClient(conns int) *http.Client {
	tr := &http.Transport{
		Proxy:                 nil,
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ResponseHeaderTimeout: 30 * time.Second,
		MaxIdleConnsPerHost:   max(conns/4, 16),
		IdleConnTimeout:       agentapi.IdleCallTimeout,
		DisableCompression:    true,
	}
	return &http.Client{Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// start runs every agent until ctx ends; the returned wait blocks until
// all have stopped.
func (s *simulator) start(ctx context.Context) (wait func()) {
	var wg sync.WaitGroup
	for _, a := range s.agents {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a.run(ctx)
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.resendLoop(ctx)
	}()
	return wg.Wait
}

// registered counts agents registered at or after since.
func (s *simulator) registered(since time.Time) (n int, last time.Time) {
	for _, a := range s.agents {
		a.mu.Lock()
		at := a.regAt
		ok := a.leader != "" && !at.Before(since)
		a.mu.Unlock()
		if ok {
			n++
			if at.After(last) {
				last = at
			}
		}
	}
	return n, last
}

// registeredSince lists, in order, how long after since each agent
// registered, of those registered since then.
func (s *simulator) registeredSince(since time.Time) []time.Duration {
	var ds []time.Duration
	for _, a := range s.agents {
		a.mu.Lock()
		if a.leader != "" && !a.regAt.Before(since) {
			ds = append(ds, a.regAt.Sub(since))
		}
		a.mu.Unlock()
	}
	sortDurations(ds)
	return ds
}

// simAgent is one simulated agent: the real agent's connection behaviour
// and status update manager, with a fake containerizer.
type simAgent struct {
	sim      *simulator
	hostname string
	res      mesos.Resources
	http     *http.Client

	mu       sync.Mutex
	id       string
	idx      int    // next configured server to try
	target   string // where a redirect pointed; tried next
	leader   string // the server the agent is registered through
	maxTerm  uint64
	regAt    time.Time
	regs     int
	tasks    map[string]*simTask // framework/task → task not yet acknowledged terminal
	launched map[string]int      // framework/task → LAUNCH commands seen
	posting  bool                // an UPDATE call is in flight
	failWait time.Duration       // backoff after a failed UPDATE call
	ponging  atomic.Bool         // a PONG call is in flight
	// answers answers the session's PINGs (used by its goroutine only).
	answers *agentapi.Answerer
}

func (a *simAgent) nextAddr() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.target != "" {
		t := a.target
		a.target = ""
		return t
	}
	return a.sim.servers[a.idx%len(a.sim.servers)]
}

func (a *simAgent) rotate() {
	a.mu.Lock()
	a.idx = (a.idx + 1) % len(a.sim.servers)
	a.target = ""
	a.mu.Unlock()
}

// run subscribes again and again until ctx ends.
func (a *simAgent) run(ctx context.Context) {
	var pace agentapi.Reconnect
	for {
		registered, err := a.session(ctx)
		a.mu.Lock()
		a.leader = ""
		a.mu.Unlock()
		if ctx.Err() != nil {
			return
		}
		a.sim.log.Trace("agent stream ended", "agent", a.hostname, "error", err)
		wait := pace.Next(registered, errors.Is(err, errNoLeader) || errors.Is(err, errLeaderChanging))
		if pause(ctx, wait) != nil {
			return
		}
	}
}

// redirectTarget extracts host:port from a Location header.
func redirectTarget(loc string) (string, error) {
	u, err := url.Parse(loc)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("bad redirect location %q", loc)
	}
	return u.Host, nil
}

// post sends call to addr, following redirects; it returns the server that
// answered 200 and its response.
func (a *simAgent) post(ctx context.Context, addr string, call *agentapi.Call) (string, *http.Response, error) {
	body, err := json.Marshal(call)
	if err != nil {
		return addr, nil, err
	}
	for hops := 0; ; hops++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+agentapi.Path, bytes.NewReader(body))
		if err != nil {
			return addr, nil, err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json")
		resp, err := a.http.Do(req)
		if err != nil {
			if hops > 0 {
				return addr, nil, fmt.Errorf("%s call to %s: %w: %v", call.Type, addr, errLeaderChanging, err)
			}
			return addr, nil, fmt.Errorf("%s call to %s: %w", call.Type, addr, err)
		}
		switch resp.StatusCode {
		case http.StatusOK:
			return addr, resp, nil
		case http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
			loc := resp.Header.Get("Location")
			drain(resp)
			next, err := redirectTarget(loc)
			if err != nil {
				return addr, nil, err
			}
			if hops >= agentapi.MaxRedirects {
				return addr, nil, fmt.Errorf("%s call: too many redirects", call.Type)
			}
			addr = next
		case http.StatusServiceUnavailable:
			drain(resp)
			a.sim.stats.noLeader.Add(1)
			return addr, nil, fmt.Errorf("%s call to %s: %w", call.Type, addr, errNoLeader)
		default:
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			resp.Body.Close()
			return addr, nil, fmt.Errorf("%s call to %s: server answered %d: %s", call.Type, addr, resp.StatusCode, b)
		}
	}
}

func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	resp.Body.Close()
}

// subscribeCall is the registration: the agent and every task it knows
// that is not acknowledged terminal, with its latest state. Every
// outstanding update goes again on the new stream.
func (a *simAgent) subscribeCall() *agentapi.Call {
	a.mu.Lock()
	defer a.mu.Unlock()
	info := mesos.AgentInfo{Hostname: a.hostname, Port: 5051, Resources: a.res}
	call := &agentapi.Call{Type: agentapi.CallSubscribe, Subscribe: &agentapi.Subscribe{AgentInfo: info,
		Capabilities: []string{agentapi.CapabilityPing}}}
	if a.id != "" {
		info.ID = &mesos.AgentID{Value: a.id}
		call.Subscribe.AgentInfo = info
		call.AgentID = &mesos.AgentID{Value: a.id}
	}
	for _, t := range a.tasks {
		call.Subscribe.Tasks = append(call.Subscribe.Tasks, agentapi.Task{FrameworkID: mesos.FrameworkID{Value: t.fid},
			TaskID: mesos.TaskID{Value: t.tid}, State: t.state})
		t.sent = false
		t.interval = agentapi.StatusRetryInterval
	}
	return call
}

// session runs one subscription until the stream ends; registered says
// whether REGISTERED arrived.
func (a *simAgent) session(ctx context.Context) (registered bool, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	addr, resp, err := a.post(ctx, a.nextAddr(), a.subscribeCall())
	if err != nil {
		a.rotate()
		return false, err
	}
	defer resp.Body.Close()
	var silent atomic.Bool
	watchdog := time.AfterFunc(agentapi.FirstRecordTimeout, func() {
		silent.Store(true)
		cancel()
	})
	defer watchdog.Stop()
	defer a.closePongs()
	timeout := agentapi.FirstRecordTimeout
	r := recordio.NewReader(resp.Body)
	for {
		rec, err := r.ReadRecord()
		if err != nil {
			if silent.Load() {
				return registered, fmt.Errorf("server %s silent for %s", addr, timeout)
			}
			return registered, fmt.Errorf("read stream from %s: %w", addr, err)
		}
		watchdog.Reset(timeout)
		hb, done, err := a.handleRecord(ctx, addr, rec, registered)
		if hb > 0 {
			registered = true
			timeout = agentapi.MissedHeartbeats * hb
			watchdog.Reset(timeout)
		}
		if done || err != nil {
			return registered, err
		}
		a.flush(ctx)
	}
}

// handleRecord decodes and carries out one record of the stream. For
// REGISTERED it returns the heartbeat interval; done means the stream is
// over (an ERROR, or a deposed leader).
func (a *simAgent) handleRecord(ctx context.Context, addr string, rec []byte, registered bool) (hb time.Duration, done bool, err error) {
	var ev agentapi.Event
	if err := codec.UnmarshalJSON(rec, &ev); err != nil {
		return 0, true, fmt.Errorf("decode event from %s: %w", addr, err)
	}
	if ev.Term != 0 {
		a.mu.Lock()
		stale := ev.Term < a.maxTerm
		if !stale {
			a.maxTerm = ev.Term
		}
		a.mu.Unlock()
		if stale {
			if ev.Type == agentapi.EventRegistered {
				return 0, true, fmt.Errorf("server %s is a deposed leader", addr)
			}
			return 0, false, nil
		}
	}
	switch ev.Type {
	case agentapi.EventRegistered:
		if ev.Registered == nil || ev.Registered.AgentID.Value == "" {
			return 0, true, fmt.Errorf("server %s sent REGISTERED without an agent id", addr)
		}
		a.registered(addr, ev.Registered.AgentID.Value)
		a.closePongs()
		a.answers = agentapi.NewAnswerer(a.http, "http://"+addr+agentapi.Path, ev.Registered)
		hb = time.Duration(ev.Registered.HeartbeatIntervalSeconds * float64(time.Second))
		if hb <= 0 {
			hb = agentapi.DefaultHeartbeat
		}
		return hb, false, nil
	case agentapi.EventHeartbeat:
	case agentapi.EventPing:
		if registered {
			a.answerPing(ctx, addr, &ev)
		}
	case agentapi.EventError:
		a.sim.stats.errorEvents.Add(1)
		msg := ""
		if ev.Error != nil {
			msg = ev.Error.Message
		}
		a.sim.log.Error("server refused the agent", "agent", a.hostname, "message", msg)
		return 0, true, fmt.Errorf("server %s refused the agent: %s", addr, msg)
	default:
		if registered {
			a.command(&ev)
		}
	}
	return 0, false, nil
}

// answerPing answers a PING as the real agent does (agentapi.Answerer).
func (a *simAgent) answerPing(ctx context.Context, addr string, ev *agentapi.Event) {
	if ctx.Err() != nil {
		return // the run is over: what is read still is not answered
	}
	call, gaveUp := a.answers.Answer(ctx, ev)
	if gaveUp != nil {
		a.sim.stats.pongStreamsFailed.Add(1)
		a.sim.stats.pongStreamError.Store(gaveUp.Error())
	}
	if !call {
		a.sim.stats.streamPongs.Add(1)
		return
	}
	a.pong(addr)
}

// closePongs ends the session's pong stream, if it has one.
func (a *simAgent) closePongs() {
	a.answers.Close()
	a.answers = nil
}

// pongTimeout bounds one PONG call, as the real agent's does.
const pongTimeout = 10 * time.Second

// pong answers the leader's PING as the real agent does: with a PONG call
// off the stream's reading loop, at most one in flight (a PING that comes
// while one is in flight is answered by it).
func (a *simAgent) pong(addr string) {
	if !a.ponging.CompareAndSwap(false, true) {
		return
	}
	a.mu.Lock()
	id := a.id
	a.mu.Unlock()
	go func() {
		defer a.ponging.Store(false)
		ctx, cancel := context.WithTimeout(context.Background(), pongTimeout)
		defer cancel()
		call := &agentapi.Call{Type: agentapi.CallPong, AgentID: &mesos.AgentID{Value: id}}
		if _, resp, err := a.post(ctx, addr, call); err != nil {
			a.sim.stats.pongFailures.Add(1)
		} else {
			drain(resp)
			a.sim.stats.pongs.Add(1)
		}
	}()
}

func (a *simAgent) registered(addr, id string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.id != "" && a.id != id {
		a.sim.log.Warn("server gave the agent a new id", "agent", a.hostname, "old_agent_id", a.id, "agent_id", id)
	}
	a.id = id
	a.leader = addr
	a.regAt = time.Now()
	a.regs++
	a.sim.stats.registrations.Add(1)
	if a.regs > 1 {
		a.sim.stats.reregistrations.Add(1)
	}
}
