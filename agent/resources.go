package agent

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"mesh/mesos"
)

// Reserves kept back from auto-detected memory and disk, as Mesos does:
// a machine needs some for itself.
const (
	mib = 1 << 20
	gib = 1 << 30

	memReserveThreshold  = 2 * gib
	memReserve           = 1 * gib
	diskReserveThreshold = 10 * gib
	diskReserve          = 5 * gib
)

// defaultPorts is the port range an agent offers when none is given.
var defaultPorts = mesos.Range{Begin: 31000, End: 32000}

// detectResources measures this machine: cpus, mem and disk (MB, after the
// reserves) of the file system holding workDir, and the default ports.
func detectResources(workDir string) (mesos.Resources, error) {
	memBytes, err := totalMemory()
	if err != nil {
		return nil, fmt.Errorf("detect memory: %w", err)
	}
	diskBytes, err := filesystemSize(workDir)
	if err != nil {
		return nil, fmt.Errorf("detect disk size of %s: %w", workDir, err)
	}
	return mesos.Resources{
		mesos.ScalarResource("cpus", float64(runtime.NumCPU())),
		mesos.ScalarResource("mem", float64(afterReserve(memBytes, memReserveThreshold, memReserve)/mib)),
		mesos.ScalarResource("disk", float64(afterReserve(diskBytes, diskReserveThreshold, diskReserve)/mib)),
		mesos.RangesResource("ports", defaultPorts),
	}, nil
}

// afterReserve is total minus reserve when total is at least threshold,
// else half of total.
func afterReserve(total, threshold, reserve uint64) uint64 {
	if total >= threshold {
		return total - reserve
	}
	return total / 2
}

// totalMemory reads MemTotal from /proc/meminfo, in bytes.
func totalMemory() (uint64, error) {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		rest, ok := strings.CutPrefix(s.Text(), "MemTotal:")
		if !ok {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			break
		}
		kb, err := strconv.ParseUint(fields[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("parse MemTotal %q: %w", rest, err)
		}
		return kb * 1024, nil
	}
	if err := s.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("no MemTotal in /proc/meminfo")
}

// filesystemSize is the total size in bytes of the file system holding
// path.
func filesystemSize(path string) (uint64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return 0, err
	}
	return st.Blocks * uint64(st.Bsize), nil
}

// agentResources builds what the agent advertises: detected resources,
// with every resource named in the -resources string replacing the
// detected one of that name (Mesos semantics).
func agentResources(spec, workDir string) (mesos.Resources, error) {
	detected, err := detectResources(workDir)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(spec) == "" {
		return detected, nil
	}
	given, err := mesos.ParseResources(spec)
	if err != nil {
		return nil, fmt.Errorf("%w: -resources %q: %w", ErrBadConfig, spec, err)
	}
	if err := given.Validate(); err != nil {
		return nil, fmt.Errorf("%w: -resources %q: %w", ErrBadConfig, spec, err)
	}
	named := map[string]bool{}
	for _, r := range given {
		named[r.Name] = true
	}
	out := mesos.Resources{}
	for _, r := range detected {
		if !named[r.Name] {
			out = append(out, r)
		}
	}
	return append(out, given...), nil
}

// agentAttributes parses the -attributes string.
func agentAttributes(spec string) ([]mesos.Attribute, error) {
	if strings.TrimSpace(spec) == "" {
		return nil, nil
	}
	attrs, err := mesos.ParseAttributes(spec)
	if err != nil {
		return nil, fmt.Errorf("%w: -attributes %q: %w", ErrBadConfig, spec, err)
	}
	return attrs, nil
}
