package server

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"mesh/acl"
	"mesh/auth"
	"mesh/fsm"
	"mesh/mesos"
	"mesh/mesos/agentapi"
	mapi "mesh/mesos/master"
	"mesh/mesos/scheduler"
)

// authz is what one caller may do: the rules in force when its request
// came (one version throughout the request, however the file changes)
// and the principal it acts as. Without an ACL file everything is
// allowed.
type authz struct {
	acls      *acl.ACLs
	principal string
}

// authzOf is the caller of a request as authentication established it
// (auth.FromContext; "" for an anonymous caller).
func (s *Server) authzOf(ctx context.Context) authz {
	return authz{acls: s.cfg.ACLs.ACLs(), principal: auth.FromContext(ctx).Principal}
}

// frameworkAuthz is the caller of a scheduler call. The principal is the
// authenticated one; without authentication it is the principal the
// FrameworkInfo names, as Mesos takes it (ACLs then trust what a
// framework says it is: turn authentication on with them).
func (s *Server) frameworkAuthz(ctx context.Context, info *mesos.FrameworkInfo) authz {
	z := s.authzOf(ctx)
	if z.principal == "" && info != nil {
		z.principal = info.Principal
	}
	return z
}

func (z authz) allowed(act acl.Action, object string) bool {
	return z.acls.Allowed(act, z.principal, object)
}

func (z authz) allowedAny(act acl.Action) bool { return z.acls.AllowedAny(act, z.principal) }

// who names the caller in a refusal.
func (z authz) who() string {
	if z.principal == "" {
		return "an anonymous caller"
	}
	return fmt.Sprintf("principal %q", z.principal)
}

// forbidden is the 403 of a refused action.
func (z authz) forbidden(format string, args ...any) error {
	return httpErrorf(http.StatusForbidden, "%s is not authorized to %s", z.who(), fmt.Sprintf(format, args...))
}

// check refuses act on the first object the caller may not act on; what
// says what act does to it ("register a framework with role").
func (z authz) check(act acl.Action, what string, objects ...string) error {
	for _, o := range objects {
		if !z.allowed(act, o) {
			return z.forbidden("%s %q (%s)", what, o, act)
		}
	}
	return nil
}

// verb is how a refusal names an action: its name in words.
func verb(act acl.Action) string {
	return strings.ReplaceAll(strings.TrimSuffix(string(act), "s"), "_", " ")
}

// authorizeSubscribe checks register_frameworks for every role of a
// SUBSCRIBE's (or UPDATE_FRAMEWORK's) FrameworkInfo.
func (s *Server) authorizeSubscribe(ctx context.Context, sub *scheduler.Subscribe) error {
	if sub == nil || sub.FrameworkInfo == nil {
		return nil // the call's validation says what is missing
	}
	info := sub.FrameworkInfo
	return s.frameworkAuthz(ctx, info).check(acl.RegisterFrameworks, "with role", info.AllRoles()...)
}

// authorizeCall checks a subscribed framework's call before it runs:
// UPDATE_FRAMEWORK is refused (403) for a role the framework may not
// register with; the launches of an ACCEPT it may not run, and its
// operations on reservations and volumes it may not perform, are taken
// out of the call and reported as Mesos reports them.
func (m *master) authorizeCall(ctx context.Context, fw *fsm.Framework, call *scheduler.Call) error {
	switch {
	case call.Type == scheduler.CallUpdateFramework:
		return m.s.authorizeSubscribe(ctx, call.UpdateFramework)
	case call.Type == scheduler.CallAccept && call.Accept != nil:
		if m.s.cfg.ACLs == nil {
			return nil
		}
		call.Accept.Operations = m.authorizeOperations(ctx, fw, call.Accept.Operations)
	}
	return nil
}

// taskUser is the user a task runs as, as Mesos' run_tasks and view_tasks
// take it: its command's, else its executor's, else its framework's.
func taskUser(t *mesos.TaskInfo, fwUser string) string {
	if t.Command != nil && t.Command.User != "" {
		return t.Command.User
	}
	if t.Executor != nil && t.Executor.Command != nil && t.Executor.Command.User != "" {
		return t.Executor.Command.User
	}
	return fwUser
}

// executorUser is the user an executor runs as.
func executorUser(e *mesos.ExecutorInfo, fwUser string) string {
	if e != nil && e.Command != nil && e.Command.User != "" {
		return e.Command.User
	}
	return fwUser
}

// authorizeOperations checks the operations of an ACCEPT and returns
// those that may go on. A
// task the framework may not run as its user is taken out of the call
// and fails with TASK_ERROR (REASON_TASK_UNAUTHORIZED), a task group
// with one such task (or an executor of such a user) fails whole
// (REASON_TASK_GROUP_UNAUTHORIZED), as Mesos does; the rest of the call
// goes on and the resources left go back to the pool. An operation on
// reservations or volumes that is refused is dropped with an
// OPERATION_ERROR (authorizeOperation).
func (m *master) authorizeOperations(ctx context.Context, fw *fsm.Framework, ops []mesos.OfferOperation) []mesos.OfferOperation {
	z := m.s.frameworkAuthz(ctx, &fw.Info)
	out := ops[:0]
	for i := range ops {
		op := &ops[i]
		switch {
		case op.Type == mesos.OperationLaunch && op.Launch != nil:
			kept := op.Launch.TaskInfos[:0]
			for _, t := range op.Launch.TaskInfos {
				if u := taskUser(&t, fw.Info.User); !z.allowed(acl.RunTasks, u) {
					m.masterUpdate(fw.ID, t.TaskID, t.AgentID.Value, mesos.TaskError, mesos.ReasonTaskUnauthorized,
						fmt.Sprintf("Not authorized to launch task %s as user %q", t.TaskID.Value, u))
					continue
				}
				kept = append(kept, t)
			}
			op.Launch.TaskInfos = kept
			out = append(out, *op)
		case op.Type == mesos.OperationLaunchGroup && op.LaunchGroup != nil:
			g := op.LaunchGroup
			denied := ""
			if u := executorUser(&g.Executor, fw.Info.User); !z.allowed(acl.RunTasks, u) {
				denied = u
			}
			for _, t := range g.TaskGroup.Tasks {
				if u := taskUser(&t, executorUser(&g.Executor, fw.Info.User)); denied == "" && !z.allowed(acl.RunTasks, u) {
					denied = u
				}
			}
			if denied == "" {
				out = append(out, *op)
				continue
			}
			for _, t := range g.TaskGroup.Tasks {
				m.masterUpdate(fw.ID, t.TaskID, t.AgentID.Value, mesos.TaskError, mesos.ReasonTaskGroupUnauthorized,
					fmt.Sprintf("Not authorized to launch task group as user %q", denied))
			}
		default:
			if err := m.s.authorizeOperation(ctx, &fw.Info, op); err != nil {
				m.dropOperation(fw.ID, *op, err.Error())
				continue
			}
			out = append(out, *op)
		}
	}
	return out
}

// authorizeOperation checks an operation on reservations or persistent
// volumes, from an ACCEPT (fw is the framework's info) or an operator
// call (fw nil): reserve_resources and create_volumes by the role of each
// resource, unreserve_resources by the principal that made the
// reservation, destroy_volumes by the principal that created the volume.
func (s *Server) authorizeOperation(ctx context.Context, fw *mesos.FrameworkInfo, op *mesos.OfferOperation) error {
	z := s.authzOf(ctx)
	if fw != nil {
		z = s.frameworkAuthz(ctx, fw)
	}
	var act acl.Action
	var res []mesos.Resource
	var object func(*mesos.Resource) string
	var what string
	role := reservationRole
	switch {
	case op.Reserve != nil:
		act, res, object, what = acl.ReserveResources, op.Reserve.Resources, role, "reserve resources for role"
	case op.Unreserve != nil:
		act, res, object, what = acl.UnreserveResources, op.Unreserve.Resources, reserver, "unreserve resources reserved by principal"
	case op.Create != nil:
		act, res, object, what = acl.CreateVolumes, op.Create.Volumes, role, "create volumes for role"
	case op.Destroy != nil:
		act, res, object, what = acl.DestroyVolumes, op.Destroy.Volumes, creator, "destroy volumes created by principal"
	default:
		return nil
	}
	return checkResources(z, act, what, object, res)
}

// checkResources checks act on the object of each resource.
func checkResources(z authz, act acl.Action, what string, object func(*mesos.Resource) string, res []mesos.Resource) error {
	for i := range res {
		if err := z.check(act, what, object(&res[i])); err != nil {
			return err
		}
	}
	return nil
}

// reservationRole is the role a resource is reserved for.
func reservationRole(r *mesos.Resource) string { return r.ReservationRole() }

// machineObjects names machines in the rules: each by its hostname, else
// its IP.
func machineObjects(ids []mesos.MachineID) []string {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if id.Hostname != "" {
			out = append(out, id.Hostname)
		} else {
			out = append(out, id.IP)
		}
	}
	return out
}

// reserver is the principal that made a resource's (latest) reservation.
func reserver(r *mesos.Resource) string {
	if n := len(r.Reservations); n > 0 {
		return r.Reservations[n-1].Principal
	}
	if r.Reservation != nil {
		return r.Reservation.Principal
	}
	return ""
}

// creator is the principal that created a persistent volume.
func creator(r *mesos.Resource) string {
	if r.Disk != nil && r.Disk.Persistence != nil {
		return r.Disk.Persistence.Principal
	}
	return ""
}

// authorizeMaintenance checks a maintenance call (acl.UpdateMaintenance,
// acl.StartMaintenance, acl.StopMaintenance, acl.GetMaintenance…) for
// each machine it names (hostname, else IP).
func (s *Server) authorizeMaintenance(ctx context.Context, act acl.Action, machines ...string) error {
	z := s.authzOf(ctx)
	if len(machines) == 0 && !z.allowedAny(act) {
		return z.forbidden("%s (%s)", verb(act), act)
	}
	return z.check(act, verb(act)+" of machine", machines...)
}

// agentObject names an agent in the rules: its hostname.
func (s *Server) agentObject(id string) string {
	if a := s.fsm.State().Agent(id); a != nil && a.Info.Hostname != "" {
		return a.Info.Hostname
	}
	return id
}

// authorizeOperatorCall checks the operator calls that act on one thing
// (the lists are filtered instead: filter_views.go). A nil error lets the
// call go on.
func (s *Server) authorizeOperatorCall(ctx context.Context, c *mapi.Call) error {
	z := s.authzOf(ctx)
	if z.acls == nil {
		return nil
	}
	agent := func(act acl.Action, what string, id *mesos.AgentID) error {
		if id == nil {
			return nil // the call's validation says what is missing
		}
		return z.check(act, what+" agent", s.agentObject(id.Value))
	}
	switch c.Type {
	case mapi.CallGetFlags:
		if !z.allowedAny(acl.ViewFlags) {
			return z.forbidden("view flags (view_flags)")
		}
	case mapi.CallListFiles, mapi.CallReadFile:
		// The files a server could serve are its logs (it serves none
		// today: noFile).
		if !z.allowedAny(acl.AccessMesosLogs) {
			return z.forbidden("access the logs (access_mesos_logs)")
		}
	case mapi.CallSetLoggingLevel:
		if !z.allowedAny(acl.SetLogLevel) {
			return z.forbidden("set the log level (set_log_level)")
		}
	case mapi.CallTeardown:
		if c.Teardown != nil && c.Teardown.FrameworkID != nil {
			if fw := s.fsm.State().Framework(c.Teardown.FrameworkID.Value); fw != nil {
				return z.check(acl.TeardownFrameworks, "tear down a framework of principal", fw.Info.Principal)
			}
		}
	case mapi.CallUpdateWeights:
		if c.UpdateWeights != nil {
			for _, w := range c.UpdateWeights.WeightInfos {
				if err := z.check(acl.UpdateWeights, "update the weight of role", w.Role); err != nil {
					return err
				}
			}
		}
	case mapi.CallUpdateQuota:
		if c.UpdateQuota != nil {
			for _, q := range c.UpdateQuota.QuotaConfigs {
				if q.Role != nil {
					if err := z.check(acl.UpdateQuotas, "update the quota of role", *q.Role); err != nil {
						return err
					}
				}
			}
		}
	case mapi.CallSetQuota:
		if c.SetQuota != nil && c.SetQuota.QuotaRequest != nil && c.SetQuota.QuotaRequest.Role != nil {
			return z.check(acl.UpdateQuotas, "update the quota of role", *c.SetQuota.QuotaRequest.Role)
		}
	case mapi.CallRemoveQuota:
		if c.RemoveQuota != nil && c.RemoveQuota.Role != nil {
			return z.check(acl.UpdateQuotas, "update the quota of role", *c.RemoveQuota.Role)
		}
	case mapi.CallMarkAgentGone:
		if c.MarkAgentGone != nil {
			return agent(acl.MarkAgentsGone, "mark gone", c.MarkAgentGone.AgentID)
		}
	case mapi.CallDrainAgent:
		if c.DrainAgent != nil {
			return agent(acl.DrainAgents, "drain", c.DrainAgent.AgentID)
		}
	case mapi.CallDeactivateAgent:
		if c.DeactivateAgent != nil {
			return agent(acl.DeactivateAgents, "deactivate", c.DeactivateAgent.AgentID)
		}
	case mapi.CallReactivateAgent:
		if c.ReactivateAgent != nil {
			return agent(acl.ReactivateAgents, "reactivate", c.ReactivateAgent.AgentID)
		}
	case mapi.CallReserveResources:
		if c.ReserveResources != nil {
			return checkResources(z, acl.ReserveResources, "reserve resources for role", reservationRole, c.ReserveResources.Resources)
		}
	case mapi.CallUnreserveResources:
		if c.UnreserveResources != nil {
			return checkResources(z, acl.UnreserveResources, "unreserve resources reserved by principal", reserver, c.UnreserveResources.Resources)
		}
	case mapi.CallCreateVolumes:
		if c.CreateVolumes != nil {
			return checkResources(z, acl.CreateVolumes, "create volumes for role", reservationRole, c.CreateVolumes.Volumes)
		}
	case mapi.CallDestroyVolumes:
		if c.DestroyVolumes != nil {
			return checkResources(z, acl.DestroyVolumes, "destroy volumes created by principal", creator, c.DestroyVolumes.Volumes)
		}
	case mapi.CallUpdateMaintenanceSchedule:
		if c.UpdateMaintenanceSchedule != nil && c.UpdateMaintenanceSchedule.Schedule != nil {
			var machines []mesos.MachineID
			for _, w := range c.UpdateMaintenanceSchedule.Schedule.Windows {
				machines = append(machines, w.MachineIDs...)
			}
			return s.authorizeMaintenance(ctx, acl.UpdateMaintenance, machineObjects(machines)...)
		}
	case mapi.CallStartMaintenance:
		if c.StartMaintenance != nil {
			return s.authorizeMaintenance(ctx, acl.StartMaintenance, machineObjects(c.StartMaintenance.Machines)...)
		}
	case mapi.CallStopMaintenance:
		if c.StopMaintenance != nil {
			return s.authorizeMaintenance(ctx, acl.StopMaintenance, machineObjects(c.StopMaintenance.Machines)...)
		}
	}
	return nil
}

// authorizeEndpoint checks get_endpoints for a GET of an endpoint whose
// answer is not filtered for the caller (/metrics, /metrics/snapshot):
// the path is the object. It answers 403 itself and returns false when
// the caller may not read it.
func (s *Server) authorizeEndpoint(w http.ResponseWriter, r *http.Request) bool {
	z := s.authzOf(r.Context())
	if z.allowed(acl.GetEndpoints, r.URL.Path) {
		return true
	}
	writeError(w, z.forbidden("GET %s (get_endpoints)", r.URL.Path))
	return false
}

// authorizeFlags checks view_flags for /flags.
func (s *Server) authorizeFlags(w http.ResponseWriter, r *http.Request) bool {
	z := s.authzOf(r.Context())
	if z.allowedAny(acl.ViewFlags) {
		return true
	}
	writeError(w, z.forbidden("view flags (view_flags)"))
	return false
}

// authorizeSandbox checks access_sandboxes for a files path the web UI
// reads through this server: the object is the user the sandbox's
// executor runs as (its task's, for a command task), else its
// framework's. A path above the sandboxes needs access to every sandbox;
// one in the sandbox of a framework this server does not know is
// refused. The agent, with its own -acls, checks again the path it
// resolved (symlinks included). It answers 403 itself and returns false
// when the caller may not read it.
func (s *Server) authorizeSandbox(w http.ResponseWriter, r *http.Request, path string) bool {
	z := s.authzOf(r.Context())
	if z.acls == nil {
		return true
	}
	fid, eid := acl.SandboxOwner(path)
	ok := false
	if fid == "" {
		ok = z.allowedAny(acl.AccessSandboxes)
	} else if fw := s.fsm.State().Framework(fid); fw != nil {
		ok = z.allowed(acl.AccessSandboxes, sandboxUser(s.fsm.State(), fw, eid))
	}
	if !ok {
		writeError(w, z.forbidden("access the sandbox at %q (access_sandboxes)", path))
	}
	return ok
}

// sandboxUser is the user executor eid of fw runs as.
func sandboxUser(st *fsm.State, fw *fsm.Framework, eid string) string {
	if eid == "" {
		return fw.Info.User
	}
	for _, t := range st.TasksByFramework(fw.ID) {
		if e := t.Info.Executor; e != nil && e.ExecutorID.Value == eid {
			return executorUser(e, fw.Info.User)
		}
		if t.Info.Executor == nil && t.TaskID == eid {
			return taskUser(&t.Info, fw.Info.User)
		}
	}
	return fw.Info.User
}

// authorizeAgentRegistration checks register_agents for an agent's
// SUBSCRIBE: the object is the agent's hostname, the subject the
// principal it authenticated as.
func (s *Server) authorizeAgentRegistration(ctx context.Context, sub *agentapi.Subscribe) error {
	return s.authzOf(ctx).check(acl.RegisterAgents, "register agent", sub.AgentInfo.Hostname)
}
