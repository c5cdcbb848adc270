package server

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"mesh/fsm"
	"mesh/mesos"
	"mesh/mesos/scheduler"
)

// Inverse offers (Mesos' maintenance primitives): a framework with tasks
// on an agent whose machine is DRAINING is asked, by an inverse offer,
// to give the agent back for the machine's unavailability. Its answer
// (ACCEPT_INVERSE_OFFERS or DECLINE_INVERSE_OFFERS, with a filter) is
// committed per machine and shown by GET_MAINTENANCE_STATUS. Outstanding
// inverse offers live in the leader's memory, as in Mesos: a new leader
// makes them again, and the answers and their filters, being in the
// replicated state, keep it from asking again too soon.

// inverseOffer is one outstanding inverse offer.
type inverseOffer struct {
	id      string
	fid     string
	aid     string
	machine mesos.MachineID
	// window holds the unavailability it was made for.
	window fsm.MaintenanceWindow
	// conn is the stream it was sent on: a framework that subscribes
	// again gets it again.
	conn *frameworkConn
}

// inverseBook holds the outstanding inverse offers of a term.
type inverseBook struct {
	// passMu serializes what decides on inverse offers: a pass, the
	// recording of answers, and a change of the schedule with its
	// rescinds. Without it a pass could run between an answer's removal
	// of its inverse offer and the commit of the answer's filter, and ask
	// again at once; or offer for a new window before the inverse offer
	// of the old one is rescinded.
	passMu sync.Mutex
	// mu guards seq and offers.
	mu     sync.Mutex
	seq    uint64
	offers map[string]*inverseOffer
	// kick asks the inverse offer routine for a pass now.
	kick chan struct{}
	// index is the index of the latest schedule seen.
	index atomic.Pointer[maintIndex]
}

func newInverseBook() *inverseBook {
	return &inverseBook{offers: map[string]*inverseOffer{}, kick: make(chan struct{}, 1)}
}

// trigger asks for a pass soon; it never blocks.
func (b *inverseBook) trigger() {
	select {
	case b.kick <- struct{}{}:
	default:
	}
}

// runInverseOffers makes inverse offers whenever asked and once per
// allocation interval, as Mesos' allocator does in its cycles.
func (m *master) runInverseOffers(ctx context.Context) {
	interval := m.s.cfg.AllocationInterval
	if interval <= 0 {
		interval = time.Second // a ticker of 0 panics
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-m.inv.kick:
		}
		m.inverseOfferPass(time.Now())
	}
}

// inverseOfferPass sends an inverse offer to each connected framework
// with live tasks on an agent of a DRAINING machine that has none
// outstanding for that agent and has not answered with a filter that
// still holds.
func (m *master) inverseOfferPass(now time.Time) {
	m.inv.passMu.Lock()
	defer m.inv.passMu.Unlock()
	st := m.s.fsm.State()
	maint := st.Maintenance()
	m.mu.Lock()
	conns := make(map[string]*frameworkConn, len(m.frameworks))
	for fid, fc := range m.frameworks {
		conns[fid] = fc
	}
	m.mu.Unlock()
	m.inv.mu.Lock()
	have := map[string]bool{}
	for id, o := range m.inv.offers {
		if conns[o.fid] != o.conn {
			delete(m.inv.offers, id) // its stream is gone
			continue
		}
		have[o.fid+"/"+o.aid] = true
	}
	m.inv.mu.Unlock()
	if maint == nil {
		return
	}
	idx := m.maintenanceIndex(st)
	var made []*inverseOffer
	for _, a := range st.Agents() {
		if a.State == fsm.AgentGone {
			continue
		}
		machine := fsm.AgentMachine(a)
		if !idx.draining(machine) {
			continue
		}
		w := idx.window(machine)
		for _, fid := range frameworksOn(st, a.ID) {
			fc := conns[fid]
			if fc == nil || have[fid+"/"+a.ID] {
				continue
			}
			if ans := maint.Answer(machine, fid); ans != nil && ans.RefuseUntil > now.UnixNano() {
				continue
			}
			made = append(made, &inverseOffer{fid: fid, aid: a.ID, machine: machine, window: *w, conn: fc})
		}
	}
	if len(made) > 0 {
		m.sendInverseOffers(st, made, now)
	}
}

// frameworksOn lists, sorted, the frameworks with live tasks on an agent.
func frameworksOn(st *fsm.State, aid string) []string {
	seen := map[string]bool{}
	var out []string
	for _, t := range st.TasksByAgent(aid) {
		if taskLive(t) && !seen[t.FrameworkID] {
			seen[t.FrameworkID] = true
			out = append(out, t.FrameworkID)
		}
	}
	sort.Strings(out)
	return out
}

// sendInverseOffers records new inverse offers, commits UNKNOWN answers
// for frameworks that have none for the machine yet, and sends each
// framework its INVERSE_OFFERS event.
func (m *master) sendInverseOffers(st *fsm.State, made []*inverseOffer, now time.Time) {
	maint := st.Maintenance()
	unknown := map[string]*fsm.InverseOfferStatusRequest{}
	byFramework := map[string][]mesos.InverseOffer{}
	m.inv.mu.Lock()
	for _, o := range made {
		m.inv.seq++
		o.id = fmt.Sprintf("%s-I%d-%d", m.clusterID, m.term, m.inv.seq)
		m.inv.offers[o.id] = o
		byFramework[o.fid] = append(byFramework[o.fid], mesos.InverseOffer{
			ID: mesos.OfferID{Value: o.id}, FrameworkID: mesos.FrameworkID{Value: o.fid},
			AgentID: &mesos.AgentID{Value: o.aid}, Unavailability: o.window.Unavailability(),
		})
		if maint.Answer(o.machine, o.fid) == nil {
			k := fsm.MachineKey(o.machine)
			if unknown[k] == nil {
				unknown[k] = &fsm.InverseOfferStatusRequest{Machine: o.machine}
			}
			unknown[k].Answers = append(unknown[k].Answers, fsm.InverseOfferAnswer{
				FrameworkID: o.fid, Status: mesos.InverseOfferUnknown, At: now.UnixNano()})
		}
	}
	m.inv.mu.Unlock()
	for _, req := range sortedRequests(unknown) {
		if _, err := m.apply(fsm.InverseOfferStatusRequestType, req); err != nil {
			m.logger.Debug("inverse offer status not recorded", "machine", fsm.MachineString(req.Machine), "error", err)
		}
	}
	for fid, list := range byFramework {
		m.logger.Info("inverse offers sent", "framework_id", fid, "count", len(list))
		m.sendToFramework(fid, &scheduler.Event{Type: scheduler.EventInverseOffers,
			InverseOffers: &scheduler.InverseOffersEvent{InverseOffers: list}})
	}
}

func sortedRequests(reqs map[string]*fsm.InverseOfferStatusRequest) []*fsm.InverseOfferStatusRequest {
	keys := make([]string, 0, len(reqs))
	for k := range reqs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]*fsm.InverseOfferStatusRequest, len(keys))
	for i, k := range keys {
		out[i] = reqs[k]
	}
	return out
}

// answerInverseOffers carries out ACCEPT_INVERSE_OFFERS and
// DECLINE_INVERSE_OFFERS: each outstanding inverse offer of the framework
// named is answered, and the answer committed per machine with the
// filter's expiry (refuse_seconds, 5 by default, as Mesos). Ids that are
// unknown, answered already or another framework's are dropped, as Mesos
// drops them.
func (m *master) answerInverseOffers(fid string, ids []mesos.OfferID, filters *mesos.Filters, status string) {
	m.inv.passMu.Lock()
	defer m.inv.passMu.Unlock()
	now := time.Now()
	refuse := mesos.DefaultRefuseSeconds
	if filters != nil && filters.RefuseSeconds != nil {
		refuse = min(max(*filters.RefuseSeconds, 0), mesos.MaxRefuseSeconds)
	}
	until := now.Add(secondsToDuration(refuse)).UnixNano()
	reqs := map[string]*fsm.InverseOfferStatusRequest{}
	m.inv.mu.Lock()
	for _, id := range ids {
		o := m.inv.offers[id.Value]
		if o == nil || o.fid != fid {
			m.logger.Info("dropping an answer to an unknown inverse offer", "framework_id", fid, "inverse_offer_id", id.Value)
			continue
		}
		delete(m.inv.offers, id.Value)
		k := fsm.MachineKey(o.machine)
		if reqs[k] == nil {
			reqs[k] = &fsm.InverseOfferStatusRequest{Machine: o.machine,
				Answers: []fsm.InverseOfferAnswer{{FrameworkID: fid, Status: status, At: now.UnixNano(), RefuseUntil: until}}}
		}
	}
	m.inv.mu.Unlock()
	for _, req := range sortedRequests(reqs) {
		if _, err := m.apply(fsm.InverseOfferStatusRequestType, req); err != nil {
			m.logger.Info("inverse offer answer not recorded", "framework_id", fid, "machine", fsm.MachineString(req.Machine), "error", err)
			continue
		}
		m.logger.Info("inverse offer answered", "framework_id", fid, "machine", fsm.MachineString(req.Machine), "status", status)
	}
}

// rescindInverseOffers withdraws the outstanding inverse offers for which
// stale says so, telling each framework (RESCIND_INVERSE_OFFER).
func (m *master) rescindInverseOffers(stale func(o *inverseOffer) bool) {
	var gone []*inverseOffer
	m.inv.mu.Lock()
	for id, o := range m.inv.offers {
		if stale(o) {
			delete(m.inv.offers, id)
			gone = append(gone, o)
		}
	}
	m.inv.mu.Unlock()
	sort.Slice(gone, func(i, j int) bool { return gone[i].id < gone[j].id })
	for _, o := range gone {
		m.sendToFramework(o.fid, &scheduler.Event{Type: scheduler.EventRescindInverseOffer,
			RescindInverseOffer: &scheduler.RescindInverseOffer{InverseOfferID: mesos.OfferID{Value: o.id}}})
	}
}

// maintIndex finds a machine's window and mode in one map lookup: the
// inverse offer pass and every offer ask for an agent's, and a scan of
// the schedule per agent would cost agents × scheduled machines.
type maintIndex struct {
	src     *fsm.Maintenance
	windows map[string]*fsm.MaintenanceWindow
	down    map[string]bool
}

// maintenanceIndex returns the index of the schedule st holds, built
// once per schedule: the replicated state replaces the schedule, never
// changes it in place, so its pointer names it.
func (m *master) maintenanceIndex(st *fsm.State) *maintIndex {
	cur := st.Maintenance()
	if idx := m.inv.index.Load(); idx != nil && idx.src == cur {
		return idx
	}
	idx := indexMaintenance(cur)
	m.inv.index.Store(idx)
	return idx
}

// indexMaintenance builds the index of a schedule (nil: none).
func indexMaintenance(cur *fsm.Maintenance) *maintIndex {
	idx := &maintIndex{src: cur, windows: map[string]*fsm.MaintenanceWindow{}, down: map[string]bool{}}
	if cur != nil {
		for i := range cur.Windows {
			for _, id := range cur.Windows[i].Machines {
				idx.windows[fsm.MachineKey(id)] = &cur.Windows[i]
			}
		}
		for _, id := range cur.Down {
			idx.down[fsm.MachineKey(id)] = true
		}
	}
	return idx
}

// window is the machine's window, nil when it is not scheduled.
func (x *maintIndex) window(id mesos.MachineID) *fsm.MaintenanceWindow {
	return x.windows[fsm.MachineKey(id)]
}

// draining reports whether the machine is DRAINING.
func (x *maintIndex) draining(id mesos.MachineID) bool {
	k := fsm.MachineKey(id)
	return x.windows[k] != nil && !x.down[k]
}

// unavailabilityOf is the maintenance window of an agent's machine as an
// offer carries it, nil when the machine is not scheduled.
func (m *master) unavailabilityOf(st *fsm.State, a *fsm.Agent) *mesos.Unavailability {
	idx := m.maintenanceIndex(st)
	if idx.src == nil {
		return nil
	}
	w := idx.window(fsm.AgentMachine(a))
	if w == nil {
		return nil
	}
	u := w.Unavailability()
	return &u
}

// inverseOffersOf lists a framework's outstanding inverse offers, for
// GET_FRAMEWORKS.
func (m *master) inverseOffersOf(fid string) []mesos.InverseOffer {
	m.inv.mu.Lock()
	defer m.inv.mu.Unlock()
	var out []mesos.InverseOffer
	for _, o := range m.inv.offers {
		if o.fid == fid {
			out = append(out, mesos.InverseOffer{ID: mesos.OfferID{Value: o.id}, FrameworkID: mesos.FrameworkID{Value: fid},
				AgentID: &mesos.AgentID{Value: o.aid}, Unavailability: o.window.Unavailability()})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID.Value < out[j].ID.Value })
	return out
}
