package allocator

import (
	"math"

	"mesh/mesos"
)

// Quota is a role's quota, as Mesos' QuotaConfig: a guarantee the role is
// given before any role gets its fair share (and that other roles may not
// eat into), and a limit it never goes beyond. Amounts are by resource
// name (cpus, mem, disk, gpus); a kind missing from Limit is unlimited.
// The quota covers the role's whole subtree: eng's counts eng/web's.
type Quota struct {
	Guarantee map[string]float64
	Limit     map[string]float64
}

// quotaOf turns amounts by name into a vec; missing kinds take def.
func quotaVec(m map[string]float64, def float64) vec {
	var v vec
	for k, name := range kinds {
		if x, ok := m[name]; ok {
			v[k] = x
		} else {
			v[k] = def
		}
	}
	return v
}

// SetQuota sets a role's quota; a quota with neither guarantee nor limit
// removes it.
func (d *DRF) SetQuota(role string, q Quota) {
	d.mu.Lock()
	if len(q.Guarantee) == 0 && len(q.Limit) == 0 {
		delete(d.quotas, role)
	} else {
		d.quotas[role] = quotaVecs{guarantee: quotaVec(q.Guarantee, 0), limit: quotaVec(q.Limit, math.Inf(1))}
	}
	d.mu.Unlock()
	d.Trigger()
}

type quotaVecs struct{ guarantee, limit vec }

// quotaPass is the quota bookkeeping of one allocation pass: what each
// quota role's subtree holds, and the headroom the guarantees still need.
type quotaPass struct {
	d        *DRF
	consumed map[string]vec // quota role → what its subtree holds
	// available is every agent's free unreserved scalars; required is
	// what the unsatisfied guarantees still need of it.
	available, required vec
}

// newQuotaPass sums what each quota role holds; nil when no role has a
// quota, so a pass without quotas does no extra work.
func (d *DRF) newQuotaPass() *quotaPass {
	if len(d.quotas) == 0 {
		return nil
	}
	q := &quotaPass{d: d, consumed: map[string]vec{}}
	for r, u := range d.roleUse {
		for _, p := range append([]string{r}, mesos.RoleAncestors(r)...) {
			if _, ok := d.quotas[p]; ok {
				q.consumed[p] = q.consumed[p].add(u.alloc)
			}
		}
	}
	for _, a := range d.agents {
		q.available = q.available.add(scalarsOf(allocatableTo(a.free, "*")))
	}
	for r := range d.quotas {
		if !q.nested(r) {
			q.required = q.required.add(q.unmet(r))
		}
	}
	return q
}

// nested reports whether a quota role has an ancestor with a quota (its
// guarantee is then part of the ancestor's).
func (q *quotaPass) nested(role string) bool {
	for _, p := range mesos.RoleAncestors(role) {
		if _, ok := q.d.quotas[p]; ok {
			return true
		}
	}
	return false
}

// unmet is what a quota role's guarantee still lacks.
func (q *quotaPass) unmet(role string) vec {
	return q.d.quotas[role].guarantee.sub(q.consumed[role])
}

// hungry reports whether role, or a quota ancestor of it, has an
// unsatisfied guarantee.
func (q *quotaPass) hungry(role string) bool {
	for _, p := range append([]string{role}, mesos.RoleAncestors(role)...) {
		if _, ok := q.d.quotas[p]; ok && !q.unmet(p).isZero() {
			return true
		}
	}
	return false
}

// capFor is the most role may be given now: below every quota limit of
// its own and its ancestors', and, in the guarantee stage, no more than
// its guarantees still lack. The second result caps what it may take of
// the unreserved pool without eating into headroom others' guarantees
// need.
func (q *quotaPass) capFor(role string, guaranteeStage bool) (all, unreserved vec) {
	for k := range all {
		all[k] = math.Inf(1)
	}
	var ownUnmet vec
	for _, p := range append([]string{role}, mesos.RoleAncestors(role)...) {
		qv, ok := q.d.quotas[p]
		if !ok {
			continue
		}
		left := qv.limit.sub(q.consumed[p])
		unmet := q.unmet(p)
		for k := range all {
			all[k] = math.Min(all[k], left[k])
			// Kinds the guarantee names are given only up to it in the
			// guarantee stage; others come along, within headroom.
			if guaranteeStage && qv.guarantee[k] > 0 {
				all[k] = math.Min(all[k], unmet[k])
			}
		}
		if !q.nested(p) {
			ownUnmet = unmet
		}
	}
	// What is held back for guarantees, less what this role's own
	// guarantee is owed: it may take that.
	unreserved = q.available.sub(q.required.sub(ownUnmet))
	return all, unreserved
}

// allocated books an allocation of v (of which unres came from the
// unreserved pool) to role.
func (q *quotaPass) allocated(role string, v, unres vec) {
	for _, p := range append([]string{role}, mesos.RoleAncestors(role)...) {
		if _, ok := q.d.quotas[p]; !ok {
			continue
		}
		before := q.unmet(p)
		q.consumed[p] = q.consumed[p].add(v)
		if !q.nested(p) {
			q.required = q.required.sub(before.sub(q.unmet(p)))
		}
	}
	q.available = q.available.sub(unres)
}

// capScalars returns offer with its DRF scalars cut down to all (every
// resource) and unreserved (unreserved resources), dropping what is cut
// to nothing.
func capScalars(offer mesos.Resources, all, unreserved vec) mesos.Resources {
	var out mesos.Resources
	for i := range offer {
		r := offer[i].Clone()
		k := kindIndex(r.Name)
		if k < 0 || r.Type != mesos.ValueScalar || r.Scalar == nil {
			out = append(out, r)
			continue
		}
		take := math.Min(r.Scalar.Value, all[k])
		if !r.IsReserved() {
			take = math.Min(take, unreserved[k])
			unreserved[k] -= math.Max(take, 0)
		}
		take = math.Floor(take*1000) / 1000
		if take <= 0 {
			continue
		}
		all[k] -= take
		r.Scalar = &mesos.Scalar{Value: take}
		out = append(out, r)
	}
	return out
}

// kindIndex is name's index in kinds, -1 if it is not one.
func kindIndex(name string) int {
	for k, n := range kinds {
		if n == name {
			return k
		}
	}
	return -1
}
