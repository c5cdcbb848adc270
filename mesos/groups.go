package mesos

// Executor types (ExecutorInfo.type).
const (
	// ExecutorTypeDefault is Mesos' default executor, which runs task
	// groups (LAUNCH_GROUP).
	ExecutorTypeDefault = "DEFAULT"
	// ExecutorTypeCustom is a framework's own executor.
	ExecutorTypeCustom = "CUSTOM"
	// ExecutorTypeUnknown is a type this side of the wire does not know.
	ExecutorTypeUnknown = "UNKNOWN"
)

// Reasons of the updates the master sends for a task group it refuses.
const (
	ReasonTaskGroupInvalid      = "REASON_TASK_GROUP_INVALID"
	ReasonTaskGroupUnauthorized = "REASON_TASK_GROUP_UNAUTHORIZED"
)
