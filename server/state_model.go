package server

import (
	"encoding/json"

	"mesh/mesos"
	mapi "mesh/mesos/master"
)

// This file renders mesh's replicated state in the JSON shapes of Mesos'
// master endpoints (/state, /state-summary, /master/frameworks,
// /master/slaves, /master/tasks): Mesos' field names and JSON types, so
// that tools written for Mesos read them. Fields mesh adds are marked.

// labelsList renders labels as a list of {key, value}; nil when none.
func labelsList(l *mesos.Labels) []mesos.Label {
	if l == nil {
		return nil
	}
	return l.Labels
}

// nanosToSecs converts unix nanoseconds to Mesos' float seconds.
func nanosToSecs(ns int64) float64 { return float64(ns) / 1e9 }

// taskStatusJSON is one entry of a task's statuses.
type taskStatusJSON struct {
	State           string                 `json:"state"`
	Timestamp       float64                `json:"timestamp"`
	Labels          []mesos.Label          `json:"labels,omitempty"`
	ContainerStatus *mesos.ContainerStatus `json:"container_status,omitempty"`
	Healthy         *bool                  `json:"healthy,omitempty"`
}

// taskJSON is a task as Mesos' endpoints render it.
type taskJSON struct {
	ID          string               `json:"id"`
	Name        string               `json:"name"`
	FrameworkID string               `json:"framework_id"`
	ExecutorID  string               `json:"executor_id"`
	SlaveID     string               `json:"slave_id"`
	State       string               `json:"state"`
	Resources   map[string]any       `json:"resources"`
	Limits      map[string]float64   `json:"limits,omitempty"`
	Role        string               `json:"role"`
	Statuses    []taskStatusJSON     `json:"statuses"`
	Labels      []mesos.Label        `json:"labels,omitempty"`
	Discovery   json.RawMessage      `json:"discovery,omitempty"`
	Container   *mesos.ContainerInfo `json:"container,omitempty"`
	HealthCheck *mesos.HealthCheck   `json:"health_check,omitempty"`
	// AgentID is mesh's name for slave_id, kept for mesh's own readers.
	AgentID string `json:"agent_id"`
}

// commandJSON is a CommandInfo as Mesos' endpoints render it.
type commandJSON struct {
	Shell       *bool              `json:"shell,omitempty"`
	Value       string             `json:"value,omitempty"`
	Argv        []string           `json:"argv"`
	Environment *mesos.Environment `json:"environment,omitempty"`
	URIs        []commandURIJSON   `json:"uris"`
}

type commandURIJSON struct {
	Value      string `json:"value"`
	Executable bool   `json:"executable"`
}

// executorJSON is a custom executor as Mesos' endpoints render it.
type executorJSON struct {
	ExecutorID  string         `json:"executor_id"`
	Name        string         `json:"name"`
	FrameworkID string         `json:"framework_id"`
	Command     commandJSON    `json:"command"`
	Resources   map[string]any `json:"resources"`
	Role        string         `json:"role,omitempty"`
	Labels      []mesos.Label  `json:"labels,omitempty"`
	Type        string         `json:"type,omitempty"`
	SlaveID     string         `json:"slave_id"`
}

// offerJSON is an outstanding offer as Mesos' endpoints render it.
type offerJSON struct {
	ID             string               `json:"id"`
	FrameworkID    string               `json:"framework_id"`
	AllocationInfo mesos.AllocationInfo `json:"allocation_info"`
	SlaveID        string               `json:"slave_id"`
	Resources      map[string]any       `json:"resources"`
}

// taskCounts are the per-state task totals of /state-summary.
type taskCounts struct {
	Staging     int `json:"TASK_STAGING"`
	Starting    int `json:"TASK_STARTING"`
	Running     int `json:"TASK_RUNNING"`
	Killing     int `json:"TASK_KILLING"`
	Finished    int `json:"TASK_FINISHED"`
	Killed      int `json:"TASK_KILLED"`
	Failed      int `json:"TASK_FAILED"`
	Lost        int `json:"TASK_LOST"`
	Error       int `json:"TASK_ERROR"`
	Unreachable int `json:"TASK_UNREACHABLE"`
}

func (c *taskCounts) add(s mesos.TaskState) {
	switch s {
	case mesos.TaskStaging:
		c.Staging++
	case mesos.TaskStarting:
		c.Starting++
	case mesos.TaskRunning:
		c.Running++
	case mesos.TaskKilling:
		c.Killing++
	case mesos.TaskFinished:
		c.Finished++
	case mesos.TaskKilled:
		c.Killed++
	case mesos.TaskFailed:
		c.Failed++
	case mesos.TaskLost:
		c.Lost++
	case mesos.TaskError:
		c.Error++
	case mesos.TaskUnreachable:
		c.Unreachable++
	}
}

// frameworkSummaryJSON holds the framework fields every Mesos endpoint
// shows.
type frameworkSummaryJSON struct {
	ID               string         `json:"id"`
	Name             string         `json:"name"`
	UsedResources    map[string]any `json:"used_resources"`
	OfferedResources map[string]any `json:"offered_resources"`
	Capabilities     []string       `json:"capabilities"`
	Hostname         string         `json:"hostname"`
	WebuiURL         string         `json:"webui_url"`
	Active           bool           `json:"active"`
	Connected        bool           `json:"connected"`
	Recovered        bool           `json:"recovered"`
}

// frameworkJSON is a framework as /state and /master/frameworks show it.
type frameworkJSON struct {
	frameworkSummaryJSON
	User             string         `json:"user"`
	FailoverTimeout  float64        `json:"failover_timeout"`
	Checkpoint       bool           `json:"checkpoint"`
	RegisteredTime   float64        `json:"registered_time"`
	UnregisteredTime float64        `json:"unregistered_time"`
	Principal        string         `json:"principal,omitempty"`
	Resources        map[string]any `json:"resources"`
	ReregisteredTime float64        `json:"reregistered_time,omitempty"`
	Roles            []string       `json:"roles,omitempty"`
	Role             string         `json:"role,omitempty"`
	Tasks            []taskJSON     `json:"tasks"`
	UnreachableTasks []taskJSON     `json:"unreachable_tasks"`
	CompletedTasks   []taskJSON     `json:"completed_tasks"`
	Offers           []offerJSON    `json:"offers"`
	Executors        []executorJSON `json:"executors"`
	Labels           []mesos.Label  `json:"labels,omitempty"`
	// Removed is mesh's: the framework was torn down or failed over.
	Removed bool `json:"removed"`
	// SuppressedRoles is mesh's: the roles it is not offered resources
	// for (SUPPRESS, or its SUBSCRIBE's suppressed_roles).
	SuppressedRoles []string `json:"suppressed_roles,omitempty"`
	// OfferConstraints are its SUBSCRIBE's or UPDATE_FRAMEWORK's.
	OfferConstraints *mesos.OfferConstraints `json:"offer_constraints,omitempty"`
}

// frameworkStateSummaryJSON is a framework in /state-summary.
type frameworkStateSummaryJSON struct {
	frameworkSummaryJSON
	taskCounts
	SlaveIDs []string `json:"slave_ids"`
}

// agentJSON is an agent as /state and /state-summary show it.
type agentJSON struct {
	ID                  string                    `json:"id"`
	Hostname            string                    `json:"hostname"`
	Port                int32                     `json:"port"`
	Attributes          map[string]any            `json:"attributes"`
	PID                 string                    `json:"pid"`
	RegisteredTime      float64                   `json:"registered_time"`
	ReregisteredTime    float64                   `json:"reregistered_time,omitempty"`
	Resources           map[string]any            `json:"resources"`
	UsedResources       map[string]any            `json:"used_resources"`
	OfferedResources    map[string]any            `json:"offered_resources"`
	ReservedResources   map[string]map[string]any `json:"reserved_resources"`
	UnreservedResources map[string]any            `json:"unreserved_resources"`
	Active              bool                      `json:"active"`
	Deactivated         bool                      `json:"deactivated"`
	Version             string                    `json:"version"`
	Capabilities        []string                  `json:"capabilities"`
	DrainInfo           *mapi.DrainInfo           `json:"drain_info,omitempty"`
}

// agentFullJSON is an agent as /master/slaves shows it: with its
// resources also in the v1 protobuf form.
type agentFullJSON struct {
	agentJSON
	ReservedResourcesFull   map[string][]mesos.Resource `json:"reserved_resources_full"`
	UnreservedResourcesFull []mesos.Resource            `json:"unreserved_resources_full"`
	UsedResourcesFull       []mesos.Resource            `json:"used_resources_full"`
	OfferedResourcesFull    []mesos.Resource            `json:"offered_resources_full"`
}

// agentStateSummaryJSON is an agent in /state-summary.
type agentStateSummaryJSON struct {
	agentJSON
	taskCounts
	FrameworkIDs []string `json:"framework_ids"`
}

// meshAgentJSON is mesh's own agent entry ("agents" in /state), kept for
// the readers written before the Mesos shape; unlike "slaves" it lists
// agents in every state.
type meshAgentJSON struct {
	ID        string            `json:"id"`
	Hostname  string            `json:"hostname"`
	Address   string            `json:"address"`
	State     string            `json:"state"`
	Resources []mesos.Resource  `json:"resources"`
	Attrs     []mesos.Attribute `json:"attributes,omitempty"`
}

// leaderInfoJSON is the leader's MasterInfo as Mesos' endpoints render it.
type leaderInfoJSON struct {
	ID       string `json:"id"`
	PID      string `json:"pid"`
	Port     int32  `json:"port"`
	Hostname string `json:"hostname"`
}

// stateJSON is GET /state.
type stateJSON struct {
	Version                string            `json:"version"`
	GitSHA                 string            `json:"git_sha"`
	GitTag                 string            `json:"git_tag"`
	StartTime              float64           `json:"start_time"`
	ElectedTime            float64           `json:"elected_time,omitempty"`
	ID                     string            `json:"id"`
	PID                    string            `json:"pid"`
	Hostname               string            `json:"hostname"`
	Capabilities           []string          `json:"capabilities"`
	ActivatedSlaves        float64           `json:"activated_slaves"`
	DeactivatedSlaves      float64           `json:"deactivated_slaves"`
	UnreachableSlaves      float64           `json:"unreachable_slaves"`
	Leader                 string            `json:"leader,omitempty"`
	LeaderInfo             *leaderInfoJSON   `json:"leader_info,omitempty"`
	Cluster                string            `json:"cluster,omitempty"`
	Flags                  map[string]string `json:"flags"`
	Slaves                 []agentJSON       `json:"slaves"`
	RecoveredSlaves        []agentJSON       `json:"recovered_slaves"`
	Frameworks             []frameworkJSON   `json:"frameworks"`
	CompletedFrameworks    []frameworkJSON   `json:"completed_frameworks"`
	OrphanTasks            []taskJSON        `json:"orphan_tasks"`
	UnregisteredFrameworks []string          `json:"unregistered_frameworks"`
	// mesh's own fields.
	ClusterID         string          `json:"cluster_id"`
	Agents            []meshAgentJSON `json:"agents"`
	OutstandingOffers int             `json:"outstanding_offers"`
}

// stateSummaryJSON is GET /state-summary.
type stateSummaryJSON struct {
	Hostname   string                      `json:"hostname"`
	Cluster    string                      `json:"cluster,omitempty"`
	Slaves     []agentStateSummaryJSON     `json:"slaves"`
	Frameworks []frameworkStateSummaryJSON `json:"frameworks"`
}
