package server

import (
	"errors"
	"fmt"
	"strings"

	"mesh/mesos"
)

// validateTaskChecks applies the master's validation of what a task asks
// its executor to watch, in Mesos' order and with Mesos' messages: the
// task's max_completion_time, its check, then its health check. A task
// that fails it gets TASK_ERROR with REASON_TASK_INVALID.
func validateTaskChecks(t *mesos.TaskInfo) error {
	if t.MaxCompletionTime != nil && t.MaxCompletionTime.Nanoseconds < 0 {
		return errors.New("Task's `max_completion_time` must be non-negative")
	}
	if t.Check != nil {
		if err := validateCheckInfo(t.Check); err != nil {
			return fmt.Errorf("Task uses invalid check: %w", err)
		}
	}
	if t.HealthCheck != nil {
		if err := validateHealthCheck(t.HealthCheck); err != nil {
			return fmt.Errorf("Task uses invalid health check: %w", err)
		}
	}
	return nil
}

// validateCheckInfo is Mesos' validation of a CheckInfo.
func validateCheckInfo(c *mesos.CheckInfo) error {
	switch c.KnownType() {
	case "":
		return errors.New("CheckInfo must specify 'type'")
	case mesos.CheckTypeCommand:
		if c.Command == nil {
			return errors.New("Expecting 'command' to be set for COMMAND check")
		}
		if err := validateCheckCommand(&c.Command.Command, "Command check", "Check's"); err != nil {
			return err
		}
	case mesos.CheckTypeHTTP:
		if c.HTTP == nil {
			return errors.New("Expecting 'http' to be set for HTTP check")
		}
		if p := c.HTTP.Path; p != nil && !strings.HasPrefix(*p, "/") {
			return fmt.Errorf("The path '%s' of HTTP check must start with '/'", *p)
		}
	case mesos.CheckTypeTCP:
		if c.TCP == nil {
			return errors.New("Expecting 'tcp' to be set for TCP check")
		}
	default:
		return fmt.Errorf("'%s' is not a valid check type", c.Type)
	}
	return nonNegative([]timing{{"delay_seconds", c.DelaySeconds}, {"interval_seconds", c.IntervalSeconds},
		{"timeout_seconds", c.TimeoutSeconds}})
}

// validateHealthCheck is Mesos' validation of a HealthCheck.
func validateHealthCheck(h *mesos.HealthCheck) error {
	switch h.KnownType() {
	case "":
		return errors.New("HealthCheck must specify 'type'")
	case mesos.CheckTypeCommand:
		if h.Command == nil {
			return errors.New("Expecting 'command' to be set for COMMAND health check")
		}
		if err := validateCheckCommand(h.Command, "Command health check", "Health check's"); err != nil {
			return err
		}
	case mesos.CheckTypeHTTP:
		if h.HTTP == nil {
			return errors.New("Expecting 'http' to be set for HTTP health check")
		}
		if s := h.HTTP.Scheme; s != "" && s != "http" && s != "https" {
			return fmt.Errorf("Unsupported HTTP health check scheme: '%s'", s)
		}
		if p := h.HTTP.Path; p != nil && !strings.HasPrefix(*p, "/") {
			return fmt.Errorf("The path '%s' of HTTP health check must start with '/'", *p)
		}
	case mesos.CheckTypeTCP:
		if h.TCP == nil {
			return errors.New("Expecting 'tcp' to be set for TCP health check")
		}
	default:
		return fmt.Errorf("'%s' is not a valid health check type", h.Type)
	}
	return nonNegative([]timing{{"delay_seconds", h.DelaySeconds}, {"grace_period_seconds", h.GracePeriodSeconds},
		{"interval_seconds", h.IntervalSeconds}, {"timeout_seconds", h.TimeoutSeconds}})
}

// timing is one optional field of seconds, by its proto name.
type timing struct {
	name  string
	value *float64
}

func nonNegative(ts []timing) error {
	for _, t := range ts {
		if t.value != nil && *t.value < 0 {
			return fmt.Errorf("Expecting '%s' to be non-negative", t.name)
		}
	}
	return nil
}

// validateCheckCommand checks the command of a (health) check: it must
// have a value, and its environment must be well formed.
func validateCheckCommand(c *mesos.CommandInfo, what, whose string) error {
	if c.Value == "" {
		kind := "'shell command'"
		if !c.IsShell() {
			kind = "'executable path'"
		}
		return fmt.Errorf("%s must contain %s", what, kind)
	}
	if err := validateEnvironment(c.Environment); err != nil {
		return fmt.Errorf("%s `CommandInfo` is invalid: %w", whose, err)
	}
	return nil
}

// validateEnvironment is Mesos' validation of a command's environment, as
// far as the Go model can tell (a VALUE variable given an empty value
// cannot be told from one given none).
func validateEnvironment(env *mesos.Environment) error {
	if env == nil {
		return nil
	}
	for _, v := range env.Variables {
		switch v.Type {
		case "SECRET":
			if len(v.Secret) == 0 {
				return fmt.Errorf("Environment variable '%s' of type 'SECRET' must have a secret set", v.Name)
			}
			if v.Value != "" {
				return fmt.Errorf("Environment variable '%s' of type 'SECRET' must not have a value set", v.Name)
			}
		case "", "VALUE":
			if len(v.Secret) > 0 {
				return fmt.Errorf("Environment variable '%s' of type 'VALUE' must not have a secret set", v.Name)
			}
		case "UNKNOWN":
			return errors.New("Environment variable of type 'UNKNOWN' is not allowed")
		}
	}
	return nil
}
