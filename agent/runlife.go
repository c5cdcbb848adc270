package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"mesh/executor"
	"mesh/mesos"
	execapi "mesh/mesos/executor"
)

// unknownExit is the exit status of a container the agent did not see end.
var unknownExit = executor.ExitStatus{Code: -1, Unknown: true}

// start launches a run: fresh, it first makes the sandbox and writes the
// run's first checkpoint (a run checkpointed but never launched, found by
// recovery, has both); then it builds the container spec from the run's
// first task and creates the container. It runs in its own goroutine, so
// that the command that made the run goes on to the next one.
func (r *runner) start(fresh bool, first mesos.TaskInfo) {
	if fresh {
		if err := r.prepareSandbox(); err != nil {
			if r.claimed {
				go r.a.containerizer.Destroy(context.Background(), r.containerID, 0)
			}
			r.failLaunch("Failed to prepare the container: ", err)
			return
		}
		r.persist()
	}
	if err := r.fetchExecutorURIs(); err != nil {
		r.failLaunch("Failed to launch container: ", err)
		return
	}
	spec, err := r.a.containerSpec(r, first)
	if err != nil {
		r.failLaunch("Failed to prepare the container: ", err)
		return
	}
	r.launchContainer(spec)
}

// prepareSandbox creates the run's sandbox, points runs/latest at it and
// hands it to the task's user.
func (r *runner) prepareSandbox() error {
	if err := os.MkdirAll(r.directory, 0o755); err != nil {
		return fmt.Errorf("create sandbox: %w", err)
	}
	if err := pointLatest(r.directory); err != nil {
		r.log.Warn("cannot update the sandbox's latest link", "path", r.directory, "error", err)
	}
	if r.user != "" {
		return prepareSandboxFor(r.directory, r.user)
	}
	return nil
}

// launchContainer creates the run's container and starts watching it; if
// the launch fails, the run's tasks fail.
func (r *runner) launchContainer(spec executor.ContainerSpec) {
	a := r.a
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
	if a.stopping.Load() {
		release()
		return
	}
	r.mu.Lock()
	if r.state >= runKilling {
		// Killed or shut down before its container was made.
		r.mu.Unlock()
		release()
		r.settle(unknownExit)
		return
	}
	r.launchBegan = true
	r.mu.Unlock()
	if err := a.markLaunching(r.fwID, r.id, r.containerID); err != nil {
		// Without the mark a restarted agent could launch it twice.
		release()
		r.failLaunch("Failed to launch container: ", fmt.Errorf("record the launch: %w", err))
		return
	}
	st, err := a.containerizer.Launch(a.ctx, spec)
	r.mu.Lock()
	if err != nil || r.subscribed || r.state >= runKilling {
		release()
	} else {
		r.startSlot = release
		time.AfterFunc(launchSlotTimeout, release)
	}
	if err != nil {
		r.mu.Unlock()
		r.failLaunch("Failed to launch container: ", err)
		return
	}
	r.launched(st, spec)
	if r.kind == kindCustom {
		// Tasks launched to the executor while its container was made.
		r.growCustom(spec.Resources)
	}
}

// launched goes on once the run's container started. Caller holds r.mu;
// launched releases it.
func (r *runner) launched(st executor.ContainerState, spec executor.ContainerSpec) {
	a := r.a
	r.pid = st.Pid
	if ps, ok := a.containerizer.(executor.Prestarter); ok && r.commandExecutor() && spec.Rootfs == "" {
		// Keep a container like this one ready for the next launch.
		ps.Prestart(spec)
	}
	r.log.Info("executor launched", "pid", st.Pid, "sandbox", r.directory)
	if r.subscribed {
		// The executor subscribed before Launch returned, when its
		// container was not known yet.
		r.enforceCPUQuota()
	}
	switch {
	case a.stopping.Load():
		// Run is returning; shutdown did not see this container.
		r.mu.Unlock()
		if a.cfg.KillTasksOnShutdown {
			ctx, cancel := context.WithTimeout(context.Background(), destroyTimeout)
			defer cancel()
			if err := a.containerizer.Destroy(ctx, r.containerID, 0); err != nil {
				r.log.Error("cannot destroy container on shutdown", "error", err)
			}
			r.settle(unknownExit)
		}
		return
	case r.state >= runKilling:
		// Killed or shut down while it was being launched.
		r.arm()
		r.destroy(0)
	default:
		r.arm()
	}
	r.mu.Unlock()
}

// enforceCPUQuota puts the container under its full cpu limit once the
// executor is up. Caller holds r.mu.
func (r *runner) enforceCPUQuota() {
	if qe, ok := r.a.containerizer.(executor.QuotaEnforcer); ok {
		if err := qe.EnforceCPUQuota(r.containerID); err != nil && !errors.Is(err, executor.ErrUnknownContainer) {
			r.log.Error("cannot enforce the container's cpu quota", "error", err)
		}
	}
}

// arm starts watching the run's container and gives the executor
// ExecutorRegistrationTimeout to subscribe. Caller holds r.mu.
func (r *runner) arm() {
	timeout := r.a.cfg.ExecutorRegistrationTimeout
	r.regTimer = time.AfterFunc(timeout, func() { r.registrationTimedOut(timeout) })
	r.a.goNamed("wait_container", r.waitContainer)
}

// waitContainer waits for the run's container to end, cleans up what is
// left in it and settles the run.
func (r *runner) waitContainer() {
	a := r.a
	st, err := a.containerizer.Wait(a.ctx, r.containerID)
	switch {
	case errors.Is(err, executor.ErrUnknownContainer):
		// Destroyed before the wait began.
		st = unknownExit
	case err != nil:
		// The agent is stopping; the executor keeps running.
		return
	}
	// Ask before the destroy removes the container's cgroups.
	lim := a.limitation(r.containerID)
	ctx, cancel := context.WithTimeout(a.ctx, destroyTimeout)
	if err := a.containerizer.Destroy(ctx, r.containerID, 0); err != nil {
		r.log.Warn("cannot clean up an ended container", "error", err)
	}
	cancel()
	if lim != nil {
		a.metrics.limitation(lim.Resource)
		r.mu.Lock()
		if r.term == nil {
			r.term = &termination{state: mesos.TaskFailed, reason: limitationReason(lim), message: lim.Message}
		}
		r.mu.Unlock()
	}
	r.settle(st)
}

// settle ends the run once its container is gone: its unfinished tasks
// get their terminal updates, then its checkpoint is removed and it
// leaves the registry for its framework's completed executors.
func (r *runner) settle(st executor.ExitStatus) {
	r.mu.Lock()
	if r.state == runTerminal {
		r.mu.Unlock()
		return
	}
	r.state = runTerminal
	r.releaseStartSlot()
	// The sandbox's age, for its removal, counts from now.
	now := time.Now()
	os.Chtimes(r.directory, now, now)
	r.stopTimers()
	if r.stream != nil {
		r.stream.close()
		r.stream = nil
	}
	r.outbox = nil
	r.exitStatus = st.String()
	live := r.liveTasks()
	r.log.Info("executor ended", "status", r.exitStatus, "unfinished_tasks", len(live))
	for _, t := range live {
		term := r.endOf(t, st)
		r.agentUpdate(t.info.TaskID, term.state, term.reason, term.message)
	}
	r.mu.Unlock()
	// Listed as exiting before it leaves the registry, so that a
	// registration meanwhile does not lose it; reported after, so that a
	// launch the leader makes once told goes to a new run.
	report := r.a.executorExited(r, st)
	// After the updates: a crash in between leaves the run to recover,
	// which ends the same tasks the same way.
	r.forgetCheckpoint()
	r.a.runEnded(r, true)
	report()
}

// endOf is what unfinished task t becomes as the run's container ended
// with st. Caller holds r.mu.
func (r *runner) endOf(t *taskEntry, st executor.ExitStatus) termination {
	te, err := executor.ReadTaskExit(r.taskSandbox(t.info.TaskID.Value))
	recorded := err == nil && te.TaskID == t.info.TaskID.Value && te.State.IsTerminal()
	switch {
	case r.term != nil:
		return *r.term
	case r.a.stopping.Load():
		return termination{state: mesos.TaskKilled, reason: mesos.ReasonExecutorTerminated, message: r.a.stopMessage()}
	case recorded:
		// The task ended and its executor recorded how, but the report
		// never got through: the record is the task's end.
		return termination{state: te.State, reason: te.Reason,
			message: te.Message + " (reported by the agent: the executor " + st.String() + " before its update got through)"}
	}
	return termination{state: mesos.TaskFailed, reason: mesos.ReasonExecutorTerminated, message: "Executor " + st.String()}
}

// failLaunch fails the tasks of a run whose container could not be
// launched and forgets the run.
func (r *runner) failLaunch(prefix string, err error) {
	r.mu.Lock()
	if r.state == runTerminal {
		r.mu.Unlock()
		return
	}
	r.log.Warn("cannot launch container", "error", err)
	r.state = runTerminal
	r.stopTimers()
	r.releaseStartSlot()
	r.outbox = nil
	for _, t := range r.liveTasks() {
		r.a.agentUpdate(r.fwID, nil, t.info.TaskID, mesos.TaskFailed, mesos.ReasonContainerLaunchFailed, prefix+err.Error())
		t.state = mesos.TaskFailed
	}
	r.mu.Unlock()
	report := r.a.executorExited(r, unknownExit)
	r.forgetCheckpoint()
	r.a.runEnded(r, false)
	report()
}

// registrationTimedOut destroys an executor that never subscribed.
func (r *runner) registrationTimedOut(after time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.regTimer == nil || r.subscribed || r.state >= runKilling || r.a.stopping.Load() {
		return
	}
	r.regTimer = nil
	reason, msg := mesos.ReasonExecutorRegistrationTO, fmt.Sprintf("Executor did not register within %s", after)
	if r.state == runRecovered {
		reason, msg = reasonExecutorReregistrationTimeout, fmt.Sprintf("Executor did not reregister within %s after the agent restarted; the agent killed it", after)
	}
	r.log.Warn("executor did not subscribe in time; destroying it", "timeout", after)
	r.term = &termination{state: mesos.TaskFailed, reason: reason, message: msg}
	r.destroy(0)
}

// destroy destroys the run's container in the background; waitContainer
// then settles the run. Caller holds r.mu.
func (r *runner) destroy(grace time.Duration) {
	a := r.a
	r.state = runKilling
	r.stopTimers()
	cid := r.containerID
	a.goNamed("destroy_container", func() {
		ctx, cancel := context.WithTimeout(a.ctx, grace+destroyTimeout)
		defer cancel()
		if err := a.containerizer.Destroy(ctx, cid, grace); err != nil && a.ctx.Err() == nil {
			r.log.Error("cannot destroy container", "error", err)
		}
	})
}

// launch adds a task to a running custom executor: it is checkpointed,
// then handed to the executor.
func (r *runner) launch(t mesos.TaskInfo) error {
	r.mu.Lock()
	if r.state >= runKilling {
		r.mu.Unlock()
		return fmt.Errorf("Executor %s is shutting down", r.id)
	}
	task := r.addTask(t)
	r.mu.Unlock()
	r.persist()
	if r.kind == kindCustom {
		r.growCustom(nil)
	}
	r.mu.Lock()
	if !task.state.IsTerminal() && r.state < runKilling {
		r.deliverLaunch(task)
	}
	r.mu.Unlock()
	return nil
}

// kill carries out a KILL of task tid; found is false when the task is
// not the run's.
func (r *runner) kill(id mesos.TaskID, policy *mesos.KillPolicy) (found bool) {
	tid := id.Value
	r.mu.Lock()
	defer r.mu.Unlock()
	task := r.tasks[tid]
	if task == nil {
		return false
	}
	log := r.log.With("task_id", tid)
	if task.state.IsTerminal() || r.state >= runKilling {
		log.Debug("kill of a task that is ending already", "state", task.state, "executor_state", r.state)
		return true
	}
	if !task.launched && r.kind == kindGroup {
		r.killUndelivered(task)
		return true
	}
	if !task.launched {
		// The executor never saw the task: take it back.
		for i, ev := range r.outbox {
			if ev.Launch != nil && ev.Launch.Task.TaskID.Value == tid {
				r.outbox = append(r.outbox[:i:i], r.outbox[i+1:]...)
				break
			}
		}
		r.agentUpdate(id, mesos.TaskKilled, mesos.ReasonTaskKilledDuringLaunch, "Task killed before it was delivered to its executor")
		if r.awaitingExecutor() && len(r.liveTasks()) == 0 {
			log.Info("destroying an executor that has nothing left to run")
			r.destroy(0)
		}
		return true
	}
	if policy == nil {
		policy = task.info.KillPolicy
	}
	log.Info("asking the executor to kill the task")
	r.send(execapi.Event{Type: execapi.EventKill, Kill: &execapi.Kill{TaskID: id, KillPolicy: policy}})
	return true
}

// shutdown asks the executor to shut down and destroys its container
// after its grace period (at once if it never subscribed).
func (r *runner) shutdown(term termination) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.state >= runKilling {
		return
	}
	r.term = &term
	if r.awaitingExecutor() {
		r.destroy(0)
		return
	}
	r.state = runKilling
	r.stopTimers()
	r.send(execapi.Event{Type: execapi.EventShutdown})
	r.shutdownTimer = time.AfterFunc(r.shutdownGrace, func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.state == runKilling && !r.a.stopping.Load() {
			r.destroy(0)
		}
	})
}

// taskAcknowledged drops a task whose terminal update the framework
// acknowledged from the run (and its checkpoint); found is false when
// the task is not the run's.
func (r *runner) taskAcknowledged(tid string) (found bool) {
	r.mu.Lock()
	task := r.tasks[tid]
	if task == nil {
		r.mu.Unlock()
		return false
	}
	if !task.state.IsTerminal() {
		r.mu.Unlock()
		return true
	}
	r.removeTask(tid)
	live := r.state < runTerminal
	r.mu.Unlock()
	if live {
		r.persist()
	}
	return true
}
