package agent

import (
	"errors"

	"mesh/executor"
	"mesh/mesos"
)

// customResources is what a custom executor's container is given: the
// executor's resources and those of its live tasks.
func (r *runner) customResources() mesos.Resources {
	r.mu.Lock()
	defer r.mu.Unlock()
	res := append(mesos.Resources{}, r.info.Resources...)
	for _, t := range r.liveTasks() {
		res = append(res, t.info.Resources...)
	}
	return res
}

// growCustom gives a custom executor's running container the resources of
// the executor and of its live tasks, as Mesos' containerizer update does
// when a task is launched to a running executor (where the containerizer
// can change a running container's limits). unless, when given, are the
// resources the container already has: nothing is done when they hold as
// many cpus and as much memory. A container not made yet is left to its
// spec, which counts the tasks known when it is made. Callers hold no
// lock of the run.
func (r *runner) growCustom(unless mesos.Resources) {
	u, ok := r.a.containerizer.(executor.ResourceUpdater)
	if !ok {
		return
	}
	r.resizeMu.Lock()
	defer r.resizeMu.Unlock()
	res := r.customResources()
	if unless != nil && res.Scalar("cpus") == unless.Scalar("cpus") && res.Scalar("mem") == unless.Scalar("mem") {
		return
	}
	if err := u.UpdateResources(r.containerID, res); err != nil && !errors.Is(err, executor.ErrUnknownContainer) {
		r.log.Warn("cannot give the executor's container the resources of its new task; the task runs within the old limits",
			"resources", res.String(), "error", err)
	}
}
