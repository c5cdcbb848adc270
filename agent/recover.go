package agent

import (
	"context"
	"fmt"
	"time"

	"mesh/executor"
	"mesh/mesos"
)

// recover reloads what a previous agent process left in the work
// directory: the agent id, pending status updates, and the executors. An
// executor whose container still runs is expected to resubscribe within
// ExecutorRegistrationTimeout once Run starts; one whose container is gone
// has its unfinished tasks failed.
func (a *Agent) recover() error {
	id, err := a.loadAgentID()
	if err != nil {
		return err
	}
	if err := a.updates.Recover(); err != nil {
		return err
	}
	cps, err := a.loadRunCheckpoints()
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

	a.mu.Lock()
	defer a.mu.Unlock()
	a.id = id // ID() stays "" until the servers confirm it
	if id != "" {
		a.log.Info("recovered agent id", "agent_id", id)
	}
	for _, cp := range cps {
		fid, eid := cp.FrameworkInfo.ID.Value, cp.ExecutorInfo.ExecutorID.Value
		if safeID(fid) != nil || safeID(eid) != nil || executorIDTaken(a, fid, eid) {
			a.log.Warn("ignoring an executor checkpoint", "framework_id", fid, "executor_id", eid)
			continue
		}
		fw := a.frameworks[fid]
		if fw == nil {
			fw = &framework{id: fid, info: cp.FrameworkInfo, executors: map[string]*executorRun{}}
			a.frameworks[fid] = fw
		}
		run := &executorRun{
			fw:              fw,
			id:              eid,
			info:            cp.ExecutorInfo,
			commandExecutor: cp.CommandExecutor,
			containerID:     cp.ContainerID,
			directory:       cp.Directory,
			user:            cp.User,
			shutdownGrace:   a.shutdownGrace(cp.ExecutorInfo),
			state:           runRegistering,
			tasks:           map[string]*taskEntry{},
			token:           cp.Token,
			recovered:       true,
			launchBegan:     true,
		}
		for _, ti := range cp.Tasks {
			t := run.addTask(ti)
			if st, ok := a.updates.Latest(fid, ti.TaskID.Value); ok {
				// The executor reported on it, so it had the task.
				t.state, t.launched = st, true
				run.state = runRunning
			}
		}
		fw.executors[eid] = run
		cs, ok := alive[cp.ContainerID]
		if !ok && a.neverRan(cp) && run.state == runRegistering {
			// Nothing of it ran: launch it again.
			run.launchBegan = false
			for _, t := range run.liveTasks() {
				a.deliverLaunch(run, t)
			}
			a.unstarted = append(a.unstarted, run)
			continue
		}
		if !ok {
			a.log.Warn("executor's container ended while the agent was away", "framework_id", fid, "executor_id", eid, "container_id", cp.ContainerID)
			if _, err := executor.ReadTaskExit(run.directory); err != nil && run.state == runRegistering {
				// Nothing was reported: the agent most likely died
				// while it created the container.
				run.term = &termination{state: mesos.TaskFailed, reason: mesos.ReasonAgentRestarted,
					message: "The agent restarted while it was starting the task's executor, which did not survive"}
			}
			a.settleRun(run, executor.ExitStatus{Code: -1, Unknown: true})
			continue
		}
		delete(alive, cp.ContainerID)
		run.pid = cs.Pid
		for _, t := range run.liveTasks() {
			if !t.launched {
				// It may or may not have reached the executor; a
				// duplicate LAUNCH of the same task is ignored.
				a.deliverLaunch(run, t)
			}
		}
		a.recovered = append(a.recovered, run)
		a.log.Info("recovered executor", "framework_id", fid, "executor_id", eid, "container_id", cp.ContainerID, "pid", cs.Pid, "tasks", len(run.tasks))
	}
	for cid := range alive {
		a.orphans = append(a.orphans, cid)
	}
	return nil
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

func executorIDTaken(a *Agent, fid, eid string) bool {
	fw := a.frameworks[fid]
	return fw != nil && fw.executors[eid] != nil
}

// armRecovered starts watching the recovered executors and destroys
// containers nobody claims.
func (a *Agent) armRecovered() {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, run := range a.recovered {
		if run.state < runTerminating {
			a.armRun(run)
		}
	}
	a.recovered = nil
	for _, run := range a.unstarted {
		a.launchUnstarted(run)
	}
	a.unstarted = nil
	for _, cid := range a.orphans {
		a.log.Warn("destroying a container no executor checkpoint claims", "container_id", cid)
		a.goNamed("destroy_orphan", func() {
			ctx, cancel := context.WithTimeout(a.ctx, destroyTimeout)
			defer cancel()
			if err := a.containerizer.Destroy(ctx, cid, 2*time.Second); err != nil {
				a.log.Error("cannot destroy orphan container", "container_id", cid, "error", err)
			}
		})
	}
	a.orphans = nil
}
