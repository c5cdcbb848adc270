package server

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"mesh/mesos/agentapi"
)

// observeAgent checks that a connected agent answers, as Mesos' agent
// observer does: it sends a PING and then one every AgentPingTimeout;
// a ping still unanswered when the next is due is a timeout, a PONG
// resets the count, and MaxAgentPingTimeouts timeouts in a row mark the
// agent unreachable.
//
// The end of the agent's stream cannot tell this: an agent stopped with
// SIGSTOP, or behind a network that drops packets without closing
// connections, keeps its TCP connection open for as long as TCP takes to
// give up — minutes, or for ever while nothing is written. The count
// lives on this leader only; the next leader starts afresh when the agent
// re-registers with it.
//
// Mesos sends the first PING at once. Here it waits a random part of one
// timeout: after a leader change thousands of agents re-register within
// a second or two, and pinging each at once would bring all their PONGs
// back together, on top of the registrations. The wait moves where the
// pings fall in time, not how long a silent agent goes unnoticed by more
// than that one timeout.
//
// The observer is a timer, not a goroutine of its own: a leader observes
// every agent, and a goroutine's stack for each would cost more than the
// rest of what it keeps per agent. The returned stop ends it and waits
// for anything it started, so that nothing of the stream outlives its
// handler.
func (m *master) observeAgent(ac *agentConn) (stop func()) {
	o := &agentObserver{m: m, ac: ac, ping: &agentapi.Event{Type: agentapi.EventPing, Term: m.term}}
	o.mu.Lock()
	o.timer = time.AfterFunc(rand.N(m.s.cfg.AgentPingTimeout)+1, o.tick)
	o.mu.Unlock()
	return o.stop
}

// agentObserver is the state of one agent's pings.
type agentObserver struct {
	m    *master
	ac   *agentConn
	ping *agentapi.Event

	mu       sync.Mutex
	timer    *time.Timer
	stopped  bool
	pinged   bool // a ping went out and no PONG came since
	timeouts int
	missed   sync.WaitGroup // agentPingsMissed in progress
}

// tick runs when a ping is due: it counts the last one unanswered, or,
// when the agent has answered, starts the count afresh.
func (o *agentObserver) tick() {
	o.mu.Lock()
	if o.stopped || o.m.ctx.Err() != nil {
		o.mu.Unlock()
		return
	}
	if o.ac.answered.Swap(false) {
		o.pinged, o.timeouts = false, 0
	}
	if o.pinged {
		o.timeouts++
		o.m.logger.Debug("agent did not answer a ping", "agent_id", o.ac.id, "timeouts", o.timeouts)
		if o.timeouts >= o.m.s.cfg.MaxAgentPingTimeouts {
			o.stopped = true
			o.missed.Add(1)
			timeouts := o.timeouts
			o.mu.Unlock()
			defer o.missed.Done()
			o.m.agentPingsMissed(o.ac, timeouts)
			return
		}
	}
	ping := o.ping
	if o.timeouts > 0 {
		// The agent learns its answers are not arriving (on a pong
		// stream, it answers with calls from now on).
		ping = &agentapi.Event{Type: agentapi.EventPing, Term: o.ping.Term, Ping: &agentapi.Ping{Unanswered: o.timeouts}}
	}
	o.ac.send(ping)
	o.pinged = true
	o.timer.Reset(o.m.s.cfg.AgentPingTimeout)
	o.mu.Unlock()
}

func (o *agentObserver) stop() {
	o.mu.Lock()
	o.stopped = true
	o.timer.Stop()
	o.mu.Unlock()
	o.missed.Wait()
}

// agentPong records an agent's answer to a ping; an agent not connected
// to this leader is told so.
func (m *master) agentPong(agentID string) error {
	m.mu.Lock()
	ac := m.agents[agentID]
	m.mu.Unlock()
	if ac == nil {
		return httpErrorf(403, "agent %s is not subscribed to this leader", agentID)
	}
	ac.answered.Store(true)
	return nil
}

// agentPingsMissed ends the stream of an agent that stopped answering and
// marks it unreachable at once: unlike an agent whose stream closed, it
// is not given AgentReregisterTimeout more, as its silence has already
// lasted the pings' whole span (Mesos does the same).
func (m *master) agentPingsMissed(ac *agentConn, timeouts int) {
	// The agent is forgotten before its stream is closed: the stream's
	// handler then finds it gone (agentDisconnected is a no-op) rather
	// than treating it as a disconnect and giving it the re-register
	// timeout first.
	m.mu.Lock()
	current := m.agents[ac.id] == ac
	if current {
		delete(m.agents, ac.id)
	}
	if t := m.agentTimers[ac.id]; t != nil {
		t.Stop()
		delete(m.agentTimers, ac.id)
	}
	m.mu.Unlock()
	ac.close()
	if !current || !m.leading() {
		return
	}
	m.logger.Warn("agent stopped answering pings", "agent_id", ac.id, "timeouts", timeouts, "ping_timeout", m.s.cfg.AgentPingTimeout)
	m.forgetAgentOffers(ac.id)
	m.markAgentUnreachable(ac.id, fmt.Sprintf("Agent %s did not answer %d pings in a row (ping timeout %s)",
		ac.id, timeouts, m.s.cfg.AgentPingTimeout))
}
