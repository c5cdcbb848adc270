// Package executor runs executors in containers on an agent and holds
// mesh's built-in command executor (what `mesh executor` runs).
//
// A Containerizer starts one container per executor: the executor process
// is the container's first process and everything it starts stays inside
// the container, so destroying the container kills the whole tree.
// Backends are chosen by isolation name from a registry: "posix" (a plain
// session and process group, no resource isolation) is built in; a
// "linux" backend (libcontainer: cgroups, namespaces, rootfs) registers
// itself next to it.
//
// Containers may outlive the agent process. A backend keeps enough state
// in its state directory for a restarted agent to find them again through
// Recover.
package executor

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"

	"mesh/mesos"
)

// ErrUnknownContainer is returned for a container id the containerizer
// does not know (never launched, or already destroyed).
var ErrUnknownContainer = errors.New("unknown container")

// ErrUnknownIsolation is returned by New for an isolation name no backend
// registered.
var ErrUnknownIsolation = errors.New("unknown isolation")

// ContainerSpec says what to run in a new container.
type ContainerSpec struct {
	// ID names the container; unique on the agent (a UUID).
	ID string
	// Argv is the first process's command line; Argv[0] is the program.
	Argv []string
	// Env is the complete environment, "NAME=value" entries.
	Env []string
	// Dir is the working directory: the sandbox.
	Dir string
	// Stdout and Stderr are files the first process writes to; they are
	// created if missing and appended to otherwise.
	Stdout, Stderr string
	// User, when set, is the user the container runs as. It must exist.
	// The switch happens only when the agent runs as root.
	User string
	// Resources are the resources of the executor and its tasks; backends
	// with isolation turn them into limits.
	Resources mesos.Resources
	// DeferCPUQuota starts the container with cpu shares but without its
	// CFS quota, until QuotaEnforcer.EnforceCPUQuota is called: the agent
	// does so when the executor subscribes, before any task can start, so
	// that the executor's own start-up is not throttled by a task's tiny
	// cpus.
	DeferCPUQuota bool
	// Rootfs, when set, is a local root filesystem image for the task: a
	// directory or a .tar / .tar.gz of one. Only the linux backend runs
	// images; the executor itself keeps the host's root.
	Rootfs string
	// Volumes are host files or directories bound into the container.
	// Only the linux backend mounts them.
	Volumes []Volume
	// Rlimits are the container's resource limits (setrlimit(2)); only
	// the linux backend sets them.
	Rlimits []Rlimit
	// Capabilities (CAP_ names) are granted to the task's processes on
	// top of what its user has (as ambient capabilities for a user other
	// than root); only the linux backend grants them.
	Capabilities []string
}

// Rlimit is one setrlimit(2) limit.
type Rlimit struct {
	// Name is the resource, e.g. "RLIMIT_NOFILE".
	Name string
	// Soft and Hard are the limits; math.MaxUint64 is unlimited.
	Soft, Hard uint64
}

// Volume is a host file or directory a container sees at Target.
type Volume struct {
	// Source is an absolute host path, or a path relative to the sandbox
	// (a directory, made for the task's user if missing).
	Source string
	// Target is where the container sees it: an absolute path of the
	// container's root filesystem, or a path relative to the sandbox.
	Target string
	// ReadOnly mounts it read-only.
	ReadOnly bool
	// InHostRoot places an absolute Target in the host's root as the
	// executor sees it, even when the task has an image of its own.
	InHostRoot bool
}

// ContainerState describes a running container.
type ContainerState struct {
	ID string `json:"id"`
	// Pid is the first process's pid on the host.
	Pid int `json:"pid"`
	// StartTime is the first process's start time in clock ticks since
	// boot, which tells it apart from a later process with the same pid.
	StartTime uint64 `json:"start_time"`
	// Dir is the container's working directory.
	Dir string `json:"dir,omitempty"`
	// Recovered is true for a container found again by Recover rather
	// than launched by this process.
	Recovered bool `json:"-"`
}

// ExitStatus is how a container's first process ended.
type ExitStatus struct {
	// Code is the exit code, or -1 when the process was killed by a
	// signal or its status could not be learned.
	Code int `json:"code"`
	// Signal is the signal that killed the process, 0 if none.
	Signal syscall.Signal `json:"signal,omitempty"`
	// Unknown is true when the process was not this agent's child (a
	// recovered container) so its status could not be collected.
	Unknown bool `json:"unknown,omitempty"`
}

// String says how the process ended, as in "exited with status 1" or
// "terminated with signal SIGKILL".
func (s ExitStatus) String() string {
	switch {
	case s.Unknown:
		return "exited with an unknown status"
	case s.Signal != 0:
		return "terminated with signal " + SignalName(s.Signal)
	default:
		return fmt.Sprintf("exited with status %d", s.Code)
	}
}

// Success reports whether the process exited with status 0.
func (s ExitStatus) Success() bool { return !s.Unknown && s.Signal == 0 && s.Code == 0 }

// Containerizer launches, supervises and destroys containers.
// Implementations are safe for concurrent use.
type Containerizer interface {
	// Name returns the isolation name, e.g. "posix".
	Name() string
	// Launch starts a container. It returns once the first process runs.
	Launch(ctx context.Context, spec ContainerSpec) (ContainerState, error)
	// Wait blocks until the container's first process exits (or ctx
	// ends) and returns how it ended. It may be called more than once.
	Wait(ctx context.Context, id string) (ExitStatus, error)
	// Signal sends sig to the first process's process group.
	Signal(id string, sig syscall.Signal) error
	// Destroy stops every process of the container: SIGTERM to the first
	// process's group, SIGKILL to everything left after grace; then it
	// releases the container's resources and forgets it. Destroying an
	// unknown container is not an error.
	Destroy(ctx context.Context, id string, grace time.Duration) error
	// Recover finds the containers that survived an agent restart. They
	// can then be waited on, signalled and destroyed like launched ones.
	Recover(ctx context.Context) ([]ContainerState, error)
	// Close releases what the containerizer holds in this process. The
	// containers keep running.
	Close() error
}

// Prestarter is a containerizer that creates containers ahead of the
// launches that will use them, so that a launch only has to start its
// container's first process. A prestarted container's first process gets
// only PATH and EnvDeferredFD in its environment and must call
// LoadDeferredEnv before reading the rest: only programs that do (mesh's
// executor) may be prestarted.
type Prestarter interface {
	// Prestart keeps containers like spec (its user, command line and
	// resources) ready for later launches; spec's ID, Dir, Env and output
	// files are not used.
	Prestart(spec ContainerSpec)
	// Claim takes a prestarted container for user and argv and returns
	// its ID. A Launch with that ID and the claimed user and argv starts
	// it; spec.Dir must then be an empty directory, which the container's
	// own sandbox replaces. Claim returns false when none is ready.
	Claim(user string, argv []string) (id string, ok bool)
	// Prestarted lists the ids of the containers ready for a launch.
	Prestarted() []string
}

// Options configure a containerizer backend.
type Options struct {
	// StateDir is where the backend keeps what it needs to recover its
	// containers after an agent restart. Required.
	StateDir string
	// Logger receives the backend's logs.
	Logger hclog.Logger
	// Linux configures the linux backend; other backends ignore it.
	Linux LinuxOptions
}

// Factory builds a containerizer backend.
type Factory func(opts Options) (Containerizer, error)

var (
	registryMu sync.Mutex
	registry   = map[string]Factory{}
)

// Register makes a backend available under an isolation name. It panics
// if the name is taken, as a duplicate registration is a programming
// error.
func Register(isolation string, f Factory) {
	registryMu.Lock()
	defer registryMu.Unlock()
	if _, dup := registry[isolation]; dup {
		panic("executor: isolation " + isolation + " registered twice")
	}
	registry[isolation] = f
}

// Isolations lists the registered isolation names, sorted.
func Isolations() []string {
	registryMu.Lock()
	defer registryMu.Unlock()
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// New builds the containerizer registered under isolation.
func New(isolation string, opts Options) (Containerizer, error) {
	registryMu.Lock()
	f, ok := registry[isolation]
	registryMu.Unlock()
	if !ok {
		return nil, fmt.Errorf("%w %q: want one of %v", ErrUnknownIsolation, isolation, Isolations())
	}
	if opts.Logger == nil {
		opts.Logger = hclog.NewNullLogger()
	}
	if opts.StateDir == "" {
		return nil, errors.New("containerizer needs a state directory")
	}
	return f(opts)
}

func init() {
	Register(IsolationPosix, func(opts Options) (Containerizer, error) { return NewPosix(opts) })
}

// exitWatch is what every backend keeps of a container's first process:
// done is closed when it has exited, and status is then its exit status.
type exitWatch struct {
	done   chan struct{}
	status ExitStatus
}

// newExitWatch returns a watch whose status is initial until the process
// exits.
func newExitWatch(initial ExitStatus) exitWatch {
	return exitWatch{done: make(chan struct{}), status: initial}
}

// pollUntilGone polls a recovered container's first process (pid, started
// at startTime) until it is gone, then marks it exited; it is not this
// process's child and cannot be waited for. It returns early when ctx ends.
func (w *exitWatch) pollUntilGone(ctx context.Context, pid int, startTime uint64) {
	t := time.NewTicker(recoveredPollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if !processAlive(pid, startTime) {
			close(w.done)
			return
		}
	}
}

// wait blocks until the first process has exited or ctx ends.
func (w *exitWatch) wait(ctx context.Context) (ExitStatus, error) {
	select {
	case <-w.done:
		return w.status, nil
	case <-ctx.Done():
		return ExitStatus{}, ctx.Err()
	}
}

// exited reports whether the first process has exited.
func (w *exitWatch) exited() bool {
	select {
	case <-w.done:
		return true
	default:
		return false
	}
}

// lookup returns the container id of a backend's map, guarded by mu.
func lookup[T any](mu *sync.Mutex, m map[string]T, id string) (T, error) {
	mu.Lock()
	defer mu.Unlock()
	c, ok := m[id]
	if !ok {
		var zero T
		return zero, fmt.Errorf("%w %s", ErrUnknownContainer, id)
	}
	return c, nil
}
