package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"mesh/agent"
	"mesh/mesos"
	"mesh/mesos/codec"
	"mesh/mesos/scheduler"
	"mesh/mesos/scheduler/client"
	"mesh/server/servertest"
)

// TestInProcess_LaunchThreeTasks runs a server, a real agent and a
// scheduler in this process over real HTTP (each task's executor is the
// built mesh binary): 3 tasks go STARTING → RUNNING → FINISHED, every
// update is acknowledged, then the framework tears down. It runs once with
// the scheduler speaking JSON and once speaking protobuf (calls and the
// RecordIO event stream).
func TestInProcess_LaunchThreeTasks(t *testing.T) {
	for _, enc := range []string{codec.JSON, codec.Protobuf} {
		t.Run(strings.TrimPrefix(enc, "application/"), func(t *testing.T) { launchThreeTasks(t, enc) })
	}
}

func launchThreeTasks(t *testing.T, encoding string) {
	srv := servertest.NewServer(t, servertest.Options{})
	cfg := agent.DefaultConfig()
	cfg.Servers = []string{srv.HTTPAddr()}
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.WorkDir = t.TempDir()
	cfg.Resources = "cpus:2;mem:1024;disk:1000;ports:[31000-31100]"
	cfg.ExecutorCommand = []string{meshBin, "executor"}
	cfg.KillTasksOnShutdown = true
	cfg.Logger = hclog.New(&hclog.LoggerOptions{Name: "agent", Level: hclog.Warn})
	ag, err := agent.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	agentDone := make(chan error, 1)
	go func() { agentDone <- ag.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-agentDone
	})

	cl := client.New(client.Config{Masters: []string{srv.HTTPAddr()}, Encoding: encoding})
	sctx, scancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer scancel()
	sub, err := cl.Subscribe(sctx, client.SubscribeCall(&mesos.FrameworkInfo{User: "root", Name: "inprocess"}))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	events := make(chan *scheduler.Event, 256)
	go func() {
		defer close(events)
		for {
			ev, err := sub.Next()
			if err != nil {
				return
			}
			events <- ev
		}
	}()
	next := func(typ string) *scheduler.Event {
		t.Helper()
		for {
			select {
			case ev, ok := <-events:
				if !ok {
					t.Fatalf("stream ended while waiting for %s", typ)
				}
				if ev.Type == typ {
					return ev
				}
			case <-sctx.Done():
				t.Fatalf("no %s before the deadline", typ)
			}
		}
	}
	next(scheduler.EventSubscribed)
	offer := next(scheduler.EventOffers).Offers.Offers[0]
	var tasks []mesos.TaskInfo
	for _, id := range []string{"a", "b", "c"} {
		tasks = append(tasks, mesos.TaskInfo{Name: id, TaskID: mesos.TaskID{Value: id}, AgentID: offer.AgentID,
			Resources: []mesos.Resource{mesos.ScalarResource("cpus", 0.1), mesos.ScalarResource("mem", 32)},
			Command:   &mesos.CommandInfo{Value: "echo task " + id}})
	}
	if err := cl.Call(sctx, client.AcceptCall([]mesos.OfferID{offer.ID}, []mesos.OfferOperation{client.LaunchOp(tasks...)}, nil)); err != nil {
		t.Fatal(err)
	}
	states := map[string][]mesos.TaskState{}
	for finished := 0; finished < 3; {
		st := next(scheduler.EventUpdate).Update.Status
		states[st.TaskID.Value] = append(states[st.TaskID.Value], st.State)
		if len(st.UUID) != 16 {
			t.Fatalf("update without a 16-byte uuid: %+v", st)
		}
		if err := cl.Call(sctx, client.AcknowledgeCall(&st)); err != nil {
			t.Fatal(err)
		}
		switch {
		case st.State == mesos.TaskFinished:
			finished++
		case st.State.IsTerminal():
			t.Fatalf("task %s ended %s: %s", st.TaskID.Value, st.State, st.Message)
		}
	}
	want := []mesos.TaskState{mesos.TaskStarting, mesos.TaskRunning, mesos.TaskFinished}
	for id, got := range states {
		if len(got) != len(want) {
			t.Errorf("task %s: states %v, want %v", id, got, want)
			continue
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("task %s: states %v, want %v", id, got, want)
				break
			}
		}
	}
	// Every acknowledged terminal task is completed in the replicated state.
	fid := cl.FrameworkID()
	servertest.WaitFor(t, 10*time.Second, "acknowledgements to commit", func() bool {
		st := srv.FSM().State()
		for _, id := range []string{"a", "b", "c"} {
			if tk := st.Task(fid, id); tk == nil || !tk.Completed {
				return false
			}
		}
		return true
	})
	if err := cl.Call(sctx, client.TeardownCall()); err != nil {
		t.Fatal(err)
	}
	servertest.WaitFor(t, 10*time.Second, "teardown", func() bool {
		fw := srv.FSM().State().Framework(fid)
		return fw != nil && fw.Removed
	})
}
