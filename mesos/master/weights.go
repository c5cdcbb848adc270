package master

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
