package executor

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"

	"mesh/mesos"
)

// ExitStatusFile is where, relative to the sandbox, the command executor
// records how its task ended, before it reports the terminal update. An
// agent that missed the update (it was restarting, or the executor died
// before the update got through) learns the outcome from it.
const ExitStatusFile = ".mesh/exit_status"

// TaskExit is the content of ExitStatusFile.
type TaskExit struct {
	TaskID string `json:"task_id"`
	// Pid is the task process's pid.
	Pid int `json:"pid,omitempty"`
	// ExitCode is the exit status, -1 when a signal ended the task.
	ExitCode int `json:"exit_code"`
	// Signal names the signal that ended the task, e.g. "SIGKILL".
	Signal string `json:"signal,omitempty"`
	// Killed is true when the task ended because it was asked to.
	Killed bool `json:"killed,omitempty"`
	// State is the terminal state the executor reports for the task.
	State mesos.TaskState `json:"state"`
	// Message is the status message, e.g. "Command exited with status 1".
	Message string `json:"message"`
	// Reason is the status reason, if any (e.g. REASON_COMMAND_EXECUTOR_FAILED).
	Reason string `json:"reason,omitempty"`
	// Time is when the task ended, in seconds since the epoch.
	Time float64 `json:"time"`
}

// WriteTaskExit records e in sandbox's exit status file, durably.
func WriteTaskExit(sandbox string, e TaskExit) error {
	p := filepath.Join(sandbox, ExitStatusFile)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("record exit status: %w", err)
	}
	if err := writeJSONAtomic(p, e); err != nil {
		return fmt.Errorf("record exit status: %w", err)
	}
	return nil
}

// maxExitStatusFile bounds the exit status file: what the executor writes
// is a few hundred bytes.
const maxExitStatusFile = 64 << 10

// ReadTaskExit reads sandbox's exit status file. The error wraps
// os.ErrNotExist when the task has not ended (or never started).
//
// The agent reads it as root from a sandbox the task's user owns, so
// nothing there is trusted: the path is resolved within the sandbox (a
// symlink out of it fails), only a regular file is read (a FIFO would block
// the agent) and only so much of it.
func ReadTaskExit(sandbox string) (TaskExit, error) {
	var e TaskExit
	root, err := os.OpenRoot(sandbox)
	if err != nil {
		return e, fmt.Errorf("read exit status: %w", err)
	}
	defer root.Close()
	f, err := root.OpenFile(ExitStatusFile, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return e, fmt.Errorf("read exit status: %w", err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return e, fmt.Errorf("read exit status %s: not a regular file", filepath.Join(sandbox, ExitStatusFile))
	}
	b, err := io.ReadAll(io.LimitReader(f, maxExitStatusFile+1))
	if err != nil {
		return e, fmt.Errorf("read exit status: %w", err)
	}
	if len(b) > maxExitStatusFile {
		return e, fmt.Errorf("read exit status %s: larger than %d bytes", filepath.Join(sandbox, ExitStatusFile), maxExitStatusFile)
	}
	if err := json.Unmarshal(b, &e); err != nil {
		return e, fmt.Errorf("read exit status %s: %w", filepath.Join(sandbox, ExitStatusFile), err)
	}
	return e, nil
}
