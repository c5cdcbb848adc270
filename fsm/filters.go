package fsm

import (
	"reflect"
	"slices"
	"sync"

	"github.com/hashicorp/go-memdb"

	"mesh/mesos"
)

// Offer filters and suppressed roles live in the replicated state so that
// a new leader honours what frameworks told the old one: a framework that
// declined an agent's resources for an hour is not offered them again by
// the next leader, and a suppressed role stays suppressed until the
// framework revives it or says otherwise when it subscribes again.

// tableFilters names the filter sets, one per framework and agent, in
// snapshots; the state keeps them in tableFilterTree.
const tableFilters = "filters"

// OfferFilter is a decline filter: until Until (unix nanoseconds, chosen by
// the leader), the framework is not offered, in Role, resources on the agent
// that Resources contains.
type OfferFilter struct {
	FrameworkID string
	AgentID     string
	Role        string
	Resources   mesos.Resources // without allocation_info
	Until       int64
}

// FilterSet is every filter of one framework on one agent.
type FilterSet struct {
	FrameworkID string
	AgentID     string
	Filters     []FilterEntry
}

// FilterEntry is one filter of a FilterSet.
type FilterEntry struct {
	Role      string
	Resources mesos.Resources
	Until     int64
}

// DeclineFilter asks OffersRemove to filter the removed offers' resources
// from their framework until Until. Now is the leader's clock when it
// asked: filters of the same framework and agent that have expired by then
// are dropped.
type DeclineFilter struct {
	Now   int64
	Until int64
}

// Offer suppression operations.
const (
	SuppressOffers = "SUPPRESS"
	ReviveOffers   = "REVIVE"
)

// OfferSuppressionRequest records a framework's SUPPRESS or REVIVE. Roles
// empty means every role the framework is subscribed to; REVIVE also drops
// the framework's filters for the roles (all of them for every role).
type OfferSuppressionRequest struct {
	FrameworkID string
	Op          string
	Roles       []string
}

// tableFilterTree holds the filter sets in a treeTable ordered by
// framework id then agent id. A framework that declines offers has a set
// on nearly every agent, so there are up to frameworks × agents of them:
// as rows of a memdb table with three indexes each cost over a kilobyte,
// and 100 frameworks declining the offers of 5,000 agents took the leader
// past a gigabyte. Snapshots still carry them as rows of tableFilters.
const tableFilterTree = "filter_tree"

var filterTree = keyedTable[*FilterSet](tableFilterTree)

// putFilterSet inserts set, replacing the set of its framework and agent.
func putFilterSet(txn *memdb.Txn, set *FilterSet) {
	filterTree.write(txn).ReplaceOrInsert(keyed[*FilterSet]{set.FrameworkID, set.AgentID, set})
}

// eachFilterSet calls f for every filter set, by framework id then agent
// id, while f returns true; with fid set, only that framework's.
func eachFilterSet(txn *memdb.Txn, fid string, f func(*FilterSet) bool) {
	eachKeyed(filterTree, txn, fid, f)
}

// collectFilterSets lists what eachFilterSet visits.
func collectFilterSets(txn *memdb.Txn, fid string) []*FilterSet {
	return collectKeyed(filterTree, txn, fid)
}

// agentFilterSets lists the filter sets on one agent: one lookup per
// framework that has any, each framework found by skipping past the one
// before.
func agentFilterSets(txn *memdb.Txn, aid string) []*FilterSet {
	var out []*FilterSet
	var from *keyed[*FilterSet]
	for {
		var next *keyed[*FilterSet]
		filterTree.ascendFrom(txn, from, func(p keyed[*FilterSet]) bool {
			next = &p
			return false
		})
		if next == nil {
			return out
		}
		if p, ok := filterTree.get(txn, keyed[*FilterSet]{id1: next.id1, id2: aid}); ok {
			out = append(out, p.v)
		}
		// The least framework id after next's: ids with next's as a prefix
		// are not less than this one.
		from = &keyed[*FilterSet]{id1: next.id1 + "\x00"}
	}
}

// Filters returns a framework's filter sets, by agent. Filters that have
// expired may still be among them until the leader prunes them; readers
// compare Until with their clock.
func (s *State) Filters(fid string) []*FilterSet { return collectFilterSets(s.txn, fid) }

// AllFilters returns every filter set.
func (s *State) AllFilters() []*FilterSet { return collectFilterSets(s.txn, "") }

// FiltersExpired reports whether any recorded filter has expired by now.
func (s *State) FiltersExpired(now int64) bool {
	expired := false
	eachFilterSet(s.txn, "", func(set *FilterSet) bool {
		expired = slices.ContainsFunc(set.Filters, func(e FilterEntry) bool { return e.Until <= now })
		return !expired
	})
	return expired
}

// addFilters records filters, dropping those of the same framework and
// agent that have expired by now.
func addFilters(txn *memdb.Txn, now int64, filters []OfferFilter) {
	for _, f := range filters {
		if f.Until <= now || f.Resources.IsEmpty() {
			continue
		}
		set := &FilterSet{}
		if cur, ok := filterTree.get(txn, keyed[*FilterSet]{id1: f.FrameworkID, id2: f.AgentID}); ok {
			set.FrameworkID, set.AgentID = cur.v.FrameworkID, cur.v.AgentID
			set.Filters = slices.DeleteFunc(slices.Clone(cur.v.Filters), func(e FilterEntry) bool { return e.Until <= now })
		} else {
			set.FrameworkID, set.AgentID = sharedIDs(&State{txn: txn}, f.FrameworkID, f.AgentID)
		}
		res := sharedFilterResources(set.AgentID, f.Resources)
		set.Filters = append(set.Filters, FilterEntry{Role: intern(f.Role), Resources: res, Until: f.Until})
		putFilterSet(txn, set)
	}
}

// sharedIDs are a framework's and an agent's ids as the state's records
// of them hold them (as given when it has none), so that a filter set,
// each decoded from a log entry of its own, keeps no copy of its own.
func sharedIDs(st *State, fid, aid string) (string, string) {
	if fw := st.Framework(fid); fw != nil {
		fid = fw.ID
	}
	if a := st.Agent(aid); a != nil {
		aid = a.ID
	}
	return fid, aid
}

// filterResources remembers, per agent, the resources of its latest
// filter: the frameworks that decline an agent's offer one after another
// decline the same resources, and a filter that shares them costs a
// pointer instead of a copy (four resources are about 600 bytes). As with
// launchParts, sharing changes no value: every server's state holds the
// same values whatever each remembers. It is shared by the process's
// states, which never change filters' resources in place.
var filterResources = struct {
	sync.Mutex
	byAgent map[string]mesos.Resources
}{byAgent: map[string]mesos.Resources{}}

// maxFilterAgents bounds the agents filterResources remembers.
const maxFilterAgents = 1 << 16

// sharedFilterResources is res, or the equal resources of the agent's
// previous filter.
func sharedFilterResources(aid string, res mesos.Resources) mesos.Resources {
	filterResources.Lock()
	defer filterResources.Unlock()
	if old, ok := filterResources.byAgent[aid]; ok && reflect.DeepEqual(old, res) {
		return old
	}
	if len(filterResources.byAgent) >= maxFilterAgents {
		clear(filterResources.byAgent)
	}
	filterResources.byAgent[aid] = res
	return res
}

// forgetFilterResources empties what sharedFilterResources remembers.
func forgetFilterResources() {
	filterResources.Lock()
	clear(filterResources.byAgent)
	filterResources.Unlock()
}

// offerFilters turns removed offers into filters lasting until d.Until.
func offerFilters(offers []Offer, d *DeclineFilter) []OfferFilter {
	out := make([]OfferFilter, 0, len(offers))
	for _, o := range offers {
		out = append(out, OfferFilter{FrameworkID: o.FrameworkID, AgentID: o.AgentID, Role: o.Role,
			Resources: o.Resources.Unallocate(), Until: d.Until})
	}
	return out
}

// dropFrameworkFilters rewrites a framework's filter sets, keeping only
// entries for which keep says so (nil keeps none).
func dropFrameworkFilters(txn *memdb.Txn, fid string, keep func(FilterEntry) bool) {
	for _, set := range collectFilterSets(txn, fid) {
		rewriteFilterSet(txn, set, keep)
	}
}

// dropAgentFilters deletes every filter on an agent.
func dropAgentFilters(txn *memdb.Txn, aid string) {
	for _, set := range agentFilterSets(txn, aid) {
		rewriteFilterSet(txn, set, nil)
	}
}

// rewriteFilterSet keeps the entries of set for which keep says so (nil
// keeps none), deleting the set when none is left.
func rewriteFilterSet(txn *memdb.Txn, set *FilterSet, keep func(FilterEntry) bool) (dropped int) {
	var left []FilterEntry
	if keep != nil {
		for _, e := range set.Filters {
			if keep(e) {
				left = append(left, e)
			}
		}
	}
	dropped = len(set.Filters) - len(left)
	switch {
	case dropped == 0:
	case len(left) == 0:
		filterTree.delete(txn, keyed[*FilterSet]{id1: set.FrameworkID, id2: set.AgentID})
	default:
		putFilterSet(txn, &FilterSet{FrameworkID: set.FrameworkID, AgentID: set.AgentID, Filters: left})
	}
	return dropped
}

// pruneFilters deletes every filter that has expired by now.
func pruneFilters(txn *memdb.Txn, now int64) (pruned int) {
	live := func(e FilterEntry) bool { return e.Until > now }
	for _, set := range collectFilterSets(txn, "") {
		pruned += rewriteFilterSet(txn, set, live)
	}
	return pruned
}

func applyOfferSuppression(txn *memdb.Txn, req *OfferSuppressionRequest) any {
	st := &State{txn: txn}
	old := st.Framework(req.FrameworkID)
	if old == nil {
		return ErrUnknownFramework
	}
	if old.Removed {
		return ErrFrameworkRemoved
	}
	roles := req.Roles
	if len(roles) == 0 {
		roles = old.Info.AllRoles()
	}
	fw := *old
	switch req.Op {
	case SuppressOffers:
		fw.SuppressedRoles = slices.Clone(old.SuppressedRoles)
		for _, r := range roles {
			if !slices.Contains(fw.SuppressedRoles, r) {
				fw.SuppressedRoles = append(fw.SuppressedRoles, r)
			}
		}
	case ReviveOffers:
		fw.SuppressedRoles = slices.DeleteFunc(slices.Clone(old.SuppressedRoles), func(r string) bool { return slices.Contains(roles, r) })
		if len(req.Roles) == 0 {
			dropFrameworkFilters(txn, req.FrameworkID, nil)
		} else {
			dropFrameworkFilters(txn, req.FrameworkID, func(e FilterEntry) bool { return !slices.Contains(roles, e.Role) })
		}
	default:
		return ErrUnknownOp
	}
	if len(fw.SuppressedRoles) == 0 {
		fw.SuppressedRoles = nil
	}
	mustInsert(txn, tableFrameworks, &fw)
	return nil
}
