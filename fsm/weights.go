package fsm

import (
	"fmt"
	"maps"
	"math"

	"github.com/hashicorp/go-memdb"

	"mesh/mesos"
)

// WeightsUpdateRequest sets the weights of the roles it lists (an
// operator's UPDATE_WEIGHTS); the other roles keep theirs. It is applied
// whole or not at all.
type WeightsUpdateRequest struct {
	Weights map[string]float64
}

// ValidateWeight checks one role's weight as Mesos does: a valid role
// name and a positive, finite weight.
func ValidateWeight(role string, w float64) error {
	if err := mesos.ValidateRole(role); err != nil {
		return err
	}
	if !(w > 0) || math.IsInf(w, 0) {
		return fmt.Errorf("weight %v of role %q is not a positive number", w, role)
	}
	return nil
}

func applyWeightsUpdate(txn *memdb.Txn, req *WeightsUpdateRequest) any {
	for role, w := range req.Weights {
		if err := ValidateWeight(role, w); err != nil {
			return err
		}
	}
	m := getMeta(txn)
	next := maps.Clone(m.Weights)
	if next == nil {
		next = map[string]float64{}
	}
	maps.Copy(next, req.Weights)
	m.Weights = next
	putMeta(txn, m)
	return nil
}
