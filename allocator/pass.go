package allocator

import (
	"slices"
	"time"

	"mesh/mesos"
)

// AllocateNow runs one pass synchronously: it computes the round under the
// lock, then hands every allocation of the round to Config.Offer in one
// call, outside the lock. An empty round makes no call.
//
// By the time the callback runs, other events may have moved the state on
// (an agent removed, say); the allocations are already booked as held, and
// whatever the server cannot use it gives back with Recover.
func (d *DRF) AllocateNow() {
	// passMu, not mu, spans the callback: it keeps rounds ordered while
	// leaving every other method free to run, including from the callback.
	d.passMu.Lock()
	defer d.passMu.Unlock()
	start := time.Now()
	round := d.allocate()
	if d.cfg.PassTime != nil {
		d.cfg.PassTime(time.Since(start))
	}
	if len(round) > 0 {
		d.cfg.Offer(round)
	}
}

// allocate computes one pass and books its allocations.
//
// Agents are visited in ID order (deterministic; no shuffle). When some
// role has a quota, a first sweep over the agents serves only roles short
// of their guarantee, up to it; the second sweep serves every role. For
// each agent, roles are visited in hierarchical weighted DRF order; each
// role is offered everything on the agent allocatable to it (unreserved
// plus reserved for it) that its quota limits and the others' unmet
// guarantees leave it, provided that meets the minimum, and the whole of
// it goes to the first framework of the role, least dominant share first,
// that is active, subscribed, not suppressing the role and not filtering
// exactly that offer. The next role only finds what the first did not
// want or could not have (its own reservations, what a filter or a quota
// kept back).
//
// Roles are sorted once per agent; since one role's frameworks get at
// most one allocation per agent in a sweep and the other roles' relative
// order does not change, that equals re-sorting after every allocation.
func (d *DRF) allocate() []Allocation {
	d.mu.Lock()
	defer d.mu.Unlock()

	now := d.cfg.Clock.Now()
	p := d.whyBegin(now)
	defer d.whyEnd(p)
	roles, fws := d.sorters()
	if roles.len() == 0 {
		return nil
	}
	var round []Allocation
	order := d.sortedAgents()
	if d.pack {
		order = d.packOrder(now)
		defer func() { d.pack1 = nil }()
	}
	q := d.newQuotaPass()
	if q != nil {
		// Guarantees first: roles short of theirs, up to them.
		for _, id := range order {
			round = d.allocateAgent(d.agents[id], roles, fws, q, true, now, round)
		}
	}
	for _, id := range order {
		round = d.allocateAgent(d.agents[id], roles, fws, q, false, now, round)
	}
	return round
}

// allocateAgent offers one agent's free resources to the roles in DRF
// order (only roles short of a guarantee in the guarantee stage), each
// offer cut to the role's quota limits and to what the guarantees of
// others leave of the unreserved pool (q nil: no quota at all).
func (d *DRF) allocateAgent(a *agent, roles *roleTree, fws map[string]*sorter, q *quotaPass, guaranteeStage bool, now time.Time, round []Allocation) []Allocation {
	p := d.ext.why.cur // nil unless someone asked why
	if p != nil {
		p.takers = p.takers[:0] // who took what of this agent, from now
	}
	if d.inactive[a.id] || !d.offerable(a.free) {
		if p != nil {
			d.whyAgent(p, a, whyAgentReason(d.inactive[a.id], a.free))
		}
		return round
	}
	gpus := a.total.Scalar("gpus") > 0
	// Ranging over roles.sorted() while roles.allocated marks it stale is
	// safe: the re-sort happens at the next agent's sorted call.
	for _, rc := range roles.sorted() {
		if guaranteeStage && !q.hungry(rc.name) {
			continue
		}
		offer := allocatableTo(a.free, rc.name)
		uncapped, all := offer, unbounded
		if q != nil {
			var unres vec
			all, unres = q.capFor(rc.name, guaranteeStage)
			offer = capScalars(offer, all, unres)
		}
		if !d.offerable(offer) {
			if p != nil {
				d.whyRole(p, a, rc.name, uncapped, all)
			}
			continue
		}
		norm := offer.Normalized() // once, rather than per filter checked
		fs := fws[rc.name]
		for _, fc := range fs.sorted() {
			f := d.frameworks[fc.name]
			if skip := d.skipReason(f, gpus, a.id, rc.name, offer, norm, now); skip != "" {
				if p != nil {
					d.whySkip(p, f, rc.name, a, skip, now)
				}
				continue
			}
			if !guaranteeStage && d.withheld(a, fc.name) {
				continue // binpack keeps this empty agent for later
			}
			if p != nil {
				d.whyWin(p, fs, rc.name, fc.name, fc.share, rc.share, a.id)
			}
			d.packOffered(fc.name)
			granted := offer.Allocate(rc.name)
			if sameResources(offer, a.free) {
				a.free = nil // the whole of it: nothing left to subtract from
			} else {
				a.free = a.free.Subtract(offer...)
			}
			d.track(fc.name, a, granted)
			v := scalarsOf(offer)
			roles.allocated(rc.name, v)
			fs.allocated(fc.name, v)
			if q != nil {
				q.allocated(rc.name, v, scalarsOf(allocatableTo(offer, "*")))
			}
			round = append(round, Allocation{
				FrameworkID: fc.name,
				Role:        rc.name,
				AgentID:     a.id,
				Resources:   granted,
			})
			break
		}
		if !d.offerable(a.free) {
			break
		}
	}
	if p != nil && !guaranteeStage {
		d.whyAgentDone(p, roles, a.id)
	}
	return round
}

// skipReason says why framework f may not have offer on the agent in
// role ("" if it may): a GPU agent it did not ask for, a decline filter,
// or its offer constraints.
func (d *DRF) skipReason(f *framework, gpus bool, agentID, role string, offer mesos.Resources, norm bool, now time.Time) Reason {
	switch {
	case gpus && !f.gpuAware:
		return ReasonGPUAgent
	case f.filtered(agentID, role, offer, norm, now):
		return ReasonFiltered
	case d.excluded(f.id, role, agentID):
		return ReasonConstraint
	}
	return ""
}

// whyAgentReason is the reason recorded for an agent skipped whole:
// inactive, or what is free is too little to offer, or nothing is free.
func whyAgentReason(inactive bool, free mesos.Resources) Reason {
	switch {
	case inactive:
		return ReasonAgentInactive
	case free.Scalar("cpus") > 0 || free.Scalar("mem") > 0:
		return ReasonBelowMinimum
	}
	return ReasonAgentFull
}

// allocatableTo is rs.AllocatableTo(role) without a copy when every
// resource of rs is allocatable to role (the usual case: nothing
// reserved). The allocator never modifies resources in place, so sharing
// them is safe.
func allocatableTo(rs mesos.Resources, role string) mesos.Resources {
	for i := range rs {
		if rr := rs[i].ReservationRole(); rr != "*" && rr != role {
			return rs.AllocatableTo(role)
		}
	}
	return rs
}

// sameResources reports whether a and b are the very same list (not a
// copy).
func sameResources(a, b mesos.Resources) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

// sorters builds the pass's role order and one framework sorter per role,
// from the usage booked so far. Only roles with at least one framework
// that may receive offers take part; a role's share still counts what
// every framework (active or not) holds in it, and a parent role's what
// its descendants hold.
func (d *DRF) sorters() (*roleTree, map[string]*sorter) {
	fws := map[string]*sorter{}
	var takes []string
	for _, f := range d.frameworks {
		if !f.active {
			continue
		}
		for _, r := range f.roles {
			if f.suppressed[r] {
				continue
			}
			fs := fws[r]
			if fs == nil {
				fs = newSorter(d.total)
				fws[r] = fs
				takes = append(takes, r)
			}
			var fu usage
			if u := d.fwUse[f.id][r]; u != nil {
				fu = *u
			}
			fs.add(f.id, fu.alloc, 1, fu.count)
		}
	}
	roles := newRoleTree(d.total)
	roles.build(takes, d.roleUse, d.weight)
	return roles, fws
}

// sortedAgents returns the agent IDs in order, cached until agents change.
func (d *DRF) sortedAgents() []string {
	if d.agentOrder == nil {
		d.agentOrder = sortedKeys(d.agents)
	}
	return d.agentOrder
}

// offerable reports whether rs holds enough for an offer: one of the
// MinAllocatable sets, or else at least MinCPUs cpus or MinMem mem (and
// some of it).
func (d *DRF) offerable(rs mesos.Resources) bool {
	if len(d.cfg.MinAllocatable) > 0 {
		return meetsMinimum(rs, d.cfg.MinAllocatable)
	}
	cpus, mem := rs.Scalar("cpus"), rs.Scalar("mem")
	return (cpus > 0 && cpus >= d.cfg.MinCPUs) || (mem > 0 && mem >= d.cfg.MinMem)
}

// filtered reports whether an unexpired decline filter of f on the agent
// for role contains offer (Mesos semantics: a filter applies only while
// the offer would be a subset of what was declined; once more is free, the
// framework sees the larger offer). norm says whether offer is
// Normalized. Expired filters are dropped on the way.
func (f *framework) filtered(agentID, role string, offer mesos.Resources, norm bool, now time.Time) bool {
	fs := f.filters[agentID]
	if len(fs) == 0 {
		return false
	}
	if slices.ContainsFunc(fs, func(x filter) bool { return !now.Before(x.expiry) }) {
		fs = slices.DeleteFunc(fs, func(x filter) bool { return !now.Before(x.expiry) })
		f.setFilters(agentID, fs)
	}
	for _, x := range fs {
		if x.role != role {
			continue
		}
		if norm && x.norm {
			if x.res.ContainsNormalized(offer) {
				return true
			}
		} else if x.res.Contains(offer) {
			return true
		}
	}
	return false
}

// addFilter installs x for the agent, dropping the agent's expired filters
// so that repeated declines of an agent that is never offered again (and
// so never checked) cannot pile up.
func (f *framework) addFilter(agentID string, x filter, now time.Time) {
	x.norm = x.res.Normalized()
	fs := slices.DeleteFunc(f.filters[agentID], func(y filter) bool { return !now.Before(y.expiry) })
	if !x.res.IsEmpty() {
		fs = append(fs, x)
	}
	f.setFilters(agentID, fs)
}

// setFilters stores fs for the agent, forgetting the agent when empty.
func (f *framework) setFilters(agentID string, fs []filter) {
	if len(fs) == 0 {
		delete(f.filters, agentID)
		return
	}
	f.filters[agentID] = fs
}
