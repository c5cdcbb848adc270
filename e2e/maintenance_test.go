package e2e

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"mesh/mesos"
	"mesh/mesos/scheduler"
	"mesh/mesos/scheduler/client"
)

// rackGrace is the kill grace period of the rack framework's tasks; they
// ignore SIGTERM, so each ends when its grace runs out.
const rackGrace = 2 * time.Second

// rackFramework runs one task on every agent it is offered, acknowledges
// its updates, accepts inverse offers, and declines what it does not
// use for a second, so that every agent with free resources is offered
// again and again. It records what it sees, with when.
type rackFramework struct {
	c      *client.Client
	cancel context.CancelFunc
	done   chan struct{}

	mu       sync.Mutex
	tasks    map[string]rackTask    // task id → what it is
	inverse  map[string]bool        // agent id → an inverse offer came
	offered  map[string][]time.Time // agent id → when its offers came
	launched map[string]bool        // agent id → a task was launched there
}

type rackTask struct {
	agent string
	state mesos.TaskState
	ended time.Time // when the terminal update came
}

func newRackFramework(t *testing.T, masters string) *rackFramework {
	ctx, cancel := context.WithCancel(context.Background())
	f := &rackFramework{c: client.New(client.Config{Masters: strings.Split(masters, ",")}), cancel: cancel, done: make(chan struct{}),
		tasks: map[string]rackTask{}, inverse: map[string]bool{}, offered: map[string][]time.Time{}, launched: map[string]bool{}}
	failover := 600.0
	info := mesos.FrameworkInfo{User: "root", Name: "rack", FailoverTimeout: &failover, Roles: []string{"*"},
		Capabilities: []mesos.FrameworkCapability{{Type: mesos.CapabilityMultiRole}}}
	go func() {
		defer close(f.done)
		resubscribeLoop(ctx, f.c, info, func(ev *scheduler.Event) { f.handle(ctx, ev) })
	}()
	t.Cleanup(func() {
		cancel()
		<-f.done
	})
	return f
}

func (f *rackFramework) handle(ctx context.Context, ev *scheduler.Event) {
	switch ev.Type {
	case scheduler.EventOffers:
		for _, o := range ev.Offers.Offers {
			f.offer(ctx, o)
		}
	case scheduler.EventInverseOffers:
		var ids []mesos.OfferID
		f.mu.Lock()
		for _, io := range ev.InverseOffers.InverseOffers {
			f.inverse[io.AgentID.Value] = true
			ids = append(ids, io.ID)
		}
		f.mu.Unlock()
		_ = f.c.Call(ctx, &scheduler.Call{Type: scheduler.CallAcceptInverseOffers,
			AcceptInverseOffers: &scheduler.InverseOffers{InverseOfferIDs: ids, Filters: client.Filters(3600)}})
	case scheduler.EventUpdate:
		st := ev.Update.Status
		f.mu.Lock()
		t := f.tasks[st.TaskID.Value]
		t.state = st.State
		if st.State.IsTerminal() && t.ended.IsZero() {
			t.ended = time.Now()
		}
		f.tasks[st.TaskID.Value] = t
		f.mu.Unlock()
		if ack := client.AcknowledgeCall(&st); ack != nil {
			_ = f.c.Call(ctx, ack)
		}
	}
}

// offer launches the agent's task on its first offer; later offers are
// declined for a second.
func (f *rackFramework) offer(ctx context.Context, o mesos.Offer) {
	f.mu.Lock()
	f.offered[o.AgentID.Value] = append(f.offered[o.AgentID.Value], time.Now())
	first := !f.launched[o.AgentID.Value]
	id := "task-" + o.Hostname
	if first {
		f.launched[o.AgentID.Value] = true
		f.tasks[id] = rackTask{agent: o.AgentID.Value, state: mesos.TaskStaging}
	}
	f.mu.Unlock()
	if !first {
		_ = f.c.Call(ctx, client.DeclineCall(client.Filters(1), o.ID))
		return
	}
	task := mesos.TaskInfo{Name: id, TaskID: mesos.TaskID{Value: id}, AgentID: o.AgentID,
		Resources:  []mesos.Resource{mesos.ScalarResource("cpus", 0.1), mesos.ScalarResource("mem", 32)},
		Command:    &mesos.CommandInfo{Value: "trap '' TERM; while true; do sleep 0.2; done"},
		KillPolicy: &mesos.KillPolicy{GracePeriod: &mesos.DurationInfo{Nanoseconds: int64(rackGrace)}}}
	_ = f.c.Call(ctx, client.AcceptCall([]mesos.OfferID{o.ID}, []mesos.OfferOperation{client.LaunchOp(task)}, client.Filters(1)))
}

// snapshot returns copies of what the framework saw.
func (f *rackFramework) snapshot() (map[string]rackTask, map[string]bool, map[string][]time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	tasks, inv, off := map[string]rackTask{}, map[string]bool{}, map[string][]time.Time{}
	for k, v := range f.tasks {
		tasks[k] = v
	}
	for k, v := range f.inverse {
		inv[k] = v
	}
	for k, v := range f.offered {
		off[k] = append([]time.Time(nil), v...)
	}
	return tasks, inv, off
}

// offeredSince reports whether the agent was offered after t.
func offeredSince(off map[string][]time.Time, agent string, t time.Time) bool {
	for _, at := range off[agent] {
		if at.After(t) {
			return true
		}
	}
	return false
}

// TestMaintenance_RackStory: six agents on two racks, a framework with a
// task on each. Scheduling rack r1 brings the framework inverse offers
// for exactly r1's agents; `mesh drain -attribute rack:r1` ends every
// task there, each after its grace period, offers nothing more of r1,
// leaves r2's tasks alone and says when the rack is empty; START then
// STOP_MAINTENANCE, and r1's agents are offered again.
func TestMaintenance_RackStory(t *testing.T) {
	c := newClusterWith(t, 1, false, append(append([]string(nil), testRaftTiming...), "-allocation-interval", "100ms")...)
	leader := c.startAll()
	addr := leader.httpAddr
	rackOf := map[string]string{} // hostname → rack
	for i := 0; i < 6; i++ {
		rack := fmt.Sprintf("r%d", 1+i%2)
		host := fmt.Sprintf("%s-node%d", rack, i)
		rackOf[host] = rack
		start(t, "agent", "-join", addr, "-http-addr", freePort(t), "-work-dir", t.TempDir(), "-isolation", "posix",
			"-hostname", host, "-attributes", "rack:"+rack, "-resources", "cpus:1;mem:256;disk:100;ports:[31000-31010]")
	}
	waitAgents(t, addr, 6)
	f := newRackFramework(t, addr)
	waitFor(t, 60*time.Second, "a running task on every agent", func() bool {
		tasks, _, _ := f.snapshot()
		running := 0
		for _, tk := range tasks {
			if tk.state == mesos.TaskRunning {
				running++
			}
		}
		return running == 6
	})
	tasks, _, _ := f.snapshot()
	rackAgents := map[string][]string{}
	agentRack := map[string]string{}
	for id, tk := range tasks {
		r := rackOf[strings.TrimPrefix(id, "task-")]
		rackAgents[r] = append(rackAgents[r], tk.agent)
		agentRack[tk.agent] = r
	}
	for _, ids := range rackAgents {
		sort.Strings(ids)
	}

	// The schedule: every machine of rack r1, an hour from now.
	if out := mustRun(t, "maintenance", "schedule", "-address", addr, "-attribute", "rack:r1", "-start", "+1h", "-duration", "2h"); !strings.Contains(out, "scheduled 3 machines") {
		t.Fatalf("schedule: %s", out)
	}
	waitFor(t, 30*time.Second, "inverse offers for r1's agents", func() bool {
		_, inv, _ := f.snapshot()
		return len(inv) >= 3
	})
	_, inv, _ := f.snapshot()
	var got []string
	for a := range inv {
		got = append(got, a)
	}
	sort.Strings(got)
	if strings.Join(got, ",") != strings.Join(rackAgents["r1"], ",") {
		t.Fatalf("inverse offers for agents %v, want exactly r1's %v", got, rackAgents["r1"])
	}
	waitFor(t, 30*time.Second, "the framework's ACCEPTs in the status", func() bool {
		out := mustRun(t, "maintenance", "status", "-address", addr)
		return strings.Count(out, ":ACCEPT") == 3 && strings.Count(out, "DRAINING") == 3
	})

	// Drain the rack.
	drainStart := time.Now()
	out, code := run(t, 3*time.Minute, "drain", "-address", addr, "-attribute", "rack:r1", "-deadline", "2m")
	if code != 0 || !strings.Contains(out, "rack:r1 is empty: 3 agents drained") {
		t.Fatalf("mesh drain -attribute exited %d:\n%s", code, out)
	}
	drained := time.Now()
	tasks, _, _ = f.snapshot()
	for id, tk := range tasks {
		switch agentRack[tk.agent] {
		case "r1":
			if tk.state != mesos.TaskKilled || tk.ended.Sub(drainStart) < rackGrace {
				t.Errorf("r1 task %s: %s after %s, want TASK_KILLED once its %s grace ran out", id, tk.state, tk.ended.Sub(drainStart), rackGrace)
			}
		case "r2":
			if tk.state != mesos.TaskRunning {
				t.Errorf("r2 task %s is %s, want it untouched", id, tk.state)
			}
		}
	}
	// Nothing more of r1 is offered, while r2 is offered on.
	waitFor(t, 30*time.Second, "offers of every r2 agent after the drain", func() bool {
		_, _, off := f.snapshot()
		for _, a := range rackAgents["r2"] {
			if !offeredSince(off, a, drained) {
				return false
			}
		}
		return true
	})
	_, _, off := f.snapshot()
	for _, a := range rackAgents["r1"] {
		if offeredSince(off, a, drained) {
			t.Errorf("drained r1 agent %s was offered", a)
		}
	}

	// Maintenance proper: DOWN, then UP; r1 is offered again.
	if out := mustRun(t, "maintenance", "start", "-address", addr, "-attribute", "rack:r1"); !strings.HasPrefix(out, "3 machines DOWN") {
		t.Fatalf("start: %s", out)
	}
	waitFor(t, 30*time.Second, "r1's agents cut off", func() bool {
		var st clusterState
		if getJSON(addr, "/state", &st) != nil {
			return false
		}
		for _, a := range st.Agents {
			if agentRack[a.ID] == "r1" && a.State == "active" {
				return false
			}
		}
		return true
	})
	stopped := time.Now()
	if out := mustRun(t, "maintenance", "stop", "-address", addr, "-all"); !strings.HasPrefix(out, "3 machines UP") {
		t.Fatalf("stop: %s", out)
	}
	waitFor(t, 60*time.Second, "offers of every r1 agent again", func() bool {
		_, _, off := f.snapshot()
		for _, a := range rackAgents["r1"] {
			if !offeredSince(off, a, stopped) {
				return false
			}
		}
		return true
	})
	if out := mustRun(t, "maintenance", "status", "-address", addr); !strings.Contains(out, "no machine is scheduled") {
		t.Fatalf("status after STOP: %s", out)
	}
	tasks, _, _ = f.snapshot()
	for id, tk := range tasks {
		if agentRack[tk.agent] == "r2" && tk.state != mesos.TaskRunning {
			t.Errorf("r2 task %s is %s after the maintenance, want it untouched", id, tk.state)
		}
	}
}
