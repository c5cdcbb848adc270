package executor

import "mesh/mesos"

// ResourceUpdater is implemented by backends that can change a running
// container's limits: the agent gives a default executor's container the
// resources of a task group launched to it after it started.
type ResourceUpdater interface {
	// UpdateResources sets container id's limits to those of res, as
	// ContainerSpec.Resources sets them at launch.
	UpdateResources(id string, res mesos.Resources) error
}
