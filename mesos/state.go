package mesos

// TaskState is the state of a task, encoded as its Mesos name.
type TaskState string

// Task states.
const (
	TaskStaging        TaskState = "TASK_STAGING"
	TaskStarting       TaskState = "TASK_STARTING"
	TaskRunning        TaskState = "TASK_RUNNING"
	TaskKilling        TaskState = "TASK_KILLING"
	TaskFinished       TaskState = "TASK_FINISHED"
	TaskFailed         TaskState = "TASK_FAILED"
	TaskKilled         TaskState = "TASK_KILLED"
	TaskError          TaskState = "TASK_ERROR"
	TaskLost           TaskState = "TASK_LOST"
	TaskDropped        TaskState = "TASK_DROPPED"
	TaskUnreachable    TaskState = "TASK_UNREACHABLE"
	TaskGone           TaskState = "TASK_GONE"
	TaskGoneByOperator TaskState = "TASK_GONE_BY_OPERATOR"
	TaskUnknown        TaskState = "TASK_UNKNOWN"
)

// IsTerminal reports whether a task in state s is over for good: its
// resources are free once the update arrives.
func (s TaskState) IsTerminal() bool {
	switch s {
	case TaskFinished, TaskFailed, TaskKilled, TaskError, TaskLost,
		TaskDropped, TaskGone, TaskGoneByOperator:
		return true
	}
	return false
}

// Valid reports whether s is a known task state name.
func (s TaskState) Valid() bool {
	switch s {
	case TaskStaging, TaskStarting, TaskRunning, TaskKilling, TaskFinished,
		TaskFailed, TaskKilled, TaskError, TaskLost, TaskDropped,
		TaskUnreachable, TaskGone, TaskGoneByOperator, TaskUnknown:
		return true
	}
	return false
}
