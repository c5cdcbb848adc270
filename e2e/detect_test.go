package e2e

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"mesh/mesos"
	"mesh/mesos/scheduler"
	"mesh/mesos/scheduler/client"
)

// The leader's pings in these tests: an agent that stops answering is
// unreachable after about pingTimeout × maxPingTimeouts.
const (
	pingTimeout     = 200 * time.Millisecond
	maxPingTimeouts = 3
)

// TestAgentPings_StoppedAgentUnreachableThenReconciled: an agent stopped
// with SIGSTOP keeps its TCP connection open (its kernel still acks), so
// only the leader's pings can tell it is gone. It is marked unreachable
// after the missed pings (the re-register timeout is an hour, so nothing
// else can have marked it), its partition-aware framework sees
// TASK_UNREACHABLE, and after SIGCONT it re-registers and its task is
// reconciled to TASK_RUNNING, its executor still the same process.
func TestAgentPings_StoppedAgentUnreachableThenReconciled(t *testing.T) {
	d := startPingedAgent(t, false)
	stopped := time.Now()
	if err := syscall.Kill(d.agent.cmd.Process.Pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	cont := func() { syscall.Kill(d.agent.cmd.Process.Pid, syscall.SIGCONT) }
	t.Cleanup(cont) // a stopped agent cannot stop on SIGTERM
	d.expectUnreachableThenBack(t, stopped, cont)
}

// TestAgentPings_AgentBehindStalledNetworkUnreachableThenReconciled: the
// same with the agent behind a network that holds its packets without
// closing its connections (the fault proxy, stalled), until it heals.
func TestAgentPings_AgentBehindStalledNetworkUnreachableThenReconciled(t *testing.T) {
	d := startPingedAgent(t, true)
	stalled := time.Now()
	d.proxy.Stall()
	d.expectUnreachableThenBack(t, stalled, d.proxy.Heal)
}

// pingedAgent is a server with short pings, one posix agent (behind a
// fault proxy when asked) and a partition-aware framework running one
// long task on it.
type pingedAgent struct {
	httpAddr, agentAddr string
	agent               *proc
	proxy               *faultProxy
	fw                  *paFramework
	executor            int // the task's executor pid
}

func startPingedAgent(t *testing.T, proxied bool) *pingedAgent {
	t.Helper()
	d := &pingedAgent{httpAddr: freePort(t), agentAddr: freePort(t)}
	start(t, "server", "-data-dir", t.TempDir(), "-http-addr", d.httpAddr, "-raft-addr", freePort(t),
		"-bootstrap-expect", "1", "-agent-ping-timeout", pingTimeout.String(),
		"-max-agent-ping-timeouts", strconv.Itoa(maxPingTimeouts), "-agent-reregister-timeout", "1h",
		// The agent drops a stream silent for 3 heartbeats: after a
		// stall it is back soon after the network heals.
		"-heartbeat-interval", "500ms")
	join := d.httpAddr
	if proxied {
		d.proxy = newFaultProxy(t, d.httpAddr)
		join = d.proxy.Addr()
	}
	d.agent = start(t, "agent", "-allow-root-tasks", "-join", join, "-http-addr", d.agentAddr,
		"-work-dir", t.TempDir(), "-resources", "cpus:2;mem:2048;disk:1000;ports:[31000-31100]", "-isolation", "posix")
	waitAgents(t, d.httpAddr, 1)
	d.fw = startPAFramework(t, d.httpAddr)
	d.fw.waitState(t, mesos.TaskRunning, "", 60*time.Second)
	d.executor = executorPid(t, d.agentAddr)
	return d
}

// expectUnreachableThenBack checks the framework sees TASK_UNREACHABLE
// after the fault that began at since, then calls heal and checks the
// task is reconciled, not killed.
func (d *pingedAgent) expectUnreachableThenBack(t *testing.T, since time.Time, heal func()) {
	t.Helper()
	st := d.fw.waitState(t, mesos.TaskUnreachable, "", 30*time.Second)
	t.Logf("TASK_UNREACHABLE %s after the fault (pings: %s × %d)", time.Since(since).Round(time.Millisecond), pingTimeout, maxPingTimeouts)
	if st.Source != mesos.SourceMaster || st.UnreachableTime == nil {
		t.Errorf("TASK_UNREACHABLE update: %+v", st)
	}
	var cs clusterState
	if err := getJSON(d.httpAddr, "/state", &cs); err != nil || len(cs.Agents) != 1 || cs.Agents[0].State != "unreachable" {
		t.Fatalf("agents in /state: %+v (%v), want one unreachable", cs.Agents, err)
	}

	heal()
	back := d.fw.waitState(t, mesos.TaskRunning, mesos.ReasonAgentReregistered, 60*time.Second)
	if len(back.UUID) != 0 {
		t.Errorf("reconciled update carries a uuid: %+v", back)
	}
	waitAgents(t, d.httpAddr, 1)
	if pid := executorPidOrZero(d.agentAddr); pid != d.executor || syscall.Kill(pid, 0) != nil {
		t.Errorf("executor pid %d after the agent came back, want %d still running", pid, d.executor)
	}
	for _, s := range d.fw.states() {
		if s.State.IsTerminal() {
			t.Errorf("the task was reported %s: %+v", s.State, s)
		}
	}
}

// paFramework is a partition-aware framework that launches one long task
// on the first offer and records (and acknowledges) its status updates.
type paFramework struct {
	c *client.Client

	mu      sync.Mutex
	updates []mesos.TaskStatus
	changed chan struct{}
}

func startPAFramework(t *testing.T, master string) *paFramework {
	t.Helper()
	f := &paFramework{c: client.New(client.Config{Masters: []string{master}}), changed: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	failover := 600.0
	info := mesos.FrameworkInfo{User: "root", Name: "partition-aware", FailoverTimeout: &failover, Roles: []string{"*"},
		Capabilities: []mesos.FrameworkCapability{{Type: mesos.CapabilityMultiRole}, {Type: mesos.CapabilityPartitionAware}}}
	go func() {
		defer close(done)
		f.loop(ctx, info)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return f
}

func (f *paFramework) loop(ctx context.Context, info mesos.FrameworkInfo) {
	launched := false
	resubscribeLoop(ctx, f.c, info, func(ev *scheduler.Event) {
		switch ev.Type {
		case scheduler.EventOffers:
			if launched || len(ev.Offers.Offers) == 0 {
				return
			}
			o := ev.Offers.Offers[0]
			task := mesos.TaskInfo{Name: "long", TaskID: mesos.TaskID{Value: "long"}, AgentID: o.AgentID,
				Resources: []mesos.Resource{mesos.ScalarResource("cpus", 0.1), mesos.ScalarResource("mem", 32)},
				Command:   &mesos.CommandInfo{Value: "sleep 600"}}
			if f.c.Call(ctx, client.AcceptCall([]mesos.OfferID{o.ID}, []mesos.OfferOperation{client.LaunchOp(task)}, nil)) == nil {
				launched = true
			}
		case scheduler.EventUpdate:
			st := ev.Update.Status
			f.mu.Lock()
			f.updates = append(f.updates, st)
			close(f.changed)
			f.changed = make(chan struct{})
			f.mu.Unlock()
			if ack := client.AcknowledgeCall(&st); ack != nil {
				_ = f.c.Call(ctx, ack)
			}
		}
	})
}

func (f *paFramework) states() []mesos.TaskStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]mesos.TaskStatus(nil), f.updates...)
}

// waitState waits until an update to state (with reason, when given) has
// arrived, and returns the first such update.
func (f *paFramework) waitState(t *testing.T, state mesos.TaskState, reason string, timeout time.Duration) mesos.TaskStatus {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		f.mu.Lock()
		ch := f.changed
		for _, st := range f.updates {
			if st.State == state && (reason == "" || string(st.Reason) == reason) {
				f.mu.Unlock()
				return st
			}
		}
		f.mu.Unlock()
		select {
		case <-ch:
		case <-deadline.C:
			var seen []string
			for _, st := range f.states() {
				seen = append(seen, string(st.State)+"/"+string(st.Reason))
			}
			t.Fatalf("no %s %s update within %s; updates: %s", state, reason, timeout, strings.Join(seen, ", "))
		}
	}
}
