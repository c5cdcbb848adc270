// Package master holds the Call and Response types of Mesos' v1 operator
// API (mesos.v1.master in master.proto) with the JSON names Mesos uses,
// and the decoder of a JSON call.
package master

import (
	"encoding/json"

	"mesh/mesos"
)

// Call types, as master.proto names them.
const (
	CallUnknown                   = "UNKNOWN"
	CallGetHealth                 = "GET_HEALTH"
	CallGetFlags                  = "GET_FLAGS"
	CallGetVersion                = "GET_VERSION"
	CallGetMetrics                = "GET_METRICS"
	CallGetLoggingLevel           = "GET_LOGGING_LEVEL"
	CallSetLoggingLevel           = "SET_LOGGING_LEVEL"
	CallListFiles                 = "LIST_FILES"
	CallReadFile                  = "READ_FILE"
	CallGetState                  = "GET_STATE"
	CallGetAgents                 = "GET_AGENTS"
	CallGetFrameworks             = "GET_FRAMEWORKS"
	CallGetExecutors              = "GET_EXECUTORS"
	CallGetOperations             = "GET_OPERATIONS"
	CallGetTasks                  = "GET_TASKS"
	CallGetRoles                  = "GET_ROLES"
	CallGetWeights                = "GET_WEIGHTS"
	CallUpdateWeights             = "UPDATE_WEIGHTS"
	CallGetMaster                 = "GET_MASTER"
	CallSubscribe                 = "SUBSCRIBE"
	CallReserveResources          = "RESERVE_RESOURCES"
	CallUnreserveResources        = "UNRESERVE_RESOURCES"
	CallCreateVolumes             = "CREATE_VOLUMES"
	CallDestroyVolumes            = "DESTROY_VOLUMES"
	CallGrowVolume                = "GROW_VOLUME"
	CallShrinkVolume              = "SHRINK_VOLUME"
	CallGetMaintenanceStatus      = "GET_MAINTENANCE_STATUS"
	CallGetMaintenanceSchedule    = "GET_MAINTENANCE_SCHEDULE"
	CallUpdateMaintenanceSchedule = "UPDATE_MAINTENANCE_SCHEDULE"
	CallStartMaintenance          = "START_MAINTENANCE"
	CallStopMaintenance           = "STOP_MAINTENANCE"
	CallDrainAgent                = "DRAIN_AGENT"
	CallDeactivateAgent           = "DEACTIVATE_AGENT"
	CallReactivateAgent           = "REACTIVATE_AGENT"
	CallGetQuota                  = "GET_QUOTA"
	CallUpdateQuota               = "UPDATE_QUOTA"
	CallSetQuota                  = "SET_QUOTA"
	CallRemoveQuota               = "REMOVE_QUOTA"
	CallTeardown                  = "TEARDOWN"
	CallMarkAgentGone             = "MARK_AGENT_GONE"
)

// callTypes is every call type master.proto defines.
var callTypes = map[string]bool{}

func init() {
	for _, t := range []string{CallUnknown, CallGetHealth, CallGetFlags, CallGetVersion, CallGetMetrics,
		CallGetLoggingLevel, CallSetLoggingLevel, CallListFiles, CallReadFile, CallGetState, CallGetAgents,
		CallGetFrameworks, CallGetExecutors, CallGetOperations, CallGetTasks, CallGetRoles, CallGetWeights,
		CallUpdateWeights, CallGetMaster, CallSubscribe, CallReserveResources, CallUnreserveResources,
		CallCreateVolumes, CallDestroyVolumes, CallGrowVolume, CallShrinkVolume, CallGetMaintenanceStatus,
		CallGetMaintenanceSchedule, CallUpdateMaintenanceSchedule, CallStartMaintenance, CallStopMaintenance,
		CallDrainAgent, CallDeactivateAgent, CallReactivateAgent, CallGetQuota, CallUpdateQuota, CallSetQuota,
		CallRemoveQuota, CallTeardown, CallMarkAgentGone} {
		callTypes[t] = true
	}
}

// Duration is a DurationInfo whose nanoseconds may be absent (they are
// required: the decoder refuses a duration without them).
type Duration struct {
	Nanoseconds *int64 `json:"nanoseconds"`
}

// Call is one operator API call. Sub-messages of calls mesh does not
// carry out are kept undecoded.
type Call struct {
	Type            string           `json:"type"`
	GetMetrics      *GetMetricsCall  `json:"get_metrics,omitempty"`
	SetLoggingLevel *SetLoggingLevel `json:"set_logging_level,omitempty"`
	ListFiles       *ListFilesCall   `json:"list_files,omitempty"`
	ReadFile        *ReadFileCall    `json:"read_file,omitempty"`
	Teardown        *Teardown        `json:"teardown,omitempty"`
	UpdateWeights   *UpdateWeights   `json:"update_weights,omitempty"`
	MarkAgentGone   *MarkAgentGone   `json:"mark_agent_gone,omitempty"`
	UpdateQuota     *UpdateQuota     `json:"update_quota,omitempty"`
	SetQuota        *SetQuota        `json:"set_quota,omitempty"`
	RemoveQuota     *RemoveQuota     `json:"remove_quota,omitempty"`
	DrainAgent      *DrainAgent      `json:"drain_agent,omitempty"`
	DeactivateAgent *DeactivateAgent `json:"deactivate_agent,omitempty"`
	ReactivateAgent *ReactivateAgent `json:"reactivate_agent,omitempty"`

	UpdateMaintenanceSchedule *UpdateMaintenanceSchedule `json:"update_maintenance_schedule,omitempty"`
	StartMaintenance          *Machines                  `json:"start_maintenance,omitempty"`
	StopMaintenance           *Machines                  `json:"stop_maintenance,omitempty"`
	ReserveResources          *ReserveResources          `json:"reserve_resources,omitempty"`
	UnreserveResources        *UnreserveResources        `json:"unreserve_resources,omitempty"`
	CreateVolumes             *CreateVolumes             `json:"create_volumes,omitempty"`
	DestroyVolumes            *DestroyVolumes            `json:"destroy_volumes,omitempty"`
	GrowVolume                *GrowVolume                `json:"grow_volume,omitempty"`
	ShrinkVolume              *ShrinkVolume              `json:"shrink_volume,omitempty"`
}

// MarkAgentGone removes an agent from the cluster for good.
type MarkAgentGone struct {
	AgentID *mesos.AgentID `json:"agent_id"`
}

// Teardown removes a framework: its tasks are killed.
type Teardown struct {
	FrameworkID *mesos.FrameworkID `json:"framework_id"`
}

// GetMetricsCall bounds how long collecting the metrics may take.
type GetMetricsCall struct {
	Timeout *Duration `json:"timeout,omitempty"`
}

// SetLoggingLevel sets the logging verbosity for a while; the level
// reverts after the duration.
type SetLoggingLevel struct {
	Level    *uint32   `json:"level"`
	Duration *Duration `json:"duration"`
}

// ListFilesCall lists a directory the server serves.
type ListFilesCall struct {
	Path *string `json:"path"`
}

// ReadFileCall reads part of a file the server serves.
type ReadFileCall struct {
	Path   *string `json:"path"`
	Offset *uint64 `json:"offset"`
	Length *uint64 `json:"length,omitempty"`
}

// Response types, as master.proto names them.
const (
	ResponseGetHealth       = "GET_HEALTH"
	ResponseGetFlags        = "GET_FLAGS"
	ResponseGetVersion      = "GET_VERSION"
	ResponseGetMetrics      = "GET_METRICS"
	ResponseGetLoggingLevel = "GET_LOGGING_LEVEL"
	ResponseListFiles       = "LIST_FILES"
	ResponseReadFile        = "READ_FILE"
	ResponseGetState        = "GET_STATE"
	ResponseGetAgents       = "GET_AGENTS"
	ResponseGetFrameworks   = "GET_FRAMEWORKS"
	ResponseGetExecutors    = "GET_EXECUTORS"
	ResponseGetOperations   = "GET_OPERATIONS"
	ResponseGetTasks        = "GET_TASKS"
	ResponseGetRoles        = "GET_ROLES"
	ResponseGetMaster       = "GET_MASTER"
	ResponseGetWeights      = "GET_WEIGHTS"
	ResponseGetQuota        = "GET_QUOTA"

	ResponseGetMaintenanceStatus   = "GET_MAINTENANCE_STATUS"
	ResponseGetMaintenanceSchedule = "GET_MAINTENANCE_SCHEDULE"
)

// Response answers a call. Exactly one sub-message, named by Type, is set.
type Response struct {
	Type            string           `json:"type"`
	GetHealth       *GetHealth       `json:"get_health,omitempty"`
	GetFlags        *GetFlags        `json:"get_flags,omitempty"`
	GetVersion      *GetVersion      `json:"get_version,omitempty"`
	GetMetrics      *GetMetrics      `json:"get_metrics,omitempty"`
	GetLoggingLevel *GetLoggingLevel `json:"get_logging_level,omitempty"`
	GetState        *GetState        `json:"get_state,omitempty"`
	GetAgents       *GetAgents       `json:"get_agents,omitempty"`
	GetFrameworks   *GetFrameworks   `json:"get_frameworks,omitempty"`
	GetExecutors    *GetExecutors    `json:"get_executors,omitempty"`
	GetOperations   *GetOperations   `json:"get_operations,omitempty"`
	GetTasks        *GetTasks        `json:"get_tasks,omitempty"`
	GetRoles        *GetRoles        `json:"get_roles,omitempty"`
	GetMaster       *GetMaster       `json:"get_master,omitempty"`
	GetWeights      *GetWeights      `json:"get_weights,omitempty"`
	GetQuota        *GetQuota        `json:"get_quota,omitempty"`

	GetMaintenanceStatus   *GetMaintenanceStatus   `json:"get_maintenance_status,omitempty"`
	GetMaintenanceSchedule *GetMaintenanceSchedule `json:"get_maintenance_schedule,omitempty"`
}

// GetHealth says whether the master is healthy.
type GetHealth struct {
	Healthy bool `json:"healthy"`
}

// Flag is one setting of the master.
type Flag struct {
	Name  string `json:"name"`
	Value string `json:"value,omitempty"`
}

// GetFlags lists the master's settings.
type GetFlags struct {
	Flags []Flag `json:"flags,omitempty"`
}

// VersionInfo describes the build.
type VersionInfo struct {
	Version string `json:"version"`
	GitSHA  string `json:"git_sha,omitempty"`
	GitTag  string `json:"git_tag,omitempty"`
}

// GetVersion carries the master's version.
type GetVersion struct {
	VersionInfo VersionInfo `json:"version_info"`
}

// Metric is one named value.
type Metric struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
}

// GetMetrics lists the master's metrics.
type GetMetrics struct {
	Metrics []Metric `json:"metrics,omitempty"`
}

// GetLoggingLevel carries the logging verbosity (0: the normal level).
type GetLoggingLevel struct {
	Level uint32 `json:"level"`
}

// GetState is the whole state: tasks, executors, frameworks and agents.
type GetState struct {
	GetTasks      GetTasks      `json:"get_tasks"`
	GetExecutors  GetExecutors  `json:"get_executors"`
	GetFrameworks GetFrameworks `json:"get_frameworks"`
	GetAgents     GetAgents     `json:"get_agents"`
}

// AgentCapability is one capability of an agent.
type AgentCapability struct {
	Type string `json:"type"`
}

// Agent is a registered agent.
type Agent struct {
	AgentInfo          mesos.AgentInfo   `json:"agent_info"`
	Active             bool              `json:"active"`
	Deactivated        bool              `json:"deactivated"`
	Version            string            `json:"version"`
	PID                string            `json:"pid,omitempty"`
	RegisteredTime     *mesos.TimeInfo   `json:"registered_time,omitempty"`
	ReregisteredTime   *mesos.TimeInfo   `json:"reregistered_time,omitempty"`
	TotalResources     []mesos.Resource  `json:"total_resources,omitempty"`
	AllocatedResources []mesos.Resource  `json:"allocated_resources,omitempty"`
	OfferedResources   []mesos.Resource  `json:"offered_resources,omitempty"`
	Capabilities       []AgentCapability `json:"capabilities,omitempty"`
	DrainInfo          *DrainInfo        `json:"drain_info,omitempty"`
}

// GetAgents lists the registered agents.
type GetAgents struct {
	Agents          []Agent           `json:"agents,omitempty"`
	RecoveredAgents []mesos.AgentInfo `json:"recovered_agents,omitempty"`
}

// Framework is a framework with what it holds.
type Framework struct {
	FrameworkInfo      mesos.FrameworkInfo  `json:"framework_info"`
	Active             bool                 `json:"active"`
	Connected          bool                 `json:"connected"`
	Recovered          bool                 `json:"recovered"`
	RegisteredTime     *mesos.TimeInfo      `json:"registered_time,omitempty"`
	ReregisteredTime   *mesos.TimeInfo      `json:"reregistered_time,omitempty"`
	UnregisteredTime   *mesos.TimeInfo      `json:"unregistered_time,omitempty"`
	Offers             []mesos.Offer        `json:"offers,omitempty"`
	InverseOffers      []mesos.InverseOffer `json:"inverse_offers,omitempty"`
	AllocatedResources []mesos.Resource     `json:"allocated_resources,omitempty"`
	OfferedResources   []mesos.Resource     `json:"offered_resources,omitempty"`
	// OfferConstraints are the framework's, as Mesos 1.10 reports them.
	OfferConstraints *mesos.OfferConstraints `json:"offer_constraints,omitempty"`
}

// GetFrameworks lists the frameworks, live and completed.
type GetFrameworks struct {
	Frameworks          []Framework `json:"frameworks,omitempty"`
	CompletedFrameworks []Framework `json:"completed_frameworks,omitempty"`
}

// Executor is a custom executor and the agent it runs on.
type Executor struct {
	ExecutorInfo mesos.ExecutorInfo `json:"executor_info"`
	AgentID      mesos.AgentID      `json:"agent_id"`
}

// GetExecutors lists the custom executors.
type GetExecutors struct {
	Executors []Executor `json:"executors,omitempty"`
}

// GetOperations lists the offer operations the master tracks.
type GetOperations struct {
	Operations []json.RawMessage `json:"operations,omitempty"`
}

// Task is a task as the v1 API describes it (mesos.v1.Task).
type Task struct {
	Name              string                  `json:"name"`
	TaskID            mesos.TaskID            `json:"task_id"`
	FrameworkID       mesos.FrameworkID       `json:"framework_id"`
	ExecutorID        *mesos.ExecutorID       `json:"executor_id,omitempty"`
	AgentID           mesos.AgentID           `json:"agent_id"`
	State             mesos.TaskState         `json:"state"`
	Resources         []mesos.Resource        `json:"resources,omitempty"`
	Statuses          []mesos.TaskStatus      `json:"statuses,omitempty"`
	StatusUpdateState mesos.TaskState         `json:"status_update_state,omitempty"`
	StatusUpdateUUID  mesos.Bytes             `json:"status_update_uuid,omitempty"`
	Labels            *mesos.Labels           `json:"labels,omitempty"`
	Discovery         json.RawMessage         `json:"discovery,omitempty"`
	Container         *mesos.ContainerInfo    `json:"container,omitempty"`
	HealthCheck       *mesos.HealthCheck      `json:"health_check,omitempty"`
	KillPolicy        *mesos.KillPolicy       `json:"kill_policy,omitempty"`
	Limits            map[string]mesos.Scalar `json:"limits,omitempty"`
}

// GetTasks lists the tasks: live, unreachable and completed.
type GetTasks struct {
	Tasks            []Task `json:"tasks,omitempty"`
	UnreachableTasks []Task `json:"unreachable_tasks,omitempty"`
	CompletedTasks   []Task `json:"completed_tasks,omitempty"`
}

// Role is a role with its weight, frameworks and allocated resources.
type Role struct {
	Name       string              `json:"name"`
	Weight     float64             `json:"weight"`
	Frameworks []mesos.FrameworkID `json:"frameworks,omitempty"`
	Resources  []mesos.Resource    `json:"resources,omitempty"`
}

// GetRoles lists the known roles.
type GetRoles struct {
	Roles []Role `json:"roles,omitempty"`
}

// GetMaster describes the leading master.
type GetMaster struct {
	MasterInfo  mesos.MasterInfo `json:"master_info"`
	StartTime   float64          `json:"start_time,omitempty"`
	ElectedTime float64          `json:"elected_time,omitempty"`
}
