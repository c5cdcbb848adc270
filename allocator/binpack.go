package allocator

import (
	"cmp"
	"slices"
	"time"
)

// BinPack packs tasks onto the fewest agents. It keeps every rule of the
// DRF allocator it is built on: roles, and frameworks within a role, are
// served in hierarchical weighted DRF order on each agent; reservations
// go only to their role; quota guarantees come first and limits are never
// passed; suppressed roles, decline filters, inactive agents, GPU agents
// and the minimum allocatable are honoured. What differs is where a pass
// looks and who may have an empty agent:
//
//   - Agents where something is allocated (offered or in use) are visited
//     first, the most used first: the largest dominant share of the
//     agent's own total that is allocated, then agent ID.
//   - Empty agents (nothing allocated on them) come after, in ID order,
//     and are withheld from a framework that can be given room where
//     tasks already run: one offered anything in this pass, or one that
//     some used agent, with room when the pass began, could be offered
//     to (active, allocatable to one of its unsuppressed roles, not
//     declined with a filter, not a GPU agent if it is not GPU aware).
//     Any framework is offered at most one empty agent per pass. So a
//     framework is given a fresh agent only when there is no room it
//     could have elsewhere, and one at a time.
//   - Quota guarantees come before packing: while roles short of their
//     guarantee are served, no agent is withheld from them.
//
// Fairness: binpack is fair across roles and frameworks in the DRF order
// it serves each agent in, but it is not DRF's equal dominant shares over
// the cluster. What it promises instead is that no framework is starved
// for empty agents: in every pass, each framework that may be offered an
// empty agent and was offered nothing on the used ones is offered an
// empty agent while one is left that it may have.
type BinPack struct {
	*DRF
}

var _ Allocator = BinPack{}

// NewBinPack returns a bin-packing allocator; cfg is as for NewDRF.
func NewBinPack(cfg Config) BinPack {
	d := NewDRF(cfg)
	d.pack = true
	return BinPack{d}
}

// packPass is binpack's bookkeeping of one pass.
type packPass struct {
	empty   map[string]bool // agents with nothing allocated when the pass began
	room    []*agent        // used agents with offerable room when the pass began
	offered map[string]bool // frameworks offered something in this pass
	hasRoom map[string]bool // framework → some agent of room could be offered to it
	now     time.Time
}

// packOrder returns the agents of a binpack pass that have anything to
// offer, used ones most used first, then empty ones, and starts the
// pass's bookkeeping. (An agent with nothing offerable is skipped by the
// pass anyway, and free resources only shrink during a pass.)
func (d *DRF) packOrder(now time.Time) []string {
	type ranked struct {
		id   string
		used float64
	}
	var used []ranked
	var empty []string
	p := &packPass{empty: map[string]bool{}, offered: map[string]bool{}, hasRoom: map[string]bool{}, now: now}
	d.pack1 = p
	for _, id := range d.sortedAgents() {
		a := d.agents[id]
		if !d.offerable(a.free) {
			continue // nothing to offer: no need to rank it
		}
		if len(a.allocated) == 0 {
			empty = append(empty, id)
			p.empty[id] = true
			continue
		}
		total := scalarsOf(a.total)
		used = append(used, ranked{id, total.sub(scalarsOf(a.free)).share(total)})
		if !d.inactive[id] {
			p.room = append(p.room, a)
		}
	}
	slices.SortStableFunc(used, func(x, y ranked) int { return cmp.Compare(y.used, x.used) })
	order := make([]string, 0, len(used)+len(empty))
	for _, r := range used {
		order = append(order, r.id)
	}
	return append(order, empty...)
}

// withheld reports whether binpack keeps agent a from framework fw in
// this pass: a is empty, and fw was offered something already or could
// be given room on a used agent.
func (d *DRF) withheld(a *agent, fw string) bool {
	p := d.pack1
	if p == nil || !p.empty[a.id] {
		return false
	}
	if p.offered[fw] {
		return true
	}
	room, known := p.hasRoom[fw]
	if !known {
		room = d.roomFor(d.frameworks[fw], p)
		p.hasRoom[fw] = room
	}
	return room
}

// roomFor reports whether some used agent with room could be offered to f.
func (d *DRF) roomFor(f *framework, p *packPass) bool {
	for _, a := range p.room {
		if a.total.Scalar("gpus") > 0 && !f.gpuAware {
			continue
		}
		for _, r := range f.roles {
			if f.suppressed[r] {
				continue
			}
			offer := allocatableTo(a.free, r)
			if d.offerable(offer) && !f.filtered(a.id, r, offer, offer.Normalized(), p.now) {
				return true
			}
		}
	}
	return false
}

// packOffered notes that fw was offered something in this pass.
func (d *DRF) packOffered(fw string) {
	if d.pack1 != nil {
		d.pack1.offered[fw] = true
	}
}
