package agent

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"sort"

	"mesh/executor"
	"mesh/mesos"
	"mesh/version"
)

// This file renders the agent in the JSON shapes of Mesos' agent
// endpoints (/state, /containers): Mesos' field names and JSON types, so
// that tools written for Mesos read them. Fields mesh adds are marked;
// they are kept for mesh's own readers.

// MesosStateJSON is GET /state, as Mesos' agent shows it.
type MesosStateJSON struct {
	Version                      string                    `json:"version"`
	GitSHA                       string                    `json:"git_sha"`
	GitTag                       string                    `json:"git_tag"`
	StartTime                    float64                   `json:"start_time"`
	ID                           string                    `json:"id"`
	PID                          string                    `json:"pid"`
	Hostname                     string                    `json:"hostname"`
	Resources                    map[string]any            `json:"resources"`
	ReservedResources            map[string]map[string]any `json:"reserved_resources"`
	UnreservedResources          map[string]any            `json:"unreserved_resources"`
	ReservedResourcesAllocated   map[string]map[string]any `json:"reserved_resources_allocated"`
	UnreservedResourcesAllocated map[string]any            `json:"unreserved_resources_allocated"`
	Attributes                   map[string]any            `json:"attributes"`
	MasterHostname               string                    `json:"master_hostname,omitempty"`
	Flags                        map[string]string         `json:"flags"`
	Frameworks                   []MesosFrameworkJSON      `json:"frameworks"`
	CompletedFrameworks          []MesosFrameworkJSON      `json:"completed_frameworks"`

	// mesh's own fields.
	Port                 int32    `json:"port"`
	Isolation            string   `json:"isolation"`
	MeshVersion          string   `json:"mesh_version"`
	PendingStatusUpdates int      `json:"pending_status_updates"`
	PrestartedContainers []string `json:"prestarted_containers,omitempty"`
}

// MesosFrameworkJSON is a framework in the agent's /state.
type MesosFrameworkJSON struct {
	ID                 string              `json:"id"`
	Name               string              `json:"name"`
	User               string              `json:"user"`
	FailoverTimeout    float64             `json:"failover_timeout"`
	Checkpoint         bool                `json:"checkpoint"`
	Hostname           string              `json:"hostname"`
	Principal          string              `json:"principal,omitempty"`
	Role               *string             `json:"role,omitempty"`
	Roles              []string            `json:"roles,omitempty"`
	Executors          []MesosExecutorJSON `json:"executors"`
	CompletedExecutors []MesosExecutorJSON `json:"completed_executors"`
}

// MesosExecutorJSON is an executor in the agent's /state.
type MesosExecutorJSON struct {
	ID             string           `json:"id"`
	Name           string           `json:"name"`
	Source         string           `json:"source"`
	Container      string           `json:"container"`
	Directory      string           `json:"directory"`
	Resources      map[string]any   `json:"resources"`
	Role           string           `json:"role,omitempty"`
	Labels         []mesos.Label    `json:"labels,omitempty"`
	Type           string           `json:"type,omitempty"`
	Tasks          []MesosTaskJSON  `json:"tasks"`
	QueuedTasks    []QueuedTaskJSON `json:"queued_tasks"`
	CompletedTasks []MesosTaskJSON  `json:"completed_tasks"`
	// mesh's own fields.
	State      string `json:"state"`
	Pid        int    `json:"pid,omitempty"`
	ExitStatus string `json:"exit_status,omitempty"`
}

// MesosTaskJSON is a task handed to its executor, in the agent's /state.
type MesosTaskJSON struct {
	ID          string               `json:"id"`
	Name        string               `json:"name"`
	FrameworkID string               `json:"framework_id"`
	ExecutorID  string               `json:"executor_id"`
	SlaveID     string               `json:"slave_id"`
	State       mesos.TaskState      `json:"state"`
	Resources   map[string]any       `json:"resources"`
	Role        string               `json:"role"`
	Labels      []mesos.Label        `json:"labels,omitempty"`
	Discovery   json.RawMessage      `json:"discovery,omitempty"`
	Container   *mesos.ContainerInfo `json:"container,omitempty"`
	// Directory is the task's sandbox (mesh's own field).
	Directory string `json:"directory"`
}

// QueuedTaskJSON is a task held until its executor subscribes, shown as
// Mesos shows a TaskInfo.
type QueuedTaskJSON struct {
	ID         string          `json:"id"`
	Name       string          `json:"name"`
	SlaveID    string          `json:"slave_id"`
	Resources  map[string]any  `json:"resources"`
	Role       string          `json:"role"`
	ExecutorID string          `json:"executor_id,omitempty"`
	Discovery  json.RawMessage `json:"discovery,omitempty"`
}

// handleState serves GET /state in Mesos' agent shape.
func (op *agentOperator) handleState(w http.ResponseWriter, r *http.Request) {
	if onlyGET(w, r) {
		writeJSON(w, op.mesosState(r.Context()))
	}
}

// mesosState renders the agent as Mesos' /state.
func (op *agentOperator) mesosState(ctx context.Context) MesosStateJSON {
	a := op.a
	var prestarted []string
	if ps, ok := a.containerizer.(executor.Prestarter); ok {
		prestarted = ps.Prestarted()
		sort.Strings(prestarted)
	}
	pending := a.updates.Pending()
	info := a.currentAgentInfo()
	v := a.viewFor(ctx)
	s := MesosStateJSON{
		Version: version.Version, GitSHA: version.GitSHA, GitTag: version.Version,
		StartTime: float64(op.started.UnixNano()) / 1e9, ID: v.agentID, PID: "slave(1)@" + a.endpoint,
		Hostname: info.Hostname, Attributes: mesos.AttributesObject(info.Attributes), Flags: a.flagsFor(ctx),
		Frameworks: []MesosFrameworkJSON{}, CompletedFrameworks: []MesosFrameworkJSON{},
		Port: info.Port, Isolation: a.containerizer.Name(), MeshVersion: version.MeshVersion,
		PendingStatusUpdates: pending, PrestartedContainers: prestarted,
	}
	total := mesos.Resources(info.Resources)
	s.Resources = mesos.ResourcesObject(total)
	s.UnreservedResources, s.ReservedResources = resourcesByReservation(total)
	var used mesos.Resources
	for _, fw := range v.frameworks {
		for _, r := range fw.live {
			used = used.Add(r.usedResources()...)
		}
		s.Frameworks = append(s.Frameworks, mesosFramework(v.agentID, fw))
	}
	s.UnreservedResourcesAllocated, s.ReservedResourcesAllocated = resourcesByReservation(used)
	if leader := a.conn.registeredTo(); leader != "" {
		if host, _, err := net.SplitHostPort(leader); err == nil {
			s.MasterHostname = host
		}
	}
	return s
}

// resourcesByReservation renders rs's unreserved resources and its
// reserved ones by role.
func resourcesByReservation(rs mesos.Resources) (map[string]any, map[string]map[string]any) {
	unreserved, reserved := rs.SplitReservations()
	byRole := make(map[string]map[string]any, len(reserved))
	for role, res := range reserved {
		byRole[role] = mesos.ResourcesObject(res)
	}
	return mesos.ResourcesObject(unreserved), byRole
}

func mesosFramework(agentID string, fw fwView) MesosFrameworkJSON {
	info := fw.info
	out := MesosFrameworkJSON{ID: fw.id, Name: info.Name, User: info.User, FailoverTimeout: info.FailoverTimeoutSeconds(),
		Checkpoint: info.Checkpoint != nil && *info.Checkpoint, Hostname: info.Hostname, Principal: info.Principal,
		Executors: []MesosExecutorJSON{}, CompletedExecutors: []MesosExecutorJSON{}}
	// As Mesos: roles for a multi-role framework, role otherwise.
	if info.HasCapability(mesos.CapabilityMultiRole) {
		out.Roles = append([]string{}, info.Roles...)
	} else {
		role := info.AllRoles()[0]
		out.Role = &role
	}
	for _, r := range fw.live {
		out.Executors = append(out.Executors, r.mesosExecutor(agentID))
	}
	for _, r := range fw.completed {
		out.CompletedExecutors = append(out.CompletedExecutors, r.mesosExecutor(agentID))
	}
	return out
}

// mesosExecutor renders the run as an executor of Mesos' /state: tasks
// handed to the executor, tasks held until it subscribes, and ended
// ones (the unacknowledged terminal ones among them, as Mesos lists
// them).
func (r runView) mesosExecutor(agentID string) MesosExecutorJSON {
	e := MesosExecutorJSON{ID: r.id, Name: r.info.Name, Source: r.id, Container: r.containerID, Directory: r.directory,
		Resources: mesos.ResourcesObject(r.usedResources()), Role: resourcesRole(r.info.Resources), Type: r.info.Type,
		Tasks: []MesosTaskJSON{}, QueuedTasks: []QueuedTaskJSON{}, CompletedTasks: []MesosTaskJSON{},
		State: r.state.String(), Pid: r.pid, ExitStatus: r.exitStatus}
	if r.info.Labels != nil {
		e.Labels = r.info.Labels.Labels
	}
	for _, t := range r.tasks {
		switch {
		case t.state.IsTerminal():
			e.CompletedTasks = append(e.CompletedTasks, r.mesosTask(agentID, t))
		case t.launched:
			e.Tasks = append(e.Tasks, r.mesosTask(agentID, t))
		default:
			q := QueuedTaskJSON{ID: t.info.TaskID.Value, Name: t.info.Name, SlaveID: agentID,
				Resources: mesos.ResourcesObject(t.info.Resources), Role: resourcesRole(t.info.Resources), Discovery: t.info.Discovery}
			if r.kind != kindCommand {
				q.ExecutorID = r.id
			}
			e.QueuedTasks = append(e.QueuedTasks, q)
		}
	}
	for _, t := range r.completed {
		e.CompletedTasks = append(e.CompletedTasks, r.mesosTask(agentID, t))
	}
	return e
}

func (r runView) mesosTask(agentID string, t taskView) MesosTaskJSON {
	out := MesosTaskJSON{ID: t.info.TaskID.Value, Name: t.info.Name, FrameworkID: r.fwID, SlaveID: agentID,
		State: t.state, Resources: mesos.ResourcesObject(t.info.Resources), Role: resourcesRole(t.info.Resources),
		Discovery: t.info.Discovery, Container: t.info.Container, Directory: r.directory}
	if r.kind != kindCommand {
		out.ExecutorID = r.id
	}
	if t.info.Labels != nil {
		out.Labels = t.info.Labels.Labels
	}
	return out
}

// resourcesRole is the role resources are allocated to, as the server
// set it in their allocation info when it launched them; "" when none
// says.
func resourcesRole(rs []mesos.Resource) string {
	for _, r := range rs {
		if r.AllocationInfo != nil && r.AllocationInfo.Role != "" {
			return r.AllocationInfo.Role
		}
	}
	return ""
}

// MesosContainerJSON is one entry of GET /containers, as Mesos' agent
// shows it.
type MesosContainerJSON struct {
	ContainerID  string                   `json:"container_id"`
	ExecutorID   string                   `json:"executor_id"`
	ExecutorName string                   `json:"executor_name"`
	FrameworkID  string                   `json:"framework_id"`
	Source       string                   `json:"source"`
	Statistics   *executor.ContainerStats `json:"statistics,omitempty"`
	Status       *mesos.ContainerStatus   `json:"status"`
}

// handleContainers serves GET /containers: the live executors'
// containers with their usage.
func (op *agentOperator) handleContainers(w http.ResponseWriter, r *http.Request) {
	if !onlyGET(w, r) || !op.a.authorizeEndpoint(w, r) {
		return
	}
	out := []MesosContainerJSON{}
	for _, c := range op.containers() {
		e := MesosContainerJSON{ContainerID: c.run.containerID, ExecutorID: c.run.id, ExecutorName: c.run.info.Name,
			FrameworkID: c.run.fwID, Source: c.run.id, Status: c.run.containerStatus()}
		if c.stats != nil {
			e.Statistics = &c.stats.Statistics
		}
		out = append(out, e)
	}
	writeJSON(w, out)
}

// liveContainer is a live run's container with its measurement (nil
// when it could not be measured).
type liveContainer struct {
	run   runView
	stats *StatisticsJSON
}

// containers lists the live runs that have a container, measured when
// the isolation can measure them (under posix nothing is, and no usage
// is shown rather than zeros).
func (op *agentOperator) containers() []liveContainer {
	stats := map[[2]string]*StatisticsJSON{}
	if _, ok := op.a.containerizer.(executor.StatsReporter); ok {
		all := op.a.Statistics()
		for i := range all {
			stats[[2]string{all[i].FrameworkID, all[i].ExecutorID}] = &all[i]
		}
	}
	var out []liveContainer
	for _, fw := range op.a.view().frameworks {
		for _, r := range fw.live {
			if r.containerID != "" {
				out = append(out, liveContainer{run: r, stats: stats[[2]string{fw.id, r.id}]})
			}
		}
	}
	return out
}
