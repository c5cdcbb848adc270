package server_test

import (
	"testing"
	"time"

	"mesh/mesos"
	"mesh/mesos/scheduler"
	"mesh/server/servertest"
)

// TestServer_RestartKeepsState: frameworks, agents and finished tasks
// survive a server restart on the same data dir.
func TestServer_RestartKeepsState(t *testing.T) {
	dir := t.TempDir()
	srv := servertest.NewServer(t, servertest.Options{DataDir: dir})
	agent := servertest.NewSimAgent(srv.HTTPAddr(), agentResources())
	agent.Start(t)
	f := subscribe(t, srv.HTTPAddr(), subscribeBody("keep", "", `"failover_timeout":3600`))
	f.subscribed()
	f.runToFinish("echo hi", "done-task")
	servertest.WaitFor(t, 5*time.Second, "ack to commit", func() bool {
		tk := srv.FSM().State().Task(f.id, "done-task")
		return tk != nil && tk.Completed
	})
	clusterID := srv.FSM().State().Meta().ClusterID
	agent.Stop()
	f.close()
	srv.Stop()

	again := servertest.NewServer(t, servertest.Options{DataDir: dir})
	st := again.FSM().State()
	if st.Meta().ClusterID != clusterID {
		t.Errorf("cluster id %q after restart, want %q", st.Meta().ClusterID, clusterID)
	}
	fw := st.Framework(f.id)
	if fw == nil || fw.Removed || fw.Info.Name != "keep" {
		t.Fatalf("framework after restart: %+v", fw)
	}
	if a := st.Agent(agent.ID); a == nil {
		t.Fatal("agent lost across restart")
	}
	tk := st.Task(f.id, "done-task")
	if tk == nil || tk.State != mesos.TaskFinished || !tk.Completed {
		t.Fatalf("finished task after restart: %+v", tk)
	}
	// The framework resubscribes with its id and is offered the agent
	// again once the agent re-registers with the same id.
	f2 := subscribe(t, again.HTTPAddr(), subscribeBody("keep", f.id, `"failover_timeout":3600`))
	f2.id = f.id
	if sub := f2.subscribed(); sub.FrameworkID.Value != f.id {
		t.Fatalf("resubscribed as %s, want %s", sub.FrameworkID.Value, f.id)
	}
	back := servertest.NewSimAgent(again.HTTPAddr(), agentResources())
	back.ID = agent.ID
	back.Start(t)
	if o := f2.await(scheduler.EventOffers, 10*time.Second).Offers.Offers[0]; o.AgentID.Value != agent.ID {
		t.Errorf("offer from agent %s, want the re-registered %s", o.AgentID.Value, agent.ID)
	}
}
