// Package agentop holds the call types and the Response of Mesos' v1
// agent operator API (mesos.v1.agent in agent.proto) with the JSON names
// Mesos uses. A call is a mesh/mesos/master Call checked against the
// agent's call types: the sub-messages both APIs share have one Go type,
// and so do the responses' common parts (GetHealth, GetFlags, ...).
package agentop

import (
	"mesh/mesos"
	mapi "mesh/mesos/master"
)

// Call types agent.proto defines beside the ones the master's API shares
// (mesh/mesos/master's Call* constants).
const (
	CallGetContainers                = "GET_CONTAINERS"
	CallGetAgent                     = "GET_AGENT"
	CallGetResourceProviders         = "GET_RESOURCE_PROVIDERS"
	CallLaunchNestedContainer        = "LAUNCH_NESTED_CONTAINER"
	CallWaitNestedContainer          = "WAIT_NESTED_CONTAINER"
	CallKillNestedContainer          = "KILL_NESTED_CONTAINER"
	CallRemoveNestedContainer        = "REMOVE_NESTED_CONTAINER"
	CallLaunchNestedContainerSession = "LAUNCH_NESTED_CONTAINER_SESSION"
	CallAttachContainerInput         = "ATTACH_CONTAINER_INPUT"
	CallAttachContainerOutput        = "ATTACH_CONTAINER_OUTPUT"
	CallLaunchContainer              = "LAUNCH_CONTAINER"
	CallWaitContainer                = "WAIT_CONTAINER"
	CallKillContainer                = "KILL_CONTAINER"
	CallRemoveContainer              = "REMOVE_CONTAINER"
	CallAddResourceProviderConfig    = "ADD_RESOURCE_PROVIDER_CONFIG"
	CallUpdateResourceProviderConfig = "UPDATE_RESOURCE_PROVIDER_CONFIG"
	CallRemoveResourceProviderConfig = "REMOVE_RESOURCE_PROVIDER_CONFIG"
	CallMarkResourceProviderGone     = "MARK_RESOURCE_PROVIDER_GONE"
	CallPruneImages                  = "PRUNE_IMAGES"
)

// Calls is the agent's operator API: every call type agent.proto
// defines.
var Calls = mapi.Dialect{Name: "agent::Call", Types: map[string]bool{}}

func init() {
	for _, t := range []string{mapi.CallUnknown, mapi.CallGetHealth, mapi.CallGetFlags, mapi.CallGetVersion,
		mapi.CallGetMetrics, mapi.CallGetLoggingLevel, mapi.CallSetLoggingLevel, mapi.CallListFiles,
		mapi.CallReadFile, mapi.CallGetState, CallGetContainers, mapi.CallGetFrameworks, mapi.CallGetExecutors,
		mapi.CallGetOperations, mapi.CallGetTasks, CallGetAgent, CallGetResourceProviders,
		CallLaunchNestedContainer, CallWaitNestedContainer, CallKillNestedContainer, CallRemoveNestedContainer,
		CallLaunchNestedContainerSession, CallAttachContainerInput, CallAttachContainerOutput,
		CallLaunchContainer, CallWaitContainer, CallKillContainer, CallRemoveContainer,
		CallAddResourceProviderConfig, CallUpdateResourceProviderConfig, CallRemoveResourceProviderConfig,
		CallMarkResourceProviderGone, CallPruneImages} {
		Calls.Types[t] = true
	}
}

// ParseCall decodes a JSON call of the agent's operator API.
func ParseCall(body []byte) (*mapi.Call, error) { return mapi.ParseCallAs(body, Calls) }

// Response types agent.proto defines beside the shared ones.
const (
	ResponseGetContainers = "GET_CONTAINERS"
	ResponseGetAgent      = "GET_AGENT"
)

// Response answers a call. Exactly one sub-message, named by Type, is set.
type Response struct {
	Type            string                `json:"type"`
	GetHealth       *mapi.GetHealth       `json:"get_health,omitempty"`
	GetFlags        *mapi.GetFlags        `json:"get_flags,omitempty"`
	GetVersion      *mapi.GetVersion      `json:"get_version,omitempty"`
	GetMetrics      *mapi.GetMetrics      `json:"get_metrics,omitempty"`
	GetLoggingLevel *mapi.GetLoggingLevel `json:"get_logging_level,omitempty"`
	ListFiles       *ListFiles            `json:"list_files,omitempty"`
	ReadFile        *ReadFile             `json:"read_file,omitempty"`
	GetState        *GetState             `json:"get_state,omitempty"`
	GetContainers   *GetContainers        `json:"get_containers,omitempty"`
	GetFrameworks   *GetFrameworks        `json:"get_frameworks,omitempty"`
	GetExecutors    *GetExecutors         `json:"get_executors,omitempty"`
	GetOperations   *mapi.GetOperations   `json:"get_operations,omitempty"`
	GetTasks        *GetTasks             `json:"get_tasks,omitempty"`
	GetAgent        *GetAgent             `json:"get_agent,omitempty"`
}

// FromCommon is the agent's Response for a response to one of the calls
// both APIs share (mesh/mesos/operator's Common); nil stays nil.
func FromCommon(r *mapi.Response) *Response {
	if r == nil {
		return nil
	}
	return &Response{Type: r.Type, GetHealth: r.GetHealth, GetFlags: r.GetFlags, GetVersion: r.GetVersion,
		GetMetrics: r.GetMetrics, GetLoggingLevel: r.GetLoggingLevel}
}

// FileInfo describes one file or directory (mesos.v1.FileInfo); Mode is
// st_mode's bits.
type FileInfo struct {
	Path  string          `json:"path"`
	Nlink int32           `json:"nlink,omitempty"`
	Size  uint64          `json:"size,omitempty"`
	Mtime *mesos.TimeInfo `json:"mtime,omitempty"`
	Mode  uint32          `json:"mode,omitempty"`
	UID   string          `json:"uid,omitempty"`
	GID   string          `json:"gid,omitempty"`
}

// ListFiles lists a directory's entries.
type ListFiles struct {
	FileInfos []FileInfo `json:"file_infos,omitempty"`
}

// ReadFile is part of a file: Size is the whole file's size.
type ReadFile struct {
	Size uint64      `json:"size"`
	Data mesos.Bytes `json:"data"`
}

// GetState is the agent's whole state: tasks, executors and frameworks.
type GetState struct {
	GetTasks      *GetTasks      `json:"get_tasks,omitempty"`
	GetExecutors  *GetExecutors  `json:"get_executors,omitempty"`
	GetFrameworks *GetFrameworks `json:"get_frameworks,omitempty"`
}

// ResourceStatistics is a container's usage and limits
// (mesos.v1.ResourceStatistics), the fields mesh measures.
type ResourceStatistics struct {
	Timestamp          float64 `json:"timestamp"`
	Processes          uint32  `json:"processes,omitempty"`
	CPUsUserTimeSecs   float64 `json:"cpus_user_time_secs,omitempty"`
	CPUsSystemTimeSecs float64 `json:"cpus_system_time_secs,omitempty"`
	CPUsLimit          float64 `json:"cpus_limit,omitempty"`
	CPUsNrPeriods      uint32  `json:"cpus_nr_periods,omitempty"`
	CPUsNrThrottled    uint32  `json:"cpus_nr_throttled,omitempty"`
	CPUsThrottledSecs  float64 `json:"cpus_throttled_time_secs,omitempty"`
	MemTotalBytes      uint64  `json:"mem_total_bytes,omitempty"`
	MemRSSBytes        uint64  `json:"mem_rss_bytes,omitempty"`
	MemCacheBytes      uint64  `json:"mem_cache_bytes,omitempty"`
	MemLimitBytes      uint64  `json:"mem_limit_bytes,omitempty"`
	MemSwapBytes       uint64  `json:"mem_swap_bytes,omitempty"`
}

// Container is one executor's container.
type Container struct {
	FrameworkID        *mesos.FrameworkID     `json:"framework_id,omitempty"`
	ExecutorID         *mesos.ExecutorID      `json:"executor_id,omitempty"`
	ExecutorName       string                 `json:"executor_name,omitempty"`
	ContainerID        mesos.ContainerID      `json:"container_id"`
	ContainerStatus    *mesos.ContainerStatus `json:"container_status,omitempty"`
	ResourceStatistics *ResourceStatistics    `json:"resource_statistics,omitempty"`
}

// GetContainers lists the running containers.
type GetContainers struct {
	Containers []Container `json:"containers,omitempty"`
}

// Framework is a framework the agent runs executors of.
type Framework struct {
	FrameworkInfo mesos.FrameworkInfo `json:"framework_info"`
}

// GetFrameworks lists the frameworks, live and completed.
type GetFrameworks struct {
	Frameworks          []Framework `json:"frameworks,omitempty"`
	CompletedFrameworks []Framework `json:"completed_frameworks,omitempty"`
}

// Executor is an executor the agent runs or ran.
type Executor struct {
	ExecutorInfo mesos.ExecutorInfo `json:"executor_info"`
}

// GetExecutors lists the executors, live and completed.
type GetExecutors struct {
	Executors          []Executor `json:"executors,omitempty"`
	CompletedExecutors []Executor `json:"completed_executors,omitempty"`
}

// GetTasks lists the tasks by where they are: waiting for their executor
// (pending), held until it subscribes (queued), handed to it (launched),
// ended but not yet acknowledged (terminated), and done (completed).
type GetTasks struct {
	PendingTasks    []mapi.Task `json:"pending_tasks,omitempty"`
	QueuedTasks     []mapi.Task `json:"queued_tasks,omitempty"`
	LaunchedTasks   []mapi.Task `json:"launched_tasks,omitempty"`
	TerminatedTasks []mapi.Task `json:"terminated_tasks,omitempty"`
	CompletedTasks  []mapi.Task `json:"completed_tasks,omitempty"`
}

// GetAgent describes the agent.
type GetAgent struct {
	AgentInfo mesos.AgentInfo `json:"agent_info"`
}
