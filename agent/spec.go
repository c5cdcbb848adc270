package agent

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"mesh/executor"
	"mesh/mesos"
)

// containerPlan is what a run's container is made of, read from the run's
// kind, its ExecutorInfo and its first task.
type containerPlan struct {
	// info is the ExecutorInfo the run records: the framework's for a
	// custom executor, one made here for the command executor.
	info mesos.ExecutorInfo
	user string
	argv []string
	// opts are the container's volumes, rlimits, capabilities and rootfs.
	opts containerOptions
	// persistent are the task's persistent volumes; links are those
	// linked into the sandbox, under an isolation that mounts nothing.
	persistent []executor.Volume
	links      []executor.Volume
	// fetcherCache is set when the task's URIs use the fetcher cache,
	// which is mounted in the container (containerSpec adds it).
	fetcherCache bool
}

// plain reports whether the container is one of the host's root
// filesystem with nothing more: one a prestarted container can be.
func (p containerPlan) plain() bool { return p.opts.plain() && !p.fetcherCache && len(p.links) == 0 }

// planContainer turns a task (and, for a custom executor, its
// ExecutorInfo) into the makings of its run's container, or says why it
// cannot run here. It is pure: the launch calls it to refuse a task
// before making anything for it, and containerSpec calls it again to
// build the spec, for a fresh launch and for a run recovery launches.
// A new kind of run (task groups) is one more case here.
func (a *Agent) planContainer(kind runKind, exec mesos.ExecutorInfo, t mesos.TaskInfo, fwUser string) (containerPlan, error) {
	p := containerPlan{user: fwUser}
	var ctr *mesos.ContainerInfo
	var cmd *mesos.CommandInfo
	switch kind {
	case kindCommand:
		cmd, ctr = t.Command, t.Container
		p.fetcherCache = usesFetcherCache(t.Command)
		p.argv = append([]string(nil), a.cfg.ExecutorCommand...)
		p.info = mesos.ExecutorInfo{
			ExecutorID: mesos.ExecutorID{Value: t.TaskID.Value},
			Name:       fmt.Sprintf("Command Executor (Task: %s) (Command: %s)", t.TaskID.Value, commandSummary(t.Command)),
			Command:    &mesos.CommandInfo{Shell: new(bool), Value: p.argv[0], Arguments: p.argv},
		}
	case kindCustom:
		cmd, ctr = exec.Command, exec.Container
		p.argv = commandArgv(exec.Command)
		p.info = exec
	case kindGroup:
		ctr = groupContainer(exec.Container, a.containerizer.Name())
		p.argv = append([]string(nil), a.cfg.ExecutorCommand...)
		p.info = exec
	default:
		return p, fmt.Errorf("unknown kind of run %d", kind)
	}
	if cmd != nil && cmd.User != "" {
		p.user = cmd.User
	}
	rootfs, err := a.taskRootfs(t, kind == kindCommand, exec)
	if err != nil {
		return p, err
	}
	if p.opts, err = a.containerOptions(ctr); err != nil {
		return p, err
	}
	p.opts.rootfs = rootfs
	canMount := a.containerizer.Name() == executor.IsolationLinux
	vols, err := a.volumes.Mounts(append(append(mesos.Resources{}, t.Resources...), exec.Resources...), canMount)
	if err != nil {
		return p, err
	}
	p.persistent = vols
	if canMount {
		p.opts.volumes = append(p.opts.volumes, vols...)
	} else {
		p.links = vols
	}
	if err := resolvableEnv(cmd); err != nil {
		return p, err
	}
	return p, nil
}

// containerSpec is the one place a run's container spec is built, from
// the run and its first task t: for a fresh launch and for a run an
// earlier agent checkpointed but never launched. It gives a command task
// whose URIs use the fetcher cache its user's cache directory.
func (a *Agent) containerSpec(r *runner, t mesos.TaskInfo) (executor.ContainerSpec, error) {
	plan, err := a.planContainer(r.kind, r.info, t, r.user)
	if err != nil {
		return executor.ContainerSpec{}, err
	}
	cacheDir, err := a.withFetcherCache(plan.fetcherCache, r.user, &plan.opts)
	if err != nil {
		return executor.ContainerSpec{}, err
	}
	if err := linkVolumes(r.directory, plan.links); err != nil {
		return executor.ContainerSpec{}, err
	}
	if err := handVolumes(plan.persistent, r.user); err != nil {
		return executor.ContainerSpec{}, err
	}
	// The raw resources, not their sum: a backend with limits must see a
	// "mem" of 0 to refuse it.
	resources := append(append(mesos.Resources{}, t.Resources...), r.info.Resources...)
	switch r.kind {
	case kindGroup:
		resources = r.groupResources()
	case kindCustom:
		resources = r.customResources()
	}
	spec := executor.ContainerSpec{
		Rootfs:        plan.opts.rootfs,
		Volumes:       plan.opts.volumes,
		Rlimits:       plan.opts.rlimits,
		Capabilities:  plan.opts.caps,
		DeferCPUQuota: true,
		ID:            r.containerID,
		Argv:          plan.argv,
		Env:           a.executorEnv(r),
		Dir:           r.directory,
		Stdout:        filepath.Join(r.directory, "stdout"),
		Stderr:        filepath.Join(r.directory, "stderr"),
		User:          r.user,
		Resources:     resources,
	}
	if cacheDir != "" {
		spec.Env = append(spec.Env, executor.EnvFetcherCache+"="+cacheDir)
	}
	return spec, nil
}

// taskRootfs returns the local rootfs image (a directory or a tarball) a
// task asks for, "" if none, or why the task cannot run here.
func (a *Agent) taskRootfs(t mesos.TaskInfo, isCommand bool, execInfo mesos.ExecutorInfo) (string, error) {
	iso := a.containerizer.Name()
	if img := imageOf(execInfo.Container); img != "" {
		return "", fmt.Errorf("%s isolation cannot run custom executors in container images (executor asks for %s)", iso, img)
	}
	img := imageOf(t.Container)
	if img == "" {
		return "", nil
	}
	if iso != executor.IsolationLinux {
		return "", fmt.Errorf("%s isolation cannot run container images (task asks for %s)", iso, img)
	}
	if !isCommand {
		return "", fmt.Errorf("only command tasks can have a container image (task asks for %s)", img)
	}
	path := localImagePath(t.Container)
	if path == "" {
		return "", fmt.Errorf("only local rootfs images are supported: give an absolute path to a directory or a .tar/.tar.gz as the image name (task asks for %s)", img)
	}
	return path, nil
}

// localImagePath is the image name of a MESOS container when it is a
// local path ("/path" or "file:///path"), else "".
func localImagePath(c *mesos.ContainerInfo) string {
	if c == nil || c.Type != mesos.ContainerTypeMesos || c.Mesos == nil || c.Mesos.Image == nil {
		return ""
	}
	var name string
	switch img := c.Mesos.Image; {
	case img.Docker != nil:
		name = img.Docker.Name
	case img.Appc != nil:
		name = img.Appc.Name
	}
	name = strings.TrimPrefix(name, "file://")
	if !filepath.IsAbs(name) {
		return ""
	}
	return filepath.Clean(name)
}

// imageOf names the image a ContainerInfo asks for, "" if none.
func imageOf(c *mesos.ContainerInfo) string {
	if c == nil {
		return ""
	}
	if c.Type == "DOCKER" {
		return "a DOCKER container"
	}
	if c.Mesos != nil && c.Mesos.Image != nil {
		img := c.Mesos.Image
		switch {
		case img.Docker != nil:
			return "image " + img.Docker.Name
		case img.Appc != nil:
			return "image " + img.Appc.Name
		}
		return "an image"
	}
	return ""
}

// withFetcherCache gives a command task whose URIs are marked `cache` its
// user's fetcher cache, writable in its container, and returns the cache
// directory ("" when the task uses none).
func (a *Agent) withFetcherCache(uses bool, user string, opts *containerOptions) (string, error) {
	if !uses {
		return "", nil
	}
	dir, err := a.userFetcherCache(user)
	if err != nil {
		return "", err
	}
	if a.containerizer.Name() == executor.IsolationLinux {
		opts.volumes = append(opts.volumes, executor.Volume{Source: dir, Target: dir, InHostRoot: true})
	}
	a.trimFetcherCache()
	return dir, nil
}

// shutdownGrace is how long an executor has after SHUTDOWN.
func (a *Agent) shutdownGrace(info mesos.ExecutorInfo) time.Duration {
	if info.ShutdownGracePeriod != nil && info.ShutdownGracePeriod.Nanoseconds > 0 {
		return time.Duration(info.ShutdownGracePeriod.Nanoseconds)
	}
	return a.cfg.ExecutorShutdownGracePeriod
}

// pointLatest makes runs/latest point at the run directory dir,
// atomically.
func pointLatest(dir string) error {
	runs := filepath.Dir(dir)
	tmp := filepath.Join(runs, ".latest-"+filepath.Base(dir))
	if err := os.Symlink(filepath.Base(dir), tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(runs, "latest")); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// prepareSandboxFor hands the sandbox to the user the executor runs as,
// when the agent is root and that user is someone else.
func prepareSandboxFor(dir, user string) error {
	id, err := executor.LookupUser(user)
	if err != nil {
		return err
	}
	if os.Geteuid() != 0 || uint32(os.Geteuid()) == id.UID {
		return nil
	}
	if err := os.Chown(dir, int(id.UID), int(id.GID)); err != nil {
		return fmt.Errorf("hand the sandbox to user %q: %w", user, err)
	}
	return nil
}

// commandArgv is how a custom executor's CommandInfo is run.
func commandArgv(c *mesos.CommandInfo) []string {
	if c.IsShell() {
		return []string{"/bin/sh", "-c", c.Value}
	}
	if len(c.Arguments) > 0 {
		return append([]string(nil), c.Arguments...)
	}
	return []string{c.Value}
}

// commandSummary renders a task's command for the executor's name.
func commandSummary(c *mesos.CommandInfo) string {
	if c.IsShell() {
		return "sh -c '" + c.Value + "'"
	}
	return "[" + strings.Join(commandArgv(c), ", ") + "]"
}

// executorEnv is an executor's whole environment. Executors do not
// inherit the agent's environment (it may hold secrets); they get PATH,
// the Mesos variables, Config.ExecutorEnv and, for a custom executor, its
// command's variables.
func (a *Agent) executorEnv(run *runner) []string {
	path := os.Getenv("PATH")
	if path == "" {
		path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	}
	env := []string{
		"PATH=" + path,
		executor.EnvFrameworkID + "=" + run.fwID,
		executor.EnvExecutorID + "=" + run.id,
		executor.EnvAgentEndpoint + "=" + a.endpoint,
		executor.EnvDirectory + "=" + run.directory,
		executor.EnvSandbox + "=" + run.directory,
		executor.EnvCheckpoint + "=1",
		executor.EnvShutdownGracePeriod + "=" + executor.FormatDuration(run.shutdownGrace),
		executor.EnvRecoveryTimeout + "=" + executor.FormatDuration(executorRecoveryTimeout),
		executor.EnvSubscriptionBackoffMax + "=" + executor.FormatDuration(executor.DefaultSubscriptionBackoffMax),
		executor.EnvContainerID + "=" + run.containerID,
	}
	if run.token != "" {
		env = append(env, executor.EnvExecutorToken+"="+run.token)
	}
	if a.cfg.TLS != nil {
		env = append(env, executor.EnvAgentTLSCA+"="+string(a.cfg.TLS.CAPEM()))
	}
	if run.kind == kindGroup {
		env = append(env, executor.EnvDefaultExecutor+"=1")
	}
	env = append(env, a.agentEnv(run)...)
	env = append(env, a.cfg.ExecutorEnv...)
	if run.kind == kindCustom && run.info.Command != nil && run.info.Command.Environment != nil {
		for _, v := range run.info.Command.Environment.Variables {
			// planContainer refused what does not resolve.
			if val, err := v.Resolve(); v.Name != "" && err == nil {
				env = append(env, v.Name+"="+val)
			}
		}
	}
	return env
}

// resolvableEnv fails a command whose environment holds a variable that
// cannot be resolved (a secret given by reference), as a Mesos agent
// without a secret resolver fails the task: running it without the
// variable would hide the error.
func resolvableEnv(c *mesos.CommandInfo) error {
	if c == nil || c.Environment == nil {
		return nil
	}
	for _, v := range c.Environment.Variables {
		if _, err := v.Resolve(); err != nil {
			return err
		}
	}
	return nil
}

// limitation asks the containerizer whether a container ran into one of
// its limits; nil if not (or the backend enforces none).
func (a *Agent) limitation(cid string) *executor.Limitation {
	lr, ok := a.containerizer.(executor.LimitationReporter)
	if !ok {
		return nil
	}
	lim, err := lr.Limitation(cid)
	if err != nil && !errors.Is(err, executor.ErrUnknownContainer) {
		a.log.Debug("cannot read container limitation", "container_id", cid, "error", err)
	}
	return lim
}

// limitationReason is the status update reason of a limitation.
func limitationReason(l *executor.Limitation) string {
	if l.Resource == "mem" {
		return mesos.ReasonContainerLimitationMem
	}
	return mesos.ReasonContainerLimitation
}
