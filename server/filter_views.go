package server

import (
	"context"

	"mesh/acl"
	"mesh/fsm"
	"mesh/mesos"
	mapi "mesh/mesos/master"
)

// As Mesos does, the lists a caller reads (GET_STATE, GET_FRAMEWORKS,
// GET_TASKS, GET_EXECUTORS, GET_AGENTS, /state, /master/frameworks,
// /master/tasks, /master/slaves, /state-summary and the operator event
// stream) are filtered, not refused: a caller sees the frameworks whose
// user it may view (view_frameworks), their tasks and executors it may
// view by the user they run as (view_tasks, view_executors), and the
// agents it may view by hostname (view_agents, mesh's own: Mesos has no
// such rule). The resource totals of agents stay whole.

// viewFor is the state as the caller of ctx may see it.
func (s *Server) viewFor(ctx context.Context) *stateView {
	return s.newStateView().only(s.authzOf(ctx))
}

// only restricts the view to what z may see. The resources used and
// offered stay counted in full.
func (v *stateView) only(z authz) *stateView {
	if z.acls == nil {
		return v
	}
	v.z = &z
	visible := map[string]bool{}
	var fws []*fsm.Framework
	for _, fw := range v.frameworks {
		if z.mayViewFramework(fw) {
			fws = append(fws, fw)
			visible[fw.ID] = true
		}
	}
	v.frameworks = fws
	tasks := map[string][]*fsm.Task{}
	for _, fw := range fws {
		for _, t := range v.tasksByFw[fw.ID] {
			if z.mayViewTask(fw, t) {
				tasks[fw.ID] = append(tasks[fw.ID], t)
			}
		}
	}
	v.tasksByFw = tasks
	var agents []*fsm.Agent
	shown := map[string]bool{}
	for _, a := range v.agents {
		if z.allowed(acl.ViewAgents, a.Info.Hostname) {
			agents = append(agents, a)
			shown[a.ID] = true
		}
	}
	v.agents = agents
	var offers []*fsm.Offer
	for _, o := range v.offers {
		if visible[o.FrameworkID] && shown[o.AgentID] {
			offers = append(offers, o)
		}
	}
	v.offers = offers
	return v
}

func (z authz) mayViewFramework(fw *fsm.Framework) bool {
	return z.allowed(acl.ViewFrameworks, fw.Info.User)
}

func (z authz) mayViewTask(fw *fsm.Framework, t *fsm.Task) bool {
	return z.allowed(acl.ViewTasks, taskUser(&t.Info, fw.Info.User))
}

// showsExecutor reports whether the view shows an executor of fw.
func (v *stateView) showsExecutor(fw *fsm.Framework, e *mesos.ExecutorInfo) bool {
	return v.z == nil || v.z.allowed(acl.ViewExecutors, executorUser(e, fw.Info.User))
}

// flags are the server's flags when the view may show them (view_flags).
func (v *stateView) flags() map[string]string {
	if v.z != nil && !v.z.allowedAny(acl.ViewFlags) {
		return map[string]string{}
	}
	return v.s.flags()
}

// eventFilter is what the caller of ctx may see of the operator event
// stream: an event about a framework, task or agent it may not view is
// not sent. Nil without ACLs. It runs under the hub's lock with the
// state the event was made from, and reads the rules in force at each
// event: a stream follows a reload of the file.
func (s *Server) eventFilter(ctx context.Context) func(*mapi.Event, *fsm.State) bool {
	z := s.authzOf(ctx)
	if z.acls == nil {
		return nil
	}
	return func(ev *mapi.Event, st *fsm.State) bool {
		z.acls = s.cfg.ACLs.ACLs()
		return z.mayViewEvent(ev, st)
	}
}

func (z authz) mayViewEvent(ev *mapi.Event, st *fsm.State) bool {
	framework := func(id string) *fsm.Framework {
		if fw := st.Framework(id); fw != nil && z.mayViewFramework(fw) {
			return fw
		}
		return nil
	}
	task := func(fid, tid string) bool {
		fw := framework(fid)
		t := st.Task(fid, tid)
		return fw != nil && t != nil && z.mayViewTask(fw, t)
	}
	switch ev.Type {
	case mapi.EventTaskAdded:
		return task(ev.TaskAdded.Task.FrameworkID.Value, ev.TaskAdded.Task.TaskID.Value)
	case mapi.EventTaskUpdated:
		return task(ev.TaskUpdated.FrameworkID.Value, ev.TaskUpdated.Status.TaskID.Value)
	case mapi.EventFrameworkAdded:
		return z.allowed(acl.ViewFrameworks, ev.FrameworkAdded.Framework.FrameworkInfo.User)
	case mapi.EventFrameworkUpdated:
		return z.allowed(acl.ViewFrameworks, ev.FrameworkUpdated.Framework.FrameworkInfo.User)
	case mapi.EventFrameworkRemoved:
		return z.allowed(acl.ViewFrameworks, ev.FrameworkRemoved.FrameworkInfo.User)
	case mapi.EventAgentAdded:
		return z.allowed(acl.ViewAgents, ev.AgentAdded.Agent.AgentInfo.Hostname)
	case mapi.EventAgentRemoved:
		a := st.Agent(ev.AgentRemoved.AgentID.Value)
		return a != nil && z.allowed(acl.ViewAgents, a.Info.Hostname)
	}
	// SUBSCRIBED is filtered when it is built; HEARTBEAT says nothing.
	return true
}

// filterRoles leaves out of GET_ROLES and GET_WEIGHTS the roles the
// caller of ctx may not view (view_roles), and out of GET_QUOTA the
// quotas it may not read (get_quotas), as Mesos does. Nested role rules
// ("eng/%") apply.
func (s *Server) filterRoles(ctx context.Context, resp *mapi.Response) *mapi.Response {
	z := s.authzOf(ctx)
	if z.acls == nil || resp == nil {
		return resp
	}
	switch {
	case resp.GetRoles != nil:
		var kept []mapi.Role
		for _, r := range resp.GetRoles.Roles {
			if z.allowed(acl.ViewRoles, r.Name) {
				kept = append(kept, r)
			}
		}
		resp.GetRoles.Roles = kept
	case resp.GetWeights != nil:
		var kept []mapi.WeightInfo
		for _, w := range resp.GetWeights.WeightInfos {
			if z.allowed(acl.ViewRoles, w.Role) {
				kept = append(kept, w)
			}
		}
		resp.GetWeights.WeightInfos = kept
	case resp.GetQuota != nil:
		var kept []mapi.QuotaConfig
		for _, q := range resp.GetQuota.Status.Configs {
			if q.Role != nil && z.allowed(acl.GetQuotas, *q.Role) {
				kept = append(kept, q)
			}
		}
		resp.GetQuota.Status.Configs = kept
	}
	return resp
}
