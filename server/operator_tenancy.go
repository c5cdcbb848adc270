package server

import (
	"fmt"
	"net/http"
	"sort"
	"strings"

	"mesh/allocator"
	"mesh/fsm"
	"mesh/mesos"
	mapi "mesh/mesos/master"
)

// getWeights answers GET_WEIGHTS: the weights operators set, by role.
func (s *Server) getWeights() *mapi.Response {
	out := &mapi.GetWeights{}
	for role, w := range s.fsm.State().Meta().Weights {
		out.WeightInfos = append(out.WeightInfos, mapi.WeightInfo{Role: role, Weight: &w})
	}
	sort.Slice(out.WeightInfos, func(i, j int) bool { return out.WeightInfos[i].Role < out.WeightInfos[j].Role })
	return &mapi.Response{Type: mapi.ResponseGetWeights, GetWeights: out}
}

// updateWeights carries out UPDATE_WEIGHTS: every weight is checked, then
// all are committed in one entry and handed to the allocator. A bad one
// refuses the whole call with a 400 that names it.
func (s *Server) updateWeights(m *master, u *mapi.UpdateWeights) error {
	weights := map[string]float64{}
	for _, wi := range u.WeightInfos {
		if err := fsm.ValidateWeight(wi.Role, *wi.Weight); err != nil {
			return httpErrorf(http.StatusBadRequest, "Invalid weight: %v", err)
		}
		weights[wi.Role] = *wi.Weight
	}
	if len(weights) == 0 {
		return nil
	}
	if _, err := m.apply(fsm.WeightsUpdateRequestType, &fsm.WeightsUpdateRequest{Weights: weights}); err != nil {
		if transient(err) {
			return httpErrorf(http.StatusServiceUnavailable, "the weights were not committed (%v); retry", err)
		}
		return httpErrorf(http.StatusBadRequest, "Invalid weight: %v", err)
	}
	for role, w := range weights {
		m.alloc.SetWeight(role, w)
	}
	m.alloc.Trigger()
	m.logger.Info("role weights updated", "weights", weights)
	return nil
}

// getQuota answers GET_QUOTA: the quotas operators set, by role.
func (s *Server) getQuota() *mapi.Response {
	out := &mapi.GetQuota{}
	quotas := s.fsm.State().Meta().Quotas
	roles := make([]string, 0, len(quotas))
	for r := range quotas {
		roles = append(roles, r)
	}
	sort.Strings(roles)
	for _, r := range roles {
		c := quotas[r]
		out.Status.Configs = append(out.Status.Configs, mapi.QuotaConfig{Role: &c.Role,
			Guarantees: toScalars(c.Guarantees), Limits: toScalars(c.Limits)})
	}
	return &mapi.Response{Type: mapi.ResponseGetQuota, GetQuota: out}
}

func toScalars(m map[string]float64) map[string]mesos.Scalar {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]mesos.Scalar, len(m))
	for k, v := range m {
		out[k] = mesos.Scalar{Value: v}
	}
	return out
}

func fromScalars(m map[string]mesos.Scalar) map[string]float64 {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]float64, len(m))
	for k, v := range m {
		out[k] = v.Value
	}
	return out
}

// updateQuota carries out UPDATE_QUOTA: each config is checked on its own
// and with the quotas it joins, and, unless forced, the guarantees must
// fit in the cluster's registered agents; then all are committed in one
// entry and handed to the allocator.
func (s *Server) updateQuota(m *master, u *mapi.UpdateQuota) error {
	configs := make([]fsm.QuotaConfig, 0, len(u.QuotaConfigs))
	for _, c := range u.QuotaConfigs {
		qc := fsm.QuotaConfig{Role: *c.Role, Guarantees: fromScalars(c.Guarantees), Limits: fromScalars(c.Limits)}
		if err := fsm.ValidateQuota(qc); err != nil {
			return httpErrorf(http.StatusBadRequest, "Invalid QuotaConfig: %v", err)
		}
		configs = append(configs, qc)
	}
	if len(configs) == 0 {
		return nil
	}
	st := s.fsm.State()
	next := fsm.MergeQuotas(st.Meta().Quotas, configs)
	if err := fsm.ValidateQuotaTree(next); err != nil {
		return httpErrorf(http.StatusBadRequest, "Invalid QuotaConfig: %v", err)
	}
	if !u.Force {
		if err := quotaFits(st, next); err != nil {
			return httpErrorf(http.StatusBadRequest, "Invalid QuotaConfig: %v; use 'force' to set it anyway", err)
		}
	}
	if _, err := m.apply(fsm.QuotaUpdateRequestType, &fsm.QuotaUpdateRequest{Configs: configs}); err != nil {
		if transient(err) {
			return httpErrorf(http.StatusServiceUnavailable, "the quotas were not committed (%v); retry", err)
		}
		return httpErrorf(http.StatusBadRequest, "Invalid QuotaConfig: %v", err)
	}
	for _, c := range configs {
		m.alloc.SetQuota(c.Role, allocator.Quota{Guarantee: c.Guarantees, Limit: c.Limits})
	}
	m.logger.Info("role quotas updated", "roles", len(configs))
	return nil
}

// quotaFits checks that the guarantees of the top-level quotas (a nested
// role's is part of its ancestor's) sum to no more than the resources of
// the cluster's active agents.
func quotaFits(st *fsm.State, quotas map[string]fsm.QuotaConfig) error {
	var total mesos.Resources
	for _, a := range st.Agents() {
		if a.State == fsm.AgentActive {
			total = total.Add(a.Info.Resources...)
		}
	}
	need := map[string]float64{}
	for r, c := range quotas {
		nested := false
		for _, p := range mesos.RoleAncestors(r) {
			if _, ok := quotas[p]; ok {
				nested = true
			}
		}
		if !nested {
			for k, g := range c.Guarantees {
				need[k] += g
			}
		}
	}
	for _, k := range fsm.QuotaKinds {
		if have := total.Scalar(k); need[k] > have {
			return fmt.Errorf("the quota guarantees add up to %v %s, more than the cluster's %v", need[k], k, have)
		}
	}
	return nil
}

// setQuota carries out SET_QUOTA, which Mesos keeps for older tools: the
// role must have no quota yet and be a top-level role, and its guarantee,
// scalars only, becomes both its guarantee and its limit, as Mesos (≥ 1.9)
// reads a QuotaRequest. It is then an UPDATE_QUOTA.
func (s *Server) setQuota(m *master, q *mapi.QuotaRequest) error {
	if q.Role == nil || *q.Role == "" {
		return httpErrorf(http.StatusBadRequest, "Failed to validate set quota request: QuotaInfo must have a role")
	}
	role := *q.Role
	if err := mesos.ValidateRole(role); err != nil {
		return httpErrorf(http.StatusBadRequest, "Failed to validate set quota request: %v", err)
	}
	if strings.Contains(role, "/") {
		return httpErrorf(http.StatusBadRequest, "Setting quota on nested role '%s' is not supported yet", role)
	}
	if _, ok := s.fsm.State().Meta().Quotas[role]; ok {
		return httpErrorf(http.StatusBadRequest, "Failed to validate set quota request: Cannot set quota for role '%s' which already has quota", role)
	}
	amounts := map[string]mesos.Scalar{}
	for _, r := range q.Guarantee {
		if r.Type != mesos.ValueScalar || r.Scalar == nil || r.IsReserved() || r.Disk != nil || r.Revocable != nil {
			return httpErrorf(http.StatusBadRequest, "Failed to validate set quota request: QuotaInfo with invalid resource: '%s' must be a scalar without reservation, disk or revocable information", r.Name)
		}
		amounts[r.Name] = mesos.Scalar{Value: amounts[r.Name].Value + r.Scalar.Value}
	}
	return s.updateQuota(m, &mapi.UpdateQuota{Force: q.Force, QuotaConfigs: []mapi.QuotaConfig{
		{Role: &role, Guarantees: amounts, Limits: amounts}}})
}

// removeQuota carries out REMOVE_QUOTA: a role that has a quota gets the
// default one back (no guarantee, no limit), as an UPDATE_QUOTA.
func (s *Server) removeQuota(m *master, role string) error {
	if _, ok := s.fsm.State().Meta().Quotas[role]; !ok {
		return httpErrorf(http.StatusBadRequest, "Failed to remove quota: Role '%s' has no quota set", role)
	}
	return s.updateQuota(m, &mapi.UpdateQuota{Force: true, QuotaConfigs: []mapi.QuotaConfig{{Role: &role}}})
}
