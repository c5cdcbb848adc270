package agent

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"mesh/executor"
	"mesh/mesos"
)

// The agent routes each command of the leader to the runner it concerns;
// the runners do the work (runner.go, runlife.go).

// reasonExecutorReregistrationTimeout is Mesos' reason for an executor
// that did not come back after an agent restart.
const reasonExecutorReregistrationTimeout = "REASON_EXECUTOR_REREGISTRATION_TIMEOUT"

// destroyTimeout bounds a container's destruction beyond its grace
// period.
const destroyTimeout = 30 * time.Second

// agentUpdate records a status update the agent itself makes (source
// SOURCE_AGENT, fresh uuid), naming run's executor and container if run
// is given (runner.agentUpdate, which also sets the task's state, gives
// it). The update is synced to disk before agentUpdate returns; the
// caller never holds a.mu.
func (a *Agent) agentUpdate(fid string, run *runner, task mesos.TaskID, state mesos.TaskState, reason, msg string) {
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
	if id := a.knownID(); id != "" {
		st.AgentID = &mesos.AgentID{Value: id}
	}
	if run != nil {
		st.ExecutorID = &mesos.ExecutorID{Value: run.id}
		st.ContainerStatus = &mesos.ContainerStatus{ContainerID: &mesos.ContainerID{Value: run.containerID}}
	}
	a.log.Info("task status", "framework_id", fid, "task_id", task.Value, "state", state, "reason", reason, "message", msg)
	if _, err := a.updates.Update(fid, st); err != nil {
		a.log.Error("cannot checkpoint a status update; it is lost", "framework_id", fid, "task_id", task.Value, "state", state, "error", err)
	}
}

// launchTasks starts the tasks of one LAUNCH command.
func (a *Agent) launchTasks(info mesos.FrameworkInfo, tasks []mesos.TaskInfo) {
	if _, ok := a.admitLaunch(info, len(tasks)); !ok {
		return
	}
	for _, t := range tasks {
		a.launchTask(info, t)
	}
}

// launchTask starts one task: in a new run (its own command executor, or
// the framework's custom executor), or in the custom executor's run
// already there.
func (a *Agent) launchTask(fwInfo mesos.FrameworkInfo, t mesos.TaskInfo) {
	fid, tid := fwInfo.ID.Value, t.TaskID.Value
	log := a.log.With("framework_id", fid, "task_id", tid)
	a.metrics.launches.Inc()
	fail := func(reason, msg string) {
		a.metrics.launchFailures.Inc()
		log.Warn("cannot launch task", "reason", reason, "message", msg)
		a.agentUpdate(fid, nil, t.TaskID, mesos.TaskFailed, reason, msg)
		a.executorNotStarted(fid, t.Executor)
	}
	if err := safeID(tid); err != nil {
		log.Error("ignoring a task with an unusable id", "error", err)
		return
	}
	for _, r := range a.runsOf(fid, false) {
		if r.hasLiveTask(tid) {
			fail(mesos.ReasonTaskInvalid, fmt.Sprintf("Task %s is already running on this agent", tid))
			return
		}
	}
	if st, ok := a.updates.Latest(fid, tid); ok && !st.IsTerminal() {
		fail(mesos.ReasonTaskInvalid, fmt.Sprintf("Task %s is already known to this agent (in state %s)", tid, st))
		return
	}
	kind, execInfo, err := taskExecutor(t)
	if err != nil {
		fail(mesos.ReasonTaskInvalid, err.Error())
		return
	}
	plan, err := a.planContainer(kind, execInfo, t, fwInfo.User)
	if err != nil {
		fail(mesos.ReasonContainerLaunchFailed, err.Error())
		return
	}
	eid := plan.info.ExecutorID.Value
	if r, _ := a.lookupRun(fid, eid); r != nil {
		if kind == kindCommand || r.kind != kind {
			fail(mesos.ReasonTaskInvalid, fmt.Sprintf("Executor %s of an earlier task with this id is still running", eid))
			return
		}
		if err := r.compatible(fid, plan.info); err != nil {
			fail(mesos.ReasonTaskInvalid, err.Error())
			return
		}
		if err := r.launch(t); err != nil {
			fail(mesos.ReasonExecutorTerminated, err.Error())
		}
		return
	}
	a.startRun(fwInfo, kind, plan, t)
}

// admitLaunch checks that a launch of n tasks names a usable framework
// that is not shutting down, on an agent that is not stopping, and records
// the framework's latest info; it returns the framework id, or false (the
// launch is ignored, with a log line saying why).
func (a *Agent) admitLaunch(info mesos.FrameworkInfo, n int) (string, bool) {
	if info.ID == nil {
		a.log.Error("ignoring a launch without a framework id", "tasks", n)
		return "", false
	}
	fid := info.ID.Value
	if err := safeID(fid); err != nil {
		a.log.Error("ignoring a launch for an unusable framework id", "framework_id", fid, "error", err)
		return "", false
	}
	if a.stopping.Load() {
		a.log.Warn("ignoring a launch while shutting down", "framework_id", fid, "tasks", n)
		return "", false
	}
	a.mu.Lock()
	fw := a.frameworkLocked(fid, info)
	down := fw.shuttingDown
	if !down {
		fw.info = info
	}
	a.mu.Unlock()
	if down {
		a.log.Warn("ignoring a launch for a framework that is shutting down", "framework_id", fid)
		return "", false
	}
	return fid, true
}

// taskExecutor says what kind of run a task needs and, for a custom
// executor, its ExecutorInfo; an error says why the task is invalid.
func taskExecutor(t mesos.TaskInfo) (runKind, mesos.ExecutorInfo, error) {
	switch {
	case t.Executor != nil && t.Command != nil:
		return 0, mesos.ExecutorInfo{}, fmt.Errorf("Task has both a command and an executor")
	case t.Executor != nil:
		info := *t.Executor
		if err := safeID(info.ExecutorID.Value); err != nil {
			return 0, info, fmt.Errorf("Task's executor has an invalid id: %w", err)
		}
		if info.Type == "DEFAULT" {
			return 0, info, fmt.Errorf("A task for the DEFAULT executor must be launched in a task group (LAUNCH_GROUP)")
		}
		if info.Command == nil {
			return 0, info, fmt.Errorf("Task's executor has no command")
		}
		return kindCustom, info, nil
	case t.Command != nil:
		return kindCommand, mesos.ExecutorInfo{}, nil
	}
	return 0, mesos.ExecutorInfo{}, fmt.Errorf("Task has neither a command nor an executor")
}

// startRun makes the runner of a new run with t as its first task,
// registers it and starts it. The sandbox, the first checkpoint and the
// container are made by the runner, in its own goroutine: a burst of
// launches is not written to disk one after another in the command
// loop, and the run is in the registry (launching, its LAUNCH in the
// outbox) for kills and shutdowns that arrive meanwhile.
func (a *Agent) startRun(fwInfo mesos.FrameworkInfo, kind runKind, plan containerPlan, t mesos.TaskInfo) {
	fid := fwInfo.ID.Value
	// The command executor can start in a container created ahead of
	// time; the run then takes that container's id.
	cid, claimed := "", false
	if ps, ok := a.containerizer.(executor.Prestarter); ok && kind == kindCommand && plan.plain() {
		cid, claimed = ps.Claim(plan.user, plan.argv)
	}
	if !claimed {
		cid = uuid.NewString()
	}
	plan.info.FrameworkID = &mesos.FrameworkID{Value: fid}
	r := a.newRunner(runnerSpec{
		kind:        kind,
		fwID:        fid,
		info:        plan.info,
		containerID: cid,
		directory:   a.sandboxDir(fid, plan.info.ExecutorID.Value, cid),
		user:        plan.user,
		token:       newExecutorToken(),
		claimed:     claimed,
		state:       runLaunching,
	})
	r.launchedAt = time.Now()
	r.launchFirst(t)
	if !a.registerRun(fwInfo, r) {
		a.log.Warn("ignoring a launch while shutting down", "framework_id", fid, "task_id", t.TaskID.Value)
		if claimed {
			go a.containerizer.Destroy(context.Background(), cid, 0)
		}
		if kind == kindCustom {
			a.executorNotStarted(fid, &plan.info)
		}
		return
	}
	a.goNamed("launch_container", func() { r.start(true, t) })
}

// killTask carries out a KILL command.
func (a *Agent) killTask(fid string, id mesos.TaskID, policy *mesos.KillPolicy) {
	tid := id.Value
	if safeID(fid) != nil || safeID(tid) != nil {
		a.log.Warn("ignoring a kill with an unusable id", "framework_id", fid, "task_id", tid)
		return
	}
	for _, r := range a.runsOf(fid, false) {
		if r.kill(id, policy) {
			return
		}
	}
	if st, ok := a.updates.Latest(fid, tid); ok && st.IsTerminal() {
		a.log.Debug("kill of a task that already ended", "framework_id", fid, "task_id", tid, "state", st)
		return
	}
	a.agentUpdate(fid, nil, id, mesos.TaskLost, mesos.ReasonTaskUnknown, "Cannot kill task: it is unknown to the agent")
}

// shutdownFramework carries out SHUTDOWN_FRAMEWORK: every executor of the
// framework is shut down, then its pending updates are dropped.
func (a *Agent) shutdownFramework(fid string) {
	if safeID(fid) != nil {
		return
	}
	a.mu.Lock()
	fw := a.frameworks[fid]
	if fw == nil {
		a.mu.Unlock()
		a.updates.CleanupFramework(fid)
		return
	}
	fw.shuttingDown = true
	runs := make([]*runner, 0, len(fw.executors))
	for _, r := range fw.executors {
		runs = append(runs, r)
	}
	a.mu.Unlock()
	a.log.Info("shutting down framework", "framework_id", fid, "executors", len(runs))
	for _, r := range runs {
		r.shutdown(termination{state: mesos.TaskKilled, reason: mesos.ReasonFrameworkRemoved, message: "Framework shut down"})
	}
	if len(runs) == 0 {
		a.forgetFramework(fid)
	}
}

// updateAcknowledged is called once the framework acknowledged an update:
// a task whose terminal update is acknowledged is over for good.
func (a *Agent) updateAcknowledged(ack ackedUpdate) {
	if !ack.Status.State.IsTerminal() {
		return
	}
	for _, r := range a.runsOf(ack.FrameworkID, true) {
		if r.taskAcknowledged(ack.Status.TaskID.Value) {
			return
		}
	}
}
