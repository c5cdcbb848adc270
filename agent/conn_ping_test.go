package agent

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"mesh/mesos/agentapi"
	"mesh/mesos/recordio"
)

// pongCounter sits in front of a fakeServer and answers PONG calls and
// pong streams itself, counting the PONGs of each by agent id.
type pongCounter struct {
	mu      sync.Mutex
	calls   map[string]int
	streams map[string]int // PONG records on pong streams
	ended   int            // pong streams whose body ended
	// refuse, when set, is the status pong streams are refused with.
	refuse int
}

func (p *pongCounter) count(id string) (calls, onStreams int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls[id], p.streams[id]
}

func (p *pongCounter) streamsEnded() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ended
}

// startPongCounter runs a pongCounter in front of f and points cfg at it.
func startPongCounter(t *testing.T, f *fakeServer) (*pongCounter, *httptest.Server) {
	pc := &pongCounter{calls: map[string]int{}, streams: map[string]int{}}
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Content-Type") == agentapi.PongStreamContentType {
			pc.serveStream(w, r)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var call agentapi.Call
		if json.Unmarshal(body, &call) == nil && call.Type == agentapi.CallPong {
			if call.AgentID == nil {
				http.Error(w, "no agent_id", http.StatusBadRequest)
				return
			}
			pc.mu.Lock()
			pc.calls[call.AgentID.Value]++
			pc.mu.Unlock()
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		f.handle(w, r)
	}))
	t.Cleanup(func() {
		front.CloseClientConnections()
		front.Close()
	})
	return pc, front
}

// serveStream reads a pong stream's records, as the leader does.
func (p *pongCounter) serveStream(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	refuse := p.refuse
	p.mu.Unlock()
	rc := http.NewResponseController(w)
	_ = rc.EnableFullDuplex()
	if refuse != 0 {
		http.Error(w, "refused by the test", refuse)
		return
	}
	w.WriteHeader(http.StatusOK)
	_ = rc.Flush()
	rd := recordio.NewReader(r.Body)
	for {
		rec, err := rd.ReadRecord()
		if err != nil {
			p.mu.Lock()
			p.ended++
			p.mu.Unlock()
			return
		}
		var call agentapi.Call
		if json.Unmarshal(rec, &call) != nil || call.Type != agentapi.CallPong || call.AgentID == nil {
			return
		}
		p.mu.Lock()
		p.streams[call.AgentID.Value]++
		p.mu.Unlock()
	}
}

// pingAgent starts an agent behind a pongCounter whose fake server
// advertises caps, and returns its id.
func pingAgent(t *testing.T, caps []string, refuse int) (*fakeServer, *pongCounter, string) {
	f := newFakeServer(t)
	f.capabilities = caps
	pc, front := startPongCounter(t, f)
	pc.refuse = refuse
	cfg := testConfig(t, f)
	cfg.Servers = []string{front.Listener.Addr().String()}
	a := startAgent(t, cfg)
	id := a.waitRegistered(t)
	subs := f.subscribeCalls()
	if len(subs) == 0 || !subs[len(subs)-1].Subscribe.HasCapability(agentapi.CapabilityPing) {
		t.Fatalf("the agent's SUBSCRIBE does not advertise %s: %+v", agentapi.CapabilityPing, subs)
	}
	return f, pc, id
}

// TestAgent_AnswersPings: the agent advertises that it answers pings and
// answers each PING the leader sends on its stream with a PONG call
// naming itself, when the leader offers no pong stream.
func TestAgent_AnswersPings(t *testing.T) {
	f, pc, id := pingAgent(t, nil, 0)
	for i := 1; i <= 3; i++ {
		f.send(agentapi.Event{Type: agentapi.EventPing})
		waitFor(t, 10*time.Second, "a PONG call", func() bool { calls, _ := pc.count(id); return calls >= i })
	}
	if _, onStreams := pc.count(id); onStreams != 0 {
		t.Fatalf("%d PONGs on a pong stream the leader did not offer", onStreams)
	}
}

// TestAgent_AnswersPingsOnAPongStream: when the leader offers a pong
// stream, the agent answers its first PING with a call, opens the stream
// at its second (and answers that one with a call too, the stream not yet
// accepted), then answers each PING on the stream.
func TestAgent_AnswersPingsOnAPongStream(t *testing.T) {
	f, pc, id := pingAgent(t, []string{agentapi.CapabilityPongStream}, 0)
	f.send(agentapi.Event{Type: agentapi.EventPing})
	waitFor(t, 10*time.Second, "a PONG call for the first PING", func() bool { n, _ := pc.count(id); return n >= 1 })
	if _, n := pc.count(id); n != 0 {
		t.Fatalf("%d PONGs on a stream opened at the first PING", n)
	}
	f.send(agentapi.Event{Type: agentapi.EventPing})
	waitFor(t, 10*time.Second, "the pong stream's first PONG", func() bool { _, n := pc.count(id); return n >= 1 })
	waitFor(t, 10*time.Second, "a PONG call for the second PING", func() bool { n, _ := pc.count(id); return n >= 2 })
	for i := 1; i <= 3; i++ {
		f.send(agentapi.Event{Type: agentapi.EventPing})
		waitFor(t, 10*time.Second, "a PONG on the stream", func() bool { _, n := pc.count(id); return n >= 1+i })
	}
	// The third PING may also have come before the leader's 200 reached
	// the agent: that one is answered with a call too.
	calls, _ := pc.count(id)
	if calls > 3 {
		t.Fatalf("%d PONG calls beside the pong stream", calls)
	}

	// A PING saying earlier ones went unanswered: the agent ends the
	// stream and answers with calls.
	f.send(agentapi.Event{Type: agentapi.EventPing, Ping: &agentapi.Ping{Unanswered: 2}})
	waitFor(t, 10*time.Second, "a PONG call", func() bool { n, _ := pc.count(id); return n >= calls+1 })
	waitFor(t, 10*time.Second, "the pong stream to end", func() bool { return pc.streamsEnded() >= 1 })
	f.send(agentapi.Event{Type: agentapi.EventPing})
	waitFor(t, 10*time.Second, "a second PONG call", func() bool { n, _ := pc.count(id); return n >= calls+2 })
}

// TestAgent_AnswersWithCallsWhenThePongStreamIsRefused: a leader that
// refuses the pong stream it offered gets PONG calls.
func TestAgent_AnswersWithCallsWhenThePongStreamIsRefused(t *testing.T) {
	f, pc, id := pingAgent(t, []string{agentapi.CapabilityPongStream}, http.StatusServiceUnavailable)
	for i := 1; i <= 3; i++ {
		f.send(agentapi.Event{Type: agentapi.EventPing})
		waitFor(t, 10*time.Second, "a PONG call", func() bool { calls, _ := pc.count(id); return calls >= i })
	}
}
