package executor

import (
	"testing"
	"time"

	"mesh/mesos"
	execapi "mesh/mesos/executor"
)

// runDefaultExecutor runs the default executor in this process against
// f, then hands it tasks as one LAUNCH_GROUP.
func runDefaultExecutor(t *testing.T, f *fakeAgent, tasks ...mesos.TaskInfo) <-chan error {
	done, _ := runExecutorWith(t, RunDefaultExecutor, f, t.TempDir(), func(cfg *CommandExecutorConfig) { cfg.ExecutorID = "pod" })
	f.send(execapi.Event{Type: execapi.EventLaunchGroup, LaunchGroup: &execapi.LaunchGroup{TaskGroup: mesos.TaskGroupInfo{Tasks: tasks}}})
	return done
}

func groupTaskInfo(id, cmd string) mesos.TaskInfo {
	return mesos.TaskInfo{Name: id, TaskID: mesos.TaskID{Value: id}, Command: &mesos.CommandInfo{Value: cmd},
		KillPolicy: &mesos.KillPolicy{GracePeriod: &mesos.DurationInfo{Nanoseconds: int64(time.Second)}}}
}

// endOf waits for task id's terminal update.
func (f *fakeAgent) endOf(t *testing.T, id string) mesos.TaskStatus {
	t.Helper()
	return f.waitUpdate(t, id+" ending", func(u mesos.TaskStatus) bool { return u.TaskID.Value == id && u.State.IsTerminal() })
}

// A task of a group whose health check fails is killed after
// consecutive_failures, ends TASK_KILLED with healthy=false, and its
// group goes with it; its unhealthy reports are TASK_RUNNING updates of
// that task.
func TestDefaultExecutor_HealthCheckKillsTheTaskAndItsGroup(t *testing.T) {
	path := "/health"
	sick := groupTaskInfo("sick", "sleep 60")
	sick.HealthCheck = &mesos.HealthCheck{Type: mesos.CheckTypeHTTP, HTTP: &mesos.HTTPCheckInfo{Port: freePort(t), Path: &path},
		DelaySeconds: f64(0), IntervalSeconds: f64(0.05), TimeoutSeconds: f64(5), GracePeriodSeconds: f64(0), ConsecutiveFailures: u32(2)}
	f := newFakeAgent(t, nil)
	done := runDefaultExecutor(t, f, sick, groupTaskInfo("sibling", "sleep 60"))
	end := f.endOf(t, "sick")
	if end.State != mesos.TaskKilled || end.Healthy == nil || *end.Healthy {
		t.Errorf("sick task ended %+v (healthy %v), want TASK_KILLED with healthy=false", end, end.Healthy)
	}
	if st := f.endOf(t, "sibling"); st.State != mesos.TaskKilled {
		t.Errorf("sibling ended %s, want TASK_KILLED with its group", st.State)
	}
	unhealthy := 0
	for _, u := range f.updatesOf() {
		if u.TaskID.Value == "sick" && u.State == mesos.TaskRunning && u.Reason == mesos.ReasonTaskHealthCheckStatusUpdated {
			if u.Healthy == nil || *u.Healthy {
				t.Errorf("health update %+v", u)
			}
			unhealthy++
		}
		if u.TaskID.Value == "sibling" && u.Healthy != nil {
			t.Errorf("the sibling got a health update: %+v", u)
		}
	}
	if unhealthy != 2 {
		t.Errorf("%d unhealthy updates, want consecutive_failures = 2", unhealthy)
	}
	if err := waitDone(t, done); err != nil {
		t.Fatal(err)
	}
}

// A check reports check_status for its task and never kills it; every
// update of that task carries a check_status.
func TestDefaultExecutor_CheckReportsAndNeverKills(t *testing.T) {
	checked := groupTaskInfo("checked", "sleep 0.5")
	checked.Check = &mesos.CheckInfo{Type: mesos.CheckTypeCommand, Command: &mesos.CheckCommand{Command: mesos.CommandInfo{Value: "exit 3"}},
		DelaySeconds: f64(0), IntervalSeconds: f64(0.05), TimeoutSeconds: f64(5)}
	f := newFakeAgent(t, nil)
	done := runDefaultExecutor(t, f, checked)
	report := f.waitUpdate(t, "a check status", func(u mesos.TaskStatus) bool {
		return u.Reason == mesos.ReasonTaskCheckStatusUpdated && u.CheckStatus != nil && u.CheckStatus.Command != nil &&
			u.CheckStatus.Command.ExitCode != nil && *u.CheckStatus.Command.ExitCode == 3
	})
	if report.State != mesos.TaskRunning || report.TaskID.Value != "checked" {
		t.Errorf("check report %+v", report)
	}
	if end := f.endOf(t, "checked"); end.State != mesos.TaskFinished {
		t.Errorf("checked task ended %s, want TASK_FINISHED (a check never kills)", end.State)
	}
	for _, u := range f.updatesOf() {
		if u.CheckStatus == nil {
			t.Errorf("update without check_status: %+v", u)
		}
	}
	if err := waitDone(t, done); err != nil {
		t.Fatal(err)
	}
}

// A task of a group that reaches its max_completion_time is killed at
// once and ends TASK_FAILED with REASON_MAX_COMPLETION_TIME_REACHED; its
// group goes with it.
func TestDefaultExecutor_MaxCompletionTimeFailsTheTaskAndItsGroup(t *testing.T) {
	slow := groupTaskInfo("slow", "sleep 60")
	slow.MaxCompletionTime = &mesos.DurationInfo{Nanoseconds: int64(300 * time.Millisecond)}
	f := newFakeAgent(t, nil)
	f.fwInfo.Capabilities = []mesos.FrameworkCapability{{Type: mesos.CapabilityTaskKillingState}}
	done := runDefaultExecutor(t, f, slow, groupTaskInfo("sibling", "sleep 60"))
	end := f.endOf(t, "slow")
	if end.State != mesos.TaskFailed || end.Reason != mesos.ReasonMaxCompletionTimeReached {
		t.Errorf("slow task ended %s %s, want TASK_FAILED with REASON_MAX_COMPLETION_TIME_REACHED", end.State, end.Reason)
	}
	if st := f.endOf(t, "sibling"); st.State != mesos.TaskKilled {
		t.Errorf("sibling ended %s, want TASK_KILLED with its group", st.State)
	}
	for _, u := range f.updatesOf() {
		if u.TaskID.Value == "slow" && u.State == mesos.TaskKilling {
			t.Errorf("max_completion_time sent TASK_KILLING: %+v", u)
		}
	}
	if err := waitDone(t, done); err != nil {
		t.Fatal(err)
	}
}
