package server

import (
	"cmp"
	"context"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

	"mesh/allocator"
	"mesh/fsm"
	"mesh/mesos"
	"mesh/mesos/agentapi"
	"mesh/mesos/scheduler"
	"mesh/version"
)

// master is the leader's state for one term: the connections of
// frameworks and agents, the allocator and the timers. The replicated
// state lives in the FSM; everything here is rebuilt by the next leader.
type master struct {
	s      *Server
	term   uint64
	logger hclog.Logger

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	alloc     allocator.Allocator
	clusterID string
	// elected is when this term's leadership was established.
	elected  time.Time
	info     mesos.MasterInfo
	offerSeq atomic.Uint64
	// roundMu orders an allocation round's offers against an agent's
	// removal from the allocator: offers of a round computed before the
	// removal are committed before its agent's offers are taken back, so
	// none of them outlives the removal.
	roundMu sync.Mutex
	// agentGates orders, per agent, a launch's commit and its LAUNCH
	// against a registration of that agent (agentGate).
	agentGates sync.Map // agent id → *sync.RWMutex

	mu             sync.Mutex
	frameworks     map[string]*frameworkConn
	agents         map[string]*agentConn
	agentTimers    map[string]*time.Timer
	failoverTimers map[string]*time.Timer
	// reregistering holds agents known from the replicated state that have
	// not come back since this leader was elected.
	reregistering map[string]bool
	// counted holds the agents this term's allocator has counted at some
	// time (countAgent).
	counted      map[string]bool
	frameworkSeq uint64
	agentSeq     uint64

	// acks feeds the ack batcher.
	acks chan pendingAck
	// registrations feeds the registration batcher.
	registrations chan pendingRegistration
	// adm admits agents' writes, regAdm their registrations and fwAdm
	// frameworks' writes, at the pace raft commits them (admission.go).
	adm, regAdm, fwAdm *admission
	// kills are the KILLs sent for tasks not ended yet (kills.go).
	kills pendingKills
	// drainMu serializes the checks that complete agent drains.
	drainMu sync.Mutex
	// inv holds the outstanding inverse offers (master_inverse.go).
	inv *inverseBook
	// beforeRegistered, set only by tests before the agent subscribes,
	// runs in a registration just before REGISTERED is written.
	beforeRegistered func(agentID string)
	// afterSubscribed, set only by tests before the framework subscribes,
	// runs in a subscription just after SUBSCRIBED is written.
	afterSubscribed func(frameworkID string)
	// beforeOfferRound, set only by tests, runs with each allocation round
	// before its offers are committed.
	beforeOfferRound atomic.Pointer[func([]allocator.Allocation)]
}

// newMaster establishes the master for term: it rescinds the old term's
// offers, re-arms failover and agent timers from the replicated state and
// starts the leader-only routines.
func newMaster(parent context.Context, s *Server, term uint64) (*master, error) {
	ctx, cancel := context.WithCancel(parent)
	st := s.fsm.State()
	meta := st.Meta()
	m := &master{
		s: s, term: term, logger: s.logger.Named("master"),
		ctx: ctx, cancel: cancel,
		clusterID:      meta.ClusterID,
		frameworks:     map[string]*frameworkConn{},
		agents:         map[string]*agentConn{},
		agentTimers:    map[string]*time.Timer{},
		failoverTimers: map[string]*time.Timer{},
		reregistering:  map[string]bool{},
		counted:        map[string]bool{},
		acks:           make(chan pendingAck, 4*maxAckBatch),
		registrations:  make(chan pendingRegistration, maxRegistrationBatch),
		frameworkSeq:   meta.NextFramework,
		agentSeq:       meta.NextAgent,
		inv:            newInverseBook(),
	}
	m.elected = time.Now()
	m.adm = newAdmission(ctx, defaultAdmission)
	m.regAdm = newAdmission(ctx, registrationAdmission)
	m.fwAdm = newAdmission(ctx, frameworkAdmission)
	m.info = masterInfo(m.clusterID, s.nodeID, s.HTTPAddr())
	alloc, err := allocator.New(s.cfg.Allocator, allocator.Config{
		Interval:       s.cfg.AllocationInterval,
		Offer:          m.offerRound,
		MinAllocatable: minAllocatable(s.cfg.MinAllocatableResources),
		PassTime:       func(d time.Duration) { s.metrics.allocPass.Observe(d.Seconds()) },
	})
	if err != nil {
		cancel()
		return nil, err
	}
	m.alloc = alloc
	for role, w := range meta.Weights {
		alloc.SetWeight(role, w)
	}
	for role, q := range meta.Quotas {
		alloc.SetQuota(role, allocator.Quota{Guarantee: q.Guarantees, Limit: q.Limits})
	}

	// Offers never survive a leader change. They are rescinded while the
	// frameworks' disconnections commit: each waits for its commit.
	rescind := make(chan error, 1)
	go func() { rescind <- rescindOldOffers(s, st) }()
	err = m.disconnectFrameworks(st.Frameworks(), time.Now())
	if rerr := <-rescind; rerr != nil {
		err = rerr
	}
	if err != nil {
		cancel()
		return nil, err
	}
	for _, a := range st.Agents() {
		if a.Deactivated {
			alloc.SetAgentActive(a.ID, false)
		}
		if a.State == fsm.AgentActive {
			m.reregistering[a.ID] = true
			m.armAgentTimer(a.ID)
		}
	}
	m.goRoutine("allocator", func(ctx context.Context) {
		m.alloc.Run(ctx.Done())
	})
	for i := 0; i < ackBatchers; i++ {
		m.goRoutine(fmt.Sprintf("ack-batcher-%d", i), m.runAckBatcher)
	}
	m.goRoutine("registration-batcher", m.runRegistrationBatcher)
	m.goRoutine("history-pruner", m.runHistoryPruner)
	m.goRoutine("inverse-offers", m.runInverseOffers)
	return m, nil
}

// rescindOldOffers removes the offers an earlier leader left in the state.
func rescindOldOffers(s *Server, st *fsm.State) error {
	offers := st.Offers()
	if len(offers) == 0 {
		return nil
	}
	ids := make([]string, len(offers))
	for i, o := range offers {
		ids[i] = o.ID
	}
	if _, err := s.raftApply(fsm.OffersRemoveRequestType, &fsm.OffersRemoveRequest{OfferIDs: ids}); err != nil {
		return fmt.Errorf("rescind old offers: %w", err)
	}
	return nil
}

// disconnectFrameworks gives every framework that was connected to the
// old leader its failover timeout (at least the minimum) from now to come
// back, and arms every framework's failover timer. The records are
// committed together: raft batches concurrent applies into one log
// write, where one after the other they held a new leader back by a
// commit per framework (2.9 s with 100 frameworks on a loaded machine).
func (m *master) disconnectFrameworks(fws []*fsm.Framework, now time.Time) error {
	deadlines := map[string]int64{}
	var reqs []*fsm.FrameworkDisconnectRequest
	for _, fw := range fws {
		if fw.Removed {
			continue
		}
		deadline := fw.FailoverDeadline
		if fw.Connected || deadline == 0 {
			d := max(secondsToDuration(fw.Info.FailoverTimeoutSeconds()), m.s.cfg.FrameworkFailoverMinimum)
			deadline = now.Add(d).UnixNano()
			reqs = append(reqs, &fsm.FrameworkDisconnectRequest{FrameworkID: fw.ID, At: now.UnixNano(), Deadline: deadline})
		}
		deadlines[fw.ID] = deadline
	}
	errs := make([]error, len(reqs))
	var wg sync.WaitGroup
	slots := make(chan struct{}, maxConcurrentApplies)
	for i, req := range reqs {
		wg.Add(1)
		slots <- struct{}{}
		go func() {
			defer func() { <-slots; wg.Done() }()
			if _, err := m.s.raftApply(fsm.FrameworkDisconnectRequestType, req); err != nil {
				errs[i] = fmt.Errorf("record framework %s disconnected: %w", req.FrameworkID, err)
			}
		}()
	}
	wg.Wait()
	failed := 0
	var first error
	for _, err := range errs {
		if err != nil {
			failed++
			first = cmp.Or(first, err)
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d framework records not committed, the first: %w", failed, len(reqs), first)
	}
	for id, deadline := range deadlines {
		m.armFailoverTimer(id, time.Unix(0, deadline))
	}
	return nil
}

// maxConcurrentApplies bounds the applies a new leader has in flight at
// once while it records what the old leader left.
const maxConcurrentApplies = 256

// goRoutine runs a named leader-only routine under the master's context.
func (m *master) goRoutine(name string, fn func(ctx context.Context)) {
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		m.logger.Debug("leader routine started", "routine", name)
		fn(m.ctx)
		m.logger.Debug("leader routine stopped", "routine", name)
	}()
}

// revoke stops every routine, closes every stream and drops every timer.
func (m *master) revoke() {
	m.cancel()
	m.mu.Lock()
	for _, t := range m.agentTimers {
		t.Stop()
	}
	for _, t := range m.failoverTimers {
		t.Stop()
	}
	for _, fc := range m.frameworks {
		fc.close(nil)
	}
	for _, ac := range m.agents {
		ac.close()
	}
	m.mu.Unlock()
	m.wg.Wait()
}

// leading reports whether this master's term is still current.
func (m *master) leading() bool { return m.ctx.Err() == nil }

// apply commits a command on behalf of this term.
func (m *master) apply(t fsm.MessageType, req any) (any, error) {
	if !m.leading() {
		return nil, ErrNotLeader
	}
	return m.s.raftApply(t, req)
}

func secondsToDuration(s float64) time.Duration {
	if s <= 0 {
		return 0
	}
	if s > 1e9 {
		s = 1e9
	}
	return time.Duration(s * float64(time.Second))
}

// masterInfo describes this server as Mesos describes its master.
func masterInfo(clusterID, nodeID, httpAddr string) mesos.MasterInfo {
	host, portStr, _ := net.SplitHostPort(httpAddr)
	port, _ := strconv.Atoi(portStr)
	var ip uint32
	if v4 := net.ParseIP(host).To4(); v4 != nil {
		// Mesos packs the IPv4 address in network order and reads it as a
		// little-endian integer: 127.0.0.1 is 16777343.
		ip = uint32(v4[0]) | uint32(v4[1])<<8 | uint32(v4[2])<<16 | uint32(v4[3])<<24
	}
	return mesos.MasterInfo{
		ID:       clusterID + "-" + nodeID[:8],
		IP:       ip,
		Port:     int32(port),
		PID:      "master@" + httpAddr,
		Hostname: host,
		Version:  version.Version,
		Address:  &mesos.Address{Hostname: host, IP: host, Port: int32(port)},
	}
}

// frameworkConn is a framework's subscription stream.
type frameworkConn struct {
	id       string
	streamID string
	out      *outbox[*scheduler.Event]
	// delivered is the status updates sent on this stream and not yet
	// acknowledged (redelivery.go).
	delivered deliveries
}

func newFrameworkConn(id, streamID string) *frameworkConn {
	return &frameworkConn{id: id, streamID: streamID, out: newOutbox[*scheduler.Event]()}
}

// notReading ends the stream of a framework that does not keep up.
var notReading = &scheduler.Event{Type: scheduler.EventError, Error: &scheduler.Error{Message: "framework is not reading its event stream"}}

// send queues an event; a framework that cannot keep up is disconnected
// rather than allowed to grow the leader's memory without bound.
func (fc *frameworkConn) send(ev *scheduler.Event) { fc.out.push(ev, &notReading) }

// close ends the stream, writing final first when given.
func (fc *frameworkConn) close(final *scheduler.Event) {
	if final == nil {
		fc.out.close(nil)
		return
	}
	fc.out.close(&final)
}

// agentConn is an agent's command stream.
type agentConn struct {
	id  string
	out *outbox[*agentapi.Event]
	// pings says the agent answers PING (it advertised CapabilityPing);
	// answered says a PONG came since the observer (observeAgent) last
	// looked.
	pings    bool
	answered atomic.Bool
	// pongs is the agent's pong stream, while it has one.
	pongs atomic.Pointer[pongStream]
}

func newAgentConn(id string, pings bool) *agentConn {
	return &agentConn{id: id, out: newOutbox[*agentapi.Event](), pings: pings}
}

// send queues a command; an agent that is not reading its command stream
// is disconnected.
func (ac *agentConn) send(ev *agentapi.Event) { ac.out.push(ev, nil) }

func (ac *agentConn) close() { ac.out.close(nil) }

// endPongs ends the agent's pong stream, if it has one: its command
// stream has ended.
func (ac *agentConn) endPongs() {
	if p := ac.pongs.Swap(nil); p != nil {
		p.end(0, "")
	}
}

// streamOf returns the connection of framework fid, nil when it is not
// connected.
func (m *master) streamOf(fid string) *frameworkConn {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.frameworks[fid]
}

// sendToFramework queues ev for a connected framework; false if it is not
// connected.
func (m *master) sendToFramework(fid string, ev *scheduler.Event) bool {
	fc := m.streamOf(fid)
	if fc == nil {
		return false
	}
	fc.send(ev)
	return true
}

// sendToAgent queues a command for a connected agent, stamped with this
// term; false if the agent is not connected.
func (m *master) sendToAgent(aid string, ev *agentapi.Event) bool {
	m.mu.Lock()
	ac := m.agents[aid]
	m.mu.Unlock()
	if ac == nil {
		return false
	}
	ev.Term = m.term
	ac.send(ev)
	return true
}

// agentGate is the lock that orders launches to an agent against its
// registrations. A launch holds it shared from its commit until its
// LAUNCH is queued; a registration holds it alone from reading which
// tasks the agent should have until its new stream is the one commands
// go to and the allocator has counted the agent afresh. Without it, a
// launch committed in between would send its LAUNCH to the stream being
// replaced, and the task would stay STAGING, neither run nor reported
// lost; or its resources would be missing from what the allocator is
// told is in use.
func (m *master) agentGate(aid string) *sync.RWMutex {
	if g, ok := m.agentGates.Load(aid); ok {
		return g.(*sync.RWMutex)
	}
	g, _ := m.agentGates.LoadOrStore(aid, &sync.RWMutex{})
	return g.(*sync.RWMutex)
}

// frameworkID is the id of the seq'th framework of a cluster.
func frameworkID(clusterID string, seq uint64) string { return fmt.Sprintf("%s-%04d", clusterID, seq) }

// agentID is the id of the seq'th agent of a cluster.
func agentID(clusterID string, seq uint64) string { return fmt.Sprintf("%s-S%d", clusterID, seq) }
