package server

import (
	"mesh/fsm"
	"mesh/mesos"
	"mesh/mesos/agentapi"
)

// agentTasks are the tasks the state places on one agent, by key, read
// once per registration: looking each reported task up in the whole
// state, twice, was a third of the cost of a registration when a data
// center's agents re-register with a new leader.
type agentTasks struct {
	st    *fsm.State
	byKey map[string]*fsm.Task
	list  []*fsm.Task
}

func tasksOnAgent(st *fsm.State, agentID string) agentTasks {
	list := st.TasksByAgent(agentID)
	byKey := make(map[string]*fsm.Task, len(list))
	for _, t := range list {
		byKey[t.Key()] = t
	}
	return agentTasks{st: st, byKey: byKey, list: list}
}

// task finds a reported task: among the agent's, else (the state places
// it elsewhere, or nowhere) in the whole state.
func (a agentTasks) task(t agentapi.Task) *fsm.Task {
	if known, ok := a.byKey[reportedKey(t)]; ok {
		return known
	}
	return a.st.Task(t.FrameworkID.Value, t.TaskID.Value)
}

func reportedKey(t agentapi.Task) string { return t.FrameworkID.Value + "/" + t.TaskID.Value }

// reconcileReported is what a (re-)registering agent's report changes:
// tasks the leader placed there that the agent does not know are lost,
// and tasks that were unreachable while the agent was away are back in
// the state the agent reports. (Tasks it runs for frameworks that are
// gone are shut down, and tasks the state holds finished are killed:
// agentUsage.)
func reconcileReported(st *fsm.State, agentID string, reported []agentapi.Task, now int64) []fsm.StatusUpdate {
	on := tasksOnAgent(st, agentID)
	seen := make(map[string]bool, len(reported))
	var updates []fsm.StatusUpdate
	for _, t := range reported {
		seen[reportedKey(t)] = true
		if known := on.task(t); known != nil && !known.Completed &&
			known.State == mesos.TaskUnreachable && t.State.Valid() && t.State != mesos.TaskUnreachable {
			updates = append(updates, fsm.StatusUpdate{FrameworkID: t.FrameworkID.Value, Status: mesos.TaskStatus{
				TaskID: t.TaskID, State: t.State, Source: mesos.SourceMaster,
				Reason: mesos.ReasonAgentReregistered, Message: "Agent re-registered",
				AgentID: &mesos.AgentID{Value: agentID}, Timestamp: float64(now) / 1e9,
			}})
		}
	}
	for _, t := range on.list {
		if t.Completed || t.State.IsTerminal() || seen[t.Key()] {
			continue
		}
		updates = append(updates, fsm.StatusUpdate{FrameworkID: t.FrameworkID, Status: mesos.TaskStatus{
			TaskID: t.Info.TaskID, State: mesos.TaskLost, Source: mesos.SourceMaster,
			Reason: mesos.ReasonAgentRestarted, Message: "Task was not found on the agent when it re-registered",
			AgentID: &mesos.AgentID{Value: agentID}, Timestamp: float64(now) / 1e9,
		}})
	}
	return updates
}

// agentUsage reads, from the state once the report's updates are
// committed, what each framework uses on the agent (summed once per
// framework: summing task by task copied the sum each time), the
// reported tasks to kill (still running there while the state holds them
// finished: their frameworks were told they are gone, and their
// resources are offered again) and the frameworks to shut down there
// (gone).
func agentUsage(st *fsm.State, agentID string, reported []agentapi.Task) (used map[string]mesos.Resources, kills []agentapi.Kill, orphans map[string]bool) {
	on := tasksOnAgent(st, agentID)
	parts := map[string][][]mesos.Resource{}
	for _, t := range on.list {
		if taskLive(t) {
			parts[t.FrameworkID] = append(parts[t.FrameworkID], t.Info.Resources)
		}
	}
	for _, e := range st.ExecutorsByAgent(agentID) {
		parts[e.FrameworkID] = append(parts[e.FrameworkID], e.Info.Resources)
	}
	used = sumEach(parts)
	orphans = map[string]bool{}
	live := map[string]bool{}
	for _, t := range reported {
		fid := t.FrameworkID.Value
		if _, looked := live[fid]; !looked && !orphans[fid] {
			fw := st.Framework(fid)
			if fw == nil || fw.Removed {
				orphans[fid] = true
			} else {
				live[fid] = true
			}
		}
		if orphans[fid] || t.State.IsTerminal() {
			continue
		}
		if known := on.task(t); known == nil || known.Completed || known.State.IsTerminal() {
			kills = append(kills, agentapi.Kill{FrameworkID: t.FrameworkID, TaskID: t.TaskID})
		}
	}
	return used, kills, orphans
}

// sumEach sums each key's resource lists (mesos.Sum): gathered first and
// summed once, where adding them one at a time copied the sum each time.
func sumEach(lists map[string][][]mesos.Resource) map[string]mesos.Resources {
	sums := make(map[string]mesos.Resources, len(lists))
	for k, l := range lists {
		sums[k] = mesos.Sum(l...)
	}
	return sums
}
