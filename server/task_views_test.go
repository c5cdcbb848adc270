package server

import (
	"encoding/json"
	"testing"

	"mesh/fsm"
	"mesh/mesos"
)

// taskWithHistory is a state holding one task launched and then updated
// STARTING (with data, labels and a container status, acknowledged),
// RUNNING (healthy, with data) and UNREACHABLE (its agent lost): the task
// as it was RUNNING and as it is in the end.
func taskWithHistory(t *testing.T) (running, unreachable *fsm.Task) {
	t.Helper()
	f := fsm.New(nil)
	apply := applier(t, f)
	apply(fsm.ClusterInitRequestType, &fsm.ClusterInitRequest{ClusterID: "c1"})
	apply(fsm.FrameworkRegisterRequestType, &fsm.FrameworkRegisterRequest{Framework: fsm.Framework{ID: "c1-0000",
		Info:      mesos.FrameworkInfo{User: "u", Name: "n", Capabilities: []mesos.FrameworkCapability{{Type: mesos.CapabilityPartitionAware}}},
		Connected: true}, New: true})
	apply(fsm.AgentRegisterRequestType, &fsm.AgentRegisterRequest{Agent: fsm.Agent{ID: "c1-S0", State: fsm.AgentActive,
		Info: mesos.AgentInfo{Hostname: "h", Resources: mesos.Resources{scalarResource("cpus", 4), scalarResource("mem", 4096)}}}, New: true})
	res := mesos.Resources{scalarResource("cpus", 0.5), scalarResource("mem", 64)}.Allocate("web")
	info := mesos.TaskInfo{Name: "t1", TaskID: mesos.TaskID{Value: "t1"}, AgentID: mesos.AgentID{Value: "c1-S0"}, Resources: res,
		Command: &mesos.CommandInfo{Value: "sleep 1000"}, Labels: &mesos.Labels{Labels: []mesos.Label{{Key: "k", Value: "v"}}}}
	apply(fsm.TaskLaunchRequestType, &fsm.TaskLaunchRequest{FrameworkID: "c1-0000", AgentID: "c1-S0", At: 1_700_000_000_000_000_000,
		Tasks: []fsm.Task{{FrameworkID: "c1-0000", TaskID: "t1", AgentID: "c1-S0", Role: "web", State: mesos.TaskStaging, Info: info}}})
	healthy, pid := true, uint32(42)
	exec := &mesos.ExecutorID{Value: "t1"}
	agent := &mesos.AgentID{Value: "c1-S0"}
	update := func(s mesos.TaskStatus) {
		s.TaskID, s.AgentID, s.ExecutorID, s.Source = mesos.TaskID{Value: "t1"}, agent, exec, mesos.SourceExecutor
		apply(fsm.StatusUpdateRequestType, &fsm.StatusUpdateRequest{Updates: []fsm.StatusUpdate{{FrameworkID: "c1-0000", Status: s}}})
	}
	update(mesos.TaskStatus{State: mesos.TaskStarting, Timestamp: 1700000001.25, Data: mesos.Bytes("hello"), Message: "starting",
		UUID: mesos.Bytes("0123456789abcdef"), Labels: &mesos.Labels{Labels: []mesos.Label{{Key: "phase", Value: "boot"}}},
		ContainerStatus: &mesos.ContainerStatus{ExecutorPID: &pid}})
	apply(fsm.StatusAckRequestType, &fsm.StatusAckRequest{Acks: []fsm.StatusAck{{FrameworkID: "c1-0000", TaskID: "t1", UUID: mesos.Bytes("0123456789abcdef")}}})
	update(mesos.TaskStatus{State: mesos.TaskRunning, Timestamp: 1700000002.5, Healthy: &healthy,
		UUID: mesos.Bytes("fedcba9876543210"), Data: mesos.Bytes("world")})
	running = f.State().Task("c1-0000", "t1")
	apply(fsm.AgentStateRequestType, &fsm.AgentStateRequest{AgentID: "c1-S0", State: fsm.AgentUnreachable, At: 1_700_000_003_000_000_000,
		TaskState: mesos.TaskLost, PartitionAwareState: mesos.TaskUnreachable, Reason: mesos.ReasonAgentRemoved, Message: "agent lost"})
	unreachable = f.State().Task("c1-0000", "t1")
	if running == nil || unreachable == nil {
		t.Fatal("task t1 not in the state")
	}
	return running, unreachable
}

func scalarResource(name string, v float64) mesos.Resource {
	return mesos.Resource{Name: name, Type: "SCALAR", Scalar: &mesos.Scalar{Value: v}}
}

// TestTaskViews_HistoryRendersAsPinned: what /state, the operator API
// and the scheduler API show of a task with a status history stays
// byte for byte what they showed before the state kept it more compactly.
func TestTaskViews_HistoryRendersAsPinned(t *testing.T) {
	running, tk := taskWithHistory(t)
	v := &stateView{tasksByFw: map[string][]*fsm.Task{}}
	render := func(x any) string {
		b, err := json.Marshal(x)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	for _, c := range []struct{ name, got, want string }{
		{"/state task", render(v.task(tk)), pinnedStateTask},
		{"operator GET_TASKS task", render(v1Task(tk)), pinnedOperatorTask},
		{"latest status", render(tk.Status()), pinnedLatestStatus},
		{"operator GET_TASKS task while running", render(v1Task(running)), pinnedOperatorRunning},
		{"latest status while running", render(running.Status()), pinnedLatestRunning},
	} {
		if c.got != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.name, c.got, c.want)
		}
	}
}

const (
	pinnedStateTask       = `{"id":"t1","name":"t1","framework_id":"c1-0000","executor_id":"","slave_id":"c1-S0","state":"TASK_UNREACHABLE","resources":{"cpus":0.5,"disk":0,"gpus":0,"mem":64},"role":"web","statuses":[{"state":"TASK_STARTING","timestamp":1700000001.25,"labels":[{"key":"phase","value":"boot"}],"container_status":{"executor_pid":42}},{"state":"TASK_RUNNING","timestamp":1700000002.5,"healthy":true},{"state":"TASK_UNREACHABLE","timestamp":1700000003}],"labels":[{"key":"k","value":"v"}],"agent_id":"c1-S0"}`
	pinnedOperatorTask    = `{"name":"t1","task_id":{"value":"t1"},"framework_id":{"value":"c1-0000"},"agent_id":{"value":"c1-S0"},"state":"TASK_UNREACHABLE","resources":[{"name":"cpus","type":"SCALAR","scalar":{"value":0.5},"allocation_info":{"role":"web"}},{"name":"mem","type":"SCALAR","scalar":{"value":64},"allocation_info":{"role":"web"}}],"statuses":[{"task_id":{"value":"t1"},"state":"TASK_STARTING","message":"starting","source":"SOURCE_EXECUTOR","agent_id":{"value":"c1-S0"},"executor_id":{"value":"t1"},"timestamp":1700000001.25,"uuid":"MDEyMzQ1Njc4OWFiY2RlZg==","labels":{"labels":[{"key":"phase","value":"boot"}]},"container_status":{"executor_pid":42}},{"task_id":{"value":"t1"},"state":"TASK_RUNNING","source":"SOURCE_EXECUTOR","agent_id":{"value":"c1-S0"},"executor_id":{"value":"t1"},"timestamp":1700000002.5,"uuid":"ZmVkY2JhOTg3NjU0MzIxMA==","healthy":true},{"task_id":{"value":"t1"},"state":"TASK_UNREACHABLE","message":"agent lost","source":"SOURCE_MASTER","reason":"REASON_AGENT_REMOVED","agent_id":{"value":"c1-S0"},"timestamp":1700000003,"unreachable_time":{"nanoseconds":1700000003000000000}}],"status_update_state":"TASK_UNREACHABLE","labels":{"labels":[{"key":"k","value":"v"}]}}`
	pinnedLatestStatus    = `{"task_id":{"value":"t1"},"state":"TASK_UNREACHABLE","message":"agent lost","source":"SOURCE_MASTER","reason":"REASON_AGENT_REMOVED","agent_id":{"value":"c1-S0"},"timestamp":1700000003,"unreachable_time":{"nanoseconds":1700000003000000000}}`
	pinnedOperatorRunning = `{"name":"t1","task_id":{"value":"t1"},"framework_id":{"value":"c1-0000"},"agent_id":{"value":"c1-S0"},"state":"TASK_RUNNING","resources":[{"name":"cpus","type":"SCALAR","scalar":{"value":0.5},"allocation_info":{"role":"web"}},{"name":"mem","type":"SCALAR","scalar":{"value":64},"allocation_info":{"role":"web"}}],"statuses":[{"task_id":{"value":"t1"},"state":"TASK_STARTING","message":"starting","source":"SOURCE_EXECUTOR","agent_id":{"value":"c1-S0"},"executor_id":{"value":"t1"},"timestamp":1700000001.25,"uuid":"MDEyMzQ1Njc4OWFiY2RlZg==","labels":{"labels":[{"key":"phase","value":"boot"}]},"container_status":{"executor_pid":42}},{"task_id":{"value":"t1"},"state":"TASK_RUNNING","source":"SOURCE_EXECUTOR","agent_id":{"value":"c1-S0"},"executor_id":{"value":"t1"},"timestamp":1700000002.5,"uuid":"ZmVkY2JhOTg3NjU0MzIxMA==","healthy":true}],"status_update_state":"TASK_RUNNING","status_update_uuid":"ZmVkY2JhOTg3NjU0MzIxMA==","labels":{"labels":[{"key":"k","value":"v"}]}}`
	pinnedLatestRunning   = `{"task_id":{"value":"t1"},"state":"TASK_RUNNING","source":"SOURCE_EXECUTOR","data":"d29ybGQ=","agent_id":{"value":"c1-S0"},"executor_id":{"value":"t1"},"timestamp":1700000002.5,"uuid":"ZmVkY2JhOTg3NjU0MzIxMA==","healthy":true}`
)
