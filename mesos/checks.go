package mesos

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Check and health check types (CheckInfo.Type, HealthCheck.Type).
const (
	CheckTypeUnknown = "UNKNOWN"
	CheckTypeCommand = "COMMAND"
	CheckTypeHTTP    = "HTTP"
	CheckTypeTCP     = "TCP"
)

// Network protocols of HTTP and TCP health checks (NetworkInfo.Protocol).
const (
	ProtocolIPv4 = "IPv4"
	ProtocolIPv6 = "IPv6"
)

// Defaults Mesos gives the unset fields of CheckInfo and HealthCheck.
const (
	DefaultCheckDelaySeconds        = 15.0
	DefaultCheckIntervalSeconds     = 10.0
	DefaultCheckTimeoutSeconds      = 20.0
	DefaultHealthConsecutiveFailure = 3
	DefaultHealthGracePeriodSeconds = 10.0
)

// HealthCheck describes how the executor health checks a task and when it
// kills an unhealthy one.
type HealthCheck struct {
	DelaySeconds        *float64       `json:"delay_seconds,omitempty"`
	IntervalSeconds     *float64       `json:"interval_seconds,omitempty"`
	TimeoutSeconds      *float64       `json:"timeout_seconds,omitempty"`
	ConsecutiveFailures *uint32        `json:"consecutive_failures,omitempty"`
	GracePeriodSeconds  *float64       `json:"grace_period_seconds,omitempty"`
	Type                string         `json:"type,omitempty"`
	Command             *CommandInfo   `json:"command,omitempty"`
	HTTP                *HTTPCheckInfo `json:"http,omitempty"`
	TCP                 *TCPCheckInfo  `json:"tcp,omitempty"`
}

// HTTPCheckInfo is the target of an HTTP health check.
type HTTPCheckInfo struct {
	Protocol string `json:"protocol,omitempty"`
	Scheme   string `json:"scheme,omitempty"`
	Port     uint32 `json:"port"`
	// Path is a pointer so that a path given empty is told from none.
	Path     *string  `json:"path,omitempty"`
	Statuses []uint32 `json:"statuses,omitempty"`
}

// TCPCheckInfo is the target of a TCP health check.
type TCPCheckInfo struct {
	Protocol string `json:"protocol,omitempty"`
	Port     uint32 `json:"port"`
}

// CheckInfo describes a general check: the executor runs it and reports
// its result in TaskStatus.check_status without interpreting it.
type CheckInfo struct {
	Type            string        `json:"type,omitempty"`
	Command         *CheckCommand `json:"command,omitempty"`
	HTTP            *CheckHTTP    `json:"http,omitempty"`
	TCP             *CheckTCP     `json:"tcp,omitempty"`
	DelaySeconds    *float64      `json:"delay_seconds,omitempty"`
	IntervalSeconds *float64      `json:"interval_seconds,omitempty"`
	TimeoutSeconds  *float64      `json:"timeout_seconds,omitempty"`
}

// CheckCommand is the command of a COMMAND check.
type CheckCommand struct {
	Command CommandInfo `json:"command"`
}

// CheckHTTP is the target of an HTTP check.
type CheckHTTP struct {
	Port uint32  `json:"port"`
	Path *string `json:"path,omitempty"`
}

// CheckTCP is the target of a TCP check.
type CheckTCP struct {
	Port uint32 `json:"port"`
}

// CheckStatusInfo is the result of a check. The member of the check's
// type is present; an empty member means no result (the check has not
// run yet, or it timed out).
type CheckStatusInfo struct {
	Type    string              `json:"type,omitempty"`
	Command *CommandCheckStatus `json:"command,omitempty"`
	HTTP    *HTTPCheckStatus    `json:"http,omitempty"`
	TCP     *TCPCheckStatus     `json:"tcp,omitempty"`
}

// CommandCheckStatus is the result of a COMMAND check: its exit code.
type CommandCheckStatus struct {
	ExitCode *int32 `json:"exit_code,omitempty"`
}

// HTTPCheckStatus is the result of an HTTP check: the response's status
// code.
type HTTPCheckStatus struct {
	StatusCode *uint32 `json:"status_code,omitempty"`
}

// TCPCheckStatus is the result of a TCP check: whether a connection could
// be made.
type TCPCheckStatus struct {
	Succeeded *bool `json:"succeeded,omitempty"`
}

// EmptyCheckStatus is the status of a check of type typ that has no
// result: its type and an empty member of that type.
func EmptyCheckStatus(typ string) CheckStatusInfo {
	s := CheckStatusInfo{Type: typ}
	switch typ {
	case CheckTypeCommand:
		s.Command = &CommandCheckStatus{}
	case CheckTypeHTTP:
		s.HTTP = &HTTPCheckStatus{}
	case CheckTypeTCP:
		s.TCP = &TCPCheckStatus{}
	}
	return s
}

// Equal reports whether s and o carry the same result.
func (s CheckStatusInfo) Equal(o CheckStatusInfo) bool {
	if s.Type != o.Type || (s.Command == nil) != (o.Command == nil) ||
		(s.HTTP == nil) != (o.HTTP == nil) || (s.TCP == nil) != (o.TCP == nil) {
		return false
	}
	switch {
	case s.Command != nil && !eqPtr(s.Command.ExitCode, o.Command.ExitCode):
		return false
	case s.HTTP != nil && !eqPtr(s.HTTP.StatusCode, o.HTTP.StatusCode):
		return false
	case s.TCP != nil && !eqPtr(s.TCP.Succeeded, o.TCP.Succeeded):
		return false
	}
	return true
}

func eqPtr[T comparable](a, b *T) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// knownCheckType reports whether typ names one of the three check types.
// An unknown name reads as unset, as Mesos leaves an optional enum whose
// name it does not know.
func knownCheckType(typ string) bool {
	return typ == CheckTypeCommand || typ == CheckTypeHTTP || typ == CheckTypeTCP || typ == CheckTypeUnknown
}

// KnownType is the check's type, or "" when it is unset or a name Mesos
// does not know (which Mesos leaves unset).
func (c *CheckInfo) KnownType() string {
	if knownCheckType(c.Type) {
		return c.Type
	}
	return ""
}

// KnownType is the health check's type, or "" when it is unset or a name
// Mesos does not know.
func (h *HealthCheck) KnownType() string {
	if knownCheckType(h.Type) {
		return h.Type
	}
	return ""
}

// seconds turns an optional field of seconds into a duration, def when
// it is unset.
func seconds(v *float64, def float64) time.Duration {
	s := def
	if v != nil {
		s = *v
	}
	return time.Duration(s * float64(time.Second))
}

// Delay is how long after the task starts the first check runs.
func (c *CheckInfo) Delay() time.Duration { return seconds(c.DelaySeconds, DefaultCheckDelaySeconds) }

// Interval is the time between the end of a check and the next.
func (c *CheckInfo) Interval() time.Duration {
	return seconds(c.IntervalSeconds, DefaultCheckIntervalSeconds)
}

// Timeout bounds one check; zero means no bound.
func (c *CheckInfo) Timeout() time.Duration {
	return seconds(c.TimeoutSeconds, DefaultCheckTimeoutSeconds)
}

// Delay is how long after the task starts the first check runs.
func (h *HealthCheck) Delay() time.Duration {
	return seconds(h.DelaySeconds, DefaultCheckDelaySeconds)
}

// Interval is the time between the end of a check and the next.
func (h *HealthCheck) Interval() time.Duration {
	return seconds(h.IntervalSeconds, DefaultCheckIntervalSeconds)
}

// Timeout bounds one check; zero means no bound.
func (h *HealthCheck) Timeout() time.Duration {
	return seconds(h.TimeoutSeconds, DefaultCheckTimeoutSeconds)
}

// GracePeriod is the time from the start of checking during which
// failures do not count, until the first success.
func (h *HealthCheck) GracePeriod() time.Duration {
	return seconds(h.GracePeriodSeconds, DefaultHealthGracePeriodSeconds)
}

// MaxConsecutiveFailures is the number of failures in a row after which
// the task is killed.
func (h *HealthCheck) MaxConsecutiveFailures() uint32 {
	if h.ConsecutiveFailures == nil {
		return DefaultHealthConsecutiveFailure
	}
	return *h.ConsecutiveFailures
}

// AsCheck is the check a health check runs, as Mesos derives it: the
// timing and the target, without the interpretation. An HTTP health
// check's scheme and protocol are not part of a CheckInfo; the caller
// takes them from h.
func (h *HealthCheck) AsCheck() CheckInfo {
	c := CheckInfo{Type: h.KnownType(), DelaySeconds: h.DelaySeconds, IntervalSeconds: h.IntervalSeconds, TimeoutSeconds: h.TimeoutSeconds}
	switch c.Type {
	case CheckTypeCommand:
		if h.Command != nil {
			c.Command = &CheckCommand{Command: *h.Command}
		}
	case CheckTypeHTTP:
		if h.HTTP != nil {
			c.HTTP = &CheckHTTP{Port: h.HTTP.Port, Path: h.HTTP.Path}
		}
	case CheckTypeTCP:
		if h.TCP != nil {
			c.TCP = &CheckTCP{Port: h.TCP.Port}
		}
	}
	return c
}

// Validate is Mesos' validation of a check status an executor sends: a
// known type, and the member of that type present.
func (s *CheckStatusInfo) Validate() error {
	var ok bool
	switch s.Type {
	case CheckTypeCommand:
		ok = s.Command != nil
	case CheckTypeHTTP:
		ok = s.HTTP != nil
	case CheckTypeTCP:
		ok = s.TCP != nil
	case CheckTypeUnknown:
		return errors.New("'UNKNOWN' is not a valid check's status type")
	default:
		return errors.New("CheckStatusInfo must specify 'type'")
	}
	if !ok {
		return fmt.Errorf("Expecting '%s' to be set for %s check's status", strings.ToLower(s.Type), s.Type)
	}
	return nil
}
