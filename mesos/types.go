// Package mesos is the Apache Mesos v1 data model as Go types whose JSON
// encoding matches Mesos' own (proto field names, enum names as strings,
// IDs as {"value": ...} objects, bytes as standard base64).
//
// It imports nothing from mesh; every other package shares these types.
package mesos

import "encoding/json"

// FrameworkID identifies a framework.
type FrameworkID struct {
	Value string `json:"value"`
}

// AgentID identifies an agent.
type AgentID struct {
	Value string `json:"value"`
}

// OfferID identifies an offer.
type OfferID struct {
	Value string `json:"value"`
}

// TaskID identifies a task within its framework.
type TaskID struct {
	Value string `json:"value"`
}

// ExecutorID identifies an executor within its framework.
type ExecutorID struct {
	Value string `json:"value"`
}

// ContainerID identifies a container on an agent.
type ContainerID struct {
	Value  string       `json:"value"`
	Parent *ContainerID `json:"parent,omitempty"`
}

// OperationID identifies an offer operation.
type OperationID struct {
	Value string `json:"value"`
}

// TimeInfo is a point in time in nanoseconds since the epoch.
type TimeInfo struct {
	Nanoseconds int64 `json:"nanoseconds"`
}

// DurationInfo is a duration in nanoseconds.
type DurationInfo struct {
	Nanoseconds int64 `json:"nanoseconds"`
}

// Label is a key/value pair.
type Label struct {
	Key   string `json:"key"`
	Value string `json:"value,omitempty"`
}

// Labels is a list of labels.
type Labels struct {
	Labels []Label `json:"labels,omitempty"`
}

// Address is a network address.
type Address struct {
	Hostname string `json:"hostname,omitempty"`
	IP       string `json:"ip,omitempty"`
	Port     int32  `json:"port"`
}

// URL describes an HTTP endpoint.
type URL struct {
	Scheme   string  `json:"scheme"`
	Address  Address `json:"address"`
	Path     string  `json:"path,omitempty"`
	Query    []Label `json:"query,omitempty"`
	Fragment string  `json:"fragment,omitempty"`
}

// FrameworkCapability is one capability a framework declares.
type FrameworkCapability struct {
	Type string `json:"type"`
}

// Framework capability names.
const (
	CapabilityRevocableResources    = "REVOCABLE_RESOURCES"
	CapabilityTaskKillingState      = "TASK_KILLING_STATE"
	CapabilityGPUResources          = "GPU_RESOURCES"
	CapabilitySharedResources       = "SHARED_RESOURCES"
	CapabilityPartitionAware        = "PARTITION_AWARE"
	CapabilityMultiRole             = "MULTI_ROLE"
	CapabilityReservationRefinement = "RESERVATION_REFINEMENT"
	CapabilityRegionAware           = "REGION_AWARE"
)

// FrameworkInfo describes a framework.
type FrameworkInfo struct {
	User            string                `json:"user"`
	Name            string                `json:"name"`
	ID              *FrameworkID          `json:"id,omitempty"`
	FailoverTimeout *float64              `json:"failover_timeout,omitempty"`
	Checkpoint      *bool                 `json:"checkpoint,omitempty"`
	Role            string                `json:"role,omitempty"`
	Roles           []string              `json:"roles,omitempty"`
	Hostname        string                `json:"hostname,omitempty"`
	Principal       string                `json:"principal,omitempty"`
	WebuiURL        string                `json:"webui_url,omitempty"`
	Capabilities    []FrameworkCapability `json:"capabilities,omitempty"`
	Labels          *Labels               `json:"labels,omitempty"`
	// OfferFilters maps a role to the filters its offers must pass.
	OfferFilters map[string]OfferFilters `json:"offer_filters,omitempty"`
}

// OfferFilters are a framework's per-role conditions on the offers it
// wants to receive.
type OfferFilters struct {
	MinAllocatableResources *MinAllocatableResources `json:"min_allocatable_resources,omitempty"`
}

// MinAllocatableResources lists alternative minimum quantities: an offer
// passes when it holds at least one of them.
type MinAllocatableResources struct {
	Quantities []ResourceQuantities `json:"quantities,omitempty"`
}

// ResourceQuantities maps a resource name to a scalar quantity.
type ResourceQuantities struct {
	Quantities map[string]Scalar `json:"quantities,omitempty"`
}

// DomainInfo places a master or agent in a fault domain.
type DomainInfo struct {
	FaultDomain *FaultDomain `json:"fault_domain,omitempty"`
}

// FaultDomain is a region and a zone within it.
type FaultDomain struct {
	Region FaultDomainName `json:"region"`
	Zone   FaultDomainName `json:"zone"`
}

// FaultDomainName names a region or a zone.
type FaultDomainName struct {
	Name string `json:"name"`
}

// HasCapability reports whether the framework declared capability c.
func (f *FrameworkInfo) HasCapability(c string) bool {
	for _, x := range f.Capabilities {
		if x.Type == c {
			return true
		}
	}
	return false
}

// AllRoles returns the roles the framework subscribes to: Roles under
// MULTI_ROLE, else the single legacy Role (default "*").
func (f *FrameworkInfo) AllRoles() []string {
	if f.HasCapability(CapabilityMultiRole) {
		return f.Roles
	}
	if f.Role == "" {
		return []string{"*"}
	}
	return []string{f.Role}
}

// FailoverTimeoutSeconds returns failover_timeout, 0 when unset.
func (f *FrameworkInfo) FailoverTimeoutSeconds() float64 {
	if f.FailoverTimeout == nil {
		return 0
	}
	return *f.FailoverTimeout
}

// MasterInfo describes the leading server as Mesos describes its master.
type MasterInfo struct {
	ID           string      `json:"id"`
	IP           uint32      `json:"ip"`
	Port         int32       `json:"port"`
	PID          string      `json:"pid,omitempty"`
	Hostname     string      `json:"hostname,omitempty"`
	Version      string      `json:"version,omitempty"`
	Address      *Address    `json:"address,omitempty"`
	Domain       *DomainInfo `json:"domain,omitempty"`
	Capabilities []struct {
		Type string `json:"type"`
	} `json:"capabilities,omitempty"`
}

// AgentInfo describes an agent.
type AgentInfo struct {
	Hostname   string      `json:"hostname"`
	Port       int32       `json:"port,omitempty"`
	Resources  []Resource  `json:"resources,omitempty"`
	Attributes []Attribute `json:"attributes,omitempty"`
	ID         *AgentID    `json:"id,omitempty"`
	Domain     *DomainInfo `json:"domain,omitempty"`
}

// Value types of resources and attributes.
const (
	ValueScalar = "SCALAR"
	ValueRanges = "RANGES"
	ValueSet    = "SET"
	ValueText   = "TEXT"
)

// Scalar is a floating point value.
type Scalar struct {
	Value float64 `json:"value"`
}

// Range is an inclusive range of integers.
type Range struct {
	Begin uint64 `json:"begin"`
	End   uint64 `json:"end"`
}

// Ranges is a list of ranges.
type Ranges struct {
	Range []Range `json:"range,omitempty"`
}

// Set is a set of strings.
type Set struct {
	Item []string `json:"item,omitempty"`
}

// Text is a string value.
type Text struct {
	Value string `json:"value"`
}

// Attribute is a named, typed property of an agent.
type Attribute struct {
	Name   string  `json:"name"`
	Type   string  `json:"type"`
	Scalar *Scalar `json:"scalar,omitempty"`
	Ranges *Ranges `json:"ranges,omitempty"`
	Set    *Set    `json:"set,omitempty"`
	Text   *Text   `json:"text,omitempty"`
}

// AllocationInfo says which role a resource is allocated to.
type AllocationInfo struct {
	Role string `json:"role,omitempty"`
}

// Reservation types.
const (
	ReservationStatic  = "STATIC"
	ReservationDynamic = "DYNAMIC"
)

// ReservationInfo is one level of a resource's reservation stack.
type ReservationInfo struct {
	Type      string  `json:"type,omitempty"`
	Role      string  `json:"role,omitempty"`
	Principal string  `json:"principal,omitempty"`
	Labels    *Labels `json:"labels,omitempty"`
}

// Resource is a named, typed amount of something an agent offers.
type Resource struct {
	Name           string            `json:"name"`
	Type           string            `json:"type"`
	Scalar         *Scalar           `json:"scalar,omitempty"`
	Ranges         *Ranges           `json:"ranges,omitempty"`
	Set            *Set              `json:"set,omitempty"`
	Role           string            `json:"role,omitempty"`
	AllocationInfo *AllocationInfo   `json:"allocation_info,omitempty"`
	Reservation    *ReservationInfo  `json:"reservation,omitempty"`
	Reservations   []ReservationInfo `json:"reservations,omitempty"`
	Disk           *DiskInfo         `json:"disk,omitempty"`
	Revocable      *struct{}         `json:"revocable,omitempty"`
	Shared         *struct{}         `json:"shared,omitempty"`
	// ProviderID names the resource provider, when a provider (not the
	// agent itself) owns the resource.
	ProviderID *ResourceProviderID `json:"provider_id,omitempty"`
}

// ResourceProviderID identifies a resource provider on an agent.
type ResourceProviderID struct {
	Value string `json:"value"`
}

// DiskInfo describes disk resources (persistent volumes, sources).
type DiskInfo struct {
	Persistence *struct {
		ID        string `json:"id"`
		Principal string `json:"principal,omitempty"`
	} `json:"persistence,omitempty"`
	Volume *Volume `json:"volume,omitempty"`
	Source *struct {
		Type string `json:"type"`
	} `json:"source,omitempty"`
}

// Environment holds environment variables for a command.
type Environment struct {
	Variables []EnvironmentVariable `json:"variables,omitempty"`
}

// EnvironmentVariable is one variable: a plain value (type VALUE, the
// default) or a secret (type SECRET).
type EnvironmentVariable struct {
	Name  string `json:"name"`
	Type  string `json:"type,omitempty"`
	Value string `json:"value,omitempty"`
	// Secret is kept verbatim; Resolve reads it.
	Secret json.RawMessage `json:"secret,omitempty"`
}

// CommandURI is a URI fetched into the sandbox before the command runs.
type CommandURI struct {
	Value      string `json:"value"`
	Executable *bool  `json:"executable,omitempty"`
	Extract    *bool  `json:"extract,omitempty"`
	Cache      *bool  `json:"cache,omitempty"`
	OutputFile string `json:"output_file,omitempty"`
}

// CommandInfo describes a command to run.
type CommandInfo struct {
	URIs        []CommandURI `json:"uris,omitempty"`
	Environment *Environment `json:"environment,omitempty"`
	Shell       *bool        `json:"shell,omitempty"`
	Value       string       `json:"value,omitempty"`
	Arguments   []string     `json:"arguments,omitempty"`
	User        string       `json:"user,omitempty"`
}

// IsShell reports whether the command runs through /bin/sh -c (the default).
func (c *CommandInfo) IsShell() bool { return c.Shell == nil || *c.Shell }

// Volume is a volume mounted into a container.
type Volume struct {
	Mode          string `json:"mode"`
	ContainerPath string `json:"container_path"`
	HostPath      string `json:"host_path,omitempty"`
	Image         *Image `json:"image,omitempty"`
	// Source (docker volume, host path, sandbox path, secret, CSI) is kept
	// verbatim; mesh does not interpret it.
	Source json.RawMessage `json:"source,omitempty"`
}

// Image is a container image.
type Image struct {
	Type   string `json:"type"`
	Docker *struct {
		Name string `json:"name"`
	} `json:"docker,omitempty"`
	Appc *struct {
		Name string `json:"name"`
	} `json:"appc,omitempty"`
	Cached *bool `json:"cached,omitempty"`
}

// Container, image and volume enum names.
const (
	ContainerTypeDocker = "DOCKER"
	ContainerTypeMesos  = "MESOS"
	ImageTypeAppc       = "APPC"
	ImageTypeDocker     = "DOCKER"
	VolumeModeRW        = "RW"
	VolumeModeRO        = "RO"
)

// ContainerInfo describes a container.
type ContainerInfo struct {
	Type     string   `json:"type"`
	Volumes  []Volume `json:"volumes,omitempty"`
	Hostname string   `json:"hostname,omitempty"`
	Mesos    *struct {
		Image *Image `json:"image,omitempty"`
	} `json:"mesos,omitempty"`
	NetworkInfos []NetworkInfo `json:"network_infos,omitempty"`
	// Docker, LinuxInfo, RlimitInfo and TTYInfo are kept verbatim so that
	// they reach the executor unchanged; mesh does not interpret them.
	Docker     json.RawMessage `json:"docker,omitempty"`
	LinuxInfo  json.RawMessage `json:"linux_info,omitempty"`
	RlimitInfo json.RawMessage `json:"rlimit_info,omitempty"`
	TTYInfo    json.RawMessage `json:"tty_info,omitempty"`
}

// NetworkInfo describes a network a container joins.
type NetworkInfo struct {
	IPAddresses  []IPAddress   `json:"ip_addresses,omitempty"`
	Name         string        `json:"name,omitempty"`
	Groups       []string      `json:"groups,omitempty"`
	Labels       *Labels       `json:"labels,omitempty"`
	PortMappings []PortMapping `json:"port_mappings,omitempty"`
}

// IPAddress is one address of a container (protocol IPv4 or IPv6).
type IPAddress struct {
	Protocol  string `json:"protocol,omitempty"`
	IPAddress string `json:"ip_address,omitempty"`
}

// PortMapping maps a host port to a container port.
type PortMapping struct {
	HostPort      uint32 `json:"host_port"`
	ContainerPort uint32 `json:"container_port"`
	Protocol      string `json:"protocol,omitempty"`
}

// KillPolicy says how long to wait between SIGTERM and SIGKILL.
type KillPolicy struct {
	GracePeriod *DurationInfo `json:"grace_period,omitempty"`
}

// ExecutorInfo describes an executor.
type ExecutorInfo struct {
	Type                string         `json:"type,omitempty"`
	ExecutorID          ExecutorID     `json:"executor_id"`
	FrameworkID         *FrameworkID   `json:"framework_id,omitempty"`
	Command             *CommandInfo   `json:"command,omitempty"`
	Container           *ContainerInfo `json:"container,omitempty"`
	Resources           []Resource     `json:"resources,omitempty"`
	Name                string         `json:"name,omitempty"`
	Data                Bytes          `json:"data,omitempty"`
	ShutdownGracePeriod *DurationInfo  `json:"shutdown_grace_period,omitempty"`
	Labels              *Labels        `json:"labels,omitempty"`
}

// TaskInfo describes a task to launch.
type TaskInfo struct {
	Name       string            `json:"name"`
	TaskID     TaskID            `json:"task_id"`
	AgentID    AgentID           `json:"agent_id"`
	Resources  []Resource        `json:"resources,omitempty"`
	Executor   *ExecutorInfo     `json:"executor,omitempty"`
	Command    *CommandInfo      `json:"command,omitempty"`
	Container  *ContainerInfo    `json:"container,omitempty"`
	KillPolicy *KillPolicy       `json:"kill_policy,omitempty"`
	Data       Bytes             `json:"data,omitempty"`
	Labels     *Labels           `json:"labels,omitempty"`
	Limits     map[string]Scalar `json:"limits,omitempty"`
	// MaxCompletionTime bounds how long the task may run.
	MaxCompletionTime *DurationInfo `json:"max_completion_time,omitempty"`
	// HealthCheck and Check are run by the task's executor.
	HealthCheck *HealthCheck `json:"health_check,omitempty"`
	Check       *CheckInfo   `json:"check,omitempty"`
	// Discovery is kept verbatim; mesh does not interpret it.
	Discovery json.RawMessage `json:"discovery,omitempty"`
}

// TaskGroupInfo is a group of tasks launched together.
type TaskGroupInfo struct {
	Tasks []TaskInfo `json:"tasks,omitempty"`
}

// Offer is a set of resources on one agent offered to one framework.
type Offer struct {
	ID             OfferID         `json:"id"`
	FrameworkID    FrameworkID     `json:"framework_id"`
	AgentID        AgentID         `json:"agent_id"`
	Hostname       string          `json:"hostname"`
	URL            *URL            `json:"url,omitempty"`
	AllocationInfo *AllocationInfo `json:"allocation_info,omitempty"`
	Resources      []Resource      `json:"resources,omitempty"`
	Attributes     []Attribute     `json:"attributes,omitempty"`
	ExecutorIDs    []ExecutorID    `json:"executor_ids,omitempty"`
	Unavailability *Unavailability `json:"unavailability,omitempty"`
	Domain         *DomainInfo     `json:"domain,omitempty"`
}

// InverseOffer asks a framework to give back resources on an agent (for
// maintenance) during its unavailability window.
type InverseOffer struct {
	ID             OfferID        `json:"id"`
	URL            *URL           `json:"url,omitempty"`
	FrameworkID    FrameworkID    `json:"framework_id"`
	AgentID        *AgentID       `json:"agent_id,omitempty"`
	Unavailability Unavailability `json:"unavailability"`
	Resources      []Resource     `json:"resources,omitempty"`
}

// Unavailability is a maintenance window.
type Unavailability struct {
	Start    TimeInfo      `json:"start"`
	Duration *DurationInfo `json:"duration,omitempty"`
}

// Offer operation types.
const (
	OperationLaunch       = "LAUNCH"
	OperationLaunchGroup  = "LAUNCH_GROUP"
	OperationReserve      = "RESERVE"
	OperationUnreserve    = "UNRESERVE"
	OperationCreate       = "CREATE"
	OperationDestroy      = "DESTROY"
	OperationGrowVolume   = "GROW_VOLUME"
	OperationShrinkVolume = "SHRINK_VOLUME"
	OperationCreateDisk   = "CREATE_DISK"
	OperationDestroyDisk  = "DESTROY_DISK"
)

// OfferOperation is one operation in an ACCEPT call.
type OfferOperation struct {
	Type   string       `json:"type"`
	ID     *OperationID `json:"id,omitempty"`
	Launch *struct {
		TaskInfos []TaskInfo `json:"task_infos,omitempty"`
	} `json:"launch,omitempty"`
	LaunchGroup *struct {
		Executor  ExecutorInfo  `json:"executor"`
		TaskGroup TaskGroupInfo `json:"task_group"`
	} `json:"launch_group,omitempty"`
	Reserve *struct {
		Resources []Resource `json:"resources,omitempty"`
	} `json:"reserve,omitempty"`
	Unreserve *struct {
		Resources []Resource `json:"resources,omitempty"`
	} `json:"unreserve,omitempty"`
	Create *struct {
		Volumes []Resource `json:"volumes,omitempty"`
	} `json:"create,omitempty"`
	Destroy *struct {
		Volumes []Resource `json:"volumes,omitempty"`
	} `json:"destroy,omitempty"`
	GrowVolume   *GrowVolume   `json:"grow_volume,omitempty"`
	ShrinkVolume *ShrinkVolume `json:"shrink_volume,omitempty"`
	CreateDisk   *CreateDisk   `json:"create_disk,omitempty"`
	DestroyDisk  *DestroyDisk  `json:"destroy_disk,omitempty"`
}

// GrowVolume is the body of a GROW_VOLUME operation.
type GrowVolume struct {
	Volume   *Resource `json:"volume"`
	Addition *Resource `json:"addition"`
}

// ShrinkVolume is the body of a SHRINK_VOLUME operation.
type ShrinkVolume struct {
	Volume   *Resource `json:"volume"`
	Subtract *Scalar   `json:"subtract"`
}

// CreateDisk is the body of a CREATE_DISK operation.
type CreateDisk struct {
	Source        *Resource `json:"source"`
	TargetType    string    `json:"target_type"`
	TargetProfile string    `json:"target_profile,omitempty"`
}

// DestroyDisk is the body of a DESTROY_DISK operation.
type DestroyDisk struct {
	Source *Resource `json:"source"`
}

// Disk source types (Resource.DiskInfo.Source.Type).
const (
	DiskSourceUnknown = "UNKNOWN"
	DiskSourcePath    = "PATH"
	DiskSourceMount   = "MOUNT"
	DiskSourceBlock   = "BLOCK"
	DiskSourceRaw     = "RAW"
)

// Filters tune how the allocator treats declined resources.
type Filters struct {
	RefuseSeconds *float64 `json:"refuse_seconds,omitempty"`
}

// Default and maximum refuse_seconds, as Mesos.
const (
	DefaultRefuseSeconds = 5.0
	MaxRefuseSeconds     = 31536000.0
)

// RefuseSecondsOrDefault applies Mesos' rules: absent or negative ⇒ 5 s,
// more than a year ⇒ a year.
func (f *Filters) RefuseSecondsOrDefault() float64 {
	if f == nil || f.RefuseSeconds == nil || *f.RefuseSeconds < 0 {
		return DefaultRefuseSeconds
	}
	if *f.RefuseSeconds > MaxRefuseSeconds {
		return MaxRefuseSeconds
	}
	return *f.RefuseSeconds
}

// ContainerStatus is what the agent knows of a task's container.
type ContainerStatus struct {
	ContainerID  *ContainerID  `json:"container_id,omitempty"`
	ExecutorPID  *uint32       `json:"executor_pid,omitempty"`
	NetworkInfos []NetworkInfo `json:"network_infos,omitempty"`
}

// TaskResourceLimitation lists the resources whose limit a task hit.
type TaskResourceLimitation struct {
	Resources []Resource `json:"resources,omitempty"`
}

// TaskStatus is one status update of a task.
type TaskStatus struct {
	TaskID          TaskID           `json:"task_id"`
	State           TaskState        `json:"state"`
	Message         string           `json:"message,omitempty"`
	Source          string           `json:"source,omitempty"`
	Reason          string           `json:"reason,omitempty"`
	Data            Bytes            `json:"data,omitempty"`
	AgentID         *AgentID         `json:"agent_id,omitempty"`
	ExecutorID      *ExecutorID      `json:"executor_id,omitempty"`
	Timestamp       float64          `json:"timestamp,omitempty"`
	UUID            Bytes            `json:"uuid,omitempty"`
	Healthy         *bool            `json:"healthy,omitempty"`
	Labels          *Labels          `json:"labels,omitempty"`
	ContainerStatus *ContainerStatus `json:"container_status,omitempty"`
	UnreachableTime *TimeInfo        `json:"unreachable_time,omitempty"`
	// CheckStatus is the latest result of the task's check, when it has one.
	CheckStatus *CheckStatusInfo        `json:"check_status,omitempty"`
	Limitation  *TaskResourceLimitation `json:"limitation,omitempty"`
}

// OperationStatus is the status of an offer operation that carried an id.
type OperationStatus struct {
	OperationID        *OperationID        `json:"operation_id,omitempty"`
	State              string              `json:"state"`
	Message            string              `json:"message,omitempty"`
	ConvertedResources []Resource          `json:"converted_resources,omitempty"`
	UUID               *UUID               `json:"uuid,omitempty"`
	AgentID            *AgentID            `json:"agent_id,omitempty"`
	ResourceProviderID *ResourceProviderID `json:"resource_provider_id,omitempty"`
}

// UUID is a 16-byte identifier carried as {"value": base64}.
type UUID struct {
	Value Bytes `json:"value"`
}

// Operation states.
const (
	OperationPending        = "OPERATION_PENDING"
	OperationFinished       = "OPERATION_FINISHED"
	OperationFailed         = "OPERATION_FAILED"
	OperationError          = "OPERATION_ERROR"
	OperationDropped        = "OPERATION_DROPPED"
	OperationUnreachable    = "OPERATION_UNREACHABLE"
	OperationGoneByOperator = "OPERATION_GONE_BY_OPERATOR"
	OperationRecovering     = "OPERATION_RECOVERING"
	OperationUnknown        = "OPERATION_UNKNOWN"
	OperationUnsupported    = "OPERATION_UNSUPPORTED"
)

// Status update sources.
const (
	SourceMaster   = "SOURCE_MASTER"
	SourceAgent    = "SOURCE_AGENT"
	SourceExecutor = "SOURCE_EXECUTOR"
)

// Status update reasons used by mesh.
const (
	ReasonCommandExecutorFailed  = "REASON_COMMAND_EXECUTOR_FAILED"
	ReasonContainerLaunchFailed  = "REASON_CONTAINER_LAUNCH_FAILED"
	ReasonContainerLimitation    = "REASON_CONTAINER_LIMITATION"
	ReasonContainerLimitationMem = "REASON_CONTAINER_LIMITATION_MEMORY"
	ReasonExecutorTerminated     = "REASON_EXECUTOR_TERMINATED"
	ReasonExecutorRegistrationTO = "REASON_EXECUTOR_REGISTRATION_TIMEOUT"
	ReasonFrameworkRemoved       = "REASON_FRAMEWORK_REMOVED"
	ReasonInvalidOffers          = "REASON_INVALID_OFFERS"
	ReasonReconciliation         = "REASON_RECONCILIATION"
	ReasonAgentDisconnected      = "REASON_AGENT_DISCONNECTED"
	ReasonAgentRemoved           = "REASON_AGENT_REMOVED"
	ReasonAgentRestarted         = "REASON_AGENT_RESTARTED"
	ReasonAgentReregistered      = "REASON_AGENT_REREGISTERED"
	ReasonAgentUnknown           = "REASON_AGENT_UNKNOWN"
	ReasonAgentRemovedByOperator = "REASON_AGENT_REMOVED_BY_OPERATOR"
	ReasonTaskInvalid            = "REASON_TASK_INVALID"
	ReasonTaskUnauthorized       = "REASON_TASK_UNAUTHORIZED"
	ReasonTaskUnknown            = "REASON_TASK_UNKNOWN"
	ReasonTaskKilledDuringLaunch = "REASON_TASK_KILLED_DURING_LAUNCH"
	ReasonMasterDisconnected     = "REASON_MASTER_DISCONNECTED"
	ReasonGCError                = "REASON_GC_ERROR"
	// ReasonTaskCheckStatusUpdated marks a TASK_RUNNING update sent
	// because the task's check_status changed.
	ReasonTaskCheckStatusUpdated = "REASON_TASK_CHECK_STATUS_UPDATED"
	// ReasonTaskHealthCheckStatusUpdated marks a TASK_RUNNING update
	// sent because the task's health changed (or it failed again).
	ReasonTaskHealthCheckStatusUpdated = "REASON_TASK_HEALTH_CHECK_STATUS_UPDATED"
	// ReasonMaxCompletionTimeReached marks the TASK_FAILED of a task
	// killed when its max_completion_time was reached.
	ReasonMaxCompletionTimeReached = "REASON_MAX_COMPLETION_TIME_REACHED"
)

// MachineID names a machine that runs agents, by hostname and IP. An
// agent is on a machine when both fields match what it announces (an
// omitted field is the empty string); hostnames match without regard to
// case.
type MachineID struct {
	Hostname string `json:"hostname,omitempty"`
	IP       string `json:"ip,omitempty"`
}

// Inverse offer statuses: a framework's latest answer to an inverse offer.
const (
	InverseOfferUnknown = "UNKNOWN"
	InverseOfferAccept  = "ACCEPT"
	InverseOfferDecline = "DECLINE"
)

// InverseOfferStatus is a framework's latest answer to the inverse offers
// of a machine in maintenance, and when it gave it.
type InverseOfferStatus struct {
	Status      string      `json:"status"`
	FrameworkID FrameworkID `json:"framework_id"`
	Timestamp   TimeInfo    `json:"timestamp"`
}
