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
)

// pongCounter sits in front of a fakeServer and answers PONG calls
// itself, counting them by agent id.
type pongCounter struct {
	mu    sync.Mutex
	pongs map[string]int
}

func (p *pongCounter) count(id string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pongs[id]
}

// TestAgent_AnswersPings: the agent advertises that it answers pings and
// answers each PING the leader sends on its stream with a PONG call
// naming itself.
func TestAgent_AnswersPings(t *testing.T) {
	f := newFakeServer(t)
	pc := &pongCounter{pongs: map[string]int{}}
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
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
			pc.pongs[call.AgentID.Value]++
			pc.mu.Unlock()
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		f.handle(w, r)
	}))
	t.Cleanup(front.Close)
	cfg := testConfig(t, f)
	cfg.Servers = []string{front.Listener.Addr().String()}
	a := startAgent(t, cfg)
	id := a.waitRegistered(t)
	subs := f.subscribeCalls()
	if len(subs) == 0 || !subs[len(subs)-1].Subscribe.HasCapability(agentapi.CapabilityPing) {
		t.Fatalf("the agent's SUBSCRIBE does not advertise %s: %+v", agentapi.CapabilityPing, subs)
	}
	for i := 1; i <= 3; i++ {
		f.send(agentapi.Event{Type: agentapi.EventPing})
		waitFor(t, 10*time.Second, "a PONG", func() bool { return pc.count(id) >= i })
	}
}
