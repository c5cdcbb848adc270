package executor

import (
	"os"
	"os/exec"
	"time"

	"mesh/executor/checks"
	"mesh/mesos"
)

// The default executor runs each task's check, health check and
// max_completion_time as the command executor runs its task's
// (command_checks.go), as Mesos' default executor does for the tasks of a
// group: each report repeats the task's latest update with the new
// check_status or healthy; a failed health check kills the task with its
// kill policy (and so, as any kill does, its group); max_completion_time
// kills it at once and it ends TASK_FAILED with
// REASON_MAX_COMPLETION_TIME_REACHED.

// groupChecks is the state of one task's checkers; the run loop owns it.
type groupChecks struct {
	checker         *checks.Checker
	health          *checks.HealthChecker
	maxTime         *time.Timer
	killedByHealth  bool
	killedByMaxTime bool
	// last is the task's latest update before its end, which a report
	// repeats.
	last *mesos.TaskStatus
}

// groupReport is a report of one task's checker, or its
// max_completion_time reached (neither check nor health set).
type groupReport struct {
	tid string
	checkReport
}

// startChecks starts a running task's checkers and its
// max_completion_time; a checker that cannot start is logged and left
// out, as Mesos does.
func (e *defaultExecutor) startChecks(t *groupTask, running mesos.TaskStatus) {
	tid := t.info.TaskID.Value
	t.checks.last = &running
	cfg := checks.Config{TaskID: t.info.TaskID, Logger: e.log,
		Command: func(c *mesos.CommandInfo) (*exec.Cmd, error) {
			cmd, err := taskCmd(c, t.sb, t.sb, nil)
			if err == nil {
				cmd.Stdout = os.Stderr
			}
			return cmd, err
		}}
	if c := t.info.Check; c != nil {
		ch, err := checks.NewChecker(cfg, *c, func(s mesos.CheckStatusInfo) {
			e.reports.post(groupReport{tid: tid, checkReport: checkReport{check: &s}})
		})
		if err != nil {
			e.log.Error("cannot start the task's check", "task_id", tid, "error", err)
		}
		t.checks.checker = ch
	}
	if h := t.info.HealthCheck; h != nil {
		hc, err := checks.NewHealthChecker(cfg, *h, func(s checks.HealthStatus) {
			e.reports.post(groupReport{tid: tid, checkReport: checkReport{health: &s}})
		})
		if err != nil {
			e.log.Error("cannot start the task's health check", "task_id", tid, "error", err)
		}
		t.checks.health = hc
	}
	if m := t.info.MaxCompletionTime; m != nil && m.Nanoseconds > 0 {
		t.checks.maxTime = time.AfterFunc(time.Duration(m.Nanoseconds), func() {
			e.reports.post(groupReport{tid: tid})
		})
	}
}

// stopChecks ends a task's checkers and its max_completion_time timer.
func (t *groupTask) stopChecks() {
	c := &t.checks
	if c.checker != nil {
		c.checker.Stop()
		c.checker = nil
	}
	if c.health != nil {
		c.health.Stop()
		c.health = nil
	}
	if c.maxTime != nil {
		c.maxTime.Stop()
		c.maxTime = nil
	}
}

// checkReports turns the queued reports into updates and kills.
func (e *defaultExecutor) checkReports() {
	for _, r := range e.reports.take() {
		t := e.tasks[r.tid]
		// Reports about a task being killed or ended are dropped:
		// TASK_RUNNING must not follow them.
		if t == nil || t.proc == nil || t.killing || t.terminal != nil || t.checks.last == nil {
			continue
		}
		if r.check == nil && r.health == nil {
			e.log.Info("killing the task: it reached its max completion time", "task_id", r.tid)
			t.checks.killedByMaxTime = true
			e.killTask(t, 0)
			continue
		}
		st := *t.checks.last
		fresh := e.status(st.TaskID, st.State, "", "")
		st.UUID, st.Timestamp = fresh.UUID, fresh.Timestamp
		if r.check != nil {
			st.Reason, st.CheckStatus = mesos.ReasonTaskCheckStatusUpdated, r.check
		} else {
			healthy := r.health.Healthy
			st.Reason, st.Healthy = mesos.ReasonTaskHealthCheckStatusUpdated, &healthy
		}
		e.send(st)
		if r.health != nil && r.health.KillTask {
			e.log.Warn("killing the task: its health check failed too many times in a row",
				"task_id", r.tid, "consecutive_failures", r.health.ConsecutiveFailures)
			t.checks.killedByHealth = true
			e.killTask(t, taskKillGrace(t))
		}
	}
}
