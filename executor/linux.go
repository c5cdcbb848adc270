//go:build linux && cgo

package executor

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/moby/sys/mountinfo"
	"github.com/opencontainers/cgroups"
	_ "github.com/opencontainers/cgroups/devices" // device rules in the cgroup manager
	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/configs"
	"golang.org/x/sys/unix"
)

// labelDir is the libcontainer config label that records a container's
// sandbox, so Recover can report it.
const labelDir = "mesh.dir="

// labelCPUs records a container's cpus, whose CFS quota may be applied
// only later (see EnforceCPUQuota), so that a restarted agent applies
// the same quota.
const labelCPUs = "mesh.cpus="

// labelPrestarted marks a container prestarted and not launched yet; a
// restarted agent destroys such containers.
const labelPrestarted = "mesh.prestarted="

// containerLabels are the labels of a container for spec with lim.
func containerLabels(dir string, lim limits) []string {
	return []string{labelDir + dir, labelCPUs + strconv.FormatFloat(lim.cpus, 'g', -1, 64)}
}

// Linux is the "linux" containerizer: each container is a libcontainer
// container with its own cgroups (cpu shares and CFS quota, memory with
// no extra swap, pids), PID, mount, IPC and UTS namespaces, the host's
// root filesystem read-only with the sandbox writable, no new privileges
// and a minimal capability set. A task with a rootfs image gets it as an
// overlay, chrooted into by the executor.
//
// libcontainer keeps each container's state in <StateDir>/lc/<id>; a
// restarted agent loads it from there.
type Linux struct {
	opts         Options
	log          hclog.Logger
	root         string // libcontainer state root
	hostRoot     string // read-only bind of the host's "/", the containers' root
	fsDir        string // per-container rootfs layers
	cgroupParent string
	pids         int64
	images       *imageCache
	workDir      string // the agent's, where the sandboxes are
	// hostMounts is the last list of the host's filesystems read for a
	// container (hostSubmounts), used again if reading it fails.
	hostMounts []string

	ctx    context.Context
	cancel context.CancelFunc

	mu         sync.Mutex
	containers map[string]*linuxContainer
	// pool holds the prestarted containers; nil when prestarting is off.
	pool *prestartPool
}

var _ Containerizer = (*Linux)(nil)
var _ LimitationReporter = (*Linux)(nil)
var _ StatsReporter = (*Linux)(nil)
var _ QuotaEnforcer = (*Linux)(nil)

// linuxContainer is one container. done closes when its first process
// has exited, after which status holds how.
type linuxContainer struct {
	c     *libcontainer.Container
	proc  *libcontainer.Process // nil for a recovered container
	state ContainerState
	exitWatch
	memLimit int64
	cpus     float64
	// quotaDeferred is set while the CFS quota waits for
	// EnforceCPUQuota.
	quotaDeferred bool
	// cgMu orders reads of the container's cgroup paths before their
	// removal: libcontainer's State hands out its cgroup manager's own
	// map, which Destroy changes.
	cgMu sync.RWMutex
}

// cgroupPaths is a copy of the container's cgroup paths, by controller
// ("" for the cgroup v2 unified hierarchy).
func (c *linuxContainer) cgroupPaths() (map[string]string, error) {
	c.cgMu.RLock()
	defer c.cgMu.RUnlock()
	st, err := c.c.State()
	if err != nil {
		return nil, err
	}
	return maps.Clone(st.CgroupPaths), nil
}

// destroy removes the container's cgroups and state.
func (c *linuxContainer) destroy() error {
	c.cgMu.Lock()
	defer c.cgMu.Unlock()
	return c.c.Destroy()
}

// NewLinux returns a linux containerizer keeping its state in
// opts.StateDir. It fails when this process cannot manage cgroups.
func NewLinux(opts Options) (*Linux, error) {
	if opts.Logger == nil {
		opts.Logger = hclog.NewNullLogger()
	}
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("%w: linux isolation needs root", ErrIsolationUnavailable)
	}
	if !cgroupsUsable() {
		return nil, fmt.Errorf("%w: no usable cgroup filesystem (memory, cpu and pids controllers are needed)", ErrIsolationUnavailable)
	}
	l := &Linux{
		opts:         opts,
		log:          opts.Logger.Named("linux"),
		root:         filepath.Join(opts.StateDir, "lc"),
		fsDir:        filepath.Join(opts.StateDir, "fs"),
		cgroupParent: opts.Linux.CgroupParent,
		pids:         opts.Linux.PidsLimit,
		containers:   map[string]*linuxContainer{},
	}
	if l.cgroupParent == "" {
		l.cgroupParent = "/mesh"
	}
	if l.pids <= 0 {
		l.pids = DefaultPidsLimit
	}
	cache := opts.Linux.ImageCacheDir
	if cache == "" {
		cache = filepath.Join(filepath.Dir(opts.StateDir), "images")
	}
	l.images = newImageCache(cache, l.log)
	for _, d := range []string{l.root, l.fsDir, cache} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("create containerizer state dir: %w", err)
		}
	}
	l.hostRoot = opts.Linux.HostRootDir
	if l.hostRoot == "" {
		l.hostRoot = DefaultHostRootDir
	}
	if err := ensureHostRoot(l.hostRoot); err != nil {
		return nil, fmt.Errorf("prepare the containers' root filesystem at %s: %w", l.hostRoot, err)
	}
	workDir := filepath.Dir(filepath.Dir(opts.StateDir))
	l.workDir = workDir
	mounts, err := hostSubmounts(workDir, l.hostRoot)
	if err != nil {
		return nil, fmt.Errorf("list the host's mounts: %w", err)
	}
	l.hostMounts = mounts
	warnIfInitIsCopied(l.root, l.log)
	if !SeccompEnabled() {
		l.log.Warn("this build has no seccomp support: containers run without a system call filter (build with libseccomp's development files installed: make build)")
	}
	l.ctx, l.cancel = context.WithCancel(context.Background())
	if opts.Linux.Prestart > 0 {
		// Sandboxes of prestarted containers; what an earlier agent left
		// belongs to containers Recover destroys.
		dir := filepath.Join(workDir, "prestarted")
		if err := os.RemoveAll(dir); err != nil {
			return nil, fmt.Errorf("remove stale prestarted sandboxes: %w", err)
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("create the prestarted sandboxes' directory: %w", err)
		}
		l.pool = newPrestartPool(opts.Linux.Prestart, dir)
		go l.refill()
	}
	return l, nil
}

// Name returns "linux".
func (l *Linux) Name() string { return IsolationLinux }

// Close stops watching recovered containers and destroys the prestarted
// ones. Launched containers keep running.
func (l *Linux) Close() error {
	l.cancel()
	l.closePool()
	return nil
}

// Launch creates a container and starts spec.Argv as its first process.
func (l *Linux) Launch(ctx context.Context, spec ContainerSpec) (ContainerState, error) {
	if err := validContainerID(spec.ID); err != nil {
		return ContainerState{}, err
	}
	l.activity(1)
	defer l.activity(-1)
	// A container claimed from the prestarted ones is used or destroyed.
	claimed := l.takeClaimed(spec.ID)
	defer func() {
		if claimed != nil {
			l.discard(claimed)
		}
	}()
	if len(spec.Argv) == 0 || spec.Argv[0] == "" {
		return ContainerState{}, errors.New("container needs a command to run")
	}
	if !filepath.IsAbs(spec.Dir) {
		return ContainerState{}, fmt.Errorf("%w: sandbox %q is not an absolute path", ErrBadContainerSpec, spec.Dir)
	}
	l.mu.Lock()
	_, dup := l.containers[spec.ID]
	l.mu.Unlock()
	if dup {
		return ContainerState{}, fmt.Errorf("container %s already exists", spec.ID)
	}
	ident, err := l.identity(spec.User)
	if err != nil {
		return ContainerState{}, err
	}
	lim, err := limitsOf(spec, l.pids)
	if err != nil {
		return ContainerState{}, err
	}
	argv, err := resolveArgv(spec.Argv)
	if err != nil {
		return ContainerState{}, err
	}
	var caps []string
	for _, c := range spec.Capabilities {
		_, name, err := CapabilityNumber(c)
		if err != nil {
			return ContainerState{}, fmt.Errorf("%w: %w", ErrBadContainerSpec, err)
		}
		caps = append(caps, name)
	}
	spec.Capabilities = caps
	env := append([]string(nil), spec.Env...)

	var image string
	var paths containerPaths
	if spec.Rootfs != "" {
		if image, err = l.images.prepare(spec.Rootfs); err != nil {
			return ContainerState{}, fmt.Errorf("%w: %w", ErrBadContainerSpec, err)
		}
		base := filepath.Join(l.fsDir, spec.ID)
		paths = containerPaths{rootfs: filepath.Join(base, "rootfs"), upper: filepath.Join(base, "upper"), work: filepath.Join(base, "work")}
		for _, d := range []string{paths.rootfs, paths.upper, paths.work} {
			if err := os.MkdirAll(d, 0o755); err != nil {
				return ContainerState{}, fmt.Errorf("prepare the task's root filesystem: %w", err)
			}
		}
		env = setEnv(env, EnvTaskRootfs, paths.rootfs)
		env = setEnv(env, EnvTaskUser, ident.Name)
		env = setEnv(env, EnvSandbox, SandboxInRootfs)
		if len(spec.Capabilities) > 0 {
			env = setEnv(env, EnvTaskCaps, strings.Join(spec.Capabilities, ","))
		}
	} else {
		// The host's root, /tmp included, is read-only: temporary files
		// go to the sandbox (an image's own /tmp is writable).
		env = setEnv(env, "TMPDIR", filepath.Join(spec.Dir, SandboxTmp))
	}
	if claimed != nil && spec.Rootfs == "" && len(spec.Volumes) == 0 && len(spec.Rlimits) == 0 && len(spec.Capabilities) == 0 {
		w := claimed
		claimed = nil
		st, err := l.startPrestarted(w, spec, lim)
		if err == nil {
			return st, nil
		}
		l.log.Warn("cannot use a prestarted container; creating one", "container_id", spec.ID, "error", err)
		l.discard(w)
	}
	lc, err := l.newContainer(spec, lim, ident, argv, env, image, paths, nil, containerLabels(spec.Dir, lim))
	if err != nil {
		return ContainerState{}, err
	}
	l.mu.Lock()
	l.containers[spec.ID] = lc
	l.mu.Unlock()
	return lc.state, nil
}

// newContainer creates a container for spec, labelled labels, and starts
// argv in it with env (extra are its descriptors from 3 on).
func (l *Linux) newContainer(spec ContainerSpec, lim limits, ident *Identity, argv, env []string, image string, paths containerPaths, extra []*os.File, labels []string) (*linuxContainer, error) {
	cleanup := func() { os.RemoveAll(filepath.Join(l.fsDir, spec.ID)) }
	if image == "" {
		if err := makeSandboxTmp(spec.Dir, ident); err != nil {
			return nil, err
		}
	}

	vols, err := volumeMounts(spec, ident, paths.rootfs)
	if err != nil {
		cleanup()
		return nil, err
	}
	rlimits, err := containerRlimits(spec)
	if err != nil {
		cleanup()
		return nil, err
	}
	// The host's filesystems are bound one by one (buildConfig): one that
	// is unmounted while the container starts fails it, and a fresh list
	// lets it start.
	for attempt := 1; ; attempt++ {
		lc, err := l.startContainer(spec, lim, ident, argv, env, image, paths, extra, labels, vols, rlimits)
		if err == nil {
			return lc, nil
		}
		mp := vanishedMount(err)
		if mp == "" || attempt == 3 {
			cleanup()
			return nil, err
		}
		l.log.Debug("a host filesystem went away while a container started; starting it again", "container_id", spec.ID, "mount", mp)
		for _, d := range []string{paths.rootfs, paths.upper, paths.work} {
			if d != "" {
				if err := os.MkdirAll(d, 0o755); err != nil {
					return nil, fmt.Errorf("prepare the task's root filesystem: %w", err)
				}
			}
		}
	}
}

// vanishedMount returns the bind mount source a container's start failed
// on when it is a host filesystem no longer mounted, or "".
func vanishedMount(err error) string {
	var me *mountSourceError
	if !errors.As(err, &me) {
		return ""
	}
	if mounted, merr := isMountPoint(me.source); merr == nil && !mounted {
		return me.source
	}
	return ""
}

// mountSourceError is a container start that failed on the source of a
// host filesystem's bind mount.
type mountSourceError struct {
	source string
	err    error
}

func (e *mountSourceError) Error() string { return e.err.Error() }
func (e *mountSourceError) Unwrap() error { return e.err }

// startContainer creates and starts one container (see newContainer).
func (l *Linux) startContainer(spec ContainerSpec, lim limits, ident *Identity, argv, env []string, image string, paths containerPaths, extra []*os.File, labels []string, vols []*configs.Mount, rlimits []configs.Rlimit) (*linuxContainer, error) {
	cfg := l.buildConfig(spec, lim, ident, image, paths)
	cfg.Mounts = append(cfg.Mounts, vols...)
	cfg.Rlimits = rlimits
	cfg.Labels = labels
	deferred := spec.DeferCPUQuota && cfg.Cgroups.Resources.CpuQuota > 0
	if deferred {
		cfg.Cgroups.Resources.CpuQuota = 0
	}
	t0 := time.Now()
	c, err := libcontainer.Create(l.root, spec.ID, cfg)
	if err != nil {
		return nil, fmt.Errorf("create container: %w", err)
	}
	var cred *syscall.Credential
	if ident.UID != 0 {
		cred = &syscall.Credential{Uid: ident.UID, Gid: ident.GID}
	}
	stdout, err := openOutput(spec.Stdout, cred)
	if err != nil {
		l.destroyQuietly(c, spec.ID)
		return nil, err
	}
	defer stdout.Close()
	stderr, err := openOutput(spec.Stderr, cred)
	if err != nil {
		l.destroyQuietly(c, spec.ID)
		return nil, err
	}
	defer stderr.Close()

	proc := &libcontainer.Process{
		Args:       argv,
		Env:        env,
		Cwd:        spec.Dir,
		Stdout:     stdout,
		Stderr:     stderr,
		ExtraFiles: extra,
		Init:       true,
	}
	if image == "" {
		// The executor runs as the task's user; with an image it stays
		// root (with a handful of capabilities) to chroot the task.
		proc.UID, proc.GID = int(ident.UID), int(ident.GID)
		for _, g := range ident.Groups {
			proc.AdditionalGroups = append(proc.AdditionalGroups, int(g))
		}
	}
	t1 := time.Now()
	if err := c.Run(proc); err != nil {
		l.destroyQuietly(c, spec.ID)
		err = fmt.Errorf("start container: %w", err)
		for _, m := range cfg.Mounts {
			if m.Device == "bind" && m.Source == m.Destination && strings.Contains(err.Error(), "open "+m.Source+":") {
				return nil, &mountSourceError{source: m.Source, err: err}
			}
		}
		return nil, err
	}
	pid, err := proc.Pid()
	if err != nil {
		l.destroyQuietly(c, spec.ID)
		return nil, fmt.Errorf("start container: %w", err)
	}
	st := ContainerState{ID: spec.ID, Pid: pid, Dir: spec.Dir}
	st.StartTime, _ = processStartTime(pid)
	lc := &linuxContainer{c: c, proc: proc, state: st, exitWatch: newExitWatch(ExitStatus{}), memLimit: lim.memBytes, cpus: lim.cpus, quotaDeferred: deferred}
	go func() {
		ps, err := proc.Wait()
		lc.status = exitStatusOf(ps, err)
		close(lc.done)
		l.log.Debug("container process exited", "container_id", spec.ID, "pid", pid, "status", lc.status.String())
	}()
	l.log.Debug("container created", "container_id", spec.ID, "pid", pid, "user", ident.Name,
		"mem_limit", lim.memBytes, "cpus", lim.cpus, "image", spec.Rootfs != "",
		"create", t1.Sub(t0), "start", time.Since(t1))
	return lc, nil
}

// resolveArgv copies argv with a bare program name looked up on PATH.
func resolveArgv(argv []string) ([]string, error) {
	out := append([]string(nil), argv...)
	if !strings.Contains(out[0], "/") {
		p, err := exec.LookPath(out[0])
		if err != nil {
			return nil, fmt.Errorf("find executor %q: %w", argv[0], err)
		}
		out[0] = p
	}
	return out, nil
}

// identity resolves the container's user; "" is the agent's own user.
// Root is refused unless allowed.
func (l *Linux) identity(name string) (*Identity, error) {
	var id *Identity
	if name == "" {
		id = &Identity{Name: "root", UID: uint32(os.Geteuid()), GID: uint32(os.Getegid())}
	} else {
		var err error
		if id, err = LookupUser(name); err != nil {
			return nil, err
		}
	}
	if id.UID == 0 && !l.opts.Linux.AllowRoot {
		return nil, fmt.Errorf("%w: refusing to run a task as root (user %q); give the framework or task a user, or start the agent with -allow-root-tasks", ErrBadContainerSpec, id.Name)
	}
	return id, nil
}

// setEnv sets name in env, replacing an earlier entry.
func setEnv(env []string, name, value string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, name+"=") {
			out = append(out, kv)
		}
	}
	return append(out, name+"="+value)
}

// destroyQuietly tears down a container that failed to start.
func (l *Linux) destroyQuietly(c *libcontainer.Container, id string) {
	_ = c.Signal(syscall.SIGKILL)
	if err := c.Destroy(); err != nil {
		l.log.Warn("cannot clean up a container that failed to start", "container_id", id, "error", err)
	}
	os.RemoveAll(filepath.Join(l.fsDir, id))
}

func (l *Linux) get(id string) (*linuxContainer, error) {
	return lookup(&l.mu, l.containers, id)
}

// Wait blocks until the container's first process exits.
func (l *Linux) Wait(ctx context.Context, id string) (ExitStatus, error) {
	c, err := l.get(id)
	if err != nil {
		return ExitStatus{}, err
	}
	return c.wait(ctx)
}

// Signal sends sig to the container's first process.
func (l *Linux) Signal(id string, sig syscall.Signal) error {
	c, err := l.get(id)
	if err != nil {
		return err
	}
	if c.exited() {
		return nil
	}
	if err := c.c.Signal(sig); err != nil && !errors.Is(err, libcontainer.ErrNotRunning) {
		return fmt.Errorf("signal container %s: %w", id, err)
	}
	return nil
}

// Destroy sends SIGTERM to the first process, SIGKILL after grace (which,
// as it is the PID namespace's init, ends every process of the container),
// then removes the container's cgroups, state and rootfs layers.
func (l *Linux) Destroy(ctx context.Context, id string, grace time.Duration) error {
	if w := l.takeClaimed(id); w != nil {
		// Claimed but never launched.
		l.discard(w)
		return nil
	}
	c, err := l.get(id)
	if errors.Is(err, ErrUnknownContainer) {
		return nil
	}
	select {
	case <-c.done:
	default:
		if grace > 0 {
			if err := c.c.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, libcontainer.ErrNotRunning) {
				l.log.Warn("cannot send SIGTERM to container", "container_id", id, "error", err)
			}
			t := time.NewTimer(grace)
			select {
			case <-c.done:
			case <-t.C:
			case <-ctx.Done():
			}
			t.Stop()
		}
	}
	if err := l.kill(ctx, c, id); err != nil {
		return err
	}
	l.forget(id)
	return nil
}

// kill SIGKILLs the container's processes until its first process is
// gone, then removes its cgroups and state.
func (l *Linux) kill(ctx context.Context, c *linuxContainer, id string) error {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-c.done:
		default:
			_ = c.c.Signal(syscall.SIGKILL)
		}
		select {
		case <-c.done:
			if err := c.destroy(); err != nil {
				// The cgroup may still hold dying processes.
				l.log.Debug("container not yet destroyed", "container_id", id, "error", err)
				break
			}
			return nil
		default:
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return fmt.Errorf("destroy container %s: %w", id, ctx.Err())
		}
	}
}

func (l *Linux) forget(id string) {
	l.mu.Lock()
	delete(l.containers, id)
	l.mu.Unlock()
	if err := os.RemoveAll(filepath.Join(l.fsDir, id)); err != nil {
		l.log.Warn("cannot remove container's rootfs layers", "container_id", id, "error", err)
	}
}

// EnforceCPUQuota applies a container's CFS quota if it was deferred.
func (l *Linux) EnforceCPUQuota(id string) error {
	// The agent calls this when an executor subscribes.
	l.activity(0)
	c, err := l.get(id)
	if err != nil {
		return err
	}
	l.mu.Lock()
	deferred := c.quotaDeferred
	c.quotaDeferred = false
	l.mu.Unlock()
	if !deferred || c.cpus <= 0 {
		return nil
	}
	// Only the quota changes: written directly rather than through Set,
	// which rewrites every limit (this runs while an executor waits for
	// its SUBSCRIBED). The container's saved config keeps quota 0, so a
	// restarted agent enforces it again, to the same value.
	quota := int64(max(minCFSQuota, math.Round(c.cpus*cfsPeriod)))
	paths, err := c.cgroupPaths()
	if err != nil {
		return fmt.Errorf("set the cpu quota of container %s: %w", id, err)
	}
	if dir, ok := paths["cpu"]; ok {
		err = cgroups.WriteFile(dir, "cpu.cfs_period_us", strconv.Itoa(cfsPeriod))
		if err == nil {
			err = cgroups.WriteFile(dir, "cpu.cfs_quota_us", strconv.FormatInt(quota, 10))
		}
	} else if dir, ok := paths[""]; ok {
		err = cgroups.WriteFile(dir, "cpu.max", fmt.Sprintf("%d %d", quota, cfsPeriod))
	} else {
		err = errors.New("no cpu cgroup")
	}
	if err != nil {
		return fmt.Errorf("set the cpu quota of container %s: %w", id, err)
	}
	return nil
}

// ensureHostRoot makes dir a private, read-only, non-recursive bind of
// the host's "/" (once per machine; later agents reuse it). libcontainer
// cannot use "/" itself as a container's root (it pivots into the root).
func ensureHostRoot(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	mounted, err := isMountPoint(dir)
	if err != nil || mounted {
		return err
	}
	if err := unix.Mount("/", dir, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind /: %w", err)
	}
	if err := unix.Mount("", dir, "", unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make private: %w", err)
	}
	if err := unix.Mount("", dir, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY, ""); err != nil {
		return fmt.Errorf("make read-only: %w", err)
	}
	return nil
}

// isMountPoint reports whether dir is a mount point of the calling
// thread's mount namespace. Not of /proc/self's, which is the main
// thread's: libcontainer joins a new container's mount namespace from a
// goroutine locked to its thread and lets the thread end with it, but when
// that thread is the process's main thread the runtime cannot end it, and
// the main thread stays in the container's namespace. mountinfo reads
// /proc/thread-self; goroutines never run on the main thread again, so
// every other thread's view is the host's.
func isMountPoint(dir string) (bool, error) {
	infos, err := mountinfo.GetMounts(mountinfo.SingleEntryFilter(dir))
	return len(infos) > 0, err
}

// SandboxTmp is the directory of the sandbox that $TMPDIR names in a
// container on the host's root.
const SandboxTmp = "tmp"

// makeSandboxTmp makes the sandbox's SandboxTmp directory, the task's
// $TMPDIR, owned by its user and sticky like /tmp. The sandbox is new and
// nothing of the task has run yet, so an existing entry that is not a
// directory is refused rather than followed.
func makeSandboxTmp(sandbox string, ident *Identity) error {
	dir := filepath.Join(sandbox, SandboxTmp)
	if err := os.Mkdir(dir, 0o755); err != nil {
		if fi, lerr := os.Lstat(dir); lerr != nil || !fi.IsDir() {
			return fmt.Errorf("make the task's /tmp in its sandbox: %w", err)
		}
	}
	if err := os.Chmod(dir, 0o777|os.ModeSticky); err != nil {
		return fmt.Errorf("make the task's /tmp in its sandbox: %w", err)
	}
	if err := os.Lchown(dir, int(ident.UID), int(ident.GID)); err != nil {
		return fmt.Errorf("make the task's /tmp in its sandbox: %w", err)
	}
	return nil
}

// linuxAvailable tells whether this build has the linux backend.
const linuxAvailable = true

// cgroupsUsable reports whether the memory, cpu and pids controllers are
// mounted (cgroup v1) or enabled (cgroup v2).
func cgroupsUsable() bool {
	if cgroups.IsCgroup2UnifiedMode() {
		b, err := os.ReadFile("/sys/fs/cgroup/cgroup.controllers")
		if err != nil {
			return false
		}
		have := strings.Fields(string(b))
		for _, want := range []string{"memory", "cpu", "pids"} {
			if !contains(have, want) {
				return false
			}
		}
		return true
	}
	for _, want := range []string{"memory", "cpu", "pids"} {
		if _, err := cgroups.FindCgroupMountpoint("", want); err != nil {
			return false
		}
	}
	return true
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func init() {
	Register(IsolationLinux, func(opts Options) (Containerizer, error) { return NewLinux(opts) })
}
