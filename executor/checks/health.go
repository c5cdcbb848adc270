package checks

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"mesh/mesos"
)

// HealthStatus is what a HealthChecker reports: the task's health after
// a check and whether the task is to be killed.
type HealthStatus struct {
	TaskID  mesos.TaskID
	Healthy bool
	// ConsecutiveFailures counts the failures in a row, this one
	// included (zero when healthy).
	ConsecutiveFailures uint32
	// KillTask is set once ConsecutiveFailures reaches the health
	// check's consecutive_failures: the executor kills the task.
	KillTask bool
}

// HealthChecker runs a task's HealthCheck and interprets each result as
// Mesos does: a COMMAND check is healthy on exit code 0, an HTTP check on
// a status from 200 to 399, a TCP check when it connects; a check that
// gives no result (timed out, could not run) is a failure.
//
// It reports every failure, and a success only when it is the first or
// follows failures. Failures during the grace period (counted from the
// HealthChecker's creation) are ignored until the first success, after
// which the grace period no longer applies.
type HealthChecker struct {
	l        *loop
	hc       mesos.HealthCheck
	onUpdate func(HealthStatus)

	// Touched by the loop's goroutine only.
	start        time.Time
	initializing bool
	failures     uint32
}

// NewHealthChecker starts health checking the task with hc; onUpdate gets
// each report. onUpdate is called from the checker's goroutine, one call
// at a time; it must not block for long and must not call Stop.
func NewHealthChecker(cfg Config, hc mesos.HealthCheck, onUpdate func(HealthStatus)) (*HealthChecker, error) {
	tgt := target{scheme: "http"}
	switch {
	case hc.HTTP != nil:
		if hc.HTTP.Scheme != "" {
			tgt.scheme = hc.HTTP.Scheme
		}
		tgt.ipv6 = hc.HTTP.Protocol == mesos.ProtocolIPv6
	case hc.TCP != nil:
		tgt.ipv6 = hc.TCP.Protocol == mesos.ProtocolIPv6
	}
	if tgt.scheme != "http" && tgt.scheme != "https" {
		return nil, fmt.Errorf("unsupported HTTP health check scheme %q", tgt.scheme)
	}
	h := &HealthChecker{hc: hc, onUpdate: onUpdate, initializing: true}
	l, err := newLoop(cfg, hc.AsCheck(), tgt, hc.Type+" health check", h.result)
	if err != nil {
		return nil, err
	}
	h.l = l
	h.start = l.cfg.Clock.Now()
	l.start()
	return h, nil
}

// interpret says why a result is unhealthy, nil when it is healthy.
func interpret(st mesos.CheckStatusInfo) error {
	switch {
	case st.Command != nil:
		if st.Command.ExitCode == nil || *st.Command.ExitCode != 0 {
			code := int32(-1)
			if st.Command.ExitCode != nil {
				code = *st.Command.ExitCode
			}
			return fmt.Errorf("command exited with status %d", code)
		}
	case st.HTTP != nil:
		if st.HTTP.StatusCode == nil || *st.HTTP.StatusCode < 200 || *st.HTTP.StatusCode >= 400 {
			code := uint32(0)
			if st.HTTP.StatusCode != nil {
				code = *st.HTTP.StatusCode
			}
			return fmt.Errorf("unexpected HTTP response code: %d %s", code, http.StatusText(int(code)))
		}
	case st.TCP != nil:
		if st.TCP.Succeeded == nil || !*st.TCP.Succeeded {
			return errors.New("TCP connection failed")
		}
	default:
		return errors.New("no result")
	}
	return nil
}

func (h *HealthChecker) result(st mesos.CheckStatusInfo, err error) {
	if err == nil {
		err = interpret(st)
	}
	if err != nil {
		h.failure(err)
		return
	}
	// Report the first success, and the first after failures.
	if h.initializing || h.failures > 0 {
		h.initializing = false
		h.failures = 0
		h.onUpdate(HealthStatus{TaskID: h.l.cfg.TaskID, Healthy: true})
	}
}

func (h *HealthChecker) failure(err error) {
	grace := h.hc.GracePeriod()
	if h.initializing && grace > 0 && h.l.cfg.Clock.Now().Sub(h.start) <= grace {
		h.l.log.Info("ignoring a failure in the grace period", "error", err)
		return
	}
	h.failures++
	kill := h.failures >= h.hc.MaxConsecutiveFailures()
	h.l.log.Warn("health check failed", "error", err, "consecutive_failures", h.failures, "kill_task", kill)
	h.onUpdate(HealthStatus{TaskID: h.l.cfg.TaskID, Healthy: false, ConsecutiveFailures: h.failures, KillTask: kill})
}

// Pause stops health checking until Resume; a result that arrives while
// paused is dropped.
func (h *HealthChecker) Pause() { h.l.pause() }

// Resume runs a check at once and goes on checking.
func (h *HealthChecker) Resume() { h.l.resumeChecks() }

// Stop ends health checking; no update comes after it returns.
func (h *HealthChecker) Stop() { h.l.stop() }
