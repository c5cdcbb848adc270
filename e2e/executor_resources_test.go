package e2e

import (
	"encoding/json"
	"syscall"
	"testing"
	"time"

	"mesh/mesos"
	"mesh/mesos/codec"
	"mesh/mesos/scheduler"
	"mesh/mesos/scheduler/client"
)

// TestCustomExecutor_ResourcesHeldUntilItExits: a custom executor whose
// only task was killed goes on running, and the leader goes on counting
// its resources used; once it is killed (kill -9) the agent tells the
// leader, which frees them and sends the framework one FAILURE.
func TestCustomExecutor_ResourcesHeldUntilItExits(t *testing.T) {
	bin := customExecutorBin(t, t.TempDir())
	files, _ := binaryServer(t, bin)
	c := newCustomCluster(t, codec.Protobuf, time.Minute)
	c.launch(executorInfo("e1", files.URL+"/custom-executor"), "t1")
	if st := c.update(); st.State != mesos.TaskRunning {
		t.Fatalf("t1: %s %s %q", st.State, st.Reason, st.Message)
	}
	var m launchedMessage
	if err := json.Unmarshal(c.next(scheduler.EventMessage).Message.Data, &m); err != nil {
		t.Fatal(err)
	}
	c.call(client.KillCall("t1", c.agentID.Value))
	if st := c.ended("t1"); st.State != mesos.TaskKilled {
		t.Fatalf("t1: %s %s %q, want TASK_KILLED", st.State, st.Reason, st.Message)
	}
	// The executor runs on without a task: its 0.1 cpus stay used.
	if got := usedCPUs(t, c.srv.HTTPAddr()); got < 0.1-1e-9 || got > 0.1+1e-9 {
		t.Fatalf("/state: the agent uses %v cpus after the executor's last task ended, want the executor's 0.1", got)
	}
	if err := syscall.Kill(m.PID, syscall.SIGKILL); err != nil {
		t.Fatalf("kill -9 %d: %v", m.PID, err)
	}
	f := c.failure()
	if f.ExecutorID == nil || f.ExecutorID.Value != "e1" || f.Status == nil || *f.Status != int32(syscall.SIGKILL) {
		t.Fatalf("FAILURE of %v with status %s, want e1 killed by SIGKILL", f.ExecutorID, statusString(f.Status))
	}
	// The leader removed the executor's record before it sent FAILURE.
	if got := usedCPUs(t, c.srv.HTTPAddr()); got != 0 {
		t.Fatalf("/state: the agent uses %v cpus after its executor exited, want 0", got)
	}
	// All of the agent's cpus are offered again.
	c.takeOffers(4)
}
