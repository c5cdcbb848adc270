package executor

import (
	"errors"
	"os"
	"time"
)

// IsolationLinux names the libcontainer backend (cgroups, namespaces, a
// read-only root filesystem). It is available in linux builds with cgo.
const IsolationLinux = "linux"

// Environment variables the linux backend sets for a command executor
// whose task runs in its own root filesystem.
const (
	// EnvTaskRootfs is the task's root filesystem as the executor sees
	// it; the executor chroots the task into it.
	EnvTaskRootfs = "MESH_TASK_ROOTFS"
	// EnvTaskUser is the user the executor switches to for the task.
	EnvTaskUser = "MESH_TASK_USER"
	// EnvFetcherCache is the directory the executor keeps the downloads
	// of URIs marked `cache` in, for the task's user.
	EnvFetcherCache = "MESH_FETCHER_CACHE"
)

// SandboxInRootfs is where the sandbox appears in a task's own root
// filesystem, as in Mesos.
const SandboxInRootfs = "/mnt/mesos/sandbox"

// ErrIsolationUnavailable is returned by New for a backend that this
// build or this machine cannot run.
var ErrIsolationUnavailable = errors.New("isolation unavailable")

// ErrBadContainerSpec is returned by Launch for a container that cannot
// be run as asked (a zero memory limit, a root user that is not allowed, an
// unusable image).
var ErrBadContainerSpec = errors.New("invalid container")

// Limitation is a resource limit a container ran into.
type Limitation struct {
	// Resource is the limited resource, e.g. "mem".
	Resource string
	// Message says which limit was hit, e.g. "Memory limit exceeded:
	// Requested: 64MB ...".
	Message string
}

// LimitationReporter is implemented by backends that enforce limits: it
// tells whether a container was hit by one (the kernel killed a process
// of it for exceeding its memory limit).
type LimitationReporter interface {
	Limitation(id string) (*Limitation, error)
}

// ContainerStats is a container's resource usage and limits (Mesos'
// ResourceStatistics, the fields mesh fills).
type ContainerStats struct {
	Timestamp          float64 `json:"timestamp"`
	CPUsUserTimeSecs   float64 `json:"cpus_user_time_secs"`
	CPUsSystemTimeSecs float64 `json:"cpus_system_time_secs"`
	CPUsLimit          float64 `json:"cpus_limit,omitempty"`
	CPUsNrPeriods      uint64  `json:"cpus_nr_periods"`
	CPUsNrThrottled    uint64  `json:"cpus_nr_throttled"`
	CPUsThrottledSecs  float64 `json:"cpus_throttled_time_secs"`
	MemTotalBytes      uint64  `json:"mem_total_bytes"`
	MemRSSBytes        uint64  `json:"mem_rss_bytes"`
	MemCacheBytes      uint64  `json:"mem_cache_bytes"`
	MemLimitBytes      uint64  `json:"mem_limit_bytes,omitempty"`
	MemSwapBytes       uint64  `json:"mem_swap_bytes"`
	ProcessesCount     uint64  `json:"processes"`
}

// StatsReporter is implemented by backends that can measure their
// containers.
type StatsReporter interface {
	Stats(id string) (ContainerStats, error)
}

// QuotaEnforcer is implemented by backends that can start a container
// with its CPU quota deferred (ContainerSpec.DeferCPUQuota).
type QuotaEnforcer interface {
	// EnforceCPUQuota applies the container's CFS quota. It is
	// idempotent.
	EnforceCPUQuota(id string) error
}

// LinuxOptions are the linux backend's settings, given through
// Options.Linux.
type LinuxOptions struct {
	// PidsLimit caps the processes (and threads) of a container; 0 means
	// DefaultPidsLimit.
	PidsLimit int64
	// AllowRoot lets containers run as root (uid 0). Without it a launch
	// as root is refused.
	AllowRoot bool
	// CgroupParent is the cgroup under which containers are created;
	// default "/mesh".
	CgroupParent string
	// HostRootDir is where the host's root is bound read-only to serve
	// as the containers' root; default DefaultHostRootDir.
	HostRootDir string
	// ImageCacheDir holds unpacked rootfs tarballs; default
	// <StateDir>/../images.
	ImageCacheDir string
	// Prestart is how many containers the backend keeps created ahead of
	// launches for each recent (user, executor) pair; see Prestarter.
	// 0 turns prestarting off.
	Prestart int
}

// DefaultPidsLimit is a container's default process limit.
const DefaultPidsLimit = 1024

// DefaultKillGrace is how long Destroy callers usually wait between
// SIGTERM and SIGKILL.
const DefaultKillGrace = 3 * time.Second

// DefaultIsolation picks the isolation an agent uses when none is given:
// "linux" when this build has it and the process is root on a machine
// with cgroups, else "posix". why says why linux was not chosen.
func DefaultIsolation() (isolation, why string) {
	if !linuxAvailable {
		return IsolationPosix, "this build has no linux isolation (it needs linux and cgo)"
	}
	if os.Geteuid() != 0 {
		return IsolationPosix, "linux isolation needs root"
	}
	if _, err := os.Stat("/sys/fs/cgroup"); err != nil {
		return IsolationPosix, "no cgroup filesystem at /sys/fs/cgroup"
	}
	if !cgroupsUsable() {
		return IsolationPosix, "cgroups are not usable (no memory, cpu or pids controller)"
	}
	return IsolationLinux, ""
}
