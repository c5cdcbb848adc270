package allocator

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"mesh/mesos"
)

// This file holds the why recorder's hooks into a pass (pass.go calls
// them only while someone watches): each records a decision where the
// pass makes it.

// note records a decision for a watched framework's role on an agent.
// Within a pass, an offer is never overwritten by a later stage's view.
func (p *whyPass) note(wr *watchRole, agentID string, ar AgentReason) {
	rec := wr.records[agentID]
	switch {
	case rec == nil:
		rec = &AgentReason{}
		wr.records[agentID] = rec
	case rec.Checked == p.n:
		if rec.counted == ReasonOffered {
			return
		}
		wr.w.counts[rec.counted]--
	}
	ar.AgentID, ar.Role, ar.Pass, ar.Checked, ar.counted = agentID, wr.role, p.n, p.n, ar.Reason
	*rec = ar
	wr.w.counts[ar.Reason]++
}

// noteFull records that the agent had nothing free for a watched
// framework's role. A decision of the previous pass still stands then
// (who was offered the agent, or why the framework was not): it is kept,
// marked NothingFreeSince, rather than replaced by "full".
func (p *whyPass) noteFull(wr *watchRole, a *agent, r Reason) {
	rec := wr.records[a.id]
	if rec != nil && rec.Checked == p.n {
		return // this pass decided already (in the guarantee stage)
	}
	if rec != nil && rec.Checked == p.n-1 {
		switch rec.Reason {
		case r:
			// Still full since the last pass: the holders named then are
			// kept (they change when resources are freed, which ends the
			// streak, or by a pass's allocation, which records anew).
			rec.Checked, rec.counted = p.n, r
			wr.w.counts[r]++
			return
		case ReasonAgentFull, ReasonBelowMinimum:
		default:
			rec.Checked, rec.NothingFreeSince, rec.counted = p.n, true, r
			wr.w.counts[r]++
			return
		}
	}
	p.note(wr, a.id, AgentReason{Reason: r, Detail: holders(a)})
}

// holders says who holds an agent's resources, by framework and role.
func holders(a *agent) string {
	if len(a.allocated) == 0 {
		return ""
	}
	var out []string
	for _, fw := range sortedKeys(a.allocated) {
		role := ""
		if rs := a.allocated[fw]; len(rs) > 0 {
			role = rs[0].AllocationRole()
		}
		out = append(out, fmt.Sprintf("%s (role %s)", fw, role))
	}
	return "held by " + strings.Join(out, ", ")
}

// decided reports whether the pass already recorded wr on the agent.
func (p *whyPass) decided(wr *watchRole, agentID string) bool {
	rec := wr.records[agentID]
	return rec != nil && rec.Checked == p.n
}

// find is fw's entry in role, nil if fw is not watched there.
func (p *whyPass) find(fw, role string) *watchRole {
	for _, wr := range p.byRole[role] {
		if wr.fw == fw {
			return wr
		}
	}
	return nil
}

// whyAgent records the same reason for every watched framework's roles
// on an agent the pass skips whole (inactive, or nothing to offer).
func (d *DRF) whyAgent(p *whyPass, a *agent, r Reason) {
	for _, wr := range p.pairs {
		if r == ReasonAgentInactive {
			p.note(wr, a.id, AgentReason{Reason: r})
		} else {
			p.noteFull(wr, a, r)
		}
	}
}

// whyRole records why a role was offered nothing on an agent: uncapped
// is what the agent has for the role before quota, all the quota cap the
// pass applied. The distinction is made from the quantities the pass used.
func (d *DRF) whyRole(p *whyPass, a *agent, role string, uncapped mesos.Resources, all vec) {
	wrs := p.byRole[role]
	if len(wrs) == 0 {
		return
	}
	r, detail := ReasonBelowMinimum, ""
	switch {
	case d.offerable(uncapped):
		r = ReasonQuotaHeadroom
		if !d.offerable(capScalars(uncapped, all, unbounded)) {
			r = ReasonQuotaLimit
		}
	case d.offerable(a.free):
		r = ReasonReservedElsewhere
		detail = reservedDetail(a, role)
	}
	for _, wr := range wrs {
		p.note(wr, a.id, AgentReason{Reason: r, Detail: detail})
	}
}

// whySkip records why a framework of a role was passed over on an agent.
func (d *DRF) whySkip(p *whyPass, f *framework, role string, a *agent, r Reason, now time.Time) {
	wr := p.find(f.id, role)
	if wr == nil {
		return
	}
	ar := AgentReason{Reason: r}
	switch r {
	case ReasonFiltered:
		ar.Until = f.filterUntil(a.id, role, now)
	case ReasonConstraint:
		ar.Detail = d.unmetConstraint(f.id, role, a.id)
	}
	p.note(wr, a.id, ar)
}

// whyWin records that winner (of share winnerShare; its role's share
// roleShare) was offered the agent in role: the watched frameworks of the
// role not decided yet on the agent were behind it in DRF order.
func (d *DRF) whyWin(p *whyPass, fs *sorter, role, winner string, winnerShare, roleShare float64, agentID string) {
	p.takers = append(p.takers, Share{Role: role, FrameworkID: winner, Share: roleShare})
	for _, wr := range p.byRole[role] {
		if wr.fw == winner {
			p.note(wr, agentID, AgentReason{Reason: ReasonOffered})
			continue
		}
		if p.decided(wr, agentID) {
			continue
		}
		var own float64
		if c := fs.byName[wr.fw]; c != nil {
			own = c.share
		}
		p.note(wr, agentID, AgentReason{Reason: ReasonDRF, Share: own,
			Ahead: []Share{{Role: role, FrameworkID: winner, Share: winnerShare}}})
	}
}

// whyAgentDone closes an agent: a watched framework's role the pass
// never reached there lost to the roles that took the agent first.
func (d *DRF) whyAgentDone(p *whyPass, roles *roleTree, agentID string) {
	var ahead []Share
	for _, wr := range p.pairs {
		if p.decided(wr, agentID) {
			continue
		}
		if ahead == nil {
			ahead = slices.Clone(p.takers)
		}
		p.note(wr, agentID, AgentReason{Reason: ReasonDRF, Share: roles.share(wr.role), Ahead: ahead})
	}
}

// filterUntil is when the latest filter of f covering role on the agent
// expires.
func (f *framework) filterUntil(agentID, role string, now time.Time) time.Time {
	var until time.Time
	for _, x := range f.filters[agentID] {
		if x.role == role && now.Before(x.expiry) && x.expiry.After(until) {
			until = x.expiry
		}
	}
	return until
}

// share is a role's weighted share among its siblings, as the tree sorts
// it (0 for a role not in the tree).
func (t *roleTree) share(role string) float64 {
	if n := t.nodes[parentOf(role)]; n != nil {
		if c := n.children.byName[role]; c != nil {
			return c.share
		}
	}
	return 0
}

// unbounded is a quota cap that caps nothing.
var unbounded = infVec()

// infVec is a vec with no bound on any kind.
func infVec() vec {
	var v vec
	for k := range v {
		v[k] = math.Inf(1)
	}
	return v
}

// reservedDetail names the roles for which what is free on the agent is
// reserved, other than role and its ancestors.
func reservedDetail(a *agent, role string) string {
	mine := append([]string{role}, mesos.RoleAncestors(role)...)
	var others []string
	for i := range a.free {
		r := &a.free[i]
		if !r.IsReserved() {
			continue
		}
		if owner := r.ReservationRole(); !slices.Contains(mine, owner) && !slices.Contains(others, owner) {
			others = append(others, owner)
		}
	}
	if len(others) == 0 {
		return ""
	}
	slices.Sort(others)
	return fmt.Sprintf("free resources are reserved for %s", strings.Join(others, ", "))
}
