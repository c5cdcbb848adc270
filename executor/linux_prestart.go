//go:build linux && cgo

package executor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/uuid"
	"golang.org/x/sys/unix"
)

// Prestarting. Creating a container and starting the executor in it cost
// tens of milliseconds of a launch's latency (the container's init is a
// fresh process that sets up namespaces, cgroups and mounts, then execs
// the executor, another fresh process). The linux backend therefore
// keeps, for each recent (user, executor command) pair, a few containers
// created ahead of time whose executor has started and waits for its
// environment on a pipe (EnvDeferredFD). A launch that claims one only
// sets the container's limits, swaps the prestarted sandbox into the
// place of the run's directory and writes the environment.
//
// The sandbox swap relies on bind mounts following directories: the
// prestarted container has its sandbox <work>/prestarted/<id> bound at the
// same path. Exchanging that directory with the run's (empty) directory
// on the host moves the mount point's dentry, so inside the container the
// sandbox then appears at the run's path, which is what its environment
// says.

const (
	// maxPrestartTemplates bounds the (user, command) pairs kept ready.
	maxPrestartTemplates = 4
	// discardTimeout bounds destroying a prestarted container.
	discardTimeout = 30 * time.Second
	// closeWait bounds how long Close waits for a prestart under way.
	closeWait = 5 * time.Second
	// prestartQuiet is how long prestarting waits after the last launch
	// activity: creating a container while an executor starts slows that
	// executor more than the prestarted container saves the next launch.
	prestartQuiet = 50 * time.Millisecond
	// prestartRetryAfter is how long a template whose prestart failed is
	// left alone.
	prestartRetryAfter = 30 * time.Second
)

// prestarted is a container created ahead of a launch.
type prestarted struct {
	lc  *linuxContainer
	id  string
	key prestartKey
	// dir is its sandbox until a launch swaps it into place.
	dir string
	// envW is where the launch's environment is written.
	envW *os.File
}

// prestartKey is what a launch must match to use a prestarted container.
type prestartKey struct{ user, argv string }

func keyOf(user string, argv []string) prestartKey {
	return prestartKey{user: user, argv: strings.Join(argv, "\x00")}
}

// prestartTemplate is the launch prestarted containers are made like.
type prestartTemplate struct {
	spec     ContainerSpec
	lastUsed time.Time
	// failedAt is when prestarting one last failed.
	failedAt time.Time
}

// prestartPool is the linux backend's prestarted containers. Guarded by
// Linux.mu.
type prestartPool struct {
	perKey    int
	dir       string
	ready     map[prestartKey][]*prestarted
	claimed   map[string]*prestarted
	templates map[prestartKey]*prestartTemplate
	kick      chan struct{}
	done      chan struct{}
	// launching counts launches under way; lastActivity is when one
	// began or ended, or an executor subscribed.
	launching    int
	lastActivity time.Time
}

func newPrestartPool(perKey int, dir string) *prestartPool {
	return &prestartPool{
		perKey:    perKey,
		dir:       dir,
		ready:     map[prestartKey][]*prestarted{},
		claimed:   map[string]*prestarted{},
		templates: map[prestartKey]*prestartTemplate{},
		kick:      make(chan struct{}, 1),
		done:      make(chan struct{}),
	}
}

var _ Prestarter = (*Linux)(nil)

// Prestart keeps l's prestart count of containers like spec ready.
// Specs with an image are not prestarted.
func (l *Linux) Prestart(spec ContainerSpec) {
	p := l.pool
	if p == nil || spec.Rootfs != "" || len(spec.Argv) == 0 {
		return
	}
	key := keyOf(spec.User, spec.Argv)
	var evicted []*prestarted
	l.mu.Lock()
	t := p.templates[key]
	if t == nil {
		t = &prestartTemplate{}
		p.templates[key] = t
		if len(p.templates) > maxPrestartTemplates {
			var oldest prestartKey
			var at time.Time
			for k, o := range p.templates {
				if k != key && (at.IsZero() || o.lastUsed.Before(at)) {
					oldest, at = k, o.lastUsed
				}
			}
			delete(p.templates, oldest)
			evicted = p.ready[oldest]
			delete(p.ready, oldest)
		}
	}
	t.spec = spec
	t.spec.Argv = append([]string(nil), spec.Argv...)
	t.spec.Env = append([]string(nil), spec.Env...)
	t.spec.Resources = append(spec.Resources[:0:0], spec.Resources...)
	t.lastUsed = time.Now()
	l.mu.Unlock()
	// Callers may hold their own locks: destroying takes a while.
	for _, w := range evicted {
		go l.discard(w)
	}
	p.wake()
}

// Claim takes a ready prestarted container for user and argv.
func (l *Linux) Claim(user string, argv []string) (string, bool) {
	p := l.pool
	if p == nil {
		return "", false
	}
	key := keyOf(user, argv)
	var dead []*prestarted
	var got *prestarted
	l.mu.Lock()
	list := p.ready[key]
	for len(list) > 0 && got == nil {
		w := list[0]
		list = list[1:]
		if w.lc.exited() {
			dead = append(dead, w)
			continue
		}
		got = w
		p.claimed[w.id] = w
	}
	p.ready[key] = list
	if t := p.templates[key]; t != nil {
		t.lastUsed = time.Now()
	}
	if got != nil {
		p.lastActivity = time.Now()
	}
	l.mu.Unlock()
	for _, w := range dead {
		l.log.Warn("a prestarted container died while waiting", "container_id", w.id, "status", w.lc.status.String())
		go l.discard(w)
	}
	p.wake()
	if got == nil {
		return "", false
	}
	return got.id, true
}

// activity records launch activity (delta: +1 a launch begins, -1 it
// ends, 0 anything else).
func (l *Linux) activity(delta int) {
	if l.pool == nil {
		return
	}
	l.mu.Lock()
	l.pool.launching += delta
	l.pool.lastActivity = time.Now()
	l.mu.Unlock()
}

// untilQuiet is how long prestarting should still wait.
func (l *Linux) untilQuiet() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.pool.launching > 0 {
		return prestartQuiet
	}
	return prestartQuiet - time.Since(l.pool.lastActivity)
}

func (p *prestartPool) wake() {
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// takeClaimed removes and returns the claimed container id, if any.
func (l *Linux) takeClaimed(id string) *prestarted {
	if l.pool == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.pool.claimed[id]
	delete(l.pool.claimed, id)
	return w
}

// refill prestarts containers, one at a time, until every template has
// its count ready; it runs until l is closed.
func (l *Linux) refill() {
	p := l.pool
	defer close(p.done)
	for {
		select {
		case <-l.ctx.Done():
			return
		case <-p.kick:
		}
		for l.ctx.Err() == nil {
			key, spec, ok := l.nextPrestart()
			if !ok {
				break
			}
			if wait := l.untilQuiet(); wait > 0 {
				t := time.NewTimer(wait)
				select {
				case <-l.ctx.Done():
				case <-t.C:
				}
				t.Stop()
				continue
			}
			w, err := l.prestart(key, spec)
			l.mu.Lock()
			t := p.templates[key]
			switch {
			case err != nil:
				if t != nil {
					t.failedAt = time.Now()
				}
			case t == nil || l.ctx.Err() != nil:
				// Evicted or closing meanwhile.
			default:
				p.ready[key] = append(p.ready[key], w)
				w = nil
			}
			l.mu.Unlock()
			if err != nil {
				l.log.Warn("cannot prestart a container", "user", key.user, "error", err)
			}
			if w != nil {
				l.discard(w)
			}
		}
	}
}

// nextPrestart picks a template that lacks ready containers.
func (l *Linux) nextPrestart() (prestartKey, ContainerSpec, bool) {
	p := l.pool
	l.mu.Lock()
	defer l.mu.Unlock()
	for key, t := range p.templates {
		if !t.failedAt.IsZero() && time.Since(t.failedAt) < prestartRetryAfter {
			continue
		}
		if len(p.ready[key]) < p.perKey {
			return key, t.spec, true
		}
	}
	return prestartKey{}, ContainerSpec{}, false
}

// prestart creates a container like spec, with its own sandbox under the
// pool's directory, and starts spec.Argv in it; the program waits for
// its environment on the pipe whose write end is returned.
func (l *Linux) prestart(key prestartKey, spec ContainerSpec) (*prestarted, error) {
	ident, err := l.identity(spec.User)
	if err != nil {
		return nil, err
	}
	lim, err := limitsOf(spec, l.pids)
	if err != nil {
		return nil, err
	}
	// Prestarting uses idle cpu only: it must not slow the launches it is
	// meant to speed up.
	lim.idle = true
	argv, err := resolveArgv(spec.Argv)
	if err != nil {
		return nil, err
	}
	id := uuid.NewString()
	dir := filepath.Join(l.pool.dir, id)
	if err := os.Mkdir(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create a prestarted sandbox: %w", err)
	}
	if os.Geteuid() == 0 && ident.UID != 0 {
		if err := os.Chown(dir, int(ident.UID), int(ident.GID)); err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("hand a prestarted sandbox to user %q: %w", ident.Name, err)
		}
	}
	r, w, err := os.Pipe()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	sp := spec
	sp.ID, sp.Dir = id, dir
	sp.Stdout, sp.Stderr = filepath.Join(dir, "stdout"), filepath.Join(dir, "stderr")
	sp.DeferCPUQuota = true
	env := []string{EnvDeferredFD + "=3"}
	for _, kv := range spec.Env {
		if strings.HasPrefix(kv, "PATH=") {
			env = append(env, kv)
		}
	}
	// The executor starts now and waits for its environment: a launch
	// that claims the container waits for neither the container nor the
	// executor's own start-up.
	labels := append(containerLabels(dir, lim), labelPrestarted+"1")
	lc, err := l.newContainer(sp, lim, ident, argv, env, "", containerPaths{}, []*os.File{r}, labels)
	r.Close()
	if err != nil {
		w.Close()
		os.RemoveAll(dir)
		return nil, err
	}
	return &prestarted{lc: lc, id: id, key: key, dir: dir, envW: w}, nil
}

// startPrestarted runs spec in the claimed container w: its limits and
// label become spec's, its sandbox takes the place of spec.Dir, and the
// executor, waiting since the container was created, gets its
// environment.
func (l *Linux) startPrestarted(w *prestarted, spec ContainerSpec, lim limits) (ContainerState, error) {
	if w.key != keyOf(spec.User, spec.Argv) {
		return ContainerState{}, errors.New("the launch's user or command differs from the prestarted container's")
	}
	if spec.Stdout != filepath.Join(spec.Dir, "stdout") || spec.Stderr != filepath.Join(spec.Dir, "stderr") {
		return ContainerState{}, errors.New("the launch's output files are not its sandbox's stdout and stderr")
	}
	if w.lc.exited() {
		return ContainerState{}, fmt.Errorf("the prestarted container's init %s", w.lc.status)
	}
	envBlock, err := encodeEnvBlock(spec.Env)
	if err != nil {
		return ContainerState{}, fmt.Errorf("%w: %w", ErrBadContainerSpec, err)
	}
	cfg := w.lc.c.Config()
	res := lim.cgroupResources()
	deferred := spec.DeferCPUQuota && res.CpuQuota > 0
	if deferred {
		res.CpuQuota = 0
	}
	if res.CpuShares == 0 {
		// No cpus: the kernel's default weight rather than the idle one.
		res.CpuShares = defaultCPUShares
		setCPUWeight(res)
	}
	cg := *cfg.Cgroups // the container's own copy is restored if Set fails
	cg.Resources = res
	cfg.Cgroups = &cg
	cfg.Labels = containerLabels(spec.Dir, lim)
	if err := w.lc.c.Set(cfg); err != nil {
		return ContainerState{}, fmt.Errorf("set the container's limits: %w", err)
	}
	swap := func() error {
		return unix.Renameat2(unix.AT_FDCWD, w.dir, unix.AT_FDCWD, spec.Dir, unix.RENAME_EXCHANGE)
	}
	if err := swap(); err != nil {
		return ContainerState{}, fmt.Errorf("move the prestarted sandbox to %s: %w", spec.Dir, err)
	}
	// The executor is reading: it goes on once the environment is whole.
	_, err = w.envW.Write(envBlock)
	if cerr := w.envW.Close(); err == nil {
		err = cerr
	}
	w.envW = nil
	if err != nil {
		if err := swap(); err != nil {
			l.log.Error("cannot move a failed prestarted sandbox back", "path", spec.Dir, "error", err)
		}
		return ContainerState{}, fmt.Errorf("hand the environment to the prestarted executor: %w", err)
	}
	// What is left at the prestarted path is the run's empty directory.
	if err := os.Remove(w.dir); err != nil {
		l.log.Warn("cannot remove a run's replaced sandbox directory", "path", w.dir, "error", err)
	}
	lc := w.lc
	l.mu.Lock()
	lc.state.Dir = spec.Dir
	lc.memLimit, lc.cpus, lc.quotaDeferred = lim.memBytes, lim.cpus, deferred
	l.containers[spec.ID] = lc
	l.mu.Unlock()
	l.log.Debug("prestarted container started", "container_id", spec.ID, "pid", lc.state.Pid, "user", spec.User,
		"mem_limit", lim.memBytes, "cpus", lim.cpus)
	return lc.state, nil
}

// discard destroys a prestarted container that will not be used.
func (l *Linux) discard(w *prestarted) {
	if w.envW != nil {
		w.envW.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), discardTimeout)
	defer cancel()
	if err := l.kill(ctx, w.lc, w.id); err != nil {
		l.log.Warn("cannot destroy a prestarted container", "container_id", w.id, "error", err)
	}
	os.RemoveAll(w.dir)
}

// closePool stops prestarting and destroys every container not launched.
func (l *Linux) closePool() {
	p := l.pool
	if p == nil {
		return
	}
	// A prestart under way at idle cpu weight on a busy machine can take
	// long: it is not waited for past a bound, and discards its container
	// itself once it sees l closed.
	t := time.NewTimer(closeWait)
	select {
	case <-p.done:
	case <-t.C:
		l.log.Warn("a container is still being prestarted; not waiting for it")
	}
	t.Stop()
	l.mu.Lock()
	var all []*prestarted
	for _, list := range p.ready {
		all = append(all, list...)
	}
	for _, w := range p.claimed {
		all = append(all, w)
	}
	p.ready, p.claimed = map[prestartKey][]*prestarted{}, map[string]*prestarted{}
	l.mu.Unlock()
	for _, w := range all {
		l.discard(w)
	}
}

// Prestarted lists the prestarted containers ready for a launch.
func (l *Linux) Prestarted() []string {
	if l.pool == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	var ids []string
	for _, list := range l.pool.ready {
		for _, w := range list {
			ids = append(ids, w.id)
		}
	}
	return ids
}

// isPrestarted reports whether id is a prestarted container not launched
// yet. Caller holds l.mu.
func (l *Linux) isPrestarted(id string) bool {
	if l.pool == nil {
		return false
	}
	if _, ok := l.pool.claimed[id]; ok {
		return true
	}
	for _, list := range l.pool.ready {
		for _, w := range list {
			if w.id == id {
				return true
			}
		}
	}
	return false
}
