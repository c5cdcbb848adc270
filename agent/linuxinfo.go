package agent

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"mesh/executor"
	"mesh/mesos"
)

// rlimitTypes maps Mesos' RLimitInfo types to the resource names of
// setrlimit(2).
var rlimitTypes = map[string]string{
	"RLMT_AS": "RLIMIT_AS", "RLMT_CORE": "RLIMIT_CORE", "RLMT_CPU": "RLIMIT_CPU", "RLMT_DATA": "RLIMIT_DATA",
	"RLMT_FSIZE": "RLIMIT_FSIZE", "RLMT_LOCKS": "RLIMIT_LOCKS", "RLMT_MEMLOCK": "RLIMIT_MEMLOCK",
	"RLMT_MSGQUEUE": "RLIMIT_MSGQUEUE", "RLMT_NICE": "RLIMIT_NICE", "RLMT_NOFILE": "RLIMIT_NOFILE",
	"RLMT_NPROC": "RLIMIT_NPROC", "RLMT_RSS": "RLIMIT_RSS", "RLMT_RTPRIO": "RLIMIT_RTPRIO",
	"RLMT_RTTIME": "RLIMIT_RTTIME", "RLMT_SIGPENDING": "RLIMIT_SIGPENDING", "RLMT_STACK": "RLIMIT_STACK",
}

// taskRlimits reads a ContainerInfo's rlimit_info, as Mesos' posix/rlimits
// isolator does: each limit names a type and both a soft and a hard
// value, or neither (unlimited).
func taskRlimits(c *mesos.ContainerInfo) ([]executor.Rlimit, error) {
	if c == nil || len(c.RlimitInfo) == 0 || string(c.RlimitInfo) == "null" {
		return nil, nil
	}
	var info struct {
		Rlimits []struct {
			Type string          `json:"type"`
			Soft json.RawMessage `json:"soft"`
			Hard json.RawMessage `json:"hard"`
		} `json:"rlimits"`
	}
	if err := json.Unmarshal(c.RlimitInfo, &info); err != nil {
		return nil, fmt.Errorf("rlimit_info: %w", err)
	}
	var out []executor.Rlimit
	seen := map[string]bool{}
	for _, r := range info.Rlimits {
		name, ok := rlimitTypes[r.Type]
		if !ok {
			return nil, fmt.Errorf("rlimit_info: unknown rlimit type %q", r.Type)
		}
		if seen[name] {
			return nil, fmt.Errorf("rlimit_info: %s given twice", r.Type)
		}
		seen[name] = true
		l := executor.Rlimit{Name: name, Soft: math.MaxUint64, Hard: math.MaxUint64}
		switch {
		case len(r.Soft) == 0 && len(r.Hard) == 0:
		case len(r.Soft) == 0 || len(r.Hard) == 0:
			return nil, fmt.Errorf("rlimit_info: %s needs both soft and hard, or neither (unlimited)", r.Type)
		default:
			var err error
			if l.Soft, err = rlimitValue(r.Soft); err == nil {
				l.Hard, err = rlimitValue(r.Hard)
			}
			if err != nil {
				return nil, fmt.Errorf("rlimit_info: %s: %w", r.Type, err)
			}
			if l.Soft > l.Hard {
				return nil, fmt.Errorf("rlimit_info: %s soft limit %d is above its hard limit %d", r.Type, l.Soft, l.Hard)
			}
		}
		out = append(out, l)
	}
	return out, nil
}

// rlimitValue reads a uint64 given as a JSON number or string.
func rlimitValue(raw json.RawMessage) (uint64, error) {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		s = string(raw)
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s is not a non-negative integer", raw)
	}
	return v, nil
}

// linuxInfo reads a ContainerInfo's linux_info: the effective
// capabilities it asks for, each of which must be in allowed (the agent's
// -task-capabilities), as CAP_ names. What mesh does not do per task is
// refused rather than the task run without it.
func linuxInfo(c *mesos.ContainerInfo, allowed []string) ([]string, error) {
	if c == nil || len(c.LinuxInfo) == 0 || string(c.LinuxInfo) == "null" {
		return nil, nil
	}
	var info struct {
		CapabilityInfo        json.RawMessage `json:"capability_info"`
		BoundingCapabilities  json.RawMessage `json:"bounding_capabilities"`
		EffectiveCapabilities json.RawMessage `json:"effective_capabilities"`
		SharePIDNamespace     bool            `json:"share_pid_namespace"`
		Seccomp               *struct {
			ProfileName string `json:"profile_name"`
			Unconfined  bool   `json:"unconfined"`
		} `json:"seccomp"`
		IPCMode string          `json:"ipc_mode"`
		ShmSize json.RawMessage `json:"shm_size"`
	}
	if err := json.Unmarshal(c.LinuxInfo, &info); err != nil {
		return nil, fmt.Errorf("linux_info: %w", err)
	}
	given := func(raw json.RawMessage) bool { return len(raw) > 0 && string(raw) != "null" }
	switch {
	case given(info.CapabilityInfo) || given(info.BoundingCapabilities):
		return nil, fmt.Errorf("linux_info: capability_info and bounding_capabilities are not supported: give the capabilities a task needs as effective_capabilities")
	case info.SharePIDNamespace:
		return nil, fmt.Errorf("linux_info: share_pid_namespace is not supported: every container has its own PID namespace")
	case info.Seccomp != nil && (info.Seccomp.ProfileName != "" || info.Seccomp.Unconfined):
		return nil, fmt.Errorf("linux_info: per-task seccomp profiles are not supported: every container gets the agent's filter")
	case info.IPCMode != "" && info.IPCMode != "PRIVATE":
		return nil, fmt.Errorf("linux_info: ipc_mode %s is not supported: every container has its own IPC namespace", info.IPCMode)
	case given(info.ShmSize):
		return nil, fmt.Errorf("linux_info: shm_size is not supported")
	case !given(info.EffectiveCapabilities):
		return nil, nil
	}
	var effective struct {
		Capabilities []string `json:"capabilities"`
	}
	if err := json.Unmarshal(info.EffectiveCapabilities, &effective); err != nil {
		return nil, fmt.Errorf("linux_info: effective_capabilities: %w", err)
	}
	var caps []string
	for _, c := range effective.Capabilities {
		_, name, err := executor.CapabilityNumber(c)
		if err != nil {
			return nil, fmt.Errorf("linux_info: effective_capabilities: %w", err)
		}
		ok := false
		for _, a := range allowed {
			if _, an, err := executor.CapabilityNumber(a); err == nil && an == name {
				ok = true
			}
		}
		if !ok {
			return nil, fmt.Errorf("linux_info: capability %s is not in the agent's -task-capabilities (%s)", c, strings.Join(allowed, ","))
		}
		caps = append(caps, name)
	}
	return caps, nil
}

// containerOptions are what a task's ContainerInfo asks of its container
// beyond the defaults.
type containerOptions struct {
	rootfs  string
	volumes []executor.Volume
	rlimits []executor.Rlimit
	caps    []string
}

// plain reports whether the container is the default one, which a
// prestarted container can be.
func (o containerOptions) plain() bool {
	return o.rootfs == "" && len(o.volumes) == 0 && len(o.rlimits) == 0 && len(o.caps) == 0
}

// containerOptions reads c's volumes, rlimits and linux_info.
func (a *Agent) containerOptions(c *mesos.ContainerInfo) (containerOptions, error) {
	var o containerOptions
	var err error
	if o.volumes, err = taskVolumes(c, a.cfg.HostVolumes); err != nil {
		return o, err
	}
	if o.rlimits, err = taskRlimits(c); err != nil {
		return o, err
	}
	if o.caps, err = linuxInfo(c, a.cfg.TaskCapabilities); err != nil {
		return o, err
	}
	if iso := a.containerizer.Name(); iso != executor.IsolationLinux && !o.plain() {
		return o, fmt.Errorf("%s isolation cannot mount volumes, set rlimits or grant capabilities", iso)
	}
	return o, nil
}
