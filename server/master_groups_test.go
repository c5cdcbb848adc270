package server_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"mesh/mesos"
	"mesh/mesos/scheduler"
	"mesh/server/servertest"
)

// groupExecutor is a valid DEFAULT executor of 0.1 cpus, 32 MB, 10 MB disk.
func groupExecutor(id string) mesos.ExecutorInfo {
	return mesos.ExecutorInfo{Type: mesos.ExecutorTypeDefault, ExecutorID: mesos.ExecutorID{Value: id},
		Resources: []mesos.Resource{mesos.ScalarResource("cpus", 0.1), mesos.ScalarResource("mem", 32), mesos.ScalarResource("disk", 10)}}
}

// groupTask is a command task of 0.5 cpus and 64 MB for a group.
func groupTask(id, agent, cmd string) mesos.TaskInfo {
	return mesos.TaskInfo{Name: id, TaskID: mesos.TaskID{Value: id}, AgentID: mesos.AgentID{Value: agent},
		Resources: []mesos.Resource{mesos.ScalarResource("cpus", 0.5), mesos.ScalarResource("mem", 64)},
		Command:   &mesos.CommandInfo{Value: cmd}}
}

// acceptGroups accepts offer o with LAUNCH_GROUP operations.
func (f *framework) acceptGroups(o mesos.Offer, groups ...mesos.OfferOperation) {
	f.t.Helper()
	b, _ := json.Marshal(scheduler.Accept{OfferIDs: []mesos.OfferID{o.ID}, Operations: groups,
		Filters: &mesos.Filters{RefuseSeconds: new(float64)}})
	f.mustCall("ACCEPT", "accept", string(b))
}

func launchGroupOp(exec mesos.ExecutorInfo, tasks ...mesos.TaskInfo) mesos.OfferOperation {
	op := mesos.OfferOperation{Type: mesos.OperationLaunchGroup}
	op.LaunchGroup = &struct {
		Executor  mesos.ExecutorInfo  `json:"executor"`
		TaskGroup mesos.TaskGroupInfo `json:"task_group"`
	}{Executor: exec, TaskGroup: mesos.TaskGroupInfo{Tasks: tasks}}
	return op
}

// TestLaunchGroup_InvalidGroupsGetTaskError: each invalid task group gets
// TASK_ERROR with REASON_TASK_GROUP_INVALID and Mesos' message for every
// one of its tasks, nothing of it is launched, and the offer's resources
// come back whole.
func TestLaunchGroup_InvalidGroupsGetTaskError(t *testing.T) {
	srv := servertest.NewServer(t, servertest.Options{})
	agent := servertest.NewSimAgent(srv.HTTPAddr(), agentResources())
	agent.Start(t)
	f := subscribe(t, srv.HTTPAddr(), subscribeBody("groups", "", ""))
	f.subscribed()
	offer := f.await(scheduler.EventOffers, 10*time.Second).Offers.Offers[0]
	aid := offer.AgentID.Value

	custom := groupExecutor("e")
	custom.Type = mesos.ExecutorTypeCustom
	custom.Command = &mesos.CommandInfo{Value: "./my-executor"}
	untyped := groupExecutor("e")
	untyped.Type = ""
	withCommand := groupExecutor("e")
	withCommand.Command = &mesos.CommandInfo{Value: "true"}
	noDisk := groupExecutor("e")
	noDisk.Resources = noDisk.Resources[:2]
	ownExec := groupTask("b", aid, "true")
	other := groupExecutor("other")
	ownExec.Executor = &other
	huge := groupTask("b", aid, "true")
	huge.Resources = []mesos.Resource{mesos.ScalarResource("cpus", 4)}
	badCheck := groupTask("b", aid, "true")
	relative := "health"
	badCheck.HealthCheck = &mesos.HealthCheck{Type: mesos.CheckTypeHTTP, HTTP: &mesos.HTTPCheckInfo{Port: 8080, Path: &relative}}

	cases := []struct {
		name  string
		exec  mesos.ExecutorInfo
		tasks []mesos.TaskInfo
		want  string
	}{
		{"duplicate task id", groupExecutor("e"), []mesos.TaskInfo{groupTask("a", aid, "true"), groupTask("a", aid, "true")},
			"Task 'a' is invalid: Task has duplicate ID: a"},
		{"mixed agents", groupExecutor("e"), []mesos.TaskInfo{groupTask("a", aid, "true"), groupTask("b", "elsewhere", "true")},
			"Task 'b' is invalid: Task uses invalid agent elsewhere while agent " + aid + " is expected"},
		{"custom executor", custom, []mesos.TaskInfo{groupTask("a", aid, "true")}, "'ExecutorInfo.type' must be 'DEFAULT'"},
		{"executor without type", untyped, []mesos.TaskInfo{groupTask("a", aid, "true")}, "'ExecutorInfo.type' must be set"},
		{"default executor with a command", withCommand, []mesos.TaskInfo{groupTask("a", aid, "true")},
			"'ExecutorInfo.command' must not be set for 'DEFAULT' executor"},
		{"executor without disk", noDisk, []mesos.TaskInfo{groupTask("a", aid, "true")}, "Executor 'e' uses no disk"},
		{"task with its own executor", groupExecutor("e"), []mesos.TaskInfo{groupTask("a", aid, "true"), ownExec},
			"The `ExecutorInfo` of task 'b' is different from executor 'e'"},
		{"more than offered", groupExecutor("e"), []mesos.TaskInfo{groupTask("a", aid, "true"), huge},
			"Total resources cpus:4.6;mem:96;disk:10 required by task group and its executor are more than available"},
		{"executor id with a slash", groupExecutor("a/b"), []mesos.TaskInfo{groupTask("a", aid, "true")}, `Executor ID "a/b" is invalid`},
		{"operation with an id", groupExecutor("e"), []mesos.TaskInfo{groupTask("a", aid, "true"), groupTask("b", aid, "true")},
			"The `id` field cannot be set on LAUNCH_GROUP operations"},
		{"task without command", groupExecutor("e"), []mesos.TaskInfo{groupTask("a", aid, "true"), {Name: "b", TaskID: mesos.TaskID{Value: "b"},
			AgentID: mesos.AgentID{Value: aid}, Resources: []mesos.Resource{mesos.ScalarResource("cpus", 0.1)}}},
			"Task 'b' is invalid: 'TaskInfo.command' must be set"},
		{"task with an invalid health check", groupExecutor("e"), []mesos.TaskInfo{groupTask("a", aid, "true"), badCheck},
			"The path 'health' of HTTP health check must start with '/'"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			op := launchGroupOp(c.exec, c.tasks...)
			if c.name == "operation with an id" {
				op.ID = &mesos.OperationID{Value: "op-1"}
			}
			f.acceptGroups(offer, op)
			for range c.tasks {
				st := f.await(scheduler.EventUpdate, 10*time.Second).Update.Status
				if st.State != mesos.TaskError || st.Reason != mesos.ReasonTaskGroupInvalid || st.Source != mesos.SourceMaster ||
					!strings.Contains(st.Message, c.want) {
					t.Fatalf("update %s %s %s %q, want TASK_ERROR REASON_TASK_GROUP_INVALID with %q", st.TaskID.Value, st.State, st.Reason, st.Message, c.want)
				}
			}
			offer = nextFullOffer(t, f)
		})
	}
	if n := agent.Launched(); n != 0 {
		t.Fatalf("agent was asked to launch %d tasks of invalid groups", n)
	}
}

// TestLaunchGroup_CommittedWholeWithExecutorCountedOnce: a valid group is
// launched whole; a second group for the same executor in the same
// ACCEPT does not pay for the executor again; a group that reuses a task
// id of the first is refused alone, and so is a group giving the running
// executor's id another ExecutorInfo; and the executor's resources return
// to the pool once it exits after its last task (the simulated agent's
// default executor exits then, as mesh's does).
func TestLaunchGroup_CommittedWholeWithExecutorCountedOnce(t *testing.T) {
	srv := servertest.NewServer(t, servertest.Options{})
	agent := servertest.NewSimAgent(srv.HTTPAddr(), agentResources())
	agent.Start(t)
	f := subscribe(t, srv.HTTPAddr(), subscribeBody("groups", "", ""))
	f.subscribed()
	offer := f.await(scheduler.EventOffers, 10*time.Second).Offers.Offers[0]
	aid := offer.AgentID.Value
	exec := groupExecutor("pod")
	f.acceptGroups(offer,
		launchGroupOp(exec, groupTask("a", aid, "sleep 100"), groupTask("b", aid, "sleep 100")),
		launchGroupOp(exec, groupTask("c", aid, "sleep 100")),
		launchGroupOp(exec, groupTask("a", aid, "sleep 100"), groupTask("d", aid, "sleep 100")))
	running := map[string]bool{}
	refused := map[string]bool{}
	var o *mesos.Offer
	for len(running) < 3 || len(refused) < 2 || o == nil {
		ev := f.next(10 * time.Second)
		if ev == nil {
			t.Fatal("stream ended")
		}
		if ev.Type == scheduler.EventOffers {
			o = &ev.Offers.Offers[0]
			continue
		}
		if ev.Type != scheduler.EventUpdate {
			continue
		}
		st := ev.Update.Status
		switch {
		case st.State == mesos.TaskRunning:
			running[st.TaskID.Value] = true
			f.ack(st)
		case st.State == mesos.TaskError && st.Reason == mesos.ReasonTaskGroupInvalid:
			// The refused group's a is the launched group's a's twin.
			refused[st.TaskID.Value] = true
		default:
			t.Fatalf("unexpected update %s %s %s %q", st.TaskID.Value, st.State, st.Reason, st.Message)
		}
	}
	if !running["a"] || !running["b"] || !running["c"] || !refused["a"] || !refused["d"] {
		t.Fatalf("running %v refused %v, want a, b, c running and the third group (a, d) refused", running, refused)
	}
	// 3 tasks of 0.5 cpus and the executor's 0.1 once: 2.4 of 4 cpus left.
	if got := mesos.Resources(o.Resources).Scalar("cpus"); got != 2.4 {
		t.Fatalf("offer after the groups has %v cpus, want 2.4 (executor counted once)", got)
	}
	// The running executor's id with another ExecutorInfo is refused.
	changed := exec
	changed.Name = "another pod"
	f.acceptGroups(*o, launchGroupOp(changed, groupTask("e", aid, "sleep 100")))
	if st := f.await(scheduler.EventUpdate, 10*time.Second).Update.Status; st.TaskID.Value != "e" || st.State != mesos.TaskError ||
		st.Reason != mesos.ReasonTaskGroupInvalid || !strings.Contains(st.Message, "ExecutorInfo is not compatible with existing ExecutorInfo") {
		t.Fatalf("group for the running executor with another ExecutorInfo: %s %s %s %q", st.TaskID.Value, st.State, st.Reason, st.Message)
	}
	for _, id := range []string{"a", "b", "c"} {
		f.mustCall("KILL", "kill", `{"task_id":{"value":"`+id+`"},"agent_id":{"value":"`+aid+`"}}`)
	}
	// Offers made from now on add up to all of the agent's cpus once the
	// tasks and then their executor are gone.
	offered := 0.0
	deadline := time.Now().Add(20 * time.Second)
	for killed := 0; killed < 3 || offered < 4; {
		if time.Now().After(deadline) {
			t.Fatalf("after the kills %d tasks killed and %v cpus offered, want 3 and 4 (the executor's returned)", killed, offered)
		}
		ev := f.next(time.Until(deadline))
		if ev == nil {
			t.Fatal("stream ended")
		}
		switch {
		case ev.Type == scheduler.EventUpdate && ev.Update.Status.State == mesos.TaskKilled:
			f.ack(ev.Update.Status)
			killed++
		case ev.Type == scheduler.EventOffers:
			for _, o := range ev.Offers.Offers {
				offered += mesos.Resources(o.Resources).Scalar("cpus")
			}
		}
	}
	if offered != 4 {
		t.Fatalf("%v cpus offered after the group ended, want 4", offered)
	}
}
