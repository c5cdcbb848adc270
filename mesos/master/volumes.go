package master

import "mesh/mesos"

// ReserveResources dynamically reserves resources of an agent. Source,
// when given, is what the resources are now (Mesos 1.9's way to change a
// reservation in one call); mesh takes it to be what popping the newest
// reservation of each resource gives, as Mesos does without it.
type ReserveResources struct {
	AgentID   *mesos.AgentID   `json:"agent_id"`
	Source    []mesos.Resource `json:"source,omitempty"`
	Resources []mesos.Resource `json:"resources,omitempty"`
}

// UnreserveResources removes the newest dynamic reservation of resources
// of an agent.
type UnreserveResources struct {
	AgentID   *mesos.AgentID   `json:"agent_id"`
	Resources []mesos.Resource `json:"resources,omitempty"`
}

// CreateVolumes creates persistent volumes on reserved disk of an agent.
type CreateVolumes struct {
	AgentID *mesos.AgentID   `json:"agent_id"`
	Volumes []mesos.Resource `json:"volumes,omitempty"`
}

// DestroyVolumes destroys persistent volumes of an agent.
type DestroyVolumes struct {
	AgentID *mesos.AgentID   `json:"agent_id"`
	Volumes []mesos.Resource `json:"volumes,omitempty"`
}

// GrowVolume grows a persistent volume by disk of the same reservation.
type GrowVolume struct {
	AgentID  *mesos.AgentID  `json:"agent_id,omitempty"`
	Volume   *mesos.Resource `json:"volume"`
	Addition *mesos.Resource `json:"addition"`
}

// ShrinkVolume gives part of a persistent volume back as plain disk.
type ShrinkVolume struct {
	AgentID  *mesos.AgentID  `json:"agent_id,omitempty"`
	Volume   *mesos.Resource `json:"volume"`
	Subtract *mesos.Scalar   `json:"subtract"`
}

// missingVolumeField names the first required field of a reservation or
// volume call that is absent, "" when none is.
func (c *Call) missingVolumeField() string {
	switch {
	case c.ReserveResources != nil && c.ReserveResources.AgentID == nil:
		return "reserve_resources.agent_id"
	case c.UnreserveResources != nil && c.UnreserveResources.AgentID == nil:
		return "unreserve_resources.agent_id"
	case c.CreateVolumes != nil && c.CreateVolumes.AgentID == nil:
		return "create_volumes.agent_id"
	case c.DestroyVolumes != nil && c.DestroyVolumes.AgentID == nil:
		return "destroy_volumes.agent_id"
	case c.GrowVolume != nil && c.GrowVolume.Volume == nil:
		return "grow_volume.volume"
	case c.GrowVolume != nil && c.GrowVolume.Addition == nil:
		return "grow_volume.addition"
	case c.ShrinkVolume != nil && c.ShrinkVolume.Volume == nil:
		return "shrink_volume.volume"
	case c.ShrinkVolume != nil && c.ShrinkVolume.Subtract == nil:
		return "shrink_volume.subtract"
	}
	return ""
}
