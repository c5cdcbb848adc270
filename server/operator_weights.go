package server

import (
	"net/http"
	"sort"

	"mesh/fsm"
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
