//go:build linux && cgo

package executor

import (
	"fmt"
	"strconv"
	"strings"

	"mesh/mesos"
)

var _ ResourceUpdater = (*Linux)(nil)

// UpdateResources sets a running container's cgroup limits to those of
// res. The container's saved config and cpu label change with them, so
// that a restarted agent finds the new limits. A cpu quota still
// deferred (EnforceCPUQuota) stays deferred, at the new value.
func (l *Linux) UpdateResources(id string, res mesos.Resources) error {
	c, err := l.get(id)
	if err != nil {
		return err
	}
	lim, err := limitsOf(ContainerSpec{Resources: res}, l.pids)
	if err != nil {
		return err
	}
	cfg := c.c.Config()
	r := lim.cgroupResources()
	l.mu.Lock()
	deferred := c.quotaDeferred
	l.mu.Unlock()
	if deferred {
		r.CpuQuota = 0
	}
	if cfg.Cgroups == nil {
		return fmt.Errorf("update the limits of container %s: it has no cgroups", id)
	}
	cfg.Cgroups.Resources = r
	for i, lb := range cfg.Labels {
		if strings.HasPrefix(lb, labelCPUs) {
			cfg.Labels[i] = labelCPUs + strconv.FormatFloat(lim.cpus, 'g', -1, 64)
		}
	}
	if err := c.c.Set(cfg); err != nil {
		return fmt.Errorf("update the limits of container %s: %w", id, err)
	}
	l.mu.Lock()
	c.memLimit, c.cpus = lim.memBytes, lim.cpus
	l.mu.Unlock()
	return nil
}
