package agent

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"mesh/executor"
	"mesh/mesos"
)

// recover reloads what a previous agent process left in the work
// directory: the agent id, pending status updates, and the executors. An
// executor whose container still runs is expected to resubscribe within
// ExecutorRegistrationTimeout once Run starts; one whose container is gone
// has its unfinished tasks failed; a run never launched is launched. What
// a crash left half done, and damage, are dealt with as the table in
// runcheckpoint.go says.
func (a *Agent) recover() error {
	id, err := a.loadAgentID()
	if err != nil {
		return err
	}
	if err := a.updates.Recover(); err != nil {
		return err
	}
	a.emptyTrash()
	dirs, err := a.loadRunCheckpoints()
	if err != nil {
		return err
	}
	states, err := a.containerizer.Recover(context.Background())
	if err != nil {
		return fmt.Errorf("recover containers: %w", err)
	}
	alive := map[string]executor.ContainerState{}
	for _, st := range states {
		alive[st.ID] = st
	}

	// New is not serving yet: nothing runs beside recovery, but it keeps
	// the locks' rules all the same (runner.go).
	a.mu.Lock()
	a.id = id // ID() stays "" until the servers confirm it
	a.mu.Unlock()
	if id != "" {
		a.log.Info("recovered agent id", "agent_id", id)
	}
	for _, rd := range dirs {
		if rd.problem != "" {
			a.recoverDamaged(rd, alive)
			continue
		}
		a.recoverRun(rd, alive)
	}
	a.mu.Lock()
	for cid := range alive {
		a.orphans = append(a.orphans, cid)
	}
	a.mu.Unlock()
	return nil
}

// recoverRun takes back one checkpointed run: its container is adopted if
// it still runs, the run is launched again if nothing of it can have run,
// else its unfinished tasks end. A container it adopts is taken out of
// alive.
func (a *Agent) recoverRun(rd runDir, alive map[string]executor.ContainerState) {
	cp, fid := rd.cp, rd.fid
	kind := kindCustom
	switch {
	case cp.CommandExecutor:
		kind = kindCommand
	case cp.ExecutorInfo.Type == mesos.ExecutorTypeDefault:
		kind = kindGroup
	}
	r := a.newRunner(runnerSpec{
		kind:        kind,
		fwID:        fid,
		info:        cp.ExecutorInfo,
		containerID: cp.ContainerID,
		directory:   cp.Directory,
		user:        cp.User,
		token:       cp.Token,
		state:       runRecovered,
	})
	r.restore(cp.Tasks, cp.TaskGroups, func(tid string) (mesos.TaskState, bool) { return a.updates.Latest(fid, tid) })
	a.mu.Lock()
	a.frameworkLocked(fid, cp.FrameworkInfo).executors[r.id] = r
	a.mu.Unlock()
	if cs, ok := alive[cp.ContainerID]; ok {
		delete(alive, cp.ContainerID)
		r.adopt(cs.Pid)
		a.mu.Lock()
		a.recovered = append(a.recovered, r)
		a.mu.Unlock()
		return
	}
	if r.recoverGone(rd, a.neverRan(cp)) {
		a.mu.Lock()
		a.unstarted = append(a.unstarted, r)
		a.mu.Unlock()
	}
}

// restore gives a recovered run its checkpointed tasks; latest is the
// state of a task's newest checkpointed update, if it has one.
func (r *runner) restore(tasks []mesos.TaskInfo, groups map[string]int, latest func(tid string) (mesos.TaskState, bool)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.launchBegan = true
	for _, ti := range tasks {
		t := r.addTask(ti)
		t.group = groups[ti.TaskID.Value]
		r.groups = max(r.groups, t.group)
		if st, ok := latest(ti.TaskID.Value); ok {
			// The executor reported on it, so it had the task.
			t.state, t.launched = st, true
			r.reported = true
		}
	}
}

// adopt takes a recovered run whose container still runs: its executor
// is expected to resubscribe (armRecovered starts waiting for it).
func (r *runner) adopt(pid int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pid = pid
	if r.kind == kindGroup {
		r.redeliverGroups()
	}
	for _, t := range r.liveTasks() {
		if !t.launched && r.kind != kindGroup {
			// It may or may not have reached the executor; a
			// duplicate LAUNCH of the same task is ignored.
			r.deliverLaunch(t)
		}
	}
	r.log.Info("recovered executor", "pid", pid, "tasks", len(r.tasks))
}

// armRecovered starts waiting for an adopted run's executor to
// resubscribe, as Run starts.
func (r *runner) armRecovered() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.state < runKilling {
		r.arm()
	}
}

// recoverGone deals with a recovered run whose container is gone: it goes
// back to launching (relaunch, for Run to launch it) if nothing of it can
// have run, which neverRan says of its checkpoint; else it ends.
func (r *runner) recoverGone(rd runDir, neverRan bool) (relaunch bool) {
	r.mu.Lock()
	live := r.liveTasks()
	if len(live) == 0 {
		r.mu.Unlock()
		r.log.Info("forgetting an executor checkpoint with no unfinished task; its container is gone")
		r.settle(unknownExit)
		return false
	}
	started := startEvidence(rd.cp)
	if !r.reported && started == "" && neverRan {
		// Nothing of it ran: launch it again. Its executor gets a new
		// token: one the earlier agent started in a container it never
		// finished (destroyed now) may have sent SUBSCRIBE to this
		// address before it died, and the listener, open already, keeps
		// such a call until the agent serves. Under the old token it
		// would pass for the new executor and take its tasks with it.
		r.token = newExecutorToken()
		r.launchBegan = false
		r.state = runLaunching
		for _, t := range live {
			if r.kind != kindGroup {
				r.deliverLaunch(t)
			}
		}
		if r.kind == kindGroup {
			r.redeliverGroups()
		}
		r.mu.Unlock()
		return true
	}
	r.log.Warn("executor's container ended while the agent was away")
	if _, err := executor.ReadTaskExit(r.directory); err != nil && !r.reported {
		msg := "The agent restarted while it was starting the task's executor, which did not survive"
		if !rd.cp.launchBegan {
			// Damage: the marker is written before the container.
			msg = fmt.Sprintf("The agent restarted and found %s missing, though %s; the executor is gone",
				filepath.Join(rd.dir, launchingMarker), started)
			r.log.Error("executor checkpoint without its launching marker", "evidence", started)
		}
		r.term = &termination{state: mesos.TaskFailed, reason: mesos.ReasonAgentRestarted, message: msg}
	}
	r.mu.Unlock()
	r.settle(unknownExit)
	return false
}

// keepRecordedEnd makes a recovered run's task that ended while no agent
// was there keep its own end when the run is cleaned up.
func (r *runner) keepRecordedEnd() {
	te, err := executor.ReadTaskExit(r.directory)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err == nil && te.State.IsTerminal() && r.tasks[te.TaskID] != nil && r.term == nil {
		r.term = &termination{state: te.State, reason: te.Reason, message: te.Message}
	}
}

// startEvidence says what shows that a run's executor started although
// the launching marker is missing, "" if nothing does (or the marker is
// there).
func startEvidence(cp runCheckpoint) string {
	if cp.launchBegan {
		return ""
	}
	if cp.subscribed {
		return "its executor had subscribed (" + subscribedMarker + " is there)"
	}
	for _, f := range []string{"stdout", "stderr"} {
		if _, err := os.Lstat(filepath.Join(cp.Directory, f)); err == nil {
			return "its sandbox has " + f
		}
	}
	return ""
}

// recoverDamaged deals with a checkpoint that cannot be used: its
// executor is killed (its container, unclaimed, stays in alive and is
// destroyed as an orphan), the tasks the update checkpoints attribute to
// it are reported TASK_LOST naming the file, and the checkpoint is
// removed.
func (a *Agent) recoverDamaged(rd runDir, alive map[string]executor.ContainerState) {
	var fate string
	_, running := alive[rd.markerCID]
	switch {
	case rd.markerCID == "":
		fate = "no container of it is kept: the agent destroys every container no checkpoint claims"
	case running:
		fate = "its executor is killed"
	default:
		fate = "its executor is gone"
	}
	tasks := a.updates.TasksOfExecutor(rd.fid, rd.eid)
	a.log.Error("unusable executor checkpoint: its tasks are reported lost and its executor is not kept",
		"framework_id", rd.fid, "executor_id", rd.eid, "problem", rd.problem, "container_id", rd.markerCID,
		"executor_running", running, "tasks", len(tasks))
	msg := fmt.Sprintf("The agent restarted and cannot use its checkpoint of executor %s (%s); %s", rd.eid, rd.problem, fate)
	for _, tid := range tasks {
		a.agentUpdate(rd.fid, nil, tid, mesos.TaskLost, mesos.ReasonAgentRestarted, msg)
	}
	if len(tasks) == 0 {
		a.log.Warn("the unusable executor checkpoint names no task the agent can report; the servers find its tasks lost when the agent registers",
			"framework_id", rd.fid, "executor_id", rd.eid)
	}
	if err := a.removeCheckpointDir(rd.dir); err != nil {
		a.log.Warn("cannot remove executor checkpoint", "path", rd.dir, "error", err)
	}
}

// neverRan reports whether a checkpointed run whose container is gone
// cannot have run any of its tasks, within this boot of the machine (a
// reboot may lose the markers, which are not synced): the agent never
// began to create its container, or, under linux isolation, the executor
// never subscribed, which is how it gets its tasks. Only the linux
// containerizer finds every container an agent created (libcontainer's
// state is written before the container starts), so only there does a
// container being gone mean its executor is not running somewhere.
func (a *Agent) neverRan(cp runCheckpoint) bool {
	if cp.BootID == "" || cp.BootID != a.bootID {
		return false
	}
	if !cp.launchBegan {
		return true
	}
	return !cp.subscribed && a.containerizer.Name() == executor.IsolationLinux
}

// armRecovered starts watching the recovered executors, launches the
// runs never launched and destroys containers nobody claims.
func (a *Agent) armRecovered() {
	a.mu.Lock()
	recovered, unstarted, orphans := a.recovered, a.unstarted, a.orphans
	a.recovered, a.unstarted, a.orphans = nil, nil, nil
	a.mu.Unlock()
	for _, r := range recovered {
		r.armRecovered()
	}
	for _, r := range unstarted {
		r.launchUnstarted()
	}
	for _, cid := range orphans {
		a.log.Warn("destroying a container no executor checkpoint claims", "container_id", cid)
		a.goNamed("destroy_orphan", func() {
			ctx, cancel := context.WithTimeout(a.ctx, destroyTimeout)
			defer cancel()
			if err := a.containerizer.Destroy(ctx, cid, 2*time.Second); err != nil {
				a.log.Error("cannot destroy orphan container", "container_id", cid, "error", err)
			}
		})
	}
}

// launchUnstarted launches a run that an earlier agent process
// checkpointed but never began to launch (it was waiting for a launch
// slot, or the agent stopped first): none of its tasks can have run.
func (r *runner) launchUnstarted() {
	r.mu.Lock()
	live := r.liveTasks()
	r.mu.Unlock()
	if len(live) == 0 {
		// Recovery launches no run without tasks; nothing to do.
		r.settle(unknownExit)
		return
	}
	// The checkpoint holds the new token (recoverGone) before the
	// executor that carries it can exist.
	if err := r.checkpoint(); err != nil {
		r.failLaunch("Failed to launch container: ", fmt.Errorf("record the executor's new token: %w", err))
		return
	}
	r.log.Info("launching an executor an earlier agent never started")
	r.a.goNamed("launch_container", func() { r.start(false, live[0].info) })
}
