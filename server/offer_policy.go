package server

import (
	"time"

	"mesh/allocator"
	"mesh/fsm"
	"mesh/mesos"
)

// replicatedFilterMinimum is the shortest decline filter kept in the
// replicated state. Shorter ones (Mesos' default refuse_seconds is 5) live
// only in the leader's allocator: losing one in a failover re-offers
// resources a few seconds early, while recording each would add a filter
// row per decline at data-center load.
const replicatedFilterMinimum = 10 * time.Second

// declineFilter is the filter a removal of declined offers records, nil
// when refuse is too short to replicate.
func declineFilter(refuse time.Duration) *fsm.DeclineFilter {
	if refuse < replicatedFilterMinimum {
		return nil
	}
	now := time.Now()
	return &fsm.DeclineFilter{Now: now.UnixNano(), Until: now.Add(refuse).UnixNano()}
}

// acceptFilters are the filters an ACCEPT records for the resources its
// operations left unused, nil when refuse is too short to replicate.
func acceptFilters(fid, agentID, role string, remaining mesos.Resources, refuse time.Duration, now int64) []fsm.OfferFilter {
	if refuse < replicatedFilterMinimum || remaining.IsEmpty() {
		return nil
	}
	return []fsm.OfferFilter{{FrameworkID: fid, AgentID: agentID, Role: role,
		Resources: remaining.Unallocate(), Until: now + int64(refuse)}}
}

// restoreFilters gives the allocator the unexpired filters the replicated
// state holds for a framework, recorded by this leader or an earlier one.
func (m *master) restoreFilters(fid string) {
	now := time.Now().UnixNano()
	var live []allocator.RecordedFilter
	for _, set := range m.s.fsm.State().Filters(fid) {
		for _, e := range set.Filters {
			if e.Until > now {
				live = append(live, allocator.RecordedFilter{AgentID: set.AgentID, Role: e.Role, Resources: e.Resources, Until: time.Unix(0, e.Until)})
			}
		}
	}
	if len(live) > 0 {
		m.alloc.Filter(fid, live...)
	}
}

// recordSuppression commits a SUPPRESS or REVIVE so that the state (and a
// later leader) knows the framework's suppressed roles and that REVIVE
// dropped its filters. Older servers skip the entry.
func (m *master) recordSuppression(fid, op string, roles []string) {
	_, err := m.apply(fsm.OfferSuppressionRequestType|fsm.IgnoreUnknownTypeFlag,
		&fsm.OfferSuppressionRequest{FrameworkID: fid, Op: op, Roles: roles})
	if err != nil {
		m.logger.Warn("cannot record offer suppression", "framework_id", fid, "op", op, "error", err)
	}
}

// armOfferTimeout rescinds, once the offer timeout has passed, whichever
// of a round's offers still stand; their resources go back to the pool
// without a filter.
func (m *master) armOfferTimeout(offers []fsm.Offer) {
	if m.s.cfg.OfferTimeout <= 0 {
		return
	}
	ids := make([]string, len(offers))
	for i := range offers {
		ids[i] = offers[i].ID
	}
	time.AfterFunc(m.s.cfg.OfferTimeout, func() {
		if !m.leading() {
			return
		}
		st := m.s.fsm.State()
		var standing []*fsm.Offer
		for _, id := range ids {
			if o := st.Offer(id); o != nil {
				standing = append(standing, o)
			}
		}
		if n := m.removeOffers(standing, true, 0); n > 0 {
			m.logger.Debug("rescinded offers past the offer timeout", "count", n)
		}
	})
}

// minAllocatable parses the validated -min-allocatable-resources.
func minAllocatable(s string) []map[string]float64 {
	sets, _ := allocator.ParseMinAllocatable(s)
	return sets
}
