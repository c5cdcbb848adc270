package master

import "mesh/mesos"

// WeightInfo is a role's weight (mesos.proto's WeightInfo).
type WeightInfo struct {
	Weight *float64 `json:"weight"`
	Role   string   `json:"role,omitempty"`
}

// UpdateWeights sets the weights of the roles it lists; the others keep
// theirs.
type UpdateWeights struct {
	WeightInfos []WeightInfo `json:"weight_infos"`
}

// GetWeights lists the weights set for roles; a role not listed weighs 1.
type GetWeights struct {
	WeightInfos []WeightInfo `json:"weight_infos,omitempty"`
}

// QuotaConfig is a role's quota (mesos.proto's QuotaConfig): guarantees
// and limits by resource name.
type QuotaConfig struct {
	Role       *string                 `json:"role"`
	Guarantees map[string]mesos.Scalar `json:"guarantees,omitempty"`
	Limits     map[string]mesos.Scalar `json:"limits,omitempty"`
}

// UpdateQuota sets the quotas of the roles it lists; force skips the
// check that the guarantees fit in the cluster.
type UpdateQuota struct {
	Force        bool          `json:"force,omitempty"`
	QuotaConfigs []QuotaConfig `json:"quota_configs,omitempty"`
}

func (u *UpdateQuota) missingRole() bool {
	for _, c := range u.QuotaConfigs {
		if c.Role == nil {
			return true
		}
	}
	return false
}

// QuotaStatus lists the quotas set.
type QuotaStatus struct {
	Configs []QuotaConfig `json:"configs,omitempty"`
}

// GetQuota answers GET_QUOTA.
type GetQuota struct {
	Status QuotaStatus `json:"status"`
}

// SetQuota is the call Mesos deprecated in favour of UPDATE_QUOTA: a
// role's guarantee, which Mesos (≥ 1.9) also makes its limit.
type SetQuota struct {
	QuotaRequest *QuotaRequest `json:"quota_request"`
}

// QuotaRequest is Mesos' quota.QuotaRequest.
type QuotaRequest struct {
	Force     bool             `json:"force,omitempty"`
	Role      *string          `json:"role,omitempty"`
	Guarantee []mesos.Resource `json:"guarantee,omitempty"`
}

// RemoveQuota is the deprecated call that takes a role's quota away.
type RemoveQuota struct {
	Role *string `json:"role"`
}
