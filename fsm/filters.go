package fsm

import (
	"slices"

	"github.com/hashicorp/go-memdb"

	"mesh/mesos"
)

// Offer filters and suppressed roles live in the replicated state so that
// a new leader honours what frameworks told the old one: a framework that
// declined an agent's resources for an hour is not offered them again by
// the next leader, and a suppressed role stays suppressed until the
// framework revives it or says otherwise when it subscribes again.

// tableFilters holds one FilterSet per framework and agent.
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

func filtersSchema() *memdb.TableSchema {
	by := func(name, field string) *memdb.IndexSchema {
		return &memdb.IndexSchema{Name: name, Indexer: &memdb.StringFieldIndex{Field: field}}
	}
	return &memdb.TableSchema{Name: tableFilters, Indexes: map[string]*memdb.IndexSchema{
		"id": {Name: "id", Unique: true, Indexer: &memdb.CompoundIndex{Indexes: []memdb.Indexer{
			&memdb.StringFieldIndex{Field: "FrameworkID"}, &memdb.StringFieldIndex{Field: "AgentID"},
		}}},
		"framework": by("framework", "FrameworkID"),
		"agent":     by("agent", "AgentID"),
	}}
}

// Filters returns a framework's filter sets, by agent. Filters that have
// expired may still be among them until the leader prunes them; readers
// compare Until with their clock.
func (s *State) Filters(fid string) []*FilterSet {
	return list[*FilterSet](s.txn, tableFilters, "framework", fid)
}

// AllFilters returns every filter set.
func (s *State) AllFilters() []*FilterSet {
	return listAll[*FilterSet](s.txn, tableFilters, "id")
}

// FiltersExpired reports whether any recorded filter has expired by now.
func (s *State) FiltersExpired(now int64) bool {
	for _, set := range s.AllFilters() {
		for _, e := range set.Filters {
			if e.Until <= now {
				return true
			}
		}
	}
	return false
}

// addFilters records filters, dropping those of the same framework and
// agent that have expired by now.
func addFilters(txn *memdb.Txn, now int64, filters []OfferFilter) {
	for _, f := range filters {
		if f.Until <= now || f.Resources.IsEmpty() {
			continue
		}
		cur := first[*FilterSet](txn, tableFilters, "id", f.FrameworkID, f.AgentID)
		set := &FilterSet{FrameworkID: f.FrameworkID, AgentID: f.AgentID}
		if cur != nil {
			set.Filters = slices.DeleteFunc(slices.Clone(cur.Filters), func(e FilterEntry) bool { return e.Until <= now })
		}
		set.Filters = append(set.Filters, FilterEntry{Role: f.Role, Resources: f.Resources, Until: f.Until})
		mustInsert(txn, tableFilters, set)
	}
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

// dropFilters rewrites the filter sets found by index ("framework" or
// "agent") and value, keeping only entries for which keep says so (nil
// keeps none).
func dropFilters(txn *memdb.Txn, index, value string, keep func(FilterEntry) bool) {
	for _, set := range list[*FilterSet](txn, tableFilters, index, value) {
		rewriteFilterSet(txn, set, keep)
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
		mustDelete(txn, tableFilters, set)
	default:
		mustInsert(txn, tableFilters, &FilterSet{FrameworkID: set.FrameworkID, AgentID: set.AgentID, Filters: left})
	}
	return dropped
}

// pruneFilters deletes every filter that has expired by now.
func pruneFilters(txn *memdb.Txn, now int64) (pruned int) {
	live := func(e FilterEntry) bool { return e.Until > now }
	for _, set := range listAll[*FilterSet](txn, tableFilters, "id") {
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
			dropFilters(txn, "framework", req.FrameworkID, nil)
		} else {
			dropFilters(txn, "framework", req.FrameworkID, func(e FilterEntry) bool { return !slices.Contains(roles, e.Role) })
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
