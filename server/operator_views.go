package server

import (
	"sort"

	"mesh/fsm"
	"mesh/mesos"
	mapi "mesh/mesos/master"
)

// This file renders the replicated state as the v1 operator API's
// messages (Response.GetTasks, GetAgents, GetFrameworks, ...).

func timeInfo(ns int64) *mesos.TimeInfo {
	if ns == 0 {
		return nil
	}
	return &mesos.TimeInfo{Nanoseconds: ns}
}

// v1Task renders a task as mesos.v1.Task.
func v1Task(t *fsm.Task) mapi.Task {
	out := mapi.Task{Name: t.Info.Name, TaskID: mesos.TaskID{Value: t.TaskID}, FrameworkID: mesos.FrameworkID{Value: t.FrameworkID},
		AgentID: mesos.AgentID{Value: t.AgentID}, State: t.State, Resources: t.Info.Resources, Statuses: t.History(),
		Labels: t.Info.Labels, Discovery: t.Info.Discovery, Container: t.Info.Container, HealthCheck: t.Info.HealthCheck.Redacted(),
		KillPolicy: t.Info.KillPolicy, Limits: t.Info.Limits}
	if t.Info.Executor != nil {
		id := t.Info.Executor.ExecutorID
		out.ExecutorID = &id
	}
	if ts := t.Status(); ts != nil {
		out.StatusUpdateState, out.StatusUpdateUUID = ts.State, ts.UUID
	}
	return out
}

// getTasks lists every task the state holds, split as /state splits them.
func (v *stateView) getTasks() mapi.GetTasks {
	var out mapi.GetTasks
	for _, fw := range v.frameworks {
		for _, t := range v.tasksByFw[fw.ID] {
			switch {
			case t.Completed || t.State.IsTerminal():
				out.CompletedTasks = append(out.CompletedTasks, v1Task(t))
			case t.State == mesos.TaskUnreachable:
				out.UnreachableTasks = append(out.UnreachableTasks, v1Task(t))
			default:
				out.Tasks = append(out.Tasks, v1Task(t))
			}
		}
	}
	return out
}

// getExecutors lists the executors the state records (custom executors
// and default executors of task groups).
func (v *stateView) getExecutors() mapi.GetExecutors {
	var out mapi.GetExecutors
	for _, fw := range v.frameworks {
		for _, e := range v.execsByFw[fw.ID] {
			if !v.showsExecutor(fw, &e.Info) {
				continue
			}
			info := e.Info.Redacted()
			info.FrameworkID = &mesos.FrameworkID{Value: fw.ID}
			out.Executors = append(out.Executors, mapi.Executor{ExecutorInfo: info, AgentID: mesos.AgentID{Value: e.AgentID}})
		}
	}
	return out
}

// liveResources sums the resources live tasks and executors hold.
func liveResources(tasks []*fsm.Task, execs []*fsm.Executor) mesos.Resources {
	out := executorsResources(execs)
	for _, t := range tasks {
		if taskLive(t) {
			out = out.Add(t.Info.Resources...)
		}
	}
	return out
}

func offeredResources(offers []*fsm.Offer) mesos.Resources {
	var out mesos.Resources
	for _, o := range offers {
		out = out.Add(o.Resources...)
	}
	return out
}

// v1Agent renders an agent as Response.GetAgents.Agent.
func v1Agent(st *fsm.State, a *fsm.Agent) mapi.Agent {
	info := a.Info
	info.ID = &mesos.AgentID{Value: a.ID}
	ag := mapi.Agent{AgentInfo: info, Active: a.State == fsm.AgentActive && !a.Deactivated, Deactivated: a.Deactivated,
		DrainInfo: v1DrainInfo(a.Drain), Version: a.Version, PID: "slave(1)@" + a.Address,
		RegisteredTime: timeInfo(a.RegisteredAt), TotalResources: a.AgentTotal().ForWire(),
		AllocatedResources: liveResources(st.TasksByAgent(a.ID), st.ExecutorsByAgent(a.ID)).ForWire(), OfferedResources: offeredResources(st.OffersByAgent(a.ID)).ForWire()}
	if a.ReregisteredAt != 0 && a.ReregisteredAt != a.RegisteredAt {
		ag.ReregisteredTime = timeInfo(a.ReregisteredAt)
	}
	return ag
}

// getAgents lists the registered (active) agents.
func (v *stateView) getAgents() mapi.GetAgents {
	var out mapi.GetAgents
	for _, a := range v.registeredAgents() {
		out.Agents = append(out.Agents, v1Agent(v.st, a))
	}
	return out
}

// v1FrameworkInfo is fw's FrameworkInfo with its id, and the fields that
// have a default in mesos.proto set, as Mesos always shows them.
func v1FrameworkInfo(fw *fsm.Framework) mesos.FrameworkInfo {
	info := fw.Info
	info.ID = &mesos.FrameworkID{Value: fw.ID}
	if info.FailoverTimeout == nil {
		info.FailoverTimeout = new(float64)
	}
	if info.Checkpoint == nil {
		info.Checkpoint = new(bool)
	}
	return info
}

// v1Framework renders a framework as Response.GetFrameworks.Framework;
// offer, when not nil, renders the offers it holds.
func v1Framework(st *fsm.State, fw *fsm.Framework, offer func(*fsm.Offer) mesos.Offer) mapi.Framework {
	active := fw.Connected && !fw.Removed
	offers := st.OffersByFramework(fw.ID)
	f := mapi.Framework{FrameworkInfo: v1FrameworkInfo(fw), Active: active, Connected: active,
		RegisteredTime: timeInfo(fw.RegisteredAt), UnregisteredTime: timeInfo(fw.RemovedAt),
		AllocatedResources: liveResources(st.TasksByFramework(fw.ID), st.ExecutorsByFramework(fw.ID)).ForWire(), OfferedResources: offeredResources(offers).ForWire(),
		OfferConstraints: fw.OfferConstraints}
	if fw.ReregisteredAt != 0 && fw.ReregisteredAt != fw.RegisteredAt {
		f.ReregisteredTime = timeInfo(fw.ReregisteredAt)
	}
	if offer != nil {
		for _, o := range offers {
			f.Offers = append(f.Offers, offer(o))
		}
	}
	return f
}

// getFrameworks lists the frameworks, live and removed, with the offers
// and inverse offers they hold as the leader sends them.
func (v *stateView) getFrameworks(m *master) mapi.GetFrameworks {
	var out mapi.GetFrameworks
	offer := func(o *fsm.Offer) mesos.Offer { return m.toMesosOffer(v.st, o) }
	for _, fw := range v.frameworks {
		f := v1Framework(v.st, fw, offer)
		if !fw.Removed {
			f.InverseOffers = m.inverseOffersOf(fw.ID)
		}
		if fw.Removed {
			out.CompletedFrameworks = append(out.CompletedFrameworks, f)
		} else {
			out.Frameworks = append(out.Frameworks, f)
		}
	}
	return out
}

// getRoles lists the roles frameworks subscribe to and the roles agents
// reserve resources for, with their weights (1 unless an operator set
// one) and the resources their live tasks hold.
func (v *stateView) getRoles() *mapi.GetRoles {
	weights := v.st.Meta().Weights
	roles := map[string]*mapi.Role{}
	role := func(name string) *mapi.Role {
		if roles[name] == nil {
			roles[name] = &mapi.Role{Name: name, Weight: 1}
			if w, ok := weights[name]; ok {
				roles[name].Weight = w
			}
		}
		return roles[name]
	}
	for _, fw := range v.frameworks {
		if fw.Removed {
			continue
		}
		for _, r := range fw.Info.AllRoles() {
			rl := role(r)
			rl.Frameworks = append(rl.Frameworks, mesos.FrameworkID{Value: fw.ID})
		}
		for _, t := range v.tasksByFw[fw.ID] {
			if taskLive(t) {
				rl := role(t.Role)
				rl.Resources = mesos.Resources(rl.Resources).Add(t.Info.Resources...)
			}
		}
	}
	for name := range weights {
		role(name)
	}
	for _, a := range v.registeredAgents() {
		_, reserved := a.AgentTotal().SplitReservations()
		for r := range reserved {
			role(r)
		}
	}
	out := &mapi.GetRoles{}
	for _, r := range roles {
		out.Roles = append(out.Roles, *r)
	}
	sort.Slice(out.Roles, func(i, j int) bool { return out.Roles[i].Name < out.Roles[j].Name })
	return out
}
