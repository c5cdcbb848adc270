//go:build linux && cgo

package executor

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/opencontainers/cgroups"
	"github.com/opencontainers/cgroups/manager"
	"github.com/opencontainers/runc/libcontainer"
)

// Recover loads the containers an earlier agent process left running.
// Containers that were half created (the agent died between creating and
// starting them) or whose processes are gone are destroyed.
func (l *Linux) Recover(ctx context.Context) ([]ContainerState, error) {
	entries, err := os.ReadDir(l.root)
	if err != nil {
		return nil, fmt.Errorf("read containerizer state: %w", err)
	}
	var out []ContainerState
	for _, e := range entries {
		id := e.Name()
		if !e.IsDir() || validContainerID(id) != nil {
			continue
		}
		l.mu.Lock()
		_, known := l.containers[id]
		known = known || l.isPrestarted(id)
		l.mu.Unlock()
		if known {
			continue
		}
		c, err := libcontainer.Load(l.root, id)
		if err != nil {
			l.log.Warn("destroying a half-created container", "container_id", id, "error", err)
			l.removeUnloadable(id)
			continue
		}
		cfg := c.Config()
		if slices.ContainsFunc(cfg.Labels, func(lb string) bool { return strings.HasPrefix(lb, labelPrestarted) }) {
			l.log.Info("destroying a container an earlier agent prestarted", "container_id", id)
			l.destroyStale(c, id)
			continue
		}
		status, err := c.Status()
		if err != nil || status != libcontainer.Running && status != libcontainer.Paused {
			l.log.Warn("destroying a container that is not running", "container_id", id, "status", status.String(), "error", err)
			l.destroyStale(c, id)
			continue
		}
		st, _ := c.State()
		cs := ContainerState{ID: id, Pid: st.InitProcessPid, StartTime: st.InitProcessStartTime, Recovered: true}
		cpus := -1.0
		for _, lb := range cfg.Labels {
			if d, ok := strings.CutPrefix(lb, labelDir); ok {
				cs.Dir = d
			}
			if v, ok := strings.CutPrefix(lb, labelCPUs); ok {
				if f, err := strconv.ParseFloat(v, 64); err == nil && f >= 0 {
					cpus = f
				}
			}
		}
		lc := &linuxContainer{c: c, state: cs, exitWatch: newExitWatch(ExitStatus{Code: -1, Unknown: true})}
		if cfg.Cgroups != nil && cfg.Cgroups.Resources != nil {
			lc.memLimit = cfg.Cgroups.Resources.Memory
			q, s := cfg.Cgroups.Resources.CpuQuota, cfg.Cgroups.Resources.CpuShares
			switch {
			case cpus >= 0:
				// The saved config keeps quota 0 until the first
				// EnforceCPUQuota, which writes the quota directly: it is
				// enforced again, to the same value.
				lc.cpus, lc.quotaDeferred = cpus, cpus > 0
			case q > 0:
				lc.cpus = float64(q) / cfsPeriod
			case s > 2:
				// The quota was still deferred: shares carry the cpus.
				lc.cpus, lc.quotaDeferred = float64(s)/1024, true
			}
		}
		l.mu.Lock()
		l.containers[id] = lc
		l.mu.Unlock()
		go lc.pollUntilGone(l.ctx, lc.state.Pid, lc.state.StartTime)
		l.log.Info("recovered container", "container_id", id, "pid", cs.Pid)
		out = append(out, cs)
	}
	return out, nil
}

// destroyStale kills a container this agent process did not start and
// removes it, retrying while its processes die.
func (l *Linux) destroyStale(c *libcontainer.Container, id string) {
	var err error
	for i := 0; i < 50; i++ {
		_ = c.Signal(syscall.SIGKILL)
		if err = c.Destroy(); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		l.log.Error("cannot destroy container", "container_id", id, "error", err)
	}
	os.RemoveAll(filepath.Join(l.fsDir, id))
}

// removeUnloadable removes what a container that libcontainer cannot load
// left behind: its cgroup (and any process in it), its state and layers.
func (l *Linux) removeUnloadable(id string) {
	cg := &cgroups.Cgroup{Path: filepath.Join(l.cgroupParent, id), Resources: &cgroups.Resources{}}
	if m, err := manager.New(cg); err == nil {
		if pids, err := m.GetAllPids(); err == nil {
			for _, p := range pids {
				_ = syscall.Kill(p, syscall.SIGKILL)
			}
		}
		for i := 0; i < 50; i++ {
			if err := m.Destroy(); err == nil {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	os.RemoveAll(filepath.Join(l.root, id))
	os.RemoveAll(filepath.Join(l.fsDir, id))
}
