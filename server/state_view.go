package server

import (
	"net"
	"sort"
	"strconv"
	"time"

	"mesh/fsm"
	"mesh/mesos"
	"mesh/version"
)

// stateView is one consistent read of the replicated state, indexed for
// the Mesos-shaped endpoints. Every server builds it from its own copy,
// so followers answer too (with what they have applied).
type stateView struct {
	s  *Server
	st *fsm.State

	frameworks []*fsm.Framework
	agents     []*fsm.Agent
	offers     []*fsm.Offer
	tasksByFw  map[string][]*fsm.Task
	execsByFw  map[string][]*fsm.Executor

	usedByAgent, offeredByAgent map[string]mesos.Resources
	usedByFw, offeredByFw       map[string]mesos.Resources

	// z, when set, is the caller the view is restricted to
	// (filter_views.go).
	z *authz
}

func (s *Server) newStateView() *stateView { return s.stateViewOf(s.fsm.State()) }

// stateViewOf indexes a given read of the state.
func (s *Server) stateViewOf(st *fsm.State) *stateView {
	v := &stateView{s: s, st: st, frameworks: st.Frameworks(), agents: st.Agents(), offers: st.Offers(),
		tasksByFw: map[string][]*fsm.Task{}, execsByFw: map[string][]*fsm.Executor{},
		usedByAgent: map[string]mesos.Resources{}, offeredByAgent: map[string]mesos.Resources{},
		usedByFw: map[string]mesos.Resources{}, offeredByFw: map[string]mesos.Resources{}}
	for _, t := range st.Tasks() {
		v.tasksByFw[t.FrameworkID] = append(v.tasksByFw[t.FrameworkID], t)
		if taskLive(t) {
			v.usedByAgent[t.AgentID] = v.usedByAgent[t.AgentID].Add(t.Info.Resources...)
			v.usedByFw[t.FrameworkID] = v.usedByFw[t.FrameworkID].Add(t.Info.Resources...)
		}
	}
	for _, e := range st.Executors() {
		v.execsByFw[e.FrameworkID] = append(v.execsByFw[e.FrameworkID], e)
		v.usedByAgent[e.AgentID] = v.usedByAgent[e.AgentID].Add(e.Info.Resources...)
		v.usedByFw[e.FrameworkID] = v.usedByFw[e.FrameworkID].Add(e.Info.Resources...)
	}
	for _, o := range v.offers {
		v.offeredByAgent[o.AgentID] = v.offeredByAgent[o.AgentID].Add(o.Resources...)
		v.offeredByFw[o.FrameworkID] = v.offeredByFw[o.FrameworkID].Add(o.Resources...)
	}
	return v
}

// taskLive reports whether a task still holds its resources.
func taskLive(t *fsm.Task) bool { return !t.Completed && !t.State.IsTerminal() }

// task renders t as Mesos does.
func (v *stateView) task(t *fsm.Task) taskJSON {
	out := taskJSON{ID: t.TaskID, Name: t.Info.Name, FrameworkID: t.FrameworkID, SlaveID: t.AgentID, AgentID: t.AgentID,
		State: string(t.State), Resources: mesos.ResourcesObject(t.Info.Resources), Role: t.Role,
		Statuses: make([]taskStatusJSON, 0, len(t.Statuses)), Labels: labelsList(t.Info.Labels),
		Discovery: t.Info.Discovery, Container: t.Info.Container, HealthCheck: t.Info.HealthCheck.Redacted()}
	if t.Info.Executor != nil {
		out.ExecutorID = t.Info.Executor.ExecutorID.Value
	}
	if len(t.Info.Limits) > 0 {
		out.Limits = make(map[string]float64, len(t.Info.Limits))
		for k, l := range t.Info.Limits {
			out.Limits[k] = l.Value
		}
	}
	for _, st := range t.History() {
		out.Statuses = append(out.Statuses, taskStatusJSON{State: string(st.State), Timestamp: st.Timestamp,
			Labels: labelsList(st.Labels), ContainerStatus: st.ContainerStatus, Healthy: st.Healthy})
	}
	return out
}

// frameworkSummary renders the fields of fw every endpoint shows.
func (v *stateView) frameworkSummary(fw *fsm.Framework) frameworkSummaryJSON {
	caps := make([]string, 0, len(fw.Info.Capabilities))
	for _, c := range fw.Info.Capabilities {
		caps = append(caps, c.Type)
	}
	active := fw.Connected && !fw.Removed
	return frameworkSummaryJSON{ID: fw.ID, Name: fw.Info.Name, UsedResources: mesos.ResourcesObject(v.usedByFw[fw.ID]),
		OfferedResources: mesos.ResourcesObject(v.offeredByFw[fw.ID]), Capabilities: caps, Hostname: fw.Info.Hostname,
		WebuiURL: fw.Info.WebuiURL, Active: active, Connected: active}
}

// framework renders fw with its tasks, offers and executors.
func (v *stateView) framework(fw *fsm.Framework) frameworkJSON {
	out := frameworkJSON{frameworkSummaryJSON: v.frameworkSummary(fw), User: fw.Info.User,
		FailoverTimeout: fw.Info.FailoverTimeoutSeconds(), Checkpoint: fw.Info.Checkpoint != nil && *fw.Info.Checkpoint,
		RegisteredTime: nanosToSecs(fw.RegisteredAt), UnregisteredTime: nanosToSecs(fw.RemovedAt), Principal: fw.Info.Principal,
		Resources: mesos.ResourcesObject(v.usedByFw[fw.ID].Add(v.offeredByFw[fw.ID]...)), Labels: labelsList(fw.Info.Labels),
		Tasks: []taskJSON{}, UnreachableTasks: []taskJSON{}, CompletedTasks: []taskJSON{}, Offers: []offerJSON{},
		Executors: []executorJSON{}, Removed: fw.Removed, SuppressedRoles: fw.SuppressedRoles,
		OfferConstraints: fw.OfferConstraints}
	if fw.ReregisteredAt != 0 && fw.ReregisteredAt != fw.RegisteredAt {
		out.ReregisteredTime = nanosToSecs(fw.ReregisteredAt)
	}
	if fw.Info.HasCapability(mesos.CapabilityMultiRole) {
		out.Roles = fw.Info.AllRoles()
	} else {
		out.Role = fw.Info.AllRoles()[0]
	}
	for _, t := range v.tasksByFw[fw.ID] {
		switch {
		case t.Completed || t.State.IsTerminal():
			out.CompletedTasks = append(out.CompletedTasks, v.task(t))
		case t.State == mesos.TaskUnreachable:
			out.UnreachableTasks = append(out.UnreachableTasks, v.task(t))
		default:
			out.Tasks = append(out.Tasks, v.task(t))
		}
	}
	for _, e := range v.execsByFw[fw.ID] {
		if v.showsExecutor(fw, &e.Info) {
			out.Executors = append(out.Executors, executor(fw.ID, e.AgentID, &e.Info))
		}
	}
	for _, o := range v.offers {
		if o.FrameworkID == fw.ID {
			out.Offers = append(out.Offers, offerJSON{ID: o.ID, FrameworkID: o.FrameworkID,
				AllocationInfo: mesos.AllocationInfo{Role: o.Role}, SlaveID: o.AgentID, Resources: mesos.ResourcesObject(o.Resources)})
		}
	}
	return out
}

// executor renders a custom executor as Mesos does.
func executor(fid, aid string, e *mesos.ExecutorInfo) executorJSON {
	out := executorJSON{ExecutorID: e.ExecutorID.Value, Name: e.Name, FrameworkID: fid, SlaveID: aid,
		Resources: mesos.ResourcesObject(e.Resources), Labels: labelsList(e.Labels), Type: e.Type,
		Command: commandJSON{Argv: []string{}, URIs: []commandURIJSON{}}}
	if len(e.Resources) > 0 && e.Resources[0].AllocationInfo != nil {
		out.Role = e.Resources[0].AllocationInfo.Role
	}
	if c := e.Command; c != nil {
		out.Command.Shell, out.Command.Value, out.Command.Environment = c.Shell, c.Value, c.Environment.Redacted()
		if c.Arguments != nil {
			out.Command.Argv = c.Arguments
		}
		for _, u := range c.URIs {
			out.Command.URIs = append(out.Command.URIs, commandURIJSON{Value: u.Value, Executable: u.Executable != nil && *u.Executable})
		}
	}
	return out
}

// agent renders an agent as Mesos does.
func (v *stateView) agent(a *fsm.Agent) agentJSON {
	total := a.AgentTotal()
	out := agentJSON{ID: a.ID, Hostname: a.Info.Hostname, Port: a.Info.Port, Attributes: mesos.AttributesObject(a.Info.Attributes),
		PID: "slave(1)@" + a.Address, RegisteredTime: nanosToSecs(a.RegisteredAt), Resources: mesos.ResourcesObject(total),
		UsedResources: mesos.ResourcesObject(v.usedByAgent[a.ID]), OfferedResources: mesos.ResourcesObject(v.offeredByAgent[a.ID]),
		ReservedResources: map[string]map[string]any{}, Active: a.State == fsm.AgentActive && !a.Deactivated,
		Deactivated: a.Deactivated, DrainInfo: v1DrainInfo(a.Drain), Version: a.Version, Capabilities: []string{}}
	if a.ReregisteredAt != 0 && a.ReregisteredAt != a.RegisteredAt {
		out.ReregisteredTime = nanosToSecs(a.ReregisteredAt)
	}
	unreserved, reserved := mesos.Resources(total).SplitReservations()
	out.UnreservedResources = mesos.ResourcesObject(unreserved)
	for role, rs := range reserved {
		out.ReservedResources[role] = mesos.ResourcesObject(rs)
	}
	return out
}

// agentFull adds the v1 protobuf form of the agent's resources.
func (v *stateView) agentFull(a *fsm.Agent) agentFullJSON {
	unreserved, reserved := a.AgentTotal().SplitReservations()
	out := agentFullJSON{agentJSON: v.agent(a), ReservedResourcesFull: map[string][]mesos.Resource{},
		UnreservedResourcesFull: nonNil(unreserved.ForWire()), UsedResourcesFull: nonNil(v.usedByAgent[a.ID].ForWire()),
		OfferedResourcesFull: nonNil(v.offeredByAgent[a.ID].ForWire())}
	for role, rs := range reserved {
		out.ReservedResourcesFull[role] = nonNil(rs.ForWire())
	}
	return out
}

func nonNil(rs mesos.Resources) []mesos.Resource {
	if rs == nil {
		return []mesos.Resource{}
	}
	return rs
}

// registeredAgents returns the agents Mesos lists as registered: mesh's
// active ones. Unreachable and gone agents are left out, as Mesos does.
func (v *stateView) registeredAgents() []*fsm.Agent {
	var out []*fsm.Agent
	for _, a := range v.agents {
		if a.State == fsm.AgentActive {
			out = append(out, a)
		}
	}
	return out
}

// agentCounts returns how many agents are active and unreachable.
func (v *stateView) agentCounts() (active, unreachable int) {
	for _, a := range v.agents {
		switch a.State {
		case fsm.AgentActive:
			active++
		case fsm.AgentUnreachable:
			unreachable++
		}
	}
	return active, unreachable
}

// serverInfo describes this server as Mesos describes a master.
func (s *Server) serverInfo(clusterID string) leaderInfoJSON {
	return toLeaderInfo(masterInfo(clusterID, s.nodeID, s.HTTPAddr()))
}

func toLeaderInfo(mi mesos.MasterInfo) leaderInfoJSON {
	return leaderInfoJSON{ID: mi.ID, PID: mi.PID, Port: mi.Port, Hostname: mi.Hostname}
}

// leaderInfo describes the current leader, false when none is known.
func (s *Server) leaderInfo(clusterID string) (leaderInfoJSON, bool) {
	_, id := s.raft.LeaderWithID()
	addr := s.leaderHTTPAddr()
	if id == "" || addr == "" || len(id) < 8 {
		return leaderInfoJSON{}, false
	}
	return toLeaderInfo(masterInfo(clusterID, string(id), addr)), true
}

// flags lists this server's settings under their flag names.
func (s *Server) flags() map[string]string {
	c := s.cfg
	join := ""
	for i, j := range c.Join {
		if i > 0 {
			join += ","
		}
		join += j
	}
	return map[string]string{
		"data-dir": c.DataDir, "http-addr": c.HTTPAddr, "raft-addr": c.RaftAddr, "raft-advertise": c.RaftAdvertise,
		"bootstrap-expect": strconv.Itoa(c.BootstrapExpect), "join": join,
		"heartbeat-interval": c.HeartbeatInterval.String(), "allocation-interval": c.AllocationInterval.String(),
		"allocator": c.Allocator, "agent-reregister-timeout": c.AgentReregisterTimeout.String(),
		"offer-timeout": c.OfferTimeout.String(), "min-allocatable-resources": c.MinAllocatableResources,
		"agent-ping-timeout": c.AgentPingTimeout.String(), "max-agent-ping-timeouts": strconv.Itoa(c.MaxAgentPingTimeouts),
		"framework-failover-minimum":        c.FrameworkFailoverMinimum.String(),
		"max-completed-tasks-per-framework": strconv.Itoa(c.MaxCompletedTasksPerFramework),
		"max-completed-frameworks":          strconv.Itoa(c.MaxCompletedFrameworks),
		"raft-heartbeat-timeout":            c.RaftHeartbeatTimeout.String(),
		"raft-election-timeout":             c.RaftElectionTimeout.String(),
		"raft-leader-lease":                 c.RaftLeaderLease.String(),
		"raft-store-timeout":                c.RaftStoreTimeout.String(),
		"enable-debug":                      strconv.FormatBool(c.EnableDebug),
		"http-read-header-timeout":          c.HTTPReadHeaderTimeout.String(),
		"http-read-timeout":                 c.HTTPReadTimeout.String(),
		"http-write-timeout":                c.HTTPWriteTimeout.String(),
		"http-idle-timeout":                 c.HTTPIdleTimeout.String(),
		"http-max-header-bytes":             strconv.Itoa(c.HTTPMaxHeaderBytes),
		"http-max-conns-per-ip":             strconv.Itoa(c.HTTPMaxConnsPerIP),
		"http-limit-loopback":               strconv.FormatBool(c.HTTPLimitLoopback),
		"max-snapshot-restore-bytes":        strconv.FormatInt(c.MaxSnapshotRestoreBytes, 10),
		"max-framework-streams":             strconv.Itoa(c.MaxFrameworkStreams),
	}
}

// electedTime is when this server's current term as established leader
// began; zero when it does not lead.
func (s *Server) electedTime() time.Time {
	if m, err := s.currentMaster(); err == nil {
		return m.elected
	}
	return time.Time{}
}

// state renders GET /state.
func (v *stateView) state() stateJSON {
	s := v.s
	clusterID := v.st.Meta().ClusterID
	self := s.serverInfo(clusterID)
	host, _, _ := net.SplitHostPort(s.HTTPAddr())
	active, unreachable := v.agentCounts()
	out := stateJSON{Version: version.Version, GitSHA: version.GitSHA, GitTag: version.Version,
		StartTime: float64(s.started.UnixNano()) / 1e9, ID: self.ID, PID: self.PID, Hostname: host,
		Capabilities: []string{}, ActivatedSlaves: float64(active), UnreachableSlaves: float64(unreachable),
		Cluster: clusterID, Flags: v.flags(), Slaves: []agentJSON{}, RecoveredSlaves: []agentJSON{},
		Frameworks: []frameworkJSON{}, CompletedFrameworks: []frameworkJSON{}, OrphanTasks: []taskJSON{},
		UnregisteredFrameworks: []string{}, ClusterID: clusterID, Agents: []meshAgentJSON{}, OutstandingOffers: len(v.offers)}
	if t := s.electedTime(); !t.IsZero() {
		out.ElectedTime = float64(t.UnixNano()) / 1e9
	}
	if li, ok := s.leaderInfo(clusterID); ok {
		out.Leader, out.LeaderInfo = li.PID, &li
	}
	for _, a := range v.registeredAgents() {
		out.Slaves = append(out.Slaves, v.agent(a))
	}
	for _, fw := range v.frameworks {
		if fw.Removed {
			out.CompletedFrameworks = append(out.CompletedFrameworks, v.framework(fw))
		} else {
			out.Frameworks = append(out.Frameworks, v.framework(fw))
		}
	}
	for _, a := range v.agents {
		out.Agents = append(out.Agents, meshAgentJSON{ID: a.ID, Hostname: a.Info.Hostname, Address: a.Address,
			State: a.State, Resources: nonNil(a.Info.Resources), Attrs: a.Info.Attributes})
	}
	return out
}

// stateSummary renders GET /state-summary: registered agents and
// frameworks with task totals by state.
func (v *stateView) stateSummary() stateSummaryJSON {
	host, _, _ := net.SplitHostPort(v.s.HTTPAddr())
	out := stateSummaryJSON{Hostname: host, Cluster: v.st.Meta().ClusterID,
		Slaves: []agentStateSummaryJSON{}, Frameworks: []frameworkStateSummaryJSON{}}
	byAgent := map[string]*taskCounts{}
	fwsOnAgent := map[string]map[string]bool{}
	for _, fw := range v.frameworks {
		if fw.Removed {
			continue
		}
		f := frameworkStateSummaryJSON{frameworkSummaryJSON: v.frameworkSummary(fw), SlaveIDs: []string{}}
		agents := map[string]bool{}
		for _, t := range v.tasksByFw[fw.ID] {
			f.taskCounts.add(t.State)
			if byAgent[t.AgentID] == nil {
				byAgent[t.AgentID] = &taskCounts{}
				fwsOnAgent[t.AgentID] = map[string]bool{}
			}
			byAgent[t.AgentID].add(t.State)
			if taskLive(t) {
				agents[t.AgentID] = true
				fwsOnAgent[t.AgentID][fw.ID] = true
			}
		}
		f.SlaveIDs = sortedKeys(agents)
		out.Frameworks = append(out.Frameworks, f)
	}
	for _, a := range v.registeredAgents() {
		s := agentStateSummaryJSON{agentJSON: v.agent(a), FrameworkIDs: sortedKeys(fwsOnAgent[a.ID])}
		if c := byAgent[a.ID]; c != nil {
			s.taskCounts = *c
		}
		out.Slaves = append(out.Slaves, s)
	}
	return out
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
