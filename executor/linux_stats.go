//go:build linux && cgo

package executor

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Limitation reports whether the kernel's OOM killer killed a process of
// the container for exceeding its memory limit. It must be asked before
// the container is destroyed.
func (l *Linux) Limitation(id string) (*Limitation, error) {
	c, err := l.get(id)
	if err != nil {
		return nil, err
	}
	paths, err := c.cgroupPaths()
	if err != nil {
		return nil, err
	}
	kills, err := oomKills(paths)
	if err != nil || kills == 0 {
		return nil, err
	}
	msg := fmt.Sprintf("Memory limit exceeded: Requested: %dMB", c.memLimit>>20)
	if s, err := c.c.Stats(); err == nil && s.CgroupStats != nil {
		if max := s.CgroupStats.MemoryStats.Usage.MaxUsage; max > 0 {
			msg += fmt.Sprintf(" Maximum Used: %dMB", max>>20)
		}
	}
	msg += fmt.Sprintf(" (the kernel killed %d process(es) of the container for exceeding its memory limit)", kills)
	return &Limitation{Resource: "mem", Message: msg}, nil
}

// oomKills reads the cgroup's OOM kill counter: memory.oom_control's
// oom_kill under cgroup v1, memory.events' oom_kill under v2.
func oomKills(paths map[string]string) (uint64, error) {
	file, key := "", "oom_kill"
	if p, ok := paths["memory"]; ok {
		file = filepath.Join(p, "memory.oom_control")
	} else if p, ok := paths[""]; ok {
		file = filepath.Join(p, "memory.events")
	} else {
		return 0, errors.New("container has no memory cgroup")
	}
	f, err := os.Open(file)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), " ")
		if ok && k == key {
			return strconv.ParseUint(strings.TrimSpace(v), 10, 64)
		}
	}
	return 0, sc.Err()
}

// Stats measures a container through its cgroups.
func (l *Linux) Stats(id string) (ContainerStats, error) {
	c, err := l.get(id)
	if err != nil {
		return ContainerStats{}, err
	}
	s, err := c.c.Stats()
	if err != nil {
		return ContainerStats{}, err
	}
	out := ContainerStats{
		Timestamp:     float64(time.Now().UnixNano()) / 1e9,
		CPUsLimit:     c.cpus,
		MemLimitBytes: uint64(c.memLimit),
	}
	if cg := s.CgroupStats; cg != nil {
		cpu := cg.CpuStats
		out.CPUsUserTimeSecs = float64(cpu.CpuUsage.UsageInUsermode) / 1e9
		out.CPUsSystemTimeSecs = float64(cpu.CpuUsage.UsageInKernelmode) / 1e9
		out.CPUsNrPeriods = cpu.ThrottlingData.Periods
		out.CPUsNrThrottled = cpu.ThrottlingData.ThrottledPeriods
		out.CPUsThrottledSecs = float64(cpu.ThrottlingData.ThrottledTime) / 1e9
		mem := cg.MemoryStats
		out.MemTotalBytes = mem.Usage.Usage
		out.MemCacheBytes = mem.Cache
		out.MemSwapBytes = mem.SwapUsage.Usage
		for _, k := range []string{"total_rss", "rss", "anon"} {
			if v, ok := mem.Stats[k]; ok {
				out.MemRSSBytes = v
				break
			}
		}
		out.ProcessesCount = cg.PidsStats.Current
	}
	return out, nil
}

// DefaultHostRootDir is where the linux backend binds the host's root
// filesystem, read-only, to serve as its containers' root.
const DefaultHostRootDir = "/run/mesh/hostroot"
