package server_test

import (
	"testing"
	"time"

	"mesh/mesos"
	"mesh/mesos/scheduler"
	"mesh/server"
	"mesh/server/servertest"
)

// TestAgent_UnreachableThenBack: an agent that does not come back within
// the re-register timeout is marked unreachable in the log, and a
// partition-aware framework's task becomes TASK_UNREACHABLE (master
// update, no uuid, with unreachable_time); when the agent re-registers
// still running it, the task is TASK_RUNNING again, not killed.
func TestAgent_UnreachableThenBack(t *testing.T) {
	srv := servertest.NewServer(t, servertest.Options{Tweak: func(c *server.Config) {
		c.AgentReregisterTimeout = 500 * time.Millisecond
	}})
	agent := servertest.NewSimAgent(srv.HTTPAddr(), agentResources())
	agent.Start(t)
	f := subscribe(t, srv.HTTPAddr(), subscribeBody("pa", "", `"failover_timeout":60,"capabilities":[{"type":"PARTITION_AWARE"}]`))
	f.subscribed()
	o := f.await(scheduler.EventOffers, 10*time.Second).Offers.Offers[0]
	f.launch(o, "sleep 100", "kept")
	run := f.await(scheduler.EventUpdate, 10*time.Second).Update.Status
	if run.State != mesos.TaskRunning {
		t.Fatalf("task: %+v", run)
	}
	f.ack(run)
	servertest.WaitFor(t, 5*time.Second, "the ack to reach the agent", func() bool {
		tk := srv.FSM().State().Task(f.id, "kept")
		return tk != nil && len(tk.PendingAck) == 0
	})

	agent.Stop()
	st := f.await(scheduler.EventUpdate, 10*time.Second).Update.Status
	if st.State != mesos.TaskUnreachable || len(st.UUID) != 0 || st.Source != mesos.SourceMaster || st.UnreachableTime == nil {
		t.Fatalf("while the agent is away: %+v", st)
	}
	if a := srv.FSM().State().Agent(agent.ID); a == nil || a.State != "unreachable" {
		t.Fatalf("agent state %+v, want unreachable", a)
	}

	agent.Start(t)
	back := f.await(scheduler.EventUpdate, 10*time.Second).Update.Status
	if back.State != mesos.TaskRunning || back.Reason != mesos.ReasonAgentReregistered || len(back.UUID) != 0 {
		t.Fatalf("after the agent re-registered: %+v", back)
	}
	if tk := srv.FSM().State().Task(f.id, "kept"); tk.State != mesos.TaskRunning || tk.Completed {
		t.Fatalf("task in the state after the agent came back: %+v", tk)
	}
}

// TestAgent_BackWithTasksReportedLostKillsThem: a framework that is not
// partition-aware is told TASK_LOST when the agent stays away; when the
// agent comes back still running the task, the leader has it killed (and
// does not tell the framework again), so the task does not run on
// unaccounted for.
func TestAgent_BackWithTasksReportedLostKillsThem(t *testing.T) {
	srv := servertest.NewServer(t, servertest.Options{Tweak: func(c *server.Config) {
		c.AgentReregisterTimeout = 500 * time.Millisecond
	}})
	agent := servertest.NewSimAgent(srv.HTTPAddr(), agentResources())
	agent.Start(t)
	f := subscribe(t, srv.HTTPAddr(), subscribeBody("not-pa", "", `"failover_timeout":60`))
	f.subscribed()
	o := f.await(scheduler.EventOffers, 10*time.Second).Offers.Offers[0]
	f.launch(o, "sleep 100", "lost")
	run := f.await(scheduler.EventUpdate, 10*time.Second).Update.Status
	f.ack(run)
	servertest.WaitFor(t, 5*time.Second, "the ack to reach the agent", func() bool {
		return agent.TaskState(f.id, "lost") == mesos.TaskRunning
	})

	agent.Stop()
	if st := f.await(scheduler.EventUpdate, 10*time.Second).Update.Status; st.State != mesos.TaskLost {
		t.Fatalf("while the agent is away: %+v", st)
	}
	agent.Start(t)
	servertest.WaitFor(t, 10*time.Second, "the agent to kill the task", func() bool {
		return agent.TaskState(f.id, "lost") == mesos.TaskKilled
	})
	if tk := srv.FSM().State().Task(f.id, "lost"); tk.State != mesos.TaskLost || !tk.Completed {
		t.Errorf("task in the state: %+v", tk)
	}
}

// TestAgent_ReregisteredWithoutATaskTellsTheFramework: an agent that comes
// back without a task the leader placed there (it died before it could
// record it) makes the leader end the task TASK_LOST, and the framework
// is told so at once, without having to reconcile.
func TestAgent_ReregisteredWithoutATaskTellsTheFramework(t *testing.T) {
	srv := servertest.NewServer(t, servertest.Options{})
	agent := servertest.NewSimAgent(srv.HTTPAddr(), agentResources())
	agent.Start(t)
	f := subscribe(t, srv.HTTPAddr(), subscribeBody("told", "", `"failover_timeout":60`))
	f.subscribed()
	o := f.await(scheduler.EventOffers, 10*time.Second).Offers.Offers[0]
	f.launch(o, "sleep 100", "forgotten")
	run := f.await(scheduler.EventUpdate, 10*time.Second).Update.Status
	f.ack(run)
	servertest.WaitFor(t, 5*time.Second, "the ack to reach the agent", func() bool {
		return agent.TaskState(f.id, "forgotten") == mesos.TaskRunning
	})

	agent.Stop()
	agent.Forget(f.id, "forgotten")
	agent.Start(t)
	st := f.await(scheduler.EventUpdate, 10*time.Second).Update.Status
	if st.TaskID.Value != "forgotten" || st.State != mesos.TaskLost || st.Reason != mesos.ReasonAgentRestarted ||
		st.Source != mesos.SourceMaster || len(st.UUID) != 0 {
		t.Fatalf("after the agent came back without the task: %+v", st)
	}
	if tk := srv.FSM().State().Task(f.id, "forgotten"); tk.State != mesos.TaskLost || !tk.Completed {
		t.Errorf("task in the state: %+v", tk)
	}
}

// TestAgent_KillWhileAwayIsSentWhenItReturns: a framework's KILL of a task
// whose agent is disconnected is not lost: the leader sends it when the
// agent registers again, as Mesos' master does.
func TestAgent_KillWhileAwayIsSentWhenItReturns(t *testing.T) {
	srv := servertest.NewServer(t, servertest.Options{})
	agent := servertest.NewSimAgent(srv.HTTPAddr(), agentResources())
	agent.Start(t)
	f := subscribe(t, srv.HTTPAddr(), subscribeBody("patient", "", `"failover_timeout":60`))
	f.subscribed()
	o := f.await(scheduler.EventOffers, 10*time.Second).Offers.Offers[0]
	f.launch(o, "sleep 100", "doomed")
	f.ack(f.await(scheduler.EventUpdate, 10*time.Second).Update.Status)
	servertest.WaitFor(t, 5*time.Second, "the ack to reach the agent", func() bool {
		return agent.TaskState(f.id, "doomed") == mesos.TaskRunning
	})

	agent.Stop()
	f.mustCall("KILL", "kill", `{"task_id":{"value":"doomed"}}`)
	agent.Start(t)
	if st := f.await(scheduler.EventUpdate, 10*time.Second).Update.Status; st.TaskID.Value != "doomed" || st.State != mesos.TaskKilled {
		t.Fatalf("after the agent came back: %+v, want the task killed", st)
	}
}
