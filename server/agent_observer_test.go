package server_test

import (
	"testing"
	"time"

	"mesh/mesos"
	"mesh/mesos/scheduler"
	"mesh/server"
	"mesh/server/servertest"
)

// TestAgent_SilentAgentMarkedUnreachableByPings: an agent whose stream
// stays open but which stops answering PINGs (a stopped process, a
// network that drops packets) is marked unreachable after
// MaxAgentPingTimeouts pings, without waiting for its connection to
// close or for AgentReregisterTimeout; its partition-aware framework sees
// TASK_UNREACHABLE, and when the agent re-registers the task is
// TASK_RUNNING again, not killed. An agent of an older version, which
// does not advertise pings, is not marked unreachable for its silence.
// The agent answers with PONG calls, or on a pong stream.
func TestAgent_SilentAgentMarkedUnreachableByPings(t *testing.T) {
	t.Run("calls", func(t *testing.T) { testSilentAgentMarkedUnreachable(t, false) })
	t.Run("stream", func(t *testing.T) { testSilentAgentMarkedUnreachable(t, true) })
}

func testSilentAgentMarkedUnreachable(t *testing.T, pongStream bool) {
	srv := servertest.NewServer(t, servertest.Options{Tweak: func(c *server.Config) {
		c.AgentPingTimeout = 100 * time.Millisecond
		c.MaxAgentPingTimeouts = 3
		c.AgentReregisterTimeout = time.Hour // only the pings can tell
	}})
	old := servertest.NewSimAgent(srv.HTTPAddr(), agentResources())
	old.Hostname = "old"
	old.Start(t)
	agent := servertest.NewSimAgent(srv.HTTPAddr(), agentResources())
	agent.Pings = true
	agent.PongStream = pongStream
	agent.Start(t)
	f := subscribe(t, srv.HTTPAddr(), subscribeBody("pa", "", `"failover_timeout":60,"capabilities":[{"type":"PARTITION_AWARE"}]`))
	f.subscribed()
	var o mesos.Offer
	for o.AgentID.Value != agent.ID {
		for _, off := range f.await(scheduler.EventOffers, 10*time.Second).Offers.Offers {
			if off.AgentID.Value == agent.ID {
				o = off
			}
		}
	}
	f.launch(o, "sleep 100", "kept")
	run := f.await(scheduler.EventUpdate, 10*time.Second).Update.Status
	if run.State != mesos.TaskRunning {
		t.Fatalf("task: %+v", run)
	}
	f.ack(run)
	servertest.WaitFor(t, 5*time.Second, "the ack to reach the agent", func() bool {
		return agent.TaskState(f.id, "kept") == mesos.TaskRunning
	})

	// Twice as many pings as it takes to be marked unreachable, answered:
	// the agent stays active.
	servertest.WaitFor(t, 10*time.Second, "6 pings answered", func() bool { return agent.PingsReceived() >= 6 })
	if a := srv.FSM().State().Agent(agent.ID); a.State != "active" {
		t.Fatalf("an agent that answers pings is %s", a.State)
	}
	// On a stream: the first PING is answered with a call, and so is any
	// that comes before the leader has accepted the stream (opened at the
	// second).
	onStream, calls := agent.PongsSent()
	if pongStream && (onStream < 3 || calls > 3) || !pongStream && (onStream != 0 || calls < 6) {
		t.Fatalf("pings answered on the stream %d, with calls %d", onStream, calls)
	}

	agent.Mute(true)
	muted := time.Now()
	st := f.await(scheduler.EventUpdate, 10*time.Second).Update.Status
	if st.State != mesos.TaskUnreachable || len(st.UUID) != 0 || st.Source != mesos.SourceMaster || st.UnreachableTime == nil {
		t.Fatalf("while the agent is silent: %+v", st)
	}
	t.Logf("TASK_UNREACHABLE %s after the agent fell silent", time.Since(muted).Round(time.Millisecond))
	if a := srv.FSM().State().Agent(agent.ID); a == nil || a.State != "unreachable" {
		t.Fatalf("agent state %+v, want unreachable", a)
	}
	select {
	case <-agent.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the leader did not close the silent agent's stream")
	}
	if old.PingsReceived() != 0 {
		t.Errorf("an agent that did not advertise pings got %d", old.PingsReceived())
	}
	if a := srv.FSM().State().Agent(old.ID); a == nil || a.State != "active" {
		t.Fatalf("the agent that does not answer pings (an older version) is %+v, want active", a)
	}

	agent.Stop()
	agent.Mute(false)
	agent.Start(t)
	back := f.await(scheduler.EventUpdate, 10*time.Second).Update.Status
	if back.State != mesos.TaskRunning || back.Reason != mesos.ReasonAgentReregistered || len(back.UUID) != 0 {
		t.Fatalf("after the agent re-registered: %+v", back)
	}
	if tk := srv.FSM().State().Task(f.id, "kept"); tk.State != mesos.TaskRunning || tk.Completed {
		t.Fatalf("task in the state after the agent came back: %+v", tk)
	}
}
