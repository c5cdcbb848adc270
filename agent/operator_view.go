package agent

import (
	"sort"

	"mesh/mesos"
	"mesh/mesos/agentop"
	mapi "mesh/mesos/master"
)

// This file takes one consistent copy of the registry and its runs, and
// renders it as the agent operator API's messages. The Mesos-shaped
// /state renders the same copy.

// agentView is a copy of the registry: frameworks by id, each with its
// live and completed runs.
type agentView struct {
	agentID    string
	frameworks []fwView
}

type fwView struct {
	id              string
	info            mesos.FrameworkInfo
	live, completed []runView
}

// runView is a copy of one run, taken under its lock.
type runView struct {
	fwID, id, containerID, directory string
	info                             mesos.ExecutorInfo
	kind                             runKind
	state                            runState
	pid                              int
	exitStatus                       string
	// tasks are the run's tasks in launch order; completed are the ones
	// it forgot (acknowledged terminal), oldest first.
	tasks, completed []taskView
}

type taskView struct {
	info     mesos.TaskInfo
	state    mesos.TaskState
	launched bool
}

// view copies the registry under a.mu, then each run under its own lock:
// the agent's lock is never held while a run's is taken.
func (a *Agent) view() agentView {
	type fwRuns struct {
		id              string
		info            mesos.FrameworkInfo
		live, completed []*runner
	}
	a.mu.Lock()
	v := agentView{agentID: a.id}
	fws := make([]fwRuns, 0, len(a.frameworks))
	for _, fw := range a.frameworks {
		f := fwRuns{id: fw.id, info: fw.info, completed: append([]*runner(nil), fw.completed...)}
		for _, r := range fw.executors {
			f.live = append(f.live, r)
		}
		fws = append(fws, f)
	}
	a.mu.Unlock()
	for _, f := range fws {
		fv := fwView{id: f.id, info: f.info}
		for _, r := range f.live {
			fv.live = append(fv.live, r.view())
		}
		sort.Slice(fv.live, func(i, j int) bool { return fv.live[i].id < fv.live[j].id })
		for _, r := range f.completed {
			fv.completed = append(fv.completed, r.view())
		}
		v.frameworks = append(v.frameworks, fv)
	}
	sort.Slice(v.frameworks, func(i, j int) bool { return v.frameworks[i].id < v.frameworks[j].id })
	return v
}

// view copies the run under its lock.
func (r *runner) view() runView {
	r.mu.Lock()
	defer r.mu.Unlock()
	v := runView{fwID: r.fwID, id: r.id, containerID: r.containerID, directory: r.directory, info: r.info,
		kind: r.kind, state: r.state, pid: r.pid, exitStatus: r.exitStatus}
	for _, id := range r.taskOrder {
		if t := r.tasks[id]; t != nil {
			v.tasks = append(v.tasks, taskView{info: t.info, state: t.state, launched: t.launched})
		}
	}
	for _, t := range r.completed {
		v.completed = append(v.completed, taskView{info: t.info, state: t.state, launched: t.launched})
	}
	return v
}

// executorInfo is the run's ExecutorInfo with its framework's id, as
// Mesos shows it.
func (r runView) executorInfo() mesos.ExecutorInfo {
	info := r.info.Redacted()
	info.FrameworkID = &mesos.FrameworkID{Value: r.fwID}
	return info
}

// containerStatus is the run's container and its executor's process.
func (r runView) containerStatus() *mesos.ContainerStatus {
	cs := &mesos.ContainerStatus{ContainerID: &mesos.ContainerID{Value: r.containerID}}
	if r.pid > 0 {
		pid := uint32(r.pid)
		cs.ExecutorPID = &pid
	}
	return cs
}

// v1Task renders a task of run r as mesos.v1.Task.
func (r runView) v1Task(agentID string, t taskView) mapi.Task {
	out := mapi.Task{Name: t.info.Name, TaskID: t.info.TaskID, FrameworkID: mesos.FrameworkID{Value: r.fwID},
		AgentID: mesos.AgentID{Value: agentID}, State: t.state, Resources: t.info.Resources, Labels: t.info.Labels,
		Discovery: t.info.Discovery, Container: t.info.Container, HealthCheck: t.info.HealthCheck,
		KillPolicy: t.info.KillPolicy, Limits: t.info.Limits}
	if r.kind != kindCommand {
		id := mesos.ExecutorID{Value: r.id}
		out.ExecutorID = &id
	}
	return out
}

// getTasks sorts the tasks as Mesos' agent does: held until the executor
// subscribes (queued), handed to it (launched), ended but not yet
// acknowledged (terminated), and forgotten or of ended executors
// (completed). mesh launches without a pending step, so no task is
// pending.
func (v agentView) getTasks() *agentop.GetTasks {
	out := &agentop.GetTasks{}
	for _, fw := range v.frameworks {
		for _, r := range fw.live {
			for _, t := range r.tasks {
				switch {
				case t.state.IsTerminal():
					out.TerminatedTasks = append(out.TerminatedTasks, r.v1Task(v.agentID, t))
				case t.launched:
					out.LaunchedTasks = append(out.LaunchedTasks, r.v1Task(v.agentID, t))
				default:
					out.QueuedTasks = append(out.QueuedTasks, r.v1Task(v.agentID, t))
				}
			}
			for _, t := range r.completed {
				out.CompletedTasks = append(out.CompletedTasks, r.v1Task(v.agentID, t))
			}
		}
		for _, r := range fw.completed {
			for _, t := range append(append([]taskView(nil), r.tasks...), r.completed...) {
				out.CompletedTasks = append(out.CompletedTasks, r.v1Task(v.agentID, t))
			}
		}
	}
	return out
}

// getExecutors lists the executors, live and completed.
func (v agentView) getExecutors() *agentop.GetExecutors {
	out := &agentop.GetExecutors{}
	for _, fw := range v.frameworks {
		for _, r := range fw.live {
			out.Executors = append(out.Executors, agentop.Executor{ExecutorInfo: r.executorInfo()})
		}
		for _, r := range fw.completed {
			out.CompletedExecutors = append(out.CompletedExecutors, agentop.Executor{ExecutorInfo: r.executorInfo()})
		}
	}
	return out
}

// getFrameworks lists the frameworks the agent knows. mesh forgets a
// framework once it is shut down and its executors are gone, so none is
// ever completed.
func (v agentView) getFrameworks() *agentop.GetFrameworks {
	out := &agentop.GetFrameworks{}
	for _, fw := range v.frameworks {
		info := fw.info
		info.ID = &mesos.FrameworkID{Value: fw.id}
		out.Frameworks = append(out.Frameworks, agentop.Framework{FrameworkInfo: info})
	}
	return out
}
