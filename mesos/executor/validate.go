package executor

import (
	"errors"
	"fmt"

	"mesh/mesos"
)

// ErrInvalidCall is wrapped by every error Call.Validate returns; the
// agent's executor endpoint answers it with 400 Bad Request.
var ErrInvalidCall = errors.New("invalid call")

// Validate reports why a Mesos agent would answer the call with 400 Bad
// Request, or nil. It checks, in Mesos' order:
//
//  1. what Mesos' JSON parser enforces: the proto2 required fields of every
//     body present (TaskInfos and TaskStatuses in SUBSCRIBE, the status of
//     UPDATE, the data of MESSAGE) and that required enums (a status' state)
//     hold known names;
//  2. the executor call validation (spec §6): a known type; executor_id
//     and framework_id on every call; each type's body; an UPDATE's status
//     has a 16-byte uuid, source SOURCE_EXECUTOR, a state other than
//     TASK_STAGING and, if it names an executor, the caller.
//
// HEARTBEAT and UNKNOWN need nothing more (the agent answers UNKNOWN with
// 501). Errors wrap ErrInvalidCall and, for a field problem, a
// *mesos.FieldError naming the field. Empty strings count as absent.
func (c *Call) Validate() error {
	if err := c.checkRequired(); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidCall, err)
	}
	if err := c.validateType(); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidCall, err)
	}
	return nil
}

func missing(field string) error { return &mesos.FieldError{Field: field} }

func invalid(field, format string, args ...any) error {
	return &mesos.FieldError{Field: field, Problem: fmt.Sprintf(format, args...)}
}

// checkRequired is what Mesos' JSON parser enforces: required fields of
// every body present.
func (c *Call) checkRequired() error {
	if c.ExecutorID != nil && c.ExecutorID.Value == "" {
		return missing("executor_id.value")
	}
	if c.FrameworkID != nil && c.FrameworkID.Value == "" {
		return missing("framework_id.value")
	}
	if s := c.Subscribe; s != nil {
		for i := range s.UnacknowledgedTasks {
			field := fmt.Sprintf("subscribe.unacknowledged_tasks[%d]", i)
			if err := mesos.PrefixFieldError(field, s.UnacknowledgedTasks[i].CheckRequired()); err != nil {
				return err
			}
		}
		for i, u := range s.UnacknowledgedUpdates {
			field := fmt.Sprintf("subscribe.unacknowledged_updates[%d].status", i)
			if u.Status == nil {
				return missing(field)
			}
			if err := mesos.PrefixFieldError(field, u.Status.CheckRequired()); err != nil {
				return err
			}
		}
	}
	if u := c.Update; u != nil {
		if u.Status == nil {
			return missing("update.status")
		}
		if err := mesos.PrefixFieldError("update.status", u.Status.CheckRequired()); err != nil {
			return err
		}
	}
	if m := c.Message; m != nil && m.Data == nil {
		return missing("message.data")
	}
	return nil
}

// validateType is Mesos' executor call validation. It runs after
// checkRequired, so present bodies hold their required fields.
func (c *Call) validateType() error {
	switch c.Type {
	case "":
		return missing("type")
	case CallSubscribe, CallUpdate, CallMessage, CallHeartbeat, CallUnknown:
	default:
		return invalid("type", "has unknown value %q", c.Type)
	}
	if c.ExecutorID == nil {
		return missing("executor_id")
	}
	if c.FrameworkID == nil {
		return missing("framework_id")
	}
	switch c.Type {
	case CallSubscribe:
		if c.Subscribe == nil {
			return missing("subscribe")
		}
	case CallMessage:
		if c.Message == nil {
			return missing("message")
		}
	case CallUpdate:
		if c.Update == nil {
			return missing("update")
		}
		return c.validateUpdate(c.Update.Status)
	}
	return nil
}

// validateUpdate checks what an executor may say in a status update.
func (c *Call) validateUpdate(s *mesos.TaskStatus) error {
	if s.UUID == nil {
		return missing("update.status.uuid")
	}
	if len(s.UUID) != 16 {
		return invalid("update.status.uuid", "must be a UUID of 16 bytes, got %d bytes", len(s.UUID))
	}
	if s.ExecutorID != nil && s.ExecutorID.Value != c.ExecutorID.Value {
		return invalid("update.status.executor_id", "is %q, not the calling executor %q", s.ExecutorID.Value, c.ExecutorID.Value)
	}
	if s.Source != mesos.SourceExecutor {
		got := s.Source
		if got == "" {
			got = "none"
		}
		return invalid("update.status.source", "must be %s, got %s", mesos.SourceExecutor, got)
	}
	if s.State == mesos.TaskStaging {
		return invalid("update.status.state", "must not be %s: only the master sets it", mesos.TaskStaging)
	}
	if cs := s.CheckStatus; cs != nil {
		if err := cs.Validate(); err != nil {
			return invalid("update.status.check_status", "is invalid: %v", err)
		}
	}
	return nil
}
