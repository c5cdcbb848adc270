package allocator

import (
	"cmp"
	"maps"
	"slices"
	"time"
)

// Reason says why a framework was, or was not, offered an agent's
// resources in a role in one allocation pass.
type Reason string

// The reasons the DRF records. Each is decided where the pass makes the
// decision, not worked out afterwards.
const (
	// ReasonOffered: the framework was offered the agent's resources.
	ReasonOffered Reason = "offered"
	// ReasonFrameworkInactive: the framework has no subscription stream
	// to this leader (it is not offered anything until it resubscribes).
	ReasonFrameworkInactive Reason = "framework_inactive"
	// ReasonSuppressed: the framework suppressed the role.
	ReasonSuppressed Reason = "role_suppressed"
	// ReasonFiltered: a decline filter on the agent covers the offer
	// until AgentReason.Until.
	ReasonFiltered Reason = "decline_filter"
	// ReasonQuotaLimit: the role (or an ancestor) is at its quota limit.
	ReasonQuotaLimit Reason = "quota_limit"
	// ReasonQuotaHeadroom: what is free is held back for other roles'
	// unmet quota guarantees.
	ReasonQuotaHeadroom Reason = "quota_headroom"
	// ReasonReservedElsewhere: what is free on the agent is reserved for
	// other roles.
	ReasonReservedElsewhere Reason = "reserved_for_other_role"
	// ReasonAgentInactive: the agent is deactivated or draining.
	ReasonAgentInactive Reason = "agent_inactive"
	// ReasonAgentDown: the agent's machine is DOWN for maintenance. The
	// DRF does not know machines; an allocator that is told of DOWN
	// machines records it, and the server may refine agent_inactive to it.
	ReasonAgentDown Reason = "agent_down"
	// ReasonAgentFull: nothing worth offering is free on the agent.
	ReasonAgentFull Reason = "agent_full"
	// ReasonConstraint: the agent holds none of the role's offer
	// constraint groups.
	ReasonConstraint Reason = "offer_constraint_unmet"
	// ReasonBelowMinimum: what the role could be offered is less than the
	// minimum allocatable resources.
	ReasonBelowMinimum Reason = "below_min_allocatable"
	// ReasonGPUAgent: the agent has GPUs and the framework did not declare
	// GPU_RESOURCES.
	ReasonGPUAgent Reason = "gpu_agent"
	// ReasonDRF: frameworks (or roles) ahead in DRF order took what was
	// free; AgentReason.Ahead lists them with their shares.
	ReasonDRF Reason = "drf_order"
)

// Limits of the recorder: how many frameworks are watched at once, for
// how long after their last question, and how many passes are summed up.
const (
	WhyMaxWatched = 8
	WhyWatchFor   = 10 * time.Minute
	WhyPasses     = 8
)

// Share is one framework (or role) and its weighted dominant share at
// the moment of a decision.
type Share struct {
	Role        string  `json:"role"`
	FrameworkID string  `json:"framework_id,omitempty"`
	Share       float64 `json:"share"`
}

// AgentReason is the last decision about one agent for a framework in a
// role.
type AgentReason struct {
	AgentID string `json:"agent_id"`
	Role    string `json:"role"`
	Reason  Reason `json:"reason"`
	// Pass is the pass that made the decision; Checked the last pass that
	// looked at the agent for the role. They differ when the agent has
	// had nothing free since (NothingFreeSince): the decision still
	// stands, nothing newer was decided.
	Pass             uint64    `json:"pass"`
	Checked          uint64    `json:"checked_pass"`
	NothingFreeSince bool      `json:"nothing_free_since,omitempty"`
	Until            time.Time `json:"until,omitzero"`
	Detail           string    `json:"detail,omitempty"`
	// Share is the framework's own share in the role (ReasonDRF).
	Share float64 `json:"share,omitempty"`
	Ahead []Share `json:"ahead,omitempty"`

	counted Reason // what this record counts for in the pass Checked
}

// PassSummary counts a framework's reasons over every agent and role in
// one pass.
type PassSummary struct {
	Pass   uint64         `json:"pass"`
	At     time.Time      `json:"at"`
	Counts map[Reason]int `json:"counts"`
}

// Explanation is what the recorder knows of one framework.
type Explanation struct {
	FrameworkID string `json:"framework_id"`
	// Roles holds the reasons that apply to a whole role in the last pass
	// (suppressed, framework inactive), by role.
	Roles map[string]Reason `json:"roles,omitempty"`
	// Passes are the last passes, newest first.
	Passes []PassSummary `json:"passes"`
	// Agents are the last decisions per agent and role, by agent then
	// role (only the asked agent's when one was named).
	Agents []AgentReason `json:"agents"`
}

// Explainer is implemented by allocators that can say why a framework was
// not offered resources.
type Explainer interface {
	// Explain watches the framework from now on (for WhyWatchFor) and
	// returns what the passes since it was first watched recorded, for
	// every agent or, with agentID set, that one; nil if no pass has
	// recorded it yet. next is closed when the next pass has been
	// recorded. ok is false for a framework the allocator does not know.
	Explain(frameworkID, agentID string) (ex *Explanation, next <-chan struct{}, ok bool)
}

var _ Explainer = (*DRF)(nil)

// whyState is the recorder: off (watched empty) unless someone asked, so
// a pass pays one nil check per agent when nobody watches.
type whyState struct {
	pass    uint64
	watched map[string]*watch // framework ID → what was recorded
	cur     *whyPass          // the pass being recorded, nil if none
	next    chan struct{}     // closed at the end of the next recorded pass
}

// watch is one watched framework's records.
type watch struct {
	asked  time.Time
	roles  map[string]Reason                  // role-wide reasons, last pass
	agents map[string]map[string]*AgentReason // role → agent ID → last decision
	counts map[Reason]int                     // the pass being recorded
	passes []PassSummary                      // newest last, at most WhyPasses
	seen   bool                               // some pass recorded it
}

// watchRole is a watched framework in one of its roles that a pass
// considers; records points into watch.agents, so a decision costs one
// lookup by agent ID.
type watchRole struct {
	fw      string
	role    string
	w       *watch
	records map[string]*AgentReason
}

// whyPass is one pass's recording state.
type whyPass struct {
	n      uint64
	now    time.Time
	pairs  []*watchRole
	byRole map[string][]*watchRole
	// takers are the allocations made on the current agent in the
	// current stage, in order; allocateAgent empties it for each agent.
	takers []Share
}

// Explain implements Explainer.
func (d *DRF) Explain(frameworkID, agentID string) (*Explanation, <-chan struct{}, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	w := &d.ext.why
	if w.next == nil {
		w.next = make(chan struct{})
	}
	if _, ok := d.frameworks[frameworkID]; !ok {
		return nil, w.next, false
	}
	wt := w.watched[frameworkID]
	if wt == nil {
		if w.watched == nil {
			w.watched = map[string]*watch{}
		}
		if len(w.watched) >= WhyMaxWatched {
			w.evictOldest()
		}
		wt = &watch{roles: map[string]Reason{}, agents: map[string]map[string]*AgentReason{}}
		w.watched[frameworkID] = wt
	}
	wt.asked = d.cfg.Clock.Now()
	if !wt.seen {
		return nil, w.next, true
	}
	return wt.explain(frameworkID, agentID), w.next, true
}

// explain copies out what the last passes recorded.
func (wt *watch) explain(frameworkID, agentID string) *Explanation {
	ex := &Explanation{FrameworkID: frameworkID, Roles: maps.Clone(wt.roles), Agents: []AgentReason{}}
	for i := len(wt.passes) - 1; i >= 0; i-- {
		ex.Passes = append(ex.Passes, wt.passes[i])
	}
	// Every pass decides every agent of every role it considers, so an
	// older record is of an agent or role that is gone.
	last := wt.passes[len(wt.passes)-1].Pass
	for _, byAgent := range wt.agents {
		for id, ar := range byAgent {
			if ar.Checked == last && (agentID == "" || id == agentID) {
				ex.Agents = append(ex.Agents, *ar)
			}
		}
	}
	slices.SortFunc(ex.Agents, func(a, b AgentReason) int {
		return cmp.Or(cmp.Compare(a.AgentID, b.AgentID), cmp.Compare(a.Role, b.Role))
	})
	return ex
}

func (w *whyState) evictOldest() {
	var oldest string
	for id, wt := range w.watched {
		if oldest == "" || wt.asked.Before(w.watched[oldest].asked) {
			oldest = id
		}
	}
	delete(w.watched, oldest)
}

// whyBegin starts recording a pass, or returns nil when nobody watches.
// Frameworks the pass will not consider at all (inactive, or a role
// suppressed) get their role-wide reason here, from the same fields the
// pass's sorters skip them by.
func (d *DRF) whyBegin(now time.Time) *whyPass {
	w := &d.ext.why
	w.pass++
	for id, wt := range w.watched {
		if now.Sub(wt.asked) > WhyWatchFor || d.frameworks[id] == nil {
			delete(w.watched, id)
		}
	}
	if len(w.watched) == 0 {
		w.cur = nil
		return nil
	}
	p := &whyPass{n: w.pass, now: now, byRole: map[string][]*watchRole{}}
	for _, id := range sortedKeys(w.watched) {
		wt := w.watched[id]
		f := d.frameworks[id]
		clear(wt.roles)
		wt.counts = map[Reason]int{}
		for r := range wt.agents {
			if !slices.Contains(f.roles, r) {
				delete(wt.agents, r)
			}
		}
		for _, r := range f.roles {
			switch {
			case !f.active:
				wt.roles[r] = ReasonFrameworkInactive
			case f.suppressed[r]:
				wt.roles[r] = ReasonSuppressed
			default:
				recs := wt.agents[r]
				if recs == nil {
					recs = map[string]*AgentReason{}
					wt.agents[r] = recs
				}
				wr := &watchRole{fw: id, role: r, w: wt, records: recs}
				p.pairs = append(p.pairs, wr)
				p.byRole[r] = append(p.byRole[r], wr)
				continue
			}
			wt.counts[wt.roles[r]]++
			delete(wt.agents, r) // nothing of the role is decided per agent
		}
	}
	w.cur = p
	return p
}

// whyEnd files the pass's summaries and wakes whoever waits for it.
func (d *DRF) whyEnd(p *whyPass) {
	w := &d.ext.why
	w.cur = nil
	if p == nil {
		return
	}
	for _, wt := range w.watched {
		wt.seen = true
		maps.DeleteFunc(wt.counts, func(_ Reason, n int) bool { return n == 0 })
		wt.passes = append(wt.passes, PassSummary{Pass: p.n, At: p.now, Counts: wt.counts})
		wt.counts = nil
		if len(wt.passes) > WhyPasses {
			wt.passes = slices.Delete(wt.passes, 0, len(wt.passes)-WhyPasses)
		}
	}
	if w.next != nil {
		close(w.next)
		w.next = nil
	}
}
