package fsm

import (
	"fmt"
	"maps"
	"math"
	"sort"

	"github.com/hashicorp/go-memdb"

	"mesh/mesos"
)

// QuotaKinds are the resources a quota may name, as in Mesos.
var QuotaKinds = []string{"cpus", "mem", "disk", "gpus"}

// QuotaConfig is a role's quota (Mesos' QuotaConfig): what it is
// guaranteed and the most it may hold, by resource name. A config with
// neither removes the role's quota.
type QuotaConfig struct {
	Role       string
	Guarantees map[string]float64 `json:",omitempty"`
	Limits     map[string]float64 `json:",omitempty"`
}

// QuotaUpdateRequest sets the quotas of the roles it lists (an operator's
// UPDATE_QUOTA), whole or not at all.
type QuotaUpdateRequest struct {
	Configs []QuotaConfig
}

// ValidateQuota checks one config on its own: a valid role other than
// "*", amounts of known kinds that are finite and not negative, and no
// guarantee above its limit.
func ValidateQuota(c QuotaConfig) error {
	if c.Role == "*" {
		return fmt.Errorf("'QuotaConfig.role' cannot be '*'")
	}
	if err := mesos.ValidateRole(c.Role); err != nil {
		return fmt.Errorf("'QuotaConfig.role' is invalid: %w", err)
	}
	for what, m := range map[string]map[string]float64{"guarantees": c.Guarantees, "limits": c.Limits} {
		for name, v := range m {
			if !isQuotaKind(name) {
				return fmt.Errorf("'QuotaConfig.%s' names %q: a quota may only name %v", what, name, QuotaKinds)
			}
			if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("'QuotaConfig.%s' of %q is %v: it must be a finite number, not negative", what, name, v)
			}
		}
	}
	for name, g := range c.Guarantees {
		if l, ok := c.Limits[name]; ok && g > l {
			return fmt.Errorf("role %q: its guarantee of %v %s is above its limit of %v", c.Role, g, name, l)
		}
	}
	return nil
}

func isQuotaKind(name string) bool {
	for _, k := range QuotaKinds {
		if k == name {
			return true
		}
	}
	return false
}

// ValidateQuotaTree checks quotas together, as Mesos does for role
// trees: a child's limit is not above its parent's, and the guarantees of
// a role's children sum to no more than its own.
func ValidateQuotaTree(quotas map[string]QuotaConfig) error {
	roles := make([]string, 0, len(quotas))
	for r := range quotas {
		roles = append(roles, r)
	}
	sort.Strings(roles)
	children := map[string]map[string]float64{}
	for _, r := range roles {
		for _, p := range mesos.RoleAncestors(r) {
			parent, ok := quotas[p]
			if !ok {
				continue
			}
			for name, l := range quotas[r].Limits {
				if pl, ok := parent.Limits[name]; ok && l > pl {
					return fmt.Errorf("role %q: its limit of %v %s is above its parent %q's limit of %v", r, l, name, p, pl)
				}
			}
			if children[p] == nil {
				children[p] = map[string]float64{}
			}
			for name, g := range quotas[r].Guarantees {
				children[p][name] += g
			}
			break // the nearest ancestor with a quota holds r's guarantee
		}
	}
	for p, sum := range children {
		for name, g := range sum {
			if g > quotas[p].Guarantees[name] {
				return fmt.Errorf("the guarantees of role %q's children (%v %s) are above its own (%v)", p, g, name, quotas[p].Guarantees[name])
			}
		}
	}
	return nil
}

// MergeQuotas returns current with configs applied.
func MergeQuotas(current map[string]QuotaConfig, configs []QuotaConfig) map[string]QuotaConfig {
	next := maps.Clone(current)
	if next == nil {
		next = map[string]QuotaConfig{}
	}
	for _, c := range configs {
		if len(c.Guarantees) == 0 && len(c.Limits) == 0 {
			delete(next, c.Role)
		} else {
			next[c.Role] = c
		}
	}
	return next
}

func applyQuotaUpdate(txn *memdb.Txn, req *QuotaUpdateRequest) any {
	for _, c := range req.Configs {
		if err := ValidateQuota(c); err != nil {
			return err
		}
	}
	m := getMeta(txn)
	next := MergeQuotas(m.Quotas, req.Configs)
	if err := ValidateQuotaTree(next); err != nil {
		return err
	}
	if len(next) == 0 {
		next = nil
	}
	m.Quotas = next
	putMeta(txn, m)
	return nil
}
