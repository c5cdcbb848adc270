package executor

import (
	"context"
	"errors"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"

	"mesh/mesos"
	execapi "mesh/mesos/executor"
)

// RunDefaultExecutor runs mesh's default executor, the executor of task
// groups (Mesos' src/launcher/default_executor.cpp): it subscribes to the
// agent, starts the tasks of every LAUNCH_GROUP together, each a process
// group of its own in its own sandbox under the executor's
// (TaskSandbox), and reports each task's status. When a task of a group
// fails or is killed, the other tasks of its group are killed. It
// returns once every task has ended and its terminal update is
// acknowledged (or once it gives up, as the command executor does).
func RunDefaultExecutor(ctx context.Context, cfg CommandExecutorConfig) error {
	log, err := cfg.prepare("default executor", "default_executor")
	if err != nil {
		return err
	}
	e := &defaultExecutor{
		cfg:      cfg,
		log:      log,
		exited:   make(chan groupExit, 16),
		fetched:  make(chan groupFetch, 16),
		escalate: make(chan string, 16),
		tasks:    map[string]*groupTask{},
		reports:  newReportQueue[groupReport](),
	}
	e.s = newAgentSession(cfg, e.log, e)
	return e.run(ctx)
}

// groupTask is one task of the default executor.
type groupTask struct {
	info  mesos.TaskInfo
	group int
	proc  *taskProcess
	sb    string // the task's sandbox
	// fetchCancel is set while the task's URIs are being fetched, which
	// ends on fetched.
	fetchCancel context.CancelFunc
	// killing is set once the task is being killed (by the framework,
	// its group or a shutdown).
	killing      bool
	killDeadline time.Time
	escalate     *time.Timer
	terminal     *mesos.TaskStatus
	acked        bool // an update of the task was acknowledged
	// checks are the task's checkers (default_checks.go).
	checks groupChecks
}

// groupFetch is how the fetch of a task's URIs ended.
type groupFetch struct {
	tid string
	err error
}

// groupExit is how a task's process ended.
type groupExit struct {
	tid string
	st  ExitStatus
}

// defaultExecutor is the state of the default executor; everything but
// the channels is owned by the run loop's goroutine.
type defaultExecutor struct {
	cfg CommandExecutorConfig
	log hclog.Logger
	// s is the session with the agent (session.go).
	s *agentSession

	tasks  map[string]*groupTask
	order  []string
	groups [][]string
	// killedGroups are the groups being killed because one of their
	// tasks failed or was killed.
	killedGroups map[int]bool
	exited       chan groupExit
	fetched      chan groupFetch
	escalate     chan string
	reports      *reportQueue[groupReport]

	shutdown bool
}

func (e *defaultExecutor) run(ctx context.Context) error {
	defer e.stop()
	e.s.start()
	stopping := ctx.Done()
	for !e.finished() {
		select {
		case <-stopping:
			stopping = nil
			e.s.askStop()
			e.killAll(stopGrace)
		case it := <-e.s.items:
			e.s.handleItem(it)
		case <-timerC(e.s.reconnect):
			e.s.resubscribe()
		case <-timerC(e.s.giveUp):
			return errors.New("gave up waiting for the agent to acknowledge the tasks' terminal updates")
		case x := <-e.exited:
			e.taskExited(x.tid, x.st)
		case x := <-e.fetched:
			e.fetchDone(x.tid, x.err)
		case tid := <-e.escalate:
			e.escalateKill(tid)
		case <-e.reports.notify:
			e.checkReports()
		}
	}
	return e.s.result()
}

// escalateKill sends SIGKILL to a task that outlived its grace period.
func (e *defaultExecutor) escalateKill(tid string) {
	if t := e.tasks[tid]; t != nil && t.proc != nil && t.escalate != nil {
		t.escalate = nil
		e.log.Info("task did not stop in its grace period; sending SIGKILL", "task_id", tid)
		_ = t.proc.signal(syscall.SIGKILL)
	}
}

// finished reports whether the executor has nothing left to do: no task
// runs, and every terminal update is acknowledged (or cannot be: told to
// stop with no agent to report to, the sandboxes' records stand).
func (e *defaultExecutor) finished() bool {
	for _, t := range e.tasks {
		if t.proc != nil || t.fetchCancel != nil {
			return false
		}
	}
	if e.s.abandoned != nil {
		return true
	}
	if len(e.tasks) == 0 {
		return e.shutdown
	}
	if e.s.stopAsked && !e.s.connected {
		return true
	}
	return len(e.s.unacked) == 0
}

// stop ends the session and makes sure no task outlives the executor.
func (e *defaultExecutor) stop() {
	e.s.stop()
	for _, t := range e.tasks {
		t.stopChecks()
		if t.escalate != nil {
			t.escalate.Stop()
		}
		if t.fetchCancel != nil {
			t.fetchCancel()
		}
		if t.proc != nil {
			_ = t.proc.signal(syscall.SIGKILL)
		}
	}
}

// unackedTasks are the tasks none of whose updates was acknowledged yet,
// in launch order.
func (e *defaultExecutor) unackedTasks() []mesos.TaskInfo {
	var out []mesos.TaskInfo
	for _, id := range e.order {
		if t := e.tasks[id]; !t.acked {
			out = append(out, t.info)
		}
	}
	return out
}

// abandon kills every task; the executor exits once they are gone.
func (e *defaultExecutor) abandon(err error) {
	e.log.Error("giving up on the agent; killing the tasks", "error", err)
	e.killAll(stopGrace)
}

// launch fails a single task: the default executor runs task groups.
func (e *defaultExecutor) launch(info mesos.TaskInfo) {
	e.send(e.status(info.TaskID, mesos.TaskFailed,
		"the default executor runs task groups (LAUNCH_GROUP), not single tasks", mesos.ReasonTaskInvalid))
}

// shutdownTasks is the agent's SHUTDOWN: every task is killed.
func (e *defaultExecutor) shutdownTasks() {
	e.killAll(e.shutdownGrace())
}

func (e *defaultExecutor) acknowledged(task mesos.TaskID) {
	if t := e.tasks[task.Value]; t != nil {
		t.acked = true
	}
}

// status is an update of a task; one of a task with a check carries an
// empty check_status of its type until a result is known, as the command
// executor's do.
func (e *defaultExecutor) status(task mesos.TaskID, state mesos.TaskState, msg, reason string) mesos.TaskStatus {
	st := e.s.status(task, state, msg, reason)
	if t := e.tasks[task.Value]; t != nil && t.info.Check != nil {
		empty := mesos.EmptyCheckStatus(t.info.Check.Type)
		st.CheckStatus = &empty
	}
	return st
}

func (e *defaultExecutor) send(st mesos.TaskStatus) { e.s.send(st) }

// launchGroup starts the tasks of a task group together. A task that
// cannot start fails, and so its group is killed.
func (e *defaultExecutor) launchGroup(tasks []mesos.TaskInfo) {
	if e.shutdown {
		e.log.Warn("ignoring a task group during shutdown", "tasks", len(tasks))
		return
	}
	group := len(e.groups)
	var ids []string
	for _, info := range tasks {
		if e.tasks[info.TaskID.Value] != nil {
			// Delivered again after a resubscription.
			continue
		}
		e.tasks[info.TaskID.Value] = &groupTask{info: info, group: group}
		e.order = append(e.order, info.TaskID.Value)
		ids = append(ids, info.TaskID.Value)
	}
	if len(ids) == 0 {
		return
	}
	e.groups = append(e.groups, ids)
	e.log.Info("launching task group", "tasks", ids)
	for _, id := range ids {
		e.send(e.status(e.tasks[id].info.TaskID, mesos.TaskStarting, "", ""))
	}
	for _, id := range ids {
		e.startTask(e.tasks[id])
	}
}

// startTask starts one task of a group in its own sandbox.
func (e *defaultExecutor) startTask(t *groupTask) {
	tid := t.info.TaskID.Value
	if e.killedGroups[t.group] {
		e.finish(t, mesos.TaskKilled, "Task killed before it started: another task of its group ended", "", TaskExit{TaskID: tid, ExitCode: -1})
		return
	}
	var execCtr *mesos.ContainerInfo
	if e.s.executorInfo.Container != nil {
		execCtr = e.s.executorInfo.Container
	}
	vols, err := GroupTaskVolumes(execCtr, t.info.Container)
	if err == nil {
		t.sb, err = prepareGroupSandbox(e.cfg.Directory, vols, tid)
	}
	if err != nil {
		e.log.Error("cannot prepare the task's sandbox", "task_id", tid, "error", err)
		e.finish(t, mesos.TaskFailed, "Failed to launch task: "+err.Error(), mesos.ReasonContainerLaunchFailed, TaskExit{TaskID: tid, ExitCode: -1})
		e.taskEnded(t, mesos.TaskFailed)
		return
	}
	if uris := t.info.Command.URIs; len(uris) > 0 {
		// Fetched into the task's sandbox while the executor goes on
		// serving the agent and the other tasks (a kill cancels it).
		ctx, cancel := context.WithCancel(context.Background())
		t.fetchCancel = cancel
		f := &fetcher{dir: t.sb, localFiles: true, cache: e.cfg.FetcherCache}
		go func() {
			err := f.fetchAll(ctx, uris)
			select {
			case e.fetched <- groupFetch{tid: tid, err: err}:
			case <-e.s.quit:
			}
		}()
		return
	}
	e.spawn(t)
}

// fetchDone starts a task once its URIs are fetched, or ends it.
func (e *defaultExecutor) fetchDone(tid string, err error) {
	t := e.tasks[tid]
	if t == nil || t.fetchCancel == nil {
		return
	}
	t.fetchCancel()
	t.fetchCancel = nil
	te := TaskExit{TaskID: tid, ExitCode: -1}
	switch {
	case t.killing:
		e.finish(t, mesos.TaskKilled, "Task killed while its URIs were being fetched", "", te)
		e.taskEnded(t, mesos.TaskKilled)
	case err != nil:
		e.log.Error("cannot fetch the task's URIs", "task_id", tid, "error", err)
		e.finish(t, mesos.TaskFailed, "Failed to fetch all URIs for container: "+err.Error(), mesos.ReasonContainerLaunchFailed, te)
		e.taskEnded(t, mesos.TaskFailed)
	default:
		e.spawn(t)
	}
}

// spawn starts a task's process in its sandbox.
func (e *defaultExecutor) spawn(t *groupTask) {
	tid := t.info.TaskID.Value
	if e.killedGroups[t.group] || e.shutdown {
		e.finish(t, mesos.TaskKilled, "Task killed before it started: its group or executor is ending", "", TaskExit{TaskID: tid, ExitCode: -1})
		return
	}
	proc, err := startGroupTask(&t.info, t.sb)
	if err != nil {
		e.log.Error("cannot start the task", "task_id", tid, "error", err)
		e.finish(t, mesos.TaskFailed, "Failed to launch task: "+err.Error(), mesos.ReasonContainerLaunchFailed, TaskExit{TaskID: tid, ExitCode: -1})
		e.taskEnded(t, mesos.TaskFailed)
		return
	}
	t.proc = proc
	go func() {
		st := proc.wait()
		select {
		case e.exited <- groupExit{tid: tid, st: st}:
		case <-e.s.quit:
		}
	}()
	e.log.Info("task started", "task_id", tid, "pid", proc.pid, "sandbox", t.sb)
	running := e.status(t.info.TaskID, mesos.TaskRunning, "", "")
	e.send(running)
	e.startChecks(t, running)
}

// kill carries out the framework's KILL of a task. The task's group
// follows when it ends KILLED (taskEnded).
func (e *defaultExecutor) kill(k *execapi.Kill) {
	t := e.tasks[k.TaskID.Value]
	if t == nil {
		e.log.Warn("kill of a task this executor does not run", "task_id", k.TaskID.Value)
		return
	}
	grace, ok := killGrace(k.KillPolicy)
	if !ok {
		grace = taskKillGrace(t)
	}
	e.killTask(t, grace)
}

func taskKillGrace(t *groupTask) time.Duration {
	if g, ok := killGrace(t.info.KillPolicy); ok {
		return g
	}
	return DefaultKillGracePeriod
}

// killTask sends SIGTERM to a task's process group and SIGKILL after
// grace; a second kill may shorten the grace period, never lengthen it.
func (e *defaultExecutor) killTask(t *groupTask, grace time.Duration) {
	if t.proc == nil {
		if t.fetchCancel != nil && !t.killing {
			// Not started yet: stop fetching; fetchDone reports the kill.
			t.killing = true
			t.fetchCancel()
		}
		return
	}
	tid := t.info.TaskID.Value
	deadline := time.Now().Add(grace)
	if t.killing && !deadline.Before(t.killDeadline) {
		return
	}
	first := !t.killing
	t.killing, t.killDeadline = true, deadline
	if t.escalate != nil {
		t.escalate.Stop()
	}
	if first && !t.checks.killedByMaxTime && e.s.frameworkInfo.HasCapability(mesos.CapabilityTaskKillingState) {
		e.send(e.status(t.info.TaskID, mesos.TaskKilling, "", ""))
	}
	if grace <= 0 {
		_ = t.proc.signal(syscall.SIGKILL)
		return
	}
	if first {
		e.log.Info("killing the task", "task_id", tid, "grace_period", grace)
		if err := t.proc.signal(syscall.SIGTERM); err != nil {
			e.log.Warn("cannot send SIGTERM to the task", "task_id", tid, "error", err)
		}
	}
	t.escalate = time.AfterFunc(grace, func() {
		select {
		case e.escalate <- tid:
		case <-e.s.quit:
		}
	})
}

// killAll kills every task (SHUTDOWN, or the executor told to stop).
func (e *defaultExecutor) killAll(grace time.Duration) {
	e.shutdown = true
	for _, id := range e.order {
		e.killTask(e.tasks[id], min(grace, taskKillGrace(e.tasks[id])))
	}
}

// shutdownGrace leaves the tasks time to stop before the agent destroys
// the container at the end of its shutdown grace period.
func (e *defaultExecutor) shutdownGrace() time.Duration {
	return e.s.shutdownGrace(DefaultKillGracePeriod)
}

// taskExited records how a task's process ended and reports it.
func (e *defaultExecutor) taskExited(tid string, st ExitStatus) {
	t := e.tasks[tid]
	if t == nil || t.proc == nil {
		return
	}
	pid := t.proc.pid
	t.proc = nil
	t.stopChecks()
	if t.escalate != nil {
		t.escalate.Stop()
		t.escalate = nil
	}
	state, reason := mesos.TaskFailed, ""
	switch {
	case t.checks.killedByMaxTime:
		state, reason = mesos.TaskFailed, mesos.ReasonMaxCompletionTimeReached
	case t.killing:
		state = mesos.TaskKilled
	case st.Success():
		state = mesos.TaskFinished
	}
	te := TaskExit{TaskID: tid, Pid: pid, ExitCode: st.Code, Killed: t.killing}
	if st.Signal != 0 {
		te.Signal = SignalName(st.Signal)
	}
	e.finish(t, state, "Command "+st.String(), reason, te)
	e.taskEnded(t, state)
}

// taskEnded kills the rest of a task's group when the task failed or was
// killed, as Mesos' default executor does (unless it is shutting down:
// then every task is being killed already).
func (e *defaultExecutor) taskEnded(t *groupTask, state mesos.TaskState) {
	if e.shutdown || e.killedGroups[t.group] || (state != mesos.TaskFailed && state != mesos.TaskKilled) {
		return
	}
	if e.killedGroups == nil {
		e.killedGroups = map[int]bool{}
	}
	e.killedGroups[t.group] = true
	e.log.Info("killing task group", "tasks", e.groups[t.group], "because", t.info.TaskID.Value, "state", state)
	for _, id := range e.groups[t.group] {
		if o := e.tasks[id]; o != t && (o.proc != nil || o.fetchCancel != nil) && !o.killing {
			e.killTask(o, taskKillGrace(o))
		}
	}
}

// finish records a task's end in its sandbox, then reports it.
func (e *defaultExecutor) finish(t *groupTask, state mesos.TaskState, msg, reason string, te TaskExit) {
	e.s.recordTaskExit(TaskSandbox(e.cfg.Directory, t.info.TaskID.Value), te, state, msg, reason)
	st := e.status(t.info.TaskID, state, msg, reason)
	if t.checks.killedByHealth {
		unhealthy := false
		st.Healthy = &unhealthy
	}
	t.terminal = &st
	e.send(st)
	if e.allEnded() {
		e.s.awaitTerminalAcks()
	}
}

func (e *defaultExecutor) allEnded() bool {
	for _, t := range e.tasks {
		if t.terminal == nil {
			return false
		}
	}
	return true
}
