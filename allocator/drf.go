package allocator

import (
	"math"
	"reflect"
	"slices"
	"sync"
	"time"

	"mesh/mesos"
)

var _ Allocator = (*DRF)(nil)

// DRF is a hierarchical weighted Dominant Resource Fairness allocator in the
// manner of Mesos' hierarchical allocator: roles are ordered by weighted
// dominant share, frameworks within a role by their own dominant share in
// that role, and each agent's free resources go, role by role, to the
// first framework in that order that wants them. See allocate for one pass.
//
// Events that can make resources offerable (a framework added, activated
// or revived, an agent added, resources recovered, a framework removed)
// call Trigger themselves, so the caller need not; Run turns triggers and
// the periodic tick into passes.
//
// Locking: mu guards all bookkeeping and is held only while computing a
// pass, never while calling Config.Offer, because the callback may call
// back into the allocator (Recover on a failed commit, Trigger). passMu
// serializes whole passes (compute and callback), so rounds reach the
// callback one at a time and in the order they were computed. Hence the
// callback must not call AllocateNow, which would wait on passMu forever.
type DRF struct {
	cfg     Config
	trigger chan struct{} // capacity 1: pending triggers coalesce

	passMu sync.Mutex

	mu         sync.Mutex
	agents     map[string]*agent
	agentOrder []string // agent IDs sorted; nil when agents changed
	total      vec      // the cluster's DRF scalars, every agent summed
	frameworks map[string]*framework
	weights    map[string]float64
	quotas     map[string]quotaVecs
	roleUse    map[string]*usage
	fwUse      map[string]map[string]*usage // framework ID → role → usage
	// inactive holds the agents offered to nobody, added or not.
	inactive map[string]bool
	// ext holds offer constraints and the why recorder (constraints.go,
	// why.go).
	ext extras
	// pack makes the allocator BinPack; pack1 is its state during a pass.
	pack  bool
	pack1 *packPass
}

// agent is one agent's resources. free is kept equal to total minus every
// framework's allocation so a pass need not recompute it.
type agent struct {
	id        string
	total     mesos.Resources            // without allocation_info
	free      mesos.Resources            // without allocation_info
	allocated map[string]mesos.Resources // framework ID → resources with allocation_info
	// filtered is the resources of the latest decline filter on the agent,
	// which a filter of equal resources shares: the frameworks that
	// decline the agent's offer one after another decline the same
	// resources, and at 100 frameworks and 5,000 agents their copies took
	// tens of megabytes. Filters only read their resources.
	filtered mesos.Resources
}

// sharedFilter is res, or the equal resources of the agent's latest
// filter.
func (a *agent) sharedFilter(res mesos.Resources) mesos.Resources {
	if reflect.DeepEqual(a.filtered, res) {
		return a.filtered
	}
	a.filtered = res
	return res
}

// framework is what the allocator knows of a subscribed framework.
type framework struct {
	id         string
	roles      []string // subscription order, no duplicates
	suppressed map[string]bool
	active     bool
	gpuAware   bool
	filters    map[string][]filter // agent ID → decline filters
}

// filter is a decline filter: until expiry, the framework is not offered
// resources of role on the agent that res contains.
type filter struct {
	role   string
	res    mesos.Resources // without allocation_info
	norm   bool            // res is Normalized
	expiry time.Time
}

// usage is what a role, or a framework in a role, holds cluster-wide.
type usage struct {
	alloc vec
	count uint64 // allocations ever made; the sorters' first tie-break
}

// wallClock is the default Clock.
type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now() }

// wallTicker is the default Config.Ticker.
func wallTicker(d time.Duration) (<-chan time.Time, func()) {
	t := time.NewTicker(d)
	return t.C, t.Stop
}

// DefaultConfig returns Mesos' defaults: a 1s allocation interval, the wall
// clock, and offers of at least 0.01 cpus or 32 MB of memory. Offer must
// still be set.
func DefaultConfig() Config {
	return Config{
		Interval: time.Second,
		Clock:    wallClock{},
		MinCPUs:  0.01,
		MinMem:   32,
		Ticker:   wallTicker,
	}
}

// NewDRF returns a DRF allocator. Zero fields of cfg take DefaultConfig's
// values; a negative MinCPUs or MinMem means any positive amount of that
// resource is enough. It panics if cfg.Offer is nil (New returns
// ErrNoOfferCallback instead).
func NewDRF(cfg Config) *DRF {
	if cfg.Offer == nil {
		panic("allocator: " + ErrNoOfferCallback.Error())
	}
	def := DefaultConfig()
	if cfg.Interval <= 0 {
		cfg.Interval = def.Interval
	}
	if cfg.Clock == nil {
		cfg.Clock = def.Clock
	}
	if cfg.Ticker == nil {
		cfg.Ticker = def.Ticker
	}
	if cfg.MinCPUs == 0 {
		cfg.MinCPUs = def.MinCPUs
	}
	if cfg.MinMem == 0 {
		cfg.MinMem = def.MinMem
	}
	return &DRF{
		cfg:        cfg,
		trigger:    make(chan struct{}, 1),
		agents:     map[string]*agent{},
		inactive:   map[string]bool{},
		frameworks: map[string]*framework{},
		weights:    map[string]float64{},
		quotas:     map[string]quotaVecs{},
		roleUse:    map[string]*usage{},
		fwUse:      map[string]map[string]*usage{},
	}
}

// SetWeight sets role's weight: its dominant share is divided by w, so a
// role of weight 2 is entitled to twice the share of a role of weight 1.
// A weight that is not a positive finite number restores the default, 1.
func (d *DRF) SetWeight(role string, w float64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !(w > 0) || math.IsInf(w, 0) {
		delete(d.weights, role)
		return
	}
	d.weights[role] = w
}

// weight returns role's weight, 1 unless set.
func (d *DRF) weight(role string) float64 {
	if w, ok := d.weights[role]; ok {
		return w
	}
	return 1
}

// AddFramework registers an active framework subscribed to roles (none
// means the default role "*"), with suppressedRoles suppressed. Adding a
// known framework again updates its roles and suppression and activates
// it, keeping its allocations and filters.
func (d *DRF) AddFramework(frameworkID string, roles []string, suppressedRoles []string) {
	d.mu.Lock()
	f := d.frameworks[frameworkID]
	if f == nil {
		f = &framework{id: frameworkID, filters: map[string][]filter{}}
		d.frameworks[frameworkID] = f
	}
	f.roles = f.roles[:0]
	for _, r := range roles {
		if !slices.Contains(f.roles, r) {
			f.roles = append(f.roles, r)
		}
	}
	if len(f.roles) == 0 {
		f.roles = append(f.roles, "*")
	}
	f.suppressed = map[string]bool{}
	for _, r := range suppressedRoles {
		f.suppressed[r] = true
	}
	f.active = true
	d.mu.Unlock()
	d.Trigger()
}

// RemoveFramework forgets a framework, its filters and whatever it still
// holds on any agent (the server normally recovers that first).
func (d *DRF) RemoveFramework(frameworkID string) {
	d.mu.Lock()
	delete(d.frameworks, frameworkID)
	for _, a := range d.agents {
		if held, ok := a.allocated[frameworkID]; ok {
			d.untrack(frameworkID, held)
			delete(a.allocated, frameworkID)
			d.recomputeFree(a)
		}
	}
	delete(d.fwUse, frameworkID)
	delete(d.ext.constraints, frameworkID)
	delete(d.ext.why.watched, frameworkID)
	d.mu.Unlock()
	d.Trigger()
}

// ActivateFramework resumes offers to a framework.
func (d *DRF) ActivateFramework(frameworkID string) {
	d.mu.Lock()
	f := d.frameworks[frameworkID]
	if f != nil {
		f.active = true
	}
	d.mu.Unlock()
	if f != nil {
		d.Trigger()
	}
}

// DeactivateFramework stops offers to a framework; it keeps its
// allocations, filters and suppressed roles.
func (d *DRF) DeactivateFramework(frameworkID string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if f := d.frameworks[frameworkID]; f != nil {
		f.active = false
	}
}

// AddAgent registers an agent with its total resources and what frameworks
// already use on it. Usage is recorded even for frameworks not (yet)
// added, since resources in use are not free whoever holds them. Adding a
// known agent again replaces it, dropping filters for it.
func (d *DRF) AddAgent(agentID string, total mesos.Resources, used map[string]mesos.Resources) {
	d.mu.Lock()
	if _, ok := d.agents[agentID]; ok {
		d.removeAgent(agentID)
	}
	a := &agent{id: agentID, total: total.Unallocate(), allocated: map[string]mesos.Resources{}}
	d.agents[agentID] = a
	d.agentOrder = nil
	d.total = d.total.add(scalarsOf(a.total))
	for _, fw := range sortedKeys(used) {
		d.track(fw, a, d.withRoles(fw, used[fw]))
	}
	d.recomputeFree(a)
	d.mu.Unlock()
	d.Trigger()
}

// SetAgentActive stops or resumes offers of an agent's resources. What
// frameworks hold there stays theirs, and is freed as usual.
func (d *DRF) SetAgentActive(agentID string, active bool) {
	d.mu.Lock()
	if active {
		delete(d.inactive, agentID)
	} else {
		d.inactive[agentID] = true
	}
	d.mu.Unlock()
	if active {
		d.Trigger()
	}
}

// RemoveAgent forgets an agent, what is allocated on it and filters for it.
func (d *DRF) RemoveAgent(agentID string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.removeAgent(agentID)
	delete(d.ext.agentInfo, agentID)
}

func (d *DRF) removeAgent(agentID string) {
	a := d.agents[agentID]
	if a == nil {
		return
	}
	for fw, held := range a.allocated {
		d.untrack(fw, held)
	}
	d.total = d.total.sub(scalarsOf(a.total))
	delete(d.agents, agentID)
	d.agentOrder = nil
	for _, f := range d.frameworks {
		delete(f.filters, agentID)
	}
}

// Allocated records that a framework holds res on an agent outside an
// offer round, e.g. tasks found running when the leader changed.
// Resources without allocation_info count toward their reservation role,
// else the framework's first role.
func (d *DRF) Allocated(frameworkID, agentID string, res mesos.Resources) {
	d.mu.Lock()
	defer d.mu.Unlock()
	a := d.agents[agentID]
	if a == nil {
		return
	}
	d.track(frameworkID, a, d.withRoles(frameworkID, res))
	d.recomputeFree(a)
}

// Recover returns res, held by a framework on an agent, to the pool. Only
// what the framework actually holds is returned, so recovering twice is
// harmless. refuse > 0 installs a decline filter for the framework on that
// agent, per role of res, lasting refuse from the injected clock's now.
func (d *DRF) Recover(frameworkID, agentID string, res mesos.Resources, refuse time.Duration) {
	d.mu.Lock()
	a := d.agents[agentID]
	if a == nil {
		d.mu.Unlock()
		return
	}
	res = d.withRoles(frameworkID, res)
	if held, ok := a.allocated[frameworkID]; ok {
		left := held.Subtract(res...)
		// held minus left is held ∩ res: exactly what was there to give back.
		d.untrack(frameworkID, held.Subtract(left...))
		if left.IsEmpty() {
			delete(a.allocated, frameworkID)
		} else {
			a.allocated[frameworkID] = left
		}
		d.recomputeFree(a)
	}
	if f := d.frameworks[frameworkID]; f != nil && refuse > 0 {
		now := d.cfg.Clock.Now()
		for _, g := range splitByRole(res) {
			f.addFilter(a.id, filter{role: g.role, res: a.sharedFilter(g.res.Unallocate()), expiry: now.Add(refuse)}, now)
		}
	}
	d.mu.Unlock()
	d.Trigger()
}

// Filter installs recorded decline filters; see Allocator. A filter's
// resources are kept as given (only read, never changed) unless they
// carry allocation info: the state records them without, and copying
// each of them made a framework's SUBSCRIBE after a leader change hold
// the allocator, with every agent's registration behind it, for as long
// as it took to copy the framework's filters on 5,000 agents.
func (d *DRF) Filter(frameworkID string, filters ...RecordedFilter) {
	d.mu.Lock()
	defer d.mu.Unlock()
	f := d.frameworks[frameworkID]
	if f == nil {
		return
	}
	now := d.cfg.Clock.Now()
	for _, x := range filters {
		res := x.Resources
		if res.HasAllocationInfo() {
			res = res.Unallocate()
		}
		f.addFilter(d.agentKey(x.AgentID), filter{role: x.Role, res: res, expiry: x.Until}, now)
	}
}

// agentKey is the agent's id as the allocator's record of it holds it
// (as given for an agent it does not know), for keys of maps that
// outlive the call: every framework keeps filters by agent, and the ids
// callers give are each their own copy (100 frameworks' filters kept
// 100 copies of every agent's id).
func (d *DRF) agentKey(agentID string) string {
	if a := d.agents[agentID]; a != nil {
		return a.id
	}
	return agentID
}

// SetGPUAware records whether a framework may be offered GPU agents.
func (d *DRF) SetGPUAware(frameworkID string, aware bool) {
	d.mu.Lock()
	if f := d.frameworks[frameworkID]; f != nil {
		f.gpuAware = aware
	}
	d.mu.Unlock()
	d.Trigger()
}

// Suppress stops offers to a framework for roles, or for every role it is
// subscribed to when roles is empty. Filters are kept.
func (d *DRF) Suppress(frameworkID string, roles []string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	f := d.frameworks[frameworkID]
	if f == nil {
		return
	}
	if len(roles) == 0 {
		roles = f.roles
	}
	for _, r := range roles {
		f.suppressed[r] = true
	}
}

// Revive resumes offers to a framework for roles and drops its decline
// filters for those roles; with no roles, for every role (and every
// filter), as Mesos' REVIVE does.
func (d *DRF) Revive(frameworkID string, roles []string) {
	d.mu.Lock()
	f := d.frameworks[frameworkID]
	if f == nil {
		d.mu.Unlock()
		return
	}
	if len(roles) == 0 {
		clear(f.suppressed)
		clear(f.filters)
	} else {
		for _, r := range roles {
			delete(f.suppressed, r)
		}
		for agentID, fs := range f.filters {
			fs = slices.DeleteFunc(fs, func(x filter) bool { return slices.Contains(roles, x.role) })
			f.setFilters(agentID, fs)
		}
	}
	d.mu.Unlock()
	d.Trigger()
}

// Trigger asks for a pass soon. It never blocks: the channel holds at most
// one pending trigger, and any number of triggers before Run takes it
// coalesce into one pass.
func (d *DRF) Trigger() {
	select {
	case d.trigger <- struct{}{}:
	default:
	}
}

// Run performs a pass on every trigger and every Config.Interval (from
// Config.Ticker) until stop is closed. Run one at a time.
func (d *DRF) Run(stop <-chan struct{}) {
	tick, stopTick := d.cfg.Ticker(d.cfg.Interval)
	defer stopTick()
	for {
		select {
		case <-stop:
			return
		case <-d.trigger:
		case <-tick:
		}
		// A trigger that arrived before this pass starts is served by it.
		select {
		case <-d.trigger:
		default:
		}
		d.AllocateNow()
	}
}

// track adds res (with allocation_info) to what fw holds on a, and to the
// role and framework usage the sorters start from. The caller keeps a.free
// in step.
func (d *DRF) track(fw string, a *agent, res mesos.Resources) {
	if res.IsEmpty() {
		return
	}
	if held := a.allocated[fw]; len(held) == 0 && res.Normalized() {
		a.allocated[fw] = res.Clone() // what Add would make of it, cheaper
	} else {
		a.allocated[fw] = held.Add(res...)
	}
	for _, g := range splitByRole(res) {
		v := scalarsOf(g.res)
		ru := d.roleUse[g.role]
		if ru == nil {
			ru = &usage{}
			d.roleUse[g.role] = ru
		}
		ru.alloc = ru.alloc.add(v)
		ru.count++
		byRole := d.fwUse[fw]
		if byRole == nil {
			byRole = map[string]*usage{}
			d.fwUse[fw] = byRole
		}
		fu := byRole[g.role]
		if fu == nil {
			fu = &usage{}
			byRole[g.role] = fu
		}
		fu.alloc = fu.alloc.add(v)
		fu.count++
	}
}

// untrack takes res (with allocation_info) off the role and framework
// usage; the caller updates a.allocated and a.free.
func (d *DRF) untrack(fw string, res mesos.Resources) {
	for _, g := range splitByRole(res) {
		v := scalarsOf(g.res)
		if ru := d.roleUse[g.role]; ru != nil {
			ru.alloc = ru.alloc.sub(v)
		}
		if fu := d.fwUse[fw][g.role]; fu != nil {
			fu.alloc = fu.alloc.sub(v)
		}
	}
}

// recomputeFree sets a.free to its total minus every allocation. Used on
// events rather than adjusting free incrementally so that inconsistent
// input (more used than the agent has) can never leave free above total.
func (d *DRF) recomputeFree(a *agent) {
	var used []mesos.Resource
	for _, held := range a.allocated {
		for _, r := range held {
			r.AllocationInfo = nil // a shallow copy: Subtract only reads it
			used = append(used, r)
		}
	}
	// Subtracting is order-independent (each amount only goes down, to
	// zero at the least), so the map's order does not matter.
	a.free = a.total.Subtract(used...)
}

// withRoles returns a merged copy of res in which every resource has
// allocation_info: resources lacking it take their reservation role if
// reserved, else fw's first role, else "*".
func (d *DRF) withRoles(fw string, res mesos.Resources) mesos.Resources {
	out := make(mesos.Resources, len(res))
	for i, r := range res {
		// A shallow copy: Add below makes the deep one.
		if r.AllocationRole() == "" {
			role := "*"
			if r.IsReserved() {
				role = r.ReservationRole()
			} else if f := d.frameworks[fw]; f != nil {
				role = f.roles[0]
			}
			r.AllocationInfo = &mesos.AllocationInfo{Role: role}
		}
		out[i] = r
	}
	return mesos.Resources(nil).Add(out...)
}

// roleRes is the part of some resources allocated to one role.
type roleRes struct {
	role string
	res  mesos.Resources
}

// splitByRole groups rs by allocation role, in order of first appearance.
// The groups may share rs's backing array; callers only read them.
func splitByRole(rs mesos.Resources) []roleRes {
	if len(rs) == 0 {
		return nil
	}
	if single := rs[0].AllocationRole(); !slices.ContainsFunc(rs[1:], func(r mesos.Resource) bool {
		return r.AllocationRole() != single
	}) {
		return []roleRes{{role: single, res: rs}} // the usual case: one offer, one role
	}
	var out []roleRes
next:
	for i := range rs {
		role := rs[i].AllocationRole()
		for j := range out {
			if out[j].role == role {
				out[j].res = append(out[j].res, rs[i])
				continue next
			}
		}
		out = append(out, roleRes{role: role, res: mesos.Resources{rs[i]}})
	}
	return out
}

// sortedKeys returns m's keys in order, for deterministic iteration.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
