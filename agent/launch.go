package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"mesh/executor"
	"mesh/mesos"
	execapi "mesh/mesos/executor"
)

// reasonExecutorReregistrationTimeout is Mesos' reason for an executor
// that did not come back after an agent restart.
const reasonExecutorReregistrationTimeout = "REASON_EXECUTOR_REREGISTRATION_TIMEOUT"

// destroyTimeout bounds a container's destruction beyond its grace
// period.
const destroyTimeout = 30 * time.Second

// agentUpdate records a status update the agent itself makes (source
// SOURCE_AGENT, fresh uuid) and sets the task's state in run, if given.
// Caller holds a.mu.
func (a *Agent) agentUpdate(fid string, run *executorRun, task mesos.TaskID, state mesos.TaskState, reason, msg string) {
	u := uuid.New()
	st := mesos.TaskStatus{
		TaskID:    task,
		State:     state,
		Message:   msg,
		Source:    mesos.SourceAgent,
		Reason:    reason,
		Timestamp: float64(time.Now().UnixNano()) / 1e9,
		UUID:      mesos.Bytes(u[:]),
	}
	if a.id != "" {
		st.AgentID = &mesos.AgentID{Value: a.id}
	}
	if run != nil {
		st.ExecutorID = &mesos.ExecutorID{Value: run.id}
		st.ContainerStatus = &mesos.ContainerStatus{ContainerID: &mesos.ContainerID{Value: run.containerID}}
		if t := run.tasks[task.Value]; t != nil {
			t.state = state
		}
	}
	a.log.Info("task status", "framework_id", fid, "task_id", task.Value, "state", state, "reason", reason, "message", msg)
	if _, err := a.updates.Update(fid, st); err != nil {
		a.log.Error("cannot checkpoint a status update; it is lost", "framework_id", fid, "task_id", task.Value, "state", state, "error", err)
	}
}

// launchTasks starts the tasks of one LAUNCH command.
func (a *Agent) launchTasks(info mesos.FrameworkInfo, tasks []mesos.TaskInfo) {
	if info.ID == nil {
		a.log.Error("ignoring a launch without a framework id", "tasks", len(tasks))
		return
	}
	fid := info.ID.Value
	if err := safeID(fid); err != nil {
		a.log.Error("ignoring a launch for an unusable framework id", "framework_id", fid, "error", err)
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.stopping {
		a.log.Warn("ignoring a launch while shutting down", "framework_id", fid, "tasks", len(tasks))
		return
	}
	fw := a.frameworks[fid]
	if fw == nil {
		fw = &framework{id: fid, executors: map[string]*executorRun{}}
		a.frameworks[fid] = fw
	}
	if fw.shuttingDown {
		a.log.Warn("ignoring a launch for a framework that is shutting down", "framework_id", fid)
		return
	}
	fw.info = info
	for _, t := range tasks {
		a.launchTask(fw, t)
	}
}

// launchTask starts one task: in its own command executor, or in the
// framework's custom executor (started if needed). Caller holds a.mu.
func (a *Agent) launchTask(fw *framework, t mesos.TaskInfo) {
	tid := t.TaskID.Value
	log := a.log.With("framework_id", fw.id, "task_id", tid)
	fail := func(reason, msg string) {
		log.Warn("cannot launch task", "reason", reason, "message", msg)
		a.agentUpdate(fw.id, nil, t.TaskID, mesos.TaskFailed, reason, msg)
	}
	if err := safeID(tid); err != nil {
		log.Error("ignoring a task with an unusable id", "error", err)
		return
	}
	if _, live := fw.findTask(tid); live != nil && !live.state.IsTerminal() {
		fail(mesos.ReasonTaskInvalid, fmt.Sprintf("Task %s is already running on this agent", tid))
		return
	}
	if st, ok := a.updates.Latest(fw.id, tid); ok && !st.IsTerminal() {
		fail(mesos.ReasonTaskInvalid, fmt.Sprintf("Task %s is already known to this agent (in state %s)", tid, st))
		return
	}

	var eid string
	var execInfo mesos.ExecutorInfo
	isCommand := false
	switch {
	case t.Executor != nil && t.Command != nil:
		fail(mesos.ReasonTaskInvalid, "Task has both a command and an executor")
		return
	case t.Executor != nil:
		execInfo = *t.Executor
		eid = execInfo.ExecutorID.Value
		if err := safeID(eid); err != nil {
			fail(mesos.ReasonTaskInvalid, "Task's executor has an invalid id: "+err.Error())
			return
		}
		if execInfo.Type == "DEFAULT" {
			fail(mesos.ReasonTaskInvalid, "The default executor (task groups) is not supported by this agent")
			return
		}
		if execInfo.Command == nil {
			fail(mesos.ReasonTaskInvalid, "Task's executor has no command")
			return
		}
	case t.Command != nil:
		isCommand = true
		eid = tid
	default:
		fail(mesos.ReasonTaskInvalid, "Task has neither a command nor an executor")
		return
	}
	rootfs, err := a.taskRootfs(t, isCommand, execInfo)
	if err != nil {
		fail(mesos.ReasonContainerLaunchFailed, err.Error())
		return
	}
	ctr := t.Container
	if !isCommand {
		ctr = execInfo.Container
	}
	opts, err := a.containerOptions(ctr)
	if err != nil {
		fail(mesos.ReasonContainerLaunchFailed, err.Error())
		return
	}
	cmd := t.Command
	if !isCommand {
		cmd = execInfo.Command
	}
	if err := resolvableEnv(cmd); err != nil {
		fail(mesos.ReasonContainerLaunchFailed, err.Error())
		return
	}

	if run := fw.executors[eid]; run != nil {
		switch {
		case isCommand:
			fail(mesos.ReasonTaskInvalid, fmt.Sprintf("Executor %s of an earlier task with this id is still running", eid))
		case run.state >= runTerminating:
			fail(mesos.ReasonExecutorTerminated, fmt.Sprintf("Executor %s is shutting down", eid))
		default:
			task := run.addTask(t)
			a.checkpointRun(run)
			a.deliverLaunch(run, task)
		}
		return
	}
	opts.rootfs = rootfs
	if err := a.startExecutor(fw, eid, isCommand, execInfo, t, opts); err != nil {
		fail(mesos.ReasonContainerLaunchFailed, "Failed to prepare the container: "+err.Error())
	}
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

// deliverLaunch hands a task to its executor now or at its next
// subscription. Caller holds a.mu.
func (a *Agent) deliverLaunch(run *executorRun, task *taskEntry) {
	ev := execapi.Event{Type: execapi.EventLaunch, Launch: &execapi.Launch{Task: task.info}}
	if run.stream != nil && run.stream.send(ev) {
		task.launched = true
		return
	}
	run.outbox = append(run.outbox, ev)
}

// startExecutor creates a sandbox and starts an executor in a new
// container with task as its first task. Caller holds a.mu.
func (a *Agent) startExecutor(fw *framework, eid string, isCommand bool, info mesos.ExecutorInfo, t mesos.TaskInfo, opts containerOptions) (err error) {
	user := fw.info.User
	var argv []string
	if isCommand {
		if t.Command.User != "" {
			user = t.Command.User
		}
		argv = append([]string(nil), a.cfg.ExecutorCommand...)
		info = mesos.ExecutorInfo{
			ExecutorID: mesos.ExecutorID{Value: eid},
			Name:       fmt.Sprintf("Command Executor (Task: %s) (Command: %s)", t.TaskID.Value, commandSummary(t.Command)),
			Command:    &mesos.CommandInfo{Shell: new(bool), Value: argv[0], Arguments: argv},
		}
	} else {
		if info.Command.User != "" {
			user = info.Command.User
		}
		argv = commandArgv(info.Command)
	}

	cacheDir, err := a.withFetcherCache(isCommand, user, t, &opts)
	if err != nil {
		return err
	}

	// The command executor can start in a container created ahead of
	// time; the run then takes that container's id.
	cid := ""
	if ps, ok := a.containerizer.(executor.Prestarter); ok && isCommand && opts.plain() {
		if id, ok := ps.Claim(user, argv); ok {
			cid = id
			defer func() {
				if err != nil {
					go a.containerizer.Destroy(context.Background(), cid, 0)
				}
			}()
		}
	}
	if cid == "" {
		cid = uuid.NewString()
	}
	dir := a.sandboxDir(fw.id, eid, cid)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create sandbox: %w", err)
	}
	if err := pointLatest(dir); err != nil {
		a.log.Warn("cannot update the sandbox's latest link", "path", dir, "error", err)
	}
	info.FrameworkID = &mesos.FrameworkID{Value: fw.id}
	if user != "" {
		if err := prepareSandboxFor(dir, user); err != nil {
			return err
		}
	}

	grace := a.shutdownGrace(info)
	run := &executorRun{
		fw:              fw,
		id:              eid,
		info:            info,
		commandExecutor: isCommand,
		containerID:     cid,
		directory:       dir,
		user:            user,
		shutdownGrace:   grace,
		token:           newExecutorToken(),
		state:           runRegistering,
		tasks:           map[string]*taskEntry{},
	}
	task := run.addTask(t)
	a.deliverLaunch(run, task)
	fw.executors[eid] = run
	a.checkpointRun(run)

	spec := a.containerSpec(run, t, argv, opts, cacheDir)
	// Creating a container takes tens of milliseconds: it happens outside
	// the agent's lock, so that launches run side by side and executors
	// can subscribe meanwhile. The run is in place already (REGISTERING,
	// its LAUNCH in the outbox), so kills and shutdowns that arrive during
	// the launch find it.
	a.goNamed("launch_container", func() { a.launchContainer(run, spec) })
	return nil
}

// withFetcherCache gives a command task whose URIs are marked `cache` its
// user's fetcher cache, writable in its container, and returns the cache
// directory ("" when the task uses none).
func (a *Agent) withFetcherCache(isCommand bool, user string, t mesos.TaskInfo, opts *containerOptions) (string, error) {
	if !isCommand || !usesFetcherCache(t.Command) {
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

// containerSpec is the container a run's executor starts in; t is the
// run's first task.
func (a *Agent) containerSpec(run *executorRun, t mesos.TaskInfo, argv []string, opts containerOptions, cacheDir string) executor.ContainerSpec {
	// The raw resources, not their sum: a backend with limits must see a
	// "mem" of 0 to refuse it.
	resources := append(append(mesos.Resources{}, t.Resources...), run.info.Resources...)
	spec := executor.ContainerSpec{
		Rootfs:        opts.rootfs,
		Volumes:       opts.volumes,
		Rlimits:       opts.rlimits,
		Capabilities:  opts.caps,
		DeferCPUQuota: true,
		ID:            run.containerID,
		Argv:          argv,
		Env:           a.executorEnv(run),
		Dir:           run.directory,
		Stdout:        filepath.Join(run.directory, "stdout"),
		Stderr:        filepath.Join(run.directory, "stderr"),
		User:          run.user,
		Resources:     resources,
	}
	if cacheDir != "" {
		spec.Env = append(spec.Env, executor.EnvFetcherCache+"="+cacheDir)
	}
	return spec
}

// launchUnstarted launches a run that an earlier agent process
// checkpointed but never began to launch (it was waiting for a launch
// slot, or the agent stopped first): none of its tasks can have run.
// Caller holds a.mu.
func (a *Agent) launchUnstarted(run *executorRun) {
	live := run.liveTasks()
	if len(live) == 0 {
		// Recovery launches no run without tasks; nothing to do.
		a.settleRun(run, executor.ExitStatus{Code: -1, Unknown: true})
		return
	}
	t := live[0].info
	var execInfo mesos.ExecutorInfo
	ctr := t.Container
	argv := append([]string(nil), a.cfg.ExecutorCommand...)
	if !run.commandExecutor {
		execInfo, ctr, argv = run.info, run.info.Container, commandArgv(run.info.Command)
	}
	rootfs, err := a.taskRootfs(t, run.commandExecutor, execInfo)
	var opts containerOptions
	if err == nil {
		opts, err = a.containerOptions(ctr)
	}
	var cacheDir string
	if err == nil {
		opts.rootfs = rootfs
		cacheDir, err = a.withFetcherCache(run.commandExecutor, run.user, t, &opts)
	}
	if err != nil {
		a.failLaunch(run, err)
		return
	}
	a.log.Info("launching an executor an earlier agent never started", "framework_id", run.fw.id, "executor_id", run.id, "container_id", run.containerID)
	spec := a.containerSpec(run, t, argv, opts, cacheDir)
	a.goNamed("launch_container", func() { a.launchContainer(run, spec) })
}

// failLaunch fails the tasks of a run whose container could not be
// launched and forgets the run. Caller holds a.mu.
func (a *Agent) failLaunch(run *executorRun, err error) {
	fw := run.fw
	a.log.Warn("cannot launch container", "framework_id", fw.id, "executor_id", run.id, "container_id", run.containerID, "error", err)
	run.state = runTerminated
	run.stopTimers()
	run.outbox = nil
	for _, t := range run.liveTasks() {
		a.agentUpdate(fw.id, nil, t.info.TaskID, mesos.TaskFailed, mesos.ReasonContainerLaunchFailed, "Failed to launch container: "+err.Error())
		t.state = mesos.TaskFailed
	}
	if fw.executors[run.id] == run {
		delete(fw.executors, run.id)
	}
	a.removeRunCheckpoint(fw.id, run.id)
	a.maybeForgetFramework(fw)
}

// launchContainer creates a run's container and starts watching it; if
// the launch fails, the run's tasks fail.
func (a *Agent) launchContainer(run *executorRun, spec executor.ContainerSpec) {
	// A burst of launches (a framework's 1,000 tasks) would otherwise
	// start as many container inits and executors at once and starve them
	// all, the agent included. The slot is held until the executor has
	// started up and subscribed (or launchSlotTimeout), since its start-up
	// costs about as much as the container's: launches then run through
	// in order, and the first of a burst are running sooner.
	select {
	case a.launchSlots <- struct{}{}:
	case <-a.ctx.Done():
		// The agent stops before this launch began: the run stays
		// checkpointed, unlaunched, for the next agent on the work
		// directory to launch (or shutdown settles it).
		return
	}
	release := sync.OnceFunc(func() { <-a.launchSlots })
	a.mu.Lock()
	if a.stopping {
		a.mu.Unlock()
		release()
		return
	}
	run.launchBegan = true
	a.mu.Unlock()
	if err := a.markLaunching(run.fw.id, run.id, run.containerID); err != nil {
		// Without the mark a restarted agent could launch it twice.
		a.mu.Lock()
		defer a.mu.Unlock()
		release()
		a.failLaunch(run, fmt.Errorf("record the launch: %w", err))
		return
	}
	st, err := a.containerizer.Launch(a.ctx, spec)
	a.mu.Lock()
	defer a.mu.Unlock()
	if err != nil || run.subscribed || run.state >= runTerminating {
		release()
	} else {
		run.startSlot = release
		time.AfterFunc(launchSlotTimeout, release)
	}
	fw := run.fw
	if err != nil {
		a.failLaunch(run, err)
		return
	}
	run.pid = st.Pid
	if ps, ok := a.containerizer.(executor.Prestarter); ok && run.commandExecutor && spec.Rootfs == "" {
		// Keep a container like this one ready for the next launch.
		ps.Prestart(spec)
	}
	a.log.Info("executor launched", "framework_id", fw.id, "executor_id", run.id, "container_id", run.containerID, "pid", st.Pid, "sandbox", run.directory)
	if run.subscribed {
		// The executor subscribed before Launch returned, when its
		// container was not known yet.
		if qe, ok := a.containerizer.(executor.QuotaEnforcer); ok {
			if err := qe.EnforceCPUQuota(run.containerID); err != nil {
				a.log.Error("cannot enforce the container's cpu quota", "container_id", run.containerID, "error", err)
			}
		}
	}
	switch {
	case a.stopping:
		// Run is returning; shutdown did not see this container.
		if a.cfg.KillTasksOnShutdown {
			ctx, cancel := context.WithTimeout(context.Background(), destroyTimeout)
			defer cancel()
			if err := a.containerizer.Destroy(ctx, run.containerID, 0); err != nil {
				a.log.Error("cannot destroy container on shutdown", "container_id", run.containerID, "error", err)
			}
			a.settleRun(run, executor.ExitStatus{Code: -1, Unknown: true})
		}
		return
	case run.state >= runTerminating:
		// Killed or shut down while it was being launched.
		a.armRun(run)
		a.destroyRun(run, 0)
		return
	}
	a.armRun(run)
}

// shutdownGrace is how long an executor has after SHUTDOWN.
func (a *Agent) shutdownGrace(info mesos.ExecutorInfo) time.Duration {
	if info.ShutdownGracePeriod != nil && info.ShutdownGracePeriod.Nanoseconds > 0 {
		return time.Duration(info.ShutdownGracePeriod.Nanoseconds)
	}
	return a.cfg.ExecutorShutdownGracePeriod
}

// armRun starts watching a run's container and gives the executor
// ExecutorRegistrationTimeout to subscribe. Caller holds a.mu.
func (a *Agent) armRun(run *executorRun) {
	timeout := a.cfg.ExecutorRegistrationTimeout
	run.regTimer = time.AfterFunc(timeout, func() { a.registrationTimedOut(run, timeout) })
	a.goNamed("wait_container", func() { a.waitRun(run) })
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
func (a *Agent) executorEnv(run *executorRun) []string {
	path := os.Getenv("PATH")
	if path == "" {
		path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	}
	env := []string{
		"PATH=" + path,
		executor.EnvFrameworkID + "=" + run.fw.id,
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
	env = append(env, a.cfg.ExecutorEnv...)
	if !run.commandExecutor && run.info.Command != nil && run.info.Command.Environment != nil {
		for _, v := range run.info.Command.Environment.Variables {
			// launchTask refused what does not resolve.
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

// waitRun waits for a run's container to end, cleans up what is left in
// it and settles its tasks.
func (a *Agent) waitRun(run *executorRun) {
	st, err := a.containerizer.Wait(a.ctx, run.containerID)
	switch {
	case errors.Is(err, executor.ErrUnknownContainer):
		// Destroyed before the wait began.
		st = executor.ExitStatus{Code: -1, Unknown: true}
	case err != nil:
		// The agent is stopping; the executor keeps running.
		return
	}
	// Ask before the destroy removes the container's cgroups.
	lim := a.limitation(run.containerID)
	ctx, cancel := context.WithTimeout(a.ctx, destroyTimeout)
	if err := a.containerizer.Destroy(ctx, run.containerID, 0); err != nil {
		a.log.Warn("cannot clean up an ended container", "container_id", run.containerID, "error", err)
	}
	cancel()
	if lim != nil {
		a.mu.Lock()
		if run.term == nil {
			run.term = &termination{state: mesos.TaskFailed, reason: limitationReason(lim), message: lim.Message}
		}
		a.mu.Unlock()
	}
	a.executorExited(run, st)
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

// executorExited settles a run whose container is gone: its unfinished
// tasks get a terminal update.
func (a *Agent) executorExited(run *executorRun, st executor.ExitStatus) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.settleRun(run, st)
}

// settleRun marks a run terminated and gives its unfinished tasks a
// terminal update. Caller holds a.mu.
func (a *Agent) settleRun(run *executorRun, st executor.ExitStatus) {
	if run.state == runTerminated {
		return
	}
	run.state = runTerminated
	run.releaseStartSlot()
	// The sandbox's age, for its removal, counts from now.
	now := time.Now()
	os.Chtimes(run.directory, now, now)
	run.stopTimers()
	if run.stream != nil {
		run.stream.close()
		run.stream = nil
	}
	run.outbox = nil
	run.exitStatus = st.String()
	fw := run.fw
	log := a.log.With("framework_id", fw.id, "executor_id", run.id, "container_id", run.containerID)
	live := run.liveTasks()
	log.Info("executor ended", "status", run.exitStatus, "unfinished_tasks", len(live))

	for _, t := range live {
		term := termination{
			state:   mesos.TaskFailed,
			reason:  mesos.ReasonExecutorTerminated,
			message: "Executor " + st.String(),
		}
		te, err := executor.ReadTaskExit(run.directory)
		recorded := err == nil && te.TaskID == t.info.TaskID.Value && te.State.IsTerminal()
		switch {
		case run.term != nil:
			term = *run.term
		case a.stopping:
			term = termination{state: mesos.TaskKilled, reason: mesos.ReasonExecutorTerminated, message: a.stopMessage()}
		case recorded:
			// The task ended and its executor recorded how, but the
			// report never got through: the record is the task's end.
			term = termination{state: te.State, reason: te.Reason,
				message: te.Message + " (reported by the agent: the executor " + st.String() + " before its update got through)"}
		}
		a.agentUpdate(fw.id, run, t.info.TaskID, term.state, term.reason, term.message)
	}
	if fw.executors[run.id] == run {
		delete(fw.executors, run.id)
	}
	fw.completed = append(fw.completed, run)
	if len(fw.completed) > maxCompletedExecutors {
		fw.completed = fw.completed[len(fw.completed)-maxCompletedExecutors:]
	}
	a.removeRunCheckpoint(fw.id, run.id)
	a.maybeForgetFramework(fw)
}

// registrationTimedOut destroys an executor that never subscribed.
func (a *Agent) registrationTimedOut(run *executorRun, after time.Duration) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if run.regTimer == nil || run.subscribed || run.state >= runTerminating || a.stopping {
		return
	}
	run.regTimer = nil
	reason, msg := mesos.ReasonExecutorRegistrationTO, fmt.Sprintf("Executor did not register within %s", after)
	if run.recovered {
		reason, msg = reasonExecutorReregistrationTimeout, fmt.Sprintf("Executor did not reregister within %s after the agent restarted; the agent killed it", after)
	}
	a.log.Warn("executor did not subscribe in time; destroying it", "framework_id", run.fw.id, "executor_id", run.id, "timeout", after)
	run.term = &termination{state: mesos.TaskFailed, reason: reason, message: msg}
	a.destroyRun(run, 0)
}

// destroyRun destroys a run's container in the background; waitRun then
// settles it. Caller holds a.mu.
func (a *Agent) destroyRun(run *executorRun, grace time.Duration) {
	run.state = runTerminating
	run.stopTimers()
	cid := run.containerID
	a.goNamed("destroy_container", func() {
		ctx, cancel := context.WithTimeout(a.ctx, grace+destroyTimeout)
		defer cancel()
		if err := a.containerizer.Destroy(ctx, cid, grace); err != nil && a.ctx.Err() == nil {
			a.log.Error("cannot destroy container", "container_id", cid, "error", err)
		}
	})
}

// killTask carries out a KILL command.
func (a *Agent) killTask(fid string, id mesos.TaskID, policy *mesos.KillPolicy) {
	tid := id.Value
	if safeID(fid) != nil || safeID(tid) != nil {
		a.log.Warn("ignoring a kill with an unusable id", "framework_id", fid, "task_id", tid)
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	log := a.log.With("framework_id", fid, "task_id", tid)
	var run *executorRun
	var task *taskEntry
	if fw := a.frameworks[fid]; fw != nil {
		run, task = fw.findTask(tid)
	}
	if task == nil {
		if st, ok := a.updates.Latest(fid, tid); ok && st.IsTerminal() {
			log.Debug("kill of a task that already ended", "state", st)
			return
		}
		a.agentUpdate(fid, nil, id, mesos.TaskLost, mesos.ReasonTaskUnknown, "Cannot kill task: it is unknown to the agent")
		return
	}
	if task.state.IsTerminal() || run.state >= runTerminating {
		log.Debug("kill of a task that is ending already", "state", task.state, "executor_state", run.state)
		return
	}
	if !task.launched {
		// The executor never saw the task: take it back.
		for i, ev := range run.outbox {
			if ev.Launch != nil && ev.Launch.Task.TaskID.Value == tid {
				run.outbox = append(run.outbox[:i:i], run.outbox[i+1:]...)
				break
			}
		}
		a.agentUpdate(fid, run, id, mesos.TaskKilled, mesos.ReasonTaskKilledDuringLaunch, "Task killed before it was delivered to its executor")
		if run.state == runRegistering && len(run.liveTasks()) == 0 {
			log.Info("destroying an executor that has nothing left to run", "executor_id", run.id)
			a.destroyRun(run, 0)
		}
		return
	}
	if policy == nil {
		policy = task.info.KillPolicy
	}
	log.Info("asking the executor to kill the task", "executor_id", run.id)
	run.send(execapi.Event{Type: execapi.EventKill, Kill: &execapi.Kill{TaskID: id, KillPolicy: policy}})
}

// shutdownFramework carries out SHUTDOWN_FRAMEWORK: every executor of the
// framework is shut down, then its pending updates are dropped.
func (a *Agent) shutdownFramework(fid string) {
	if safeID(fid) != nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	fw := a.frameworks[fid]
	if fw == nil {
		a.updates.CleanupFramework(fid)
		return
	}
	a.log.Info("shutting down framework", "framework_id", fid, "executors", len(fw.executors))
	fw.shuttingDown = true
	for _, run := range fw.executors {
		a.shutdownRun(run, termination{state: mesos.TaskKilled, reason: mesos.ReasonFrameworkRemoved, message: "Framework shut down"})
	}
	a.maybeForgetFramework(fw)
}

// shutdownRun asks an executor to shut down and destroys its container
// after its grace period (at once if it never subscribed). Caller holds
// a.mu.
func (a *Agent) shutdownRun(run *executorRun, term termination) {
	if run.state >= runTerminating {
		return
	}
	run.term = &term
	if run.state == runRegistering {
		a.destroyRun(run, 0)
		return
	}
	run.state = runTerminating
	run.stopTimers()
	run.send(execapi.Event{Type: execapi.EventShutdown})
	run.shutdownTimer = time.AfterFunc(run.shutdownGrace, func() {
		a.mu.Lock()
		defer a.mu.Unlock()
		if run.state == runTerminating && !a.stopping {
			a.destroyRun(run, 0)
		}
	})
}

// maybeForgetFramework drops a framework that was shut down once its last
// executor is gone. Caller holds a.mu.
func (a *Agent) maybeForgetFramework(fw *framework) {
	if !fw.shuttingDown || len(fw.executors) > 0 {
		return
	}
	a.updates.CleanupFramework(fw.id)
	delete(a.frameworks, fw.id)
	if err := a.removeCheckpointDir(a.metaPath("frameworks", fw.id)); err != nil {
		a.log.Warn("cannot remove framework checkpoint", "framework_id", fw.id, "error", err)
	}
	a.log.Info("framework forgotten", "framework_id", fw.id)
}

// updateAcknowledged is called once the framework acknowledged an update:
// a task whose terminal update is acknowledged is over for good.
func (a *Agent) updateAcknowledged(ack ackedUpdate) {
	if !ack.Status.State.IsTerminal() {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	fw := a.frameworks[ack.FrameworkID]
	if fw == nil {
		return
	}
	run, task := fw.findTask(ack.Status.TaskID.Value)
	if task == nil {
		// The executor may have ended already.
		for _, r := range fw.completed {
			if t, ok := r.tasks[ack.Status.TaskID.Value]; ok {
				run, task = r, t
			}
		}
	}
	if task == nil || !task.state.IsTerminal() {
		return
	}
	run.removeTask(ack.Status.TaskID.Value)
	if run.state < runTerminated {
		a.checkpointRun(run)
	}
}
