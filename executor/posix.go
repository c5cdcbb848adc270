package executor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/sys/unix"
)

// IsolationPosix names the posix backend.
const IsolationPosix = "posix"

// EnvPosixContainer is in the environment of every process a posix
// container starts with: the path of the container's state file. It is how
// Recover finds a container whose state file was never written (the agent
// died between starting the first process and recording it) and processes
// that left their container's session.
const EnvPosixContainer = "MESH_POSIX_CONTAINER"

// recoveredPollInterval is how often a recovered container's first
// process, which is not this process's child and so cannot be waited for,
// is checked for exit.
const recoveredPollInterval = 200 * time.Millisecond

// Posix is the "posix" containerizer: each container is a new session
// (and so a new process group) with no resource isolation. Every process
// the executor starts stays in the session unless it calls setsid itself,
// which is how Destroy finds them all.
type Posix struct {
	opts Options
	log  hclog.Logger

	// ctx ends the goroutines that watch recovered containers on Close.
	ctx    context.Context
	cancel context.CancelFunc

	mu         sync.Mutex
	containers map[string]*posixContainer
}

var _ Containerizer = (*Posix)(nil)

// posixContainer is one container. done closes when its first process
// has exited, after which status holds how.
type posixContainer struct {
	state ContainerState
	exitWatch
}

// NewPosix returns a posix containerizer keeping its state files in
// opts.StateDir.
func NewPosix(opts Options) (*Posix, error) {
	if opts.Logger == nil {
		opts.Logger = hclog.NewNullLogger()
	}
	if err := os.MkdirAll(opts.StateDir, 0o700); err != nil {
		return nil, fmt.Errorf("create containerizer state dir: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Posix{
		opts:       opts,
		log:        opts.Logger.Named("posix"),
		ctx:        ctx,
		cancel:     cancel,
		containers: map[string]*posixContainer{},
	}, nil
}

// Name returns "posix".
func (p *Posix) Name() string { return IsolationPosix }

// Close stops watching recovered containers. Containers keep running.
func (p *Posix) Close() error {
	p.cancel()
	return nil
}

func (p *Posix) statePath(id string) string {
	return filepath.Join(p.opts.StateDir, id+".json")
}

// Launch starts spec.Argv as the leader of a new session.
func (p *Posix) Launch(ctx context.Context, spec ContainerSpec) (ContainerState, error) {
	if err := validContainerID(spec.ID); err != nil {
		return ContainerState{}, err
	}
	if len(spec.Argv) == 0 || spec.Argv[0] == "" {
		return ContainerState{}, errors.New("container needs a command to run")
	}
	if len(spec.Volumes) > 0 || len(spec.Rlimits) > 0 || len(spec.Capabilities) > 0 {
		return ContainerState{}, fmt.Errorf("%w: posix isolation cannot mount volumes, set rlimits or grant capabilities (the agent needs -isolation linux)", ErrBadContainerSpec)
	}
	p.mu.Lock()
	_, dup := p.containers[spec.ID]
	p.mu.Unlock()
	if dup {
		return ContainerState{}, fmt.Errorf("container %s already exists", spec.ID)
	}

	cred, ident, err := credential(spec.User)
	if err != nil {
		return ContainerState{}, err
	}
	path := spec.Argv[0]
	if !strings.Contains(path, "/") {
		if path, err = exec.LookPath(path); err != nil {
			return ContainerState{}, fmt.Errorf("find executor %q: %w", spec.Argv[0], err)
		}
	}
	stdout, err := openOutput(spec.Stdout, cred)
	if err != nil {
		return ContainerState{}, err
	}
	defer stdout.Close()
	stderr, err := openOutput(spec.Stderr, cred)
	if err != nil {
		return ContainerState{}, err
	}
	defer stderr.Close()

	env := append(spec.Env[:len(spec.Env):len(spec.Env)], EnvPosixContainer+"="+p.statePath(spec.ID))
	cmd := &exec.Cmd{
		Path:   path,
		Args:   spec.Argv,
		Env:    env,
		Dir:    spec.Dir,
		Stdout: stdout,
		Stderr: stderr,
		// Setsid also makes the process its group's leader; no
		// Pdeathsig, because containers must outlive the agent.
		SysProcAttr: &syscall.SysProcAttr{Setsid: true, Credential: cred},
	}
	if err := cmd.Start(); err != nil {
		if ident != nil && cred != nil {
			return ContainerState{}, fmt.Errorf("start %s as user %q: %w", spec.Argv[0], ident.Name, err)
		}
		return ContainerState{}, fmt.Errorf("start %s: %w", spec.Argv[0], err)
	}
	st := ContainerState{ID: spec.ID, Pid: cmd.Process.Pid, Dir: spec.Dir}
	st.StartTime, _ = processStartTime(st.Pid)
	c := &posixContainer{state: st, exitWatch: newExitWatch(ExitStatus{})}
	p.mu.Lock()
	p.containers[spec.ID] = c
	p.mu.Unlock()

	if err := writeJSONAtomic(p.statePath(spec.ID), st); err != nil {
		// Without the state file the container cannot be recovered after
		// an agent restart; that is worth a warning, not a failed launch.
		p.log.Warn("cannot record container state", "container_id", spec.ID, "error", err)
	}
	go func() {
		err := cmd.Wait()
		c.status = exitStatusOf(cmd.ProcessState, err)
		close(c.done)
		p.log.Debug("container process exited", "container_id", spec.ID, "pid", st.Pid, "status", c.status.String())
	}()
	p.log.Debug("container launched", "container_id", spec.ID, "pid", st.Pid)
	return st, nil
}

// openOutput opens (creating or appending) a file for a container's
// standard output or error, owned by the container's user.
func openOutput(path string, cred *syscall.Credential) (*os.File, error) {
	if path == "" {
		return os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open container output: %w", err)
	}
	if cred != nil {
		if err := f.Chown(int(cred.Uid), int(cred.Gid)); err != nil {
			f.Close()
			return nil, fmt.Errorf("hand %s to uid %d: %w", path, cred.Uid, err)
		}
	}
	return f, nil
}

// exitStatusOf turns what exec reports into an ExitStatus.
func exitStatusOf(ps *os.ProcessState, err error) ExitStatus {
	if ps == nil {
		return ExitStatus{Code: -1, Unknown: true}
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok {
		if ws.Signaled() {
			return ExitStatus{Code: -1, Signal: ws.Signal()}
		}
		return ExitStatus{Code: ws.ExitStatus()}
	}
	return ExitStatus{Code: ps.ExitCode()}
}

func (p *Posix) get(id string) (*posixContainer, error) {
	return lookup(&p.mu, p.containers, id)
}

// Wait blocks until the container's first process exits.
func (p *Posix) Wait(ctx context.Context, id string) (ExitStatus, error) {
	c, err := p.get(id)
	if err != nil {
		return ExitStatus{}, err
	}
	return c.wait(ctx)
}

// Signal sends sig to the container's first process group.
func (p *Posix) Signal(id string, sig syscall.Signal) error {
	c, err := p.get(id)
	if err != nil {
		return err
	}
	if c.exited() {
		return nil
	}
	if err := syscall.Kill(-c.state.Pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("signal container %s: %w", id, err)
	}
	return nil
}

// Destroy sends SIGTERM to the first process's group, waits up to grace
// for the first process to exit, then SIGKILLs every process left in the
// session and waits for them to be gone.
func (p *Posix) Destroy(ctx context.Context, id string, grace time.Duration) error {
	c, err := p.get(id)
	if errors.Is(err, ErrUnknownContainer) {
		return nil
	}
	pid := c.state.Pid
	select {
	case <-c.done:
	default:
		if err := syscall.Kill(-pid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
			p.log.Warn("cannot send SIGTERM to container", "container_id", id, "error", err)
		}
		t := time.NewTimer(grace)
		select {
		case <-c.done:
		case <-t.C:
		case <-ctx.Done():
		}
		t.Stop()
	}
	// Kill whatever is left, then make sure it is gone: the first
	// process's group and every other group of its session.
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		left := p.sweep(c)
		select {
		case <-c.done:
			if left == 0 {
				p.forget(id)
				return nil
			}
		default:
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return fmt.Errorf("destroy container %s: %w", id, ctx.Err())
		}
	}
}

// sweep SIGKILLs every process of the container's session and returns
// how many it found.
func (p *Posix) sweep(c *posixContainer) int {
	pid := c.state.Pid
	select {
	case <-c.done:
	default:
		_ = syscall.Kill(-pid, syscall.SIGKILL)
	}
	n := 0
	for _, m := range sessionMembers(pid) {
		if m == pid {
			// The leader itself is handled above (and, once it has
			// exited, a process with its pid is someone else's).
			continue
		}
		n++
		_ = syscall.Kill(m, syscall.SIGKILL)
	}
	return n
}

func (p *Posix) forget(id string) {
	p.mu.Lock()
	delete(p.containers, id)
	p.mu.Unlock()
	if err := os.Remove(p.statePath(id)); err != nil && !errors.Is(err, os.ErrNotExist) {
		p.log.Warn("cannot remove container state", "container_id", id, "error", err)
	}
}

// Recover reads the state files of containers launched by an earlier
// agent process and returns those with a process still alive: their first
// process, or (when that has exited) leftovers in their session. State
// files of containers that are completely gone are removed.
func (p *Posix) Recover(ctx context.Context) ([]ContainerState, error) {
	entries, err := os.ReadDir(p.opts.StateDir)
	if err != nil {
		return nil, fmt.Errorf("read containerizer state: %w", err)
	}
	var out []ContainerState
	for _, e := range entries {
		id, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || e.IsDir() {
			continue
		}
		var st ContainerState
		b, err := os.ReadFile(filepath.Join(p.opts.StateDir, e.Name()))
		if err == nil {
			err = json.Unmarshal(b, &st)
		}
		if err != nil || st.ID != id || st.Pid <= 0 {
			p.log.Warn("ignoring unreadable container state", "file", e.Name(), "error", err)
			continue
		}
		p.mu.Lock()
		_, known := p.containers[id]
		p.mu.Unlock()
		if known {
			continue
		}
		alive := processAlive(st.Pid, st.StartTime)
		if !alive && !p.sessionSurvives(st) {
			p.forget(id)
			continue
		}
		st.Recovered = true
		c := &posixContainer{state: st, exitWatch: newExitWatch(ExitStatus{Code: -1, Unknown: true})}
		p.mu.Lock()
		p.containers[id] = c
		p.mu.Unlock()
		if alive {
			go c.pollUntilGone(p.ctx, c.state.Pid, c.state.StartTime)
		} else {
			close(c.done)
		}
		p.log.Info("recovered container", "container_id", id, "pid", st.Pid, "running", alive)
		out = append(out, st)
	}
	for id, pids := range p.scanProcesses() {
		if st, ok := p.recoverUnrecorded(id, pids); ok {
			out = append(out, st)
		}
	}
	return out, nil
}

// scanProcesses finds, by container id, the live processes whose
// environment places them in a container of this state directory. A
// process whose environment cannot be read (another user's, a
// non-dumpable one, unless this process is root) is not found; its
// session's other processes may be.
func (p *Posix) scanProcesses() map[string][]int {
	names, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	prefix := EnvPosixContainer + "=" + filepath.Clean(p.opts.StateDir) + string(filepath.Separator)
	self := os.Getpid()
	out := map[string][]int{}
	for _, n := range names {
		pid, err := strconv.Atoi(n.Name())
		if err != nil || pid == self {
			continue
		}
		b, err := os.ReadFile("/proc/" + n.Name() + "/environ")
		if err != nil {
			continue
		}
		for _, kv := range bytes.Split(b, []byte{0}) {
			rest, ok := bytes.CutPrefix(kv, []byte(prefix))
			if !ok {
				continue
			}
			id, ok := strings.CutSuffix(string(rest), ".json")
			if ok && !strings.Contains(id, string(filepath.Separator)) && validContainerID(id) == nil {
				out[id] = append(out[id], pid)
			}
			break
		}
	}
	return out
}

// recoverUnrecorded takes back a container that scanProcesses found and
// that has no state file: its first process is the leader of the session
// its processes are in. Its state file is written, so that it is known
// from now on.
func (p *Posix) recoverUnrecorded(id string, pids []int) (ContainerState, bool) {
	p.mu.Lock()
	_, known := p.containers[id]
	p.mu.Unlock()
	if known {
		return ContainerState{}, false
	}
	leader := 0
	for _, pid := range pids {
		sid, err := unix.Getsid(pid)
		if err != nil {
			continue
		}
		if leader == 0 || sid == pid {
			leader = sid
		}
	}
	if leader <= 0 {
		return ContainerState{}, false
	}
	st := ContainerState{ID: id, Pid: leader, Recovered: true}
	st.StartTime, _ = processStartTime(leader)
	st.Dir, _ = os.Readlink("/proc/" + strconv.Itoa(leader) + "/cwd")
	sid, err := unix.Getsid(leader)
	alive := err == nil && sid == leader && processAlive(leader, st.StartTime)
	if !alive && !p.sessionSurvives(st) {
		return ContainerState{}, false
	}
	p.log.Warn("found the processes of a container that was never recorded (the agent died while launching it); taking it back",
		"container_id", id, "pid", leader, "running", alive, "processes", len(pids))
	if err := writeJSONAtomic(p.statePath(id), st); err != nil {
		p.log.Warn("cannot record container state", "container_id", id, "error", err)
	}
	c := &posixContainer{state: st, exitWatch: newExitWatch(ExitStatus{Code: -1, Unknown: true})}
	p.mu.Lock()
	p.containers[id] = c
	p.mu.Unlock()
	if alive {
		go c.pollUntilGone(p.ctx, c.state.Pid, c.state.StartTime)
	} else {
		close(c.done)
	}
	return st, true
}

// sessionSurvives reports whether processes of a dead leader's session
// are still around. If a process now holds the leader's pid, the pid was
// reused, so the session is gone (Linux does not reuse a pid that is still
// a session id).
func (p *Posix) sessionSurvives(st ContainerState) bool {
	if start, err := processStartTime(st.Pid); err == nil && start != st.StartTime {
		return false
	}
	for _, m := range sessionMembers(st.Pid) {
		if m != st.Pid {
			return true
		}
	}
	return false
}

// validContainerID accepts ids that are safe as file names.
func validContainerID(id string) error {
	if id == "" || id == "." || id == ".." || strings.ContainsAny(id, "/\\\x00") {
		return fmt.Errorf("invalid container id %q", id)
	}
	return nil
}

// writeJSONAtomic writes v as JSON to path through a synced temporary
// file and a rename, so a crash leaves either the old or the new content.
func writeJSONAtomic(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return nil
}
