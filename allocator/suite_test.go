package allocator

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"mesh/mesos"
)

// The shared suite: every registered allocator is driven through the
// Allocator interface by a model cluster that checks, on every round,
// the invariants no policy may break. Properties that are one policy's
// own (DRF's equal shares, binpack's packing) say so by name.

// suiteRounds is how many random cases each property runs; the seed of
// a failing case is in the failure.
const suiteRounds = 40

// forEachAllocator runs f as a subtest per registered allocator.
func forEachAllocator(t *testing.T, f func(t *testing.T, name string)) {
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) { f(t, name) })
	}
}

// heldKey names what one framework holds on one agent.
type heldKey struct{ fw, agent string }

// model is a cluster as the server sees it: it feeds an allocator, takes
// its rounds and keeps its own ledger of what is free and what is held,
// failing the test as soon as a round breaks an invariant.
type model struct {
	t     testing.TB
	a     Allocator
	rec   *recorder
	clock *fakeClock
	rnd   *rand.Rand

	total    map[string]mesos.Resources // agent → total
	free     map[string]mesos.Resources // agent → not held by anyone (ledger)
	held     map[heldKey]mesos.Resources
	inactive map[string]bool
	roles    map[string][]string        // framework → roles
	supp     map[string]map[string]bool // framework → suppressed roles
	active   map[string]bool
	quotas   map[string]Quota
	rounds   [][]Allocation
}

func newModel(t testing.TB, name string, seed uint64) *model {
	t.Helper()
	rec := &recorder{}
	clock := newFakeClock()
	cfg := DefaultConfig()
	cfg.Clock = clock
	cfg.Offer = rec.offer
	a, err := New(name, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &model{
		t: t, a: a, rec: rec, clock: clock, rnd: rand.New(rand.NewPCG(seed, 7)),
		total: map[string]mesos.Resources{}, free: map[string]mesos.Resources{},
		held: map[heldKey]mesos.Resources{}, inactive: map[string]bool{},
		roles: map[string][]string{}, supp: map[string]map[string]bool{},
		active: map[string]bool{}, quotas: map[string]Quota{},
	}
}

func (m *model) addFramework(fw string, roles ...string) {
	m.a.AddFramework(fw, roles, nil)
	m.roles[fw] = roles
	m.supp[fw] = map[string]bool{}
	m.active[fw] = true
}

func (m *model) addAgent(id string, total mesos.Resources) {
	m.a.AddAgent(id, total, nil)
	m.total[id] = total
	m.free[id] = total
}

func (m *model) setQuota(role string, q Quota) {
	m.a.SetQuota(role, q)
	m.quotas[role] = q
}

func (m *model) suppress(fw string, roles ...string) {
	m.a.Suppress(fw, roles)
	if len(roles) == 0 {
		roles = m.roles[fw]
	}
	for _, r := range roles {
		m.supp[fw][r] = true
	}
}

func (m *model) revive(fw string, roles ...string) {
	m.a.Revive(fw, roles)
	if len(roles) == 0 {
		clear(m.supp[fw])
	}
	for _, r := range roles {
		delete(m.supp[fw], r)
	}
}

// recover gives back part of what fw holds on agent.
func (m *model) recover(fw, agent string, res mesos.Resources, refuse time.Duration) {
	k := heldKey{fw, agent}
	if !m.held[k].Contains(res) {
		m.t.Fatalf("model: %s does not hold %s on %s", fw, res, agent)
	}
	m.a.Recover(fw, agent, res, refuse)
	m.held[k] = m.held[k].Subtract(res...)
	if m.held[k].IsEmpty() {
		delete(m.held, k)
	}
	m.free[agent] = m.free[agent].Add(res.Unallocate()...)
}

// removeAgent forgets an agent, and what is held there, in both.
func (m *model) removeAgent(id string) {
	m.a.RemoveAgent(id)
	delete(m.total, id)
	delete(m.free, id)
	for k := range m.held {
		if k.agent == id {
			delete(m.held, k)
		}
	}
}

// pass runs one allocation pass and checks its round.
func (m *model) pass() []Allocation {
	m.t.Helper()
	m.a.AllocateNow()
	var round []Allocation
	for _, r := range m.rec.take() {
		round = append(round, r...)
	}
	m.check(round)
	m.rounds = append(m.rounds, round)
	return round
}

// check fails the test if round breaks an invariant, and books it.
func (m *model) check(round []Allocation) {
	m.t.Helper()
	for _, o := range round {
		plain := o.Resources.Unallocate()
		switch {
		case m.total[o.AgentID] == nil:
			m.t.Fatalf("offer of unknown agent %s: %+v", o.AgentID, o)
		case m.inactive[o.AgentID]:
			m.t.Fatalf("offer of inactive agent %s: %+v", o.AgentID, o)
		case !slices.Contains(m.roles[o.FrameworkID], o.Role):
			m.t.Fatalf("%s offered in role %q, not one of its roles %v", o.FrameworkID, o.Role, m.roles[o.FrameworkID])
		case !m.active[o.FrameworkID]:
			m.t.Fatalf("inactive framework %s offered %s", o.FrameworkID, o.Resources)
		case m.supp[o.FrameworkID][o.Role]:
			m.t.Fatalf("%s offered %s in role %q, which it suppressed", o.FrameworkID, o.Resources, o.Role)
		case !m.free[o.AgentID].Contains(plain):
			// Offered twice: more than the ledger has free.
			m.t.Fatalf("%s offered %s on %s, which has only %s free", o.FrameworkID, plain, o.AgentID, m.free[o.AgentID])
		}
		for _, r := range o.Resources {
			if r.AllocationRole() != o.Role {
				m.t.Fatalf("offer in role %q holds %s allocated to %q", o.Role, mesos.Resources{r}, r.AllocationRole())
			}
			if rr := r.ReservationRole(); rr != "*" && rr != o.Role && !slices.Contains(mesos.RoleAncestors(o.Role), rr) {
				m.t.Fatalf("resources reserved for %q offered to role %q: %s", rr, o.Role, mesos.Resources{r})
			}
		}
		m.free[o.AgentID] = m.free[o.AgentID].Subtract(plain...)
		k := heldKey{o.FrameworkID, o.AgentID}
		m.held[k] = m.held[k].Add(o.Resources...)
	}
	for role, q := range m.quotas {
		used := m.roleHolds(role)
		for name, limit := range q.Limit {
			if used.Scalar(name) > limit+1e-9 {
				m.t.Fatalf("role %q holds %v %s, above its limit %v", role, used.Scalar(name), name, limit)
			}
		}
	}
}

// roleHolds is everything allocated to role and its descendants.
func (m *model) roleHolds(role string) mesos.Resources {
	var out mesos.Resources
	for _, h := range m.held {
		for _, r := range h {
			if ar := r.AllocationRole(); ar == role || strings.HasPrefix(ar, role+"/") {
				out = out.Add(r)
			}
		}
	}
	return out
}

// holds is everything fw holds.
func (m *model) holds(fw string) mesos.Resources {
	var out mesos.Resources
	for k, h := range m.held {
		if k.fw == fw {
			out = out.Add(h...)
		}
	}
	return out
}

// clusterVec is the cluster's total DRF scalars.
func (m *model) clusterVec() vec {
	var v vec
	for _, t := range m.total {
		v = v.add(scalarsOf(t))
	}
	return v
}

// keepAll is a framework that keeps whatever it is offered.
func keepAll(m *model, round []Allocation) {}

// declineAll declines every offer, with a filter of refuse.
func declineAll(refuse time.Duration) func(m *model, round []Allocation) {
	return func(m *model, round []Allocation) {
		for _, o := range round {
			m.recover(o.FrameworkID, o.AgentID, o.Resources, refuse)
		}
	}
}

// agentRes builds a test agent's resources.
func agentRes(cpus, mem float64) mesos.Resources {
	return mesos.Resources{mesos.ScalarResource("cpus", cpus), mesos.ScalarResource("mem", mem)}
}

// TestSuite_NoResourceOfferedTwice: under random churn (agents coming
// and going or deactivated, frameworks declining with and without
// filters, giving back part of what they hold, leaving), no round ever
// offers what is held already; the model's check fails the test if one
// does.
func TestSuite_NoResourceOfferedTwice(t *testing.T) {
	forEachAllocator(t, func(t *testing.T, name string) {
		for seed := range uint64(suiteRounds) {
			m := newModel(t, name, seed)
			churn(m, 30)
		}
	})
}

// churn drives m through steps of random events, a pass after each.
func churn(m *model, steps int) {
	roles := []string{"*", "eng", "eng/web", "ops"}
	for i := range 2 + m.rnd.IntN(4) {
		m.addFramework(fmt.Sprintf("f%d", i), roles[m.rnd.IntN(len(roles))], roles[m.rnd.IntN(len(roles))])
	}
	next := 0
	addAgent := func() {
		r := agentRes(float64(1+m.rnd.IntN(8)), float64(256*(1+m.rnd.IntN(8))))
		r = append(r, mesos.RangesResource("ports", mesos.Range{Begin: 31000, End: 31000 + uint64(m.rnd.IntN(20))}))
		if m.rnd.IntN(3) == 0 {
			r = append(r, reserved(roles[1+m.rnd.IntN(len(roles)-1)], 1, 128)...)
		}
		m.addAgent(fmt.Sprintf("a%02d", next), r)
		next++
	}
	for range 3 + m.rnd.IntN(5) {
		addAgent()
	}
	for range steps {
		round := m.pass()
		for _, o := range round {
			switch m.rnd.IntN(4) {
			case 0: // keep it all
			case 1:
				m.recover(o.FrameworkID, o.AgentID, o.Resources, 0)
			case 2:
				m.recover(o.FrameworkID, o.AgentID, o.Resources, time.Duration(1+m.rnd.IntN(5))*time.Second)
			case 3: // keep some cpus and some ports, give back the rest
				keep := mesos.Resources{mesos.ScalarResource("cpus", 0.5).Clone()}.Allocate(o.Role)
				if !o.Resources.Contains(keep) {
					keep = nil
				}
				if p := o.Resources.Ranges("ports"); len(p) > 0 {
					port := mesos.Resources{mesos.RangesResource("ports", mesos.Range{Begin: p[0].Begin, End: p[0].Begin})}.Allocate(o.Role)
					if o.Resources.Contains(port) {
						keep = keep.Add(port...)
					}
				}
				m.recover(o.FrameworkID, o.AgentID, o.Resources.Subtract(keep...), 0)
			}
		}
		switch m.rnd.IntN(8) {
		case 0:
			addAgent()
		case 1:
			if ids := sortedKeys(m.total); len(ids) > 1 {
				m.removeAgent(ids[m.rnd.IntN(len(ids))])
			}
		case 2:
			if ids := sortedKeys(m.total); len(ids) > 0 {
				id := ids[m.rnd.IntN(len(ids))]
				m.inactive[id] = !m.inactive[id]
				m.a.SetAgentActive(id, !m.inactive[id])
			}
		case 3: // a framework gives back everything on one agent
			keys := sortedHeld(m.held)
			if len(keys) > 0 {
				k := keys[m.rnd.IntN(len(keys))]
				m.recover(k.fw, k.agent, m.held[k], 0)
			}
		case 4:
			fw := fmt.Sprintf("f%d", m.rnd.IntN(len(m.roles)))
			m.active[fw] = !m.active[fw]
			if m.active[fw] {
				m.a.ActivateFramework(fw)
			} else {
				m.a.DeactivateFramework(fw)
			}
		}
		m.clock.Advance(time.Second)
	}
}

// sortedHeld is the model's holdings in a fixed order.
func sortedHeld(h map[heldKey]mesos.Resources) []heldKey {
	keys := make([]heldKey, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b heldKey) int {
		return strings.Compare(a.fw+"@"+a.agent, b.fw+"@"+b.agent)
	})
	return keys
}

// TestSuite_SameInputsSameOffers: the same random events fed to two
// fresh allocators give the same rounds, allocation for allocation.
func TestSuite_SameInputsSameOffers(t *testing.T) {
	forEachAllocator(t, func(t *testing.T, name string) {
		for seed := range uint64(suiteRounds) {
			first := newModel(t, name, seed)
			churn(first, 20)
			again := newModel(t, name, seed)
			churn(again, 20)
			if !slices.EqualFunc(first.rounds, again.rounds, roundsEqual) {
				t.Fatalf("seed %d: the same events gave different rounds", seed)
			}
			if len(first.rounds[0]) == 0 {
				t.Fatalf("seed %d: the first pass offered nothing", seed)
			}
		}
	})
}

func roundsEqual(a, b []Allocation) bool {
	return slices.EqualFunc(a, b, func(x, y Allocation) bool {
		return x.FrameworkID == y.FrameworkID && x.Role == y.Role && x.AgentID == y.AgentID &&
			x.Resources.Contains(y.Resources) && y.Resources.Contains(x.Resources)
	})
}

// TestSuite_ReservedOnlyToTheirRole: resources reserved for a role are
// offered to that role (or, where the allocator allows it, a descendant)
// and to no other; the model's check fails the test otherwise. The roles
// that have a framework do get their reservations.
func TestSuite_ReservedOnlyToTheirRole(t *testing.T) {
	roles := []string{"eng", "eng/web", "ops", "dev"}
	forEachAllocator(t, func(t *testing.T, name string) {
		for seed := range uint64(suiteRounds) {
			m := newModel(t, name, seed)
			subscribed := map[string]bool{}
			for i := range 1 + m.rnd.IntN(4) {
				r := append([]string{"*"}, roles...)[m.rnd.IntN(len(roles)+1)]
				m.addFramework(fmt.Sprintf("f%d", i), r)
				subscribed[r] = true
			}
			want := map[string]float64{} // role → reserved cpus there
			for i := range 2 + m.rnd.IntN(6) {
				r := agentRes(2, 512)
				for range m.rnd.IntN(3) {
					role := roles[m.rnd.IntN(len(roles))]
					r = append(r, reserved(role, 1, 64)...)
					want[role]++
				}
				m.addAgent(fmt.Sprintf("a%d", i), r)
			}
			for range 10 {
				keepAll(m, m.pass())
			}
			for role, cpus := range want {
				got := 0.0
				for _, r := range m.roleHolds(role) {
					// A reservation for eng may go to eng/web, as in Mesos.
					if ar := r.AllocationRole(); r.ReservationRole() == role && r.Name == "cpus" && (ar == role || strings.HasPrefix(ar, role+"/")) {
						got += r.Scalar.Value
					}
				}
				if subscribed[role] && got != cpus {
					t.Fatalf("seed %d: role %q has a framework and %v cpus reserved, was given %v of them", seed, role, cpus, got)
				}
			}
		}
	})
}

// TestSuite_SuppressedRoleGetsNothingUntilRevived: a framework's
// suppressed roles are offered nothing (the model's check), whatever is
// freed meanwhile; once revived, it is offered again.
func TestSuite_SuppressedRoleGetsNothingUntilRevived(t *testing.T) {
	forEachAllocator(t, func(t *testing.T, name string) {
		for seed := range uint64(suiteRounds) {
			m := newModel(t, name, seed)
			m.addFramework("f0", "a", "b")
			m.addFramework("f1", "b")
			m.addFramework("f2", "c")
			for i := range 2 + m.rnd.IntN(5) {
				m.addAgent(fmt.Sprintf("a%d", i), agentRes(4, 1024))
			}
			for range 20 {
				fw := fmt.Sprintf("f%d", m.rnd.IntN(3))
				switch roles := m.roles[fw]; m.rnd.IntN(3) {
				case 0:
					m.suppress(fw, roles[m.rnd.IntN(len(roles))])
				case 1:
					m.suppress(fw)
				case 2:
					m.revive(fw, roles[m.rnd.IntN(len(roles))])
				}
				declineAll(0)(m, m.pass())
			}
			// Only f0 may be offered, in role a; once revived, it is.
			m.suppress("f1")
			m.suppress("f2")
			m.suppress("f0")
			if round := m.pass(); len(round) != 0 {
				t.Fatalf("seed %d: every role suppressed, yet offered %v", seed, round)
			}
			m.revive("f0", "a")
			round := m.pass()
			if len(round) == 0 || round[0].FrameworkID != "f0" || round[0].Role != "a" {
				t.Fatalf("seed %d: f0 revived role a and was offered %v", seed, round)
			}
		}
	})
}

// TestSuite_QuotaGuaranteesFirstLimitsNeverPassed: with more roles than
// the cluster can satisfy, the first pass gives every role its quota
// guarantee before any fair share, and no round takes a role above its
// limit (the model's check).
func TestSuite_QuotaGuaranteesFirstLimitsNeverPassed(t *testing.T) {
	forEachAllocator(t, func(t *testing.T, name string) {
		for seed := range uint64(suiteRounds) {
			m := newModel(t, name, seed)
			agents := 4 + m.rnd.IntN(8)
			for i := range agents {
				m.addAgent(fmt.Sprintf("a%02d", i), agentRes(4, 4096))
			}
			cluster := float64(4 * agents)
			// Guarantees of at most half the cluster between them.
			guarantees := map[string]float64{}
			left := cluster / 2
			for i := range 1 + m.rnd.IntN(3) {
				role := fmt.Sprintf("q%d", i)
				g := float64(1 + m.rnd.IntN(int(left/3)+1))
				left -= g
				guarantees[role] = g
				q := Quota{Guarantee: map[string]float64{"cpus": g}}
				if m.rnd.IntN(2) == 0 {
					q.Limit = map[string]float64{"cpus": g + float64(m.rnd.IntN(4))}
				}
				m.setQuota(role, q)
				m.addFramework("fw-"+role, role)
			}
			m.setQuota("capped", Quota{Limit: map[string]float64{"cpus": float64(1 + m.rnd.IntN(6))}})
			m.addFramework("fw-capped", "capped")
			// Many roles without quota, ahead in name order.
			for i := range 6 {
				m.addFramework(fmt.Sprintf("fw-a%d", i), fmt.Sprintf("a%d", i))
			}
			keepAll(m, m.pass())
			for role, g := range guarantees {
				if got := m.roleHolds(role).Scalar("cpus"); got < g {
					t.Fatalf("seed %d: role %q was given %v cpus in the first pass, short of its guarantee %v", seed, role, got, g)
				}
			}
			// Churn: give back and take again; limits hold every round.
			for range 10 {
				for _, k := range sortedHeld(m.held) {
					if m.rnd.IntN(3) == 0 {
						m.recover(k.fw, k.agent, m.held[k], 0)
					}
				}
				keepAll(m, m.pass())
			}
		}
	})
}
