//go:build linux && cgo

package executor

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/moby/sys/mountinfo"
	"github.com/opencontainers/cgroups"
	devconfig "github.com/opencontainers/cgroups/devices/config"
	"github.com/opencontainers/runc/libcontainer/configs"
	"github.com/opencontainers/runc/libcontainer/specconv"
	"golang.org/x/sys/unix"
)

const (
	// cfsPeriod is the CFS period; the quota is cpus times it.
	cfsPeriod = 100000
	// minCFSQuota is the smallest quota the kernel accepts (1ms).
	minCFSQuota = 1000
	// minCPUShares is the smallest cpu weight cgroup v1 accepts;
	// defaultCPUShares is a cgroup's weight when none is set.
	minCPUShares     = 2
	defaultCPUShares = 1024
	// defaultMemMB is the memory limit of a container that asks for none
	// (Mesos' command executor overhead).
	defaultMemMB = 32
	// minMemBytes keeps a limit large enough for the executor itself.
	minMemBytes = 4 << 20
)

// Mount flags of pseudo filesystems.
const (
	nodevNoexecNosuid = unix.MS_NOEXEC | unix.MS_NOSUID | unix.MS_NODEV
)

// Paths masked (an empty file or tmpfs over them) and made read-only
// inside every container, as runc's defaults.
var (
	maskedPaths = []string{
		"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
		"/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
		"/sys/firmware", "/sys/devices/virtual/powercap",
	}
	readonlyPaths = []string{
		"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
	}
)

// Capability sets. A task running as another user than root gets none
// (its effective, permitted and ambient sets are empty); the bounding set
// is the small set Docker grants by default.
var (
	boundingCaps = []string{
		"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
		"CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
		"CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
	}
	// imageExecutorCaps is what a command executor needs to run its task
	// in the task's own root filesystem: chroot, switch to the task's
	// user, signal it, and write into the user's sandbox.
	imageExecutorCaps = []string{
		"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_KILL",
		"CAP_SETGID", "CAP_SETUID", "CAP_SYS_CHROOT",
	}
)

// limits are a container's resource limits.
type limits struct {
	cpus     float64
	memBytes int64
	pids     int64
	// idle gives the container the smallest cpu weight and no quota, so
	// that it only uses cpu nobody else wants (prestarted containers,
	// until a launch sets their limits).
	idle bool
}

// limitsOf turns a container's resources into limits. A mem or cpus
// resource of zero is an error: it would mean "no limit" to the kernel.
func limitsOf(spec ContainerSpec, pids int64) (limits, error) {
	l := limits{pids: pids}
	var haveMem bool
	for _, r := range spec.Resources {
		if r.Scalar == nil {
			continue
		}
		switch r.Name {
		case "cpus":
			l.cpus += r.Scalar.Value
		case "mem":
			haveMem = true
			l.memBytes += int64(math.Round(r.Scalar.Value * (1 << 20)))
		}
	}
	if haveMem && l.memBytes <= 0 {
		return l, fmt.Errorf("%w: a mem resource of %d MB cannot be enforced; ask for a positive amount", ErrBadContainerSpec, l.memBytes>>20)
	}
	if !haveMem {
		l.memBytes = defaultMemMB << 20
	}
	if l.memBytes < minMemBytes {
		return l, fmt.Errorf("%w: a mem resource of %.2f MB is too small to run an executor in (at least %d MB)", ErrBadContainerSpec, float64(l.memBytes)/(1<<20), minMemBytes>>20)
	}
	if l.cpus < 0 {
		return l, fmt.Errorf("%w: negative cpus", ErrBadContainerSpec)
	}
	return l, nil
}

// cgroupResources are the cgroup settings that enforce l.
func (l limits) cgroupResources() *cgroups.Resources {
	r := &cgroups.Resources{
		Memory:     l.memBytes,
		MemorySwap: l.memBytes, // no swap beyond the memory limit
		PidsLimit:  &l.pids,
	}
	switch {
	case l.idle:
		r.CpuShares = minCPUShares
	case l.cpus > 0:
		r.CpuShares = uint64(max(minCPUShares, math.Round(l.cpus*1024)))
		r.CpuPeriod = cfsPeriod
		r.CpuQuota = int64(max(minCFSQuota, math.Round(l.cpus*cfsPeriod)))
	}
	setCPUWeight(r)
	for _, d := range specconv.AllowedDevices {
		rule := d.Rule
		r.Devices = append(r.Devices, &rule)
	}
	// Deny everything else first: the allow-list is applied on top.
	r.Devices = append([]*devconfig.Rule{{Type: devconfig.WildcardDevice, Major: devconfig.Wildcard, Minor: devconfig.Wildcard, Permissions: "rwm", Allow: false}}, r.Devices...)
	return r
}

// union is a followed by what of b a lacks.
func union(a, b []string) []string {
	out := append([]string(nil), a...)
	for _, s := range b {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// setCPUWeight gives r the cgroup v2 weight (cpu.weight, 1–10000) that
// matches its v1 shares: the v2 driver ignores CpuShares, so without it
// every container would keep the default weight under cgroup v2. The v1
// driver ignores CpuWeight.
func setCPUWeight(r *cgroups.Resources) {
	r.CpuWeight = cgroups.ConvertCPUSharesToCgroupV2Value(r.CpuShares)
}

// hostDevices are the device nodes created in a container's /dev: the
// standard allow-list's named devices (null, zero, full, tty, random,
// urandom).
func hostDevices() []*devconfig.Device {
	var out []*devconfig.Device
	for _, d := range specconv.AllowedDevices {
		if d.Path != "" {
			out = append(out, d)
		}
	}
	return out
}

// containerPaths are where a container's files live on the host.
type containerPaths struct {
	// rootfs is where the task's own root filesystem is mounted (inside
	// the container's mount namespace only); upper and work are its
	// overlay's writable layer.
	rootfs, upper, work string
}

// buildConfig is the libcontainer configuration of a container: the
// host's root read-only, the sandbox writable at its own path, fresh
// /proc, /dev, /sys and a read-only cgroup filesystem, and, when the task
// has an image, its root filesystem as an overlay at p.rootfs.
func (l *Linux) buildConfig(spec ContainerSpec, lim limits, ident *Identity, image string, p containerPaths) *configs.Config {
	caps := &configs.Capabilities{Bounding: union(boundingCaps, spec.Capabilities)}
	switch {
	case image != "":
		// The executor keeps the task's capabilities (permitted and
		// inheritable) to hand them on as ambient ones across its switch
		// to the task's user (EnvTaskCaps).
		caps.Effective = union(imageExecutorCaps, spec.Capabilities)
		caps.Permitted, caps.Inheritable = caps.Effective, spec.Capabilities
	case ident.UID == 0:
		caps.Effective, caps.Permitted = caps.Bounding, caps.Bounding
	default:
		// Ambient capabilities survive the exec of the executor and of
		// the task, which an ordinary user's process keeps no others
		// across.
		caps.Effective, caps.Permitted, caps.Inheritable, caps.Ambient = spec.Capabilities, spec.Capabilities, spec.Capabilities, spec.Capabilities
	}
	hostname, _ := os.Hostname()
	cfg := &configs.Config{
		Rootfs:          l.hostRoot,
		Readonlyfs:      true,
		NoNewPrivileges: true,
		Capabilities:    caps,
		Hostname:        hostname,
		Namespaces: configs.Namespaces{
			{Type: configs.NEWNS}, {Type: configs.NEWPID}, {Type: configs.NEWIPC}, {Type: configs.NEWUTS},
		},
		Cgroups: &cgroups.Cgroup{
			Path:      filepath.Join(l.cgroupParent, spec.ID),
			Resources: lim.cgroupResources(),
		},
		Devices:       hostDevices(),
		MaskPaths:     maskedPaths,
		ReadonlyPaths: readonlyPaths,
		Seccomp:       seccompProfile(),
	}
	// Every other filesystem of the host, read-only too (the root's
	// read-only remount covers the root filesystem only). First, because
	// the mounts below may lie on them: the agent's work directory, which
	// holds the sandboxes and the image's overlay, can be a filesystem of
	// its own or on one.
	var mounts []*configs.Mount
	for _, mp := range l.currentHostMounts() {
		mounts = append(mounts, &configs.Mount{Source: mp, Destination: mp, Device: "bind", Flags: unix.MS_BIND | unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_NODEV})
	}
	if image != "" {
		// Before the container's own /dev replaces the host's: the task's
		// device nodes are bound from the host's.
		mounts = append(mounts, imageMounts(image, spec.Dir, p)...)
	}
	mounts = append(mounts,
		&configs.Mount{Source: "proc", Destination: "/proc", Device: "proc", Flags: nodevNoexecNosuid},
		&configs.Mount{Source: "tmpfs", Destination: "/dev", Device: "tmpfs", Flags: unix.MS_NOSUID | unix.MS_STRICTATIME, Data: "mode=755,size=65536k"},
		&configs.Mount{Source: "devpts", Destination: "/dev/pts", Device: "devpts", Flags: unix.MS_NOSUID | unix.MS_NOEXEC, Data: "newinstance,ptmxmode=0666,mode=0620"},
		&configs.Mount{Source: "shm", Destination: "/dev/shm", Device: "tmpfs", Flags: nodevNoexecNosuid, Data: "mode=1777,size=65536k"},
		&configs.Mount{Source: "mqueue", Destination: "/dev/mqueue", Device: "mqueue", Flags: nodevNoexecNosuid},
		// A fresh sysfs, read-only: a bind of the host's would leave
		// /sys/fs/cgroup writable. The container gets no cgroup
		// filesystem: /sys/fs/cgroup is an empty directory of the
		// read-only sysfs (the agent reads the container's usage from the
		// host side). Without a network namespace
		// of its own the container's sysfs is the host's superblock, which
		// the kernel will not stack on the host's /sys mount itself: an
		// empty tmpfs goes in between.
		&configs.Mount{Source: "tmpfs", Destination: "/sys", Device: "tmpfs", Flags: nodevNoexecNosuid, Data: "size=4k,mode=555"},
		&configs.Mount{Source: "sysfs", Destination: "/sys", Device: "sysfs", Flags: nodevNoexecNosuid | unix.MS_RDONLY},
	)
	// The sandbox, writable, at its own path (the executor's working
	// directory and $MESOS_SANDBOX).
	mounts = append(mounts, &configs.Mount{Source: spec.Dir, Destination: spec.Dir, Device: "bind", Flags: unix.MS_BIND | unix.MS_NOSUID | unix.MS_NODEV})
	cfg.Mounts = mounts
	return cfg
}

// imageMounts build the task's root filesystem at p.rootfs: an overlay of
// the image (read-only lower layer, so the cached image is never
// modified) with /proc, a minimal /dev and the sandbox at
// SandboxInRootfs.
func imageMounts(image, sandbox string, p containerPaths) []*configs.Mount {
	in := func(path string) string { return filepath.Join(p.rootfs, path) }
	m := []*configs.Mount{
		{Source: "overlay", Destination: p.rootfs, Device: "overlay", Flags: unix.MS_NOSUID | unix.MS_NODEV,
			Data: "lowerdir=" + image + ",upperdir=" + p.upper + ",workdir=" + p.work},
		{Source: "proc", Destination: in("/proc"), Device: "proc", Flags: nodevNoexecNosuid},
		{Source: "tmpfs", Destination: in("/dev"), Device: "tmpfs", Flags: unix.MS_NOSUID | unix.MS_STRICTATIME, Data: "mode=755,size=65536k"},
	}
	for _, dev := range []string{"null", "zero", "full", "random", "urandom", "tty"} {
		m = append(m, &configs.Mount{Source: "/dev/" + dev, Destination: in("/dev/" + dev), Device: "bind", Flags: unix.MS_BIND | unix.MS_NOSUID})
	}
	m = append(m,
		&configs.Mount{Source: "shm", Destination: in("/dev/shm"), Device: "tmpfs", Flags: nodevNoexecNosuid, Data: "mode=1777,size=65536k"},
		&configs.Mount{Source: sandbox, Destination: in(SandboxInRootfs), Device: "bind", Flags: unix.MS_BIND | unix.MS_NOSUID | unix.MS_NODEV},
	)
	return m
}

// currentHostMounts lists the host's filesystems as they are now: they
// come and go while the agent runs (a disk is mounted, a filesystem is
// unmounted), and binding one that is gone would fail every container.
func (l *Linux) currentHostMounts() []string {
	mounts, err := hostSubmounts(l.workDir, l.hostRoot)
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		l.log.Warn("cannot list the host's mounts; using the last list", "error", err)
		return l.hostMounts
	}
	l.hostMounts = mounts
	return mounts
}

// hostSubmounts lists the host's mount points other than / that a
// container must see read-only: everything but the pseudo filesystems a
// container gets its own of, the host root's bind at hostRoot and what is
// mounted below the agent's work directory (the work directory itself is
// kept when it is a mount point: the sandboxes are bound onto it). Parents
// come before children.
func hostSubmounts(workDir, hostRoot string) ([]string, error) {
	// The calling thread's mounts (see isMountPoint).
	infos, err := mountinfo.GetMounts(nil)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []string
	for _, m := range infos {
		mp := m.Mountpoint
		if mp == "/" || seen[mp] || under(mp, "/proc", "/sys", "/dev", hostRoot) || (mp != workDir && under(mp, workDir)) {
			continue
		}
		seen[mp] = true
		out = append(out, mp)
	}
	sort.Slice(out, func(i, j int) bool {
		return strings.Count(out[i], "/") < strings.Count(out[j], "/") || (strings.Count(out[i], "/") == strings.Count(out[j], "/") && out[i] < out[j])
	})
	return out, nil
}

// under reports whether path is one of dirs or below one.
func under(path string, dirs ...string) bool {
	for _, d := range dirs {
		if d == "" {
			continue
		}
		if path == d || strings.HasPrefix(path, strings.TrimSuffix(d, "/")+"/") {
			return true
		}
	}
	return false
}
