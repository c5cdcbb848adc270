package executor

import (
	"os"
	"os/exec"
	"time"

	"mesh/executor/checks"
	"mesh/mesos"
)

// What the command executor does about its task's check, health check
// and max_completion_time, as Mesos' command executor does:
//
//   - the checkers start with the task; each change they report becomes
//     a TASK_RUNNING update that repeats the latest update with the new
//     check_status (reason REASON_TASK_CHECK_STATUS_UPDATED) or healthy
//     (REASON_TASK_HEALTH_CHECK_STATUS_UPDATED); none is sent once the
//     task is being killed or has ended;
//   - a health check that asks for the kill kills the task with its kill
//     policy; its TASK_KILLED carries healthy=false;
//   - max_completion_time kills the task at once (SIGKILL, no
//     TASK_KILLING) and it ends TASK_FAILED with
//     REASON_MAX_COMPLETION_TIME_REACHED;
//   - every update of a task with a check carries check_status, empty
//     of the check's type until a result is known.

// taskChecks is the state of the task's checkers. The run loop owns it;
// the checkers' goroutines only queue their reports.
type taskChecks struct {
	checker *checks.Checker
	health  *checks.HealthChecker
	reports *reportQueue[checkReport]

	killedByHealth  bool
	killedByMaxTime bool
	maxTime         *time.Timer
}

// checkReport is one report of a checker: a check status or a health
// status.
type checkReport struct {
	check  *mesos.CheckStatusInfo
	health *checks.HealthStatus
}

func newTaskChecks() taskChecks { return taskChecks{reports: newReportQueue[checkReport]()} }

// pause stops the checkers from running further checks (the task is
// being killed).
func (c *taskChecks) pause() {
	if c.checker != nil {
		c.checker.Pause()
	}
	if c.health != nil {
		c.health.Pause()
	}
}

// stop ends the checkers and the max_completion_time timer.
func (c *taskChecks) stop() {
	if c.checker != nil {
		c.checker.Stop()
		c.checker = nil
	}
	if c.health != nil {
		c.health.Stop()
		c.health = nil
	}
	c.stopMaxTime()
}

func (c *taskChecks) stopMaxTime() {
	if c.maxTime != nil {
		c.maxTime.Stop()
		c.maxTime = nil
	}
}

// armMaxCompletionTime starts the timer of the task's
// max_completion_time, if it has one.
func (e *commandExecutor) armMaxCompletionTime() {
	if m := e.task.MaxCompletionTime; m != nil && m.Nanoseconds > 0 {
		d := time.Duration(m.Nanoseconds)
		e.log.Info("task has a max completion time", "task_id", e.task.TaskID.Value, "max_completion_time", d)
		e.checks.maxTime = time.NewTimer(d)
	}
}

// maxCompletionTimeReached kills the task without a grace period.
func (e *commandExecutor) maxCompletionTimeReached() {
	e.checks.maxTime = nil
	if e.proc == nil || e.killRequested {
		return
	}
	e.log.Info("killing the task: it reached its max completion time", "task_id", e.task.TaskID.Value)
	e.checks.killedByMaxTime = true
	e.killTask(0)
}

// startCheckers starts the task's checker and health checker. A checker
// that cannot start is logged and left out, as Mesos does.
func (e *commandExecutor) startCheckers() {
	cfg := checks.Config{TaskID: e.task.TaskID, Command: e.checkCommand, Logger: e.log}
	if c := e.task.Check; c != nil {
		ch, err := checks.NewChecker(cfg, *c, func(s mesos.CheckStatusInfo) { e.checks.reports.post(checkReport{check: &s}) })
		if err != nil {
			e.log.Error("cannot start the task's check", "task_id", e.task.TaskID.Value, "error", err)
		}
		e.checks.checker = ch
	}
	if h := e.task.HealthCheck; h != nil {
		hc, err := checks.NewHealthChecker(cfg, *h, func(s checks.HealthStatus) { e.checks.reports.post(checkReport{health: &s}) })
		if err != nil {
			e.log.Error("cannot start the task's health check", "task_id", e.task.TaskID.Value, "error", err)
		}
		e.checks.health = hc
	}
}

// checkCommand builds a COMMAND check's process the way the task's own
// is built, so that the check sees the task's root filesystem, sandbox
// and user. Its output goes to the sandbox's stderr, as Mesos sends it.
func (e *commandExecutor) checkCommand(c *mesos.CommandInfo) (*exec.Cmd, error) {
	cmd, err := taskCmd(c, e.cfg.Directory, e.cfg.Sandbox, e.taskRoot())
	if err != nil {
		return nil, err
	}
	cmd.Stdout = os.Stderr
	return cmd, nil
}

// checkReports turns the checkers' queued reports into updates.
func (e *commandExecutor) checkReports() {
	for _, r := range e.checks.reports.take() {
		// Reports of checks that ran before the kill or the task's end
		// are dropped: TASK_RUNNING must not follow them.
		if e.proc == nil || e.killRequested || e.terminal != nil || e.last == nil {
			continue
		}
		st := e.repeat(*e.last)
		switch {
		case r.check != nil:
			st.Reason = mesos.ReasonTaskCheckStatusUpdated
			st.CheckStatus = r.check
		case r.health != nil:
			st.Reason = mesos.ReasonTaskHealthCheckStatusUpdated
			healthy := r.health.Healthy
			st.Healthy = &healthy
		}
		e.send(st)
		if r.health != nil && r.health.KillTask {
			e.log.Warn("killing the task: its health check failed too many times in a row",
				"task_id", e.task.TaskID.Value, "consecutive_failures", r.health.ConsecutiveFailures)
			e.checks.killedByHealth = true
			e.killTask(e.taskGrace())
		}
	}
}

// repeat is st with a fresh uuid and timestamp: the latest update sent
// again with what changed.
func (e *commandExecutor) repeat(st mesos.TaskStatus) mesos.TaskStatus {
	fresh := e.status(st.TaskID, st.State, "", "")
	st.UUID, st.Timestamp = fresh.UUID, fresh.Timestamp
	return st
}

// taskRoot is the root filesystem the task runs in, nil for the
// executor's own.
func (e *commandExecutor) taskRoot() *taskRoot {
	if e.cfg.TaskRootfs == "" {
		return nil
	}
	return &taskRoot{dir: e.cfg.TaskRootfs, user: e.cfg.TaskUser, caps: e.cfg.TaskCaps}
}

// withCheckStatus gives an update of the task an empty check_status of
// the task's check type when it has a check and the update has none.
func (e *commandExecutor) withCheckStatus(st *mesos.TaskStatus) {
	if e.task == nil || e.task.Check == nil || st.TaskID != e.task.TaskID || st.CheckStatus != nil {
		return
	}
	empty := mesos.EmptyCheckStatus(e.task.Check.Type)
	st.CheckStatus = &empty
}

// endState is how the killed or exited task ends, given what killed it.
func (e *commandExecutor) endState(exited ExitStatus) (mesos.TaskState, string) {
	switch {
	case e.checks.killedByMaxTime:
		return mesos.TaskFailed, mesos.ReasonMaxCompletionTimeReached
	case e.killRequested:
		return mesos.TaskKilled, ""
	case exited.Success():
		return mesos.TaskFinished, ""
	}
	return mesos.TaskFailed, ""
}
