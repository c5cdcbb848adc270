package agent

import (
	"mesh/mesos"
)

// framework is what the agent knows of one framework: its info and the
// runners of its executors here. Guarded by Agent.mu.
type framework struct {
	id        string
	info      mesos.FrameworkInfo
	executors map[string]*runner // live runs by executor id
	completed []*runner          // ended runs, oldest first, capped
	// shuttingDown is set by SHUTDOWN_FRAMEWORK: once the last executor is
	// gone the framework's pending updates are dropped and it is
	// forgotten. No run is added to it meanwhile.
	shuttingDown bool
}

// frameworkLocked returns framework fid, made if needed with info.
// Caller holds a.mu.
func (a *Agent) frameworkLocked(fid string, info mesos.FrameworkInfo) *framework {
	fw := a.frameworks[fid]
	if fw == nil {
		fw = &framework{id: fid, info: info, executors: map[string]*runner{}}
		a.frameworks[fid] = fw
	}
	return fw
}

// frameworkInfo is the newest FrameworkInfo of framework fid.
func (a *Agent) frameworkInfo(fid string) mesos.FrameworkInfo {
	a.mu.Lock()
	defer a.mu.Unlock()
	if fw := a.frameworks[fid]; fw != nil {
		return fw.info
	}
	return mesos.FrameworkInfo{ID: &mesos.FrameworkID{Value: fid}}
}

// registerRun adds a new run to the registry. It refuses (false) while
// the agent stops, when the framework is shutting down, or when the
// executor id is taken.
func (a *Agent) registerRun(info mesos.FrameworkInfo, r *runner) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.stopping.Load() {
		return false
	}
	fw := a.frameworkLocked(r.fwID, info)
	if fw.shuttingDown || fw.executors[r.id] != nil {
		return false
	}
	fw.info = info
	fw.executors[r.id] = r
	return true
}

// lookupRun returns the live run of executor eid of framework fid;
// fwKnown says whether the framework is.
func (a *Agent) lookupRun(fid, eid string) (r *runner, fwKnown bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	fw := a.frameworks[fid]
	if fw == nil {
		return nil, false
	}
	return fw.executors[eid], true
}

// runsOf returns the live runs of framework fid and, with completed, its
// ended ones after them.
func (a *Agent) runsOf(fid string, completed bool) []*runner {
	a.mu.Lock()
	defer a.mu.Unlock()
	fw := a.frameworks[fid]
	if fw == nil {
		return nil
	}
	out := make([]*runner, 0, len(fw.executors))
	for _, r := range fw.executors {
		out = append(out, r)
	}
	if completed {
		out = append(out, fw.completed...)
	}
	return out
}

// liveRuns returns every live run.
func (a *Agent) liveRuns() []*runner {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []*runner
	for _, fw := range a.frameworks {
		for _, r := range fw.executors {
			out = append(out, r)
		}
	}
	return out
}

// runEnded takes an ended run out of the registry; keep lists it among
// its framework's completed executors. A framework shut down whose last
// run this was is forgotten.
func (a *Agent) runEnded(r *runner, keep bool) {
	a.mu.Lock()
	fw := a.frameworks[r.fwID]
	if fw == nil {
		a.mu.Unlock()
		return
	}
	if fw.executors[r.id] == r {
		delete(fw.executors, r.id)
	}
	if keep {
		fw.completed = append(fw.completed, r)
		if len(fw.completed) > maxCompletedExecutors {
			fw.completed = fw.completed[len(fw.completed)-maxCompletedExecutors:]
		}
	}
	forget := fw.shuttingDown && len(fw.executors) == 0
	a.mu.Unlock()
	if forget {
		a.forgetFramework(r.fwID)
	}
}

// forgetFramework drops a framework that was shut down and has no
// executor left: its pending updates and checkpoints are removed, then
// it leaves the registry. The files go first, outside a.mu; the
// framework stays in the registry, shutting down (so that no run is added
// to it), until they are gone.
func (a *Agent) forgetFramework(fid string) {
	a.updates.CleanupFramework(fid)
	if err := a.removeCheckpointDir(a.metaPath("frameworks", fid)); err != nil {
		a.log.Warn("cannot remove framework checkpoint", "framework_id", fid, "error", err)
	}
	a.mu.Lock()
	if fw := a.frameworks[fid]; fw != nil && fw.shuttingDown && len(fw.executors) == 0 {
		delete(a.frameworks, fid)
	}
	a.mu.Unlock()
	a.log.Info("framework forgotten", "framework_id", fid)
}
