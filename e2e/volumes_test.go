package e2e

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"mesh/agent"
	"mesh/executor"
	"mesh/mesos"
	"mesh/mesos/scheduler"
	"mesh/mesos/scheduler/client"
	"mesh/server"
	"mesh/server/servertest"
)

// volFramework drives a framework of role db through a scheduler client:
// offers and other events arrive on separate channels, so that waiting for
// an update never skips an offer (which would stay outstanding, holding
// its resources).
type volFramework struct {
	t      *testing.T
	ctx    context.Context
	cl     *client.Client
	info   mesos.FrameworkInfo
	offers chan mesos.Offer
	events chan *scheduler.Event
	// valid reports whether an offer is still outstanding (not rescinded
	// by an agent's restart meanwhile).
	valid func(id string) bool
}

func (f *volFramework) subscribe() {
	f.t.Helper()
	if id := f.cl.FrameworkID(); id != "" {
		f.info.ID = &mesos.FrameworkID{Value: id} // a resubscription
	}
	call := client.SubscribeCall(&f.info)
	call.FrameworkID = f.info.ID
	sub, err := f.cl.Subscribe(f.ctx, call)
	if err != nil {
		f.t.Fatal(err)
	}
	offers, events := make(chan mesos.Offer, 64), make(chan *scheduler.Event, 256)
	f.offers, f.events = offers, events
	go func() {
		defer sub.Close()
		defer close(events)
		for {
			ev, err := sub.Next()
			if err != nil {
				return
			}
			if ev.Type == scheduler.EventOffers {
				for _, o := range ev.Offers.Offers {
					offers <- o
				}
				continue
			}
			events <- ev
		}
	}()
}

// offer returns the next offer that holds want, declining (for no time)
// those that do not: they come back with whatever was missing.
func (f *volFramework) offer(want mesos.Resources) mesos.Offer {
	f.t.Helper()
	for {
		select {
		case o := <-f.offers:
			if !f.valid(o.ID.Value) {
				continue
			}
			if mesos.Resources(o.Resources).Contains(want.Allocate("db")) {
				return o
			}
			f.call(client.DeclineCall(client.Filters(0), o.ID))
		case <-f.ctx.Done():
			f.t.Fatalf("no offer of %s before the deadline", want)
		}
	}
}

func (f *volFramework) next(typ string) *scheduler.Event {
	f.t.Helper()
	for {
		select {
		case ev, ok := <-f.events:
			if !ok {
				f.t.Fatalf("stream ended while waiting for %s", typ)
			}
			if ev.Type == typ {
				return ev
			}
		case <-f.ctx.Done():
			f.t.Fatalf("no %s before the deadline", typ)
		}
	}
}

func (f *volFramework) call(c *scheduler.Call) {
	f.t.Helper()
	if err := f.cl.Call(f.ctx, c); err != nil {
		f.t.Fatalf("%s: %v", c.Type, err)
	}
}

// operations accepts an offer with ops (each with an id) and waits for,
// and acknowledges, OPERATION_FINISHED of each.
func (f *volFramework) operations(o mesos.Offer, ops ...mesos.OfferOperation) {
	f.t.Helper()
	f.call(client.AcceptCall([]mesos.OfferID{o.ID}, ops, client.Filters(0)))
	for range ops {
		st := f.next(scheduler.EventUpdateOperationStatus).UpdateOperationStatus.Status
		if st.State != mesos.OperationFinished || st.UUID == nil {
			f.t.Fatalf("operation %s: %s %q", st.OperationID.Value, st.State, st.Message)
		}
		f.call(&scheduler.Call{Type: scheduler.CallAcknowledgeOperationStatus, AcknowledgeOperationStatus: &scheduler.AcknowledgeOperationStatus{
			AgentID: st.AgentID, UUID: st.UUID.Value, OperationID: st.OperationID}})
	}
}

// run launches a task on the offer and returns its first terminal state,
// acknowledging every update; killWhen, when set, kills it once it runs
// and killWhen returns (it waits for what the task is to do first).
func (f *volFramework) run(o mesos.Offer, id, cmd string, res mesos.Resources, killWhen func()) mesos.TaskStatus {
	f.t.Helper()
	task := mesos.TaskInfo{Name: id, TaskID: mesos.TaskID{Value: id}, AgentID: o.AgentID, Resources: res,
		Command: &mesos.CommandInfo{Value: cmd}}
	f.call(client.AcceptCall([]mesos.OfferID{o.ID}, []mesos.OfferOperation{client.LaunchOp(task)}, client.Filters(0)))
	for {
		st := f.next(scheduler.EventUpdate).Update.Status
		if len(st.UUID) > 0 {
			f.call(client.AcknowledgeCall(&st))
		}
		if st.State == mesos.TaskRunning && killWhen != nil {
			killWhen()
			f.call(client.KillCall(id, o.AgentID.Value))
		}
		if st.State.IsTerminal() {
			return st
		}
	}
}

func volumeOps(typ, id string, rs ...mesos.Resource) mesos.OfferOperation {
	op := mesos.OfferOperation{Type: typ, ID: &mesos.OperationID{Value: id}}
	list := []mesos.Resource(rs)
	switch typ {
	case mesos.OperationReserve:
		op.Reserve = &struct {
			Resources []mesos.Resource `json:"resources,omitempty"`
		}{Resources: list}
	case mesos.OperationUnreserve:
		op.Unreserve = &struct {
			Resources []mesos.Resource `json:"resources,omitempty"`
		}{Resources: list}
	case mesos.OperationCreate:
		op.Create = &struct {
			Volumes []mesos.Resource `json:"volumes,omitempty"`
		}{Volumes: list}
	case mesos.OperationDestroy:
		op.Destroy = &struct {
			Volumes []mesos.Resource `json:"volumes,omitempty"`
		}{Volumes: list}
	}
	return op
}

// startVolumeAgent runs a real agent on workDir until the returned stop
// is called: under posix isolation volumes are linked into the sandbox,
// under linux isolation bind-mounted.
func startVolumeAgent(t *testing.T, servers []string, workDir, isolation string) (stop func()) {
	t.Helper()
	cfg := agent.DefaultConfig()
	if isolation == executor.IsolationLinux {
		cfg.Isolation, cfg.AllowRootTasks = executor.IsolationLinux, true
	}
	cfg.Servers = servers
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.WorkDir = workDir
	cfg.Hostname = "vol-agent"
	cfg.Resources = "cpus:2;mem:1024;disk:1000;ports:[31000-31100]"
	cfg.ExecutorCommand = []string{meshBin, "executor"}
	cfg.KillTasksOnShutdown = true
	cfg.Logger = hclog.New(&hclog.LoggerOptions{Name: "agent", Level: hclog.Warn})
	ag, err := agent.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ag.Run(ctx) }()
	stopped := false
	stop = func() {
		if !stopped {
			stopped = true
			cancel()
			<-done
		}
	}
	t.Cleanup(stop)
	return stop
}

// TestVolumes_ReserveCreateWriteReadAcrossRestartsAndFailovers is the
// whole story on a 3-server cluster with a real agent: RESERVE then
// CREATE a volume; the leader is killed; a task writes a file to the
// volume and is killed; a second task on the same volume reads the file;
// the agent restarts and the volume is still there, with the file;
// DESTROY and UNRESERVE give the resources back,
// unreserved, and the volume's directory goes away. Every server ends
// with the same state.
func TestVolumes_ReserveCreateWriteReadAcrossRestartsAndFailovers(t *testing.T) {
	t.Run("posix", func(t *testing.T) { volumeStory(t, executor.IsolationPosix) })
	t.Run("linux", func(t *testing.T) {
		if iso, why := executor.DefaultIsolation(); iso != executor.IsolationLinux {
			t.Skipf("linux isolation not available: %s", why)
		}
		volumeStory(t, executor.IsolationLinux)
	})
}

func volumeStory(t *testing.T, isolation string) {
	c := servertest.NewCluster(t, 3, func(cfg *server.Config) { cfg.AllocationInterval = 50 * time.Millisecond })
	var addrs []string
	for _, s := range c.Servers {
		addrs = append(addrs, s.HTTPAddr())
	}
	workDir := t.TempDir()
	stopAgent := startVolumeAgent(t, addrs, workDir, isolation)

	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	f := &volFramework{t: t, ctx: ctx, cl: client.New(client.Config{Masters: addrs}),
		info: mesos.FrameworkInfo{User: "root", Name: "volumes", Roles: []string{"db"}, Principal: "ops",
			FailoverTimeout: ptr(3600.0), Capabilities: []mesos.FrameworkCapability{{Type: mesos.CapabilityMultiRole}}},
		valid: func(id string) bool { return c.Servers[c.WaitLeader()].FSM().State().Offer(id) != nil }}
	f.subscribe()

	reserved := func(r mesos.Resource) mesos.Resource {
		r.Reservations = []mesos.ReservationInfo{{Type: mesos.ReservationDynamic, Role: "db", Principal: "ops"}}
		return r
	}
	disk, cpu := reserved(mesos.ScalarResource("disk", 200)), reserved(mesos.ScalarResource("cpus", 1))
	vol := disk.Clone()
	vol.Disk = &mesos.DiskInfo{Volume: &mesos.Volume{Mode: mesos.VolumeModeRW, ContainerPath: "data"}}
	vol.Disk.Persistence = &struct {
		ID        string `json:"id"`
		Principal string `json:"principal,omitempty"`
	}{ID: "v1", Principal: "ops"}
	volDir := filepath.Join(workDir, "volumes", "roles", "db", "v1")

	f.operations(f.offer(mesos.Resources{mesos.ScalarResource("disk", 200)}),
		volumeOps(mesos.OperationReserve, "reserve", disk, cpu), volumeOps(mesos.OperationCreate, "create", vol))
	servertest.WaitFor(t, 10*time.Second, "the agent to make the volume", func() bool {
		fi, err := os.Stat(volDir)
		return err == nil && fi.IsDir()
	})

	killLeader := func() {
		t.Helper()
		old := c.WaitLeader()
		c.Stop(old)
		servertest.WaitFor(t, 30*time.Second, "a new leader", func() bool {
			for i, s := range c.Servers {
				if i != old && s.IsLeader() {
					return true
				}
			}
			return false
		})
		f.subscribe()
	}
	killLeader()

	uses := mesos.Resources{cpu, vol, mesos.ScalarResource("mem", 32)}
	st := f.run(f.offer(mesos.Resources{cpu, vol}), "writer", `echo hello > "$MESOS_SANDBOX/data/f" && sleep 1000`, uses, func() {
		servertest.WaitFor(t, 30*time.Second, "the writer to write", func() bool {
			b, _ := os.ReadFile(filepath.Join(volDir, "f"))
			return string(b) == "hello\n"
		})
	})
	if st.State != mesos.TaskKilled {
		t.Fatalf("writer: %s %q", st.State, st.Message)
	}
	if b, err := os.ReadFile(filepath.Join(volDir, "f")); err != nil || string(b) != "hello\n" {
		t.Fatalf("the volume holds %q (%v) after the writer", b, err)
	}
	read := `test "$(cat "$MESOS_SANDBOX/data/f")" = hello`
	if st := f.run(f.offer(mesos.Resources{cpu, vol}), "reader", read, uses, nil); st.State != mesos.TaskFinished {
		t.Fatalf("reader: %s %q", st.State, st.Message)
	}

	stopAgent()
	stopAgent = startVolumeAgent(t, addrs, workDir, isolation)
	if st := f.run(f.offer(mesos.Resources{cpu, vol}), "reader-after-restart", read, uses, nil); st.State != mesos.TaskFinished {
		t.Fatalf("reader after the agent restarted: %s %q", st.State, st.Message)
	}

	f.operations(f.offer(mesos.Resources{cpu, vol}),
		volumeOps(mesos.OperationDestroy, "destroy", vol), volumeOps(mesos.OperationUnreserve, "unreserve", disk, cpu))
	servertest.WaitFor(t, 10*time.Second, "the agent to remove the volume", func() bool {
		_, err := os.Stat(volDir)
		return os.IsNotExist(err)
	})
	o := f.offer(mesos.Resources{mesos.ScalarResource("cpus", 2), mesos.ScalarResource("disk", 1000)})
	for _, r := range o.Resources {
		if r.IsReserved() || r.IsPersistentVolume() {
			t.Fatalf("offer after DESTROY and UNRESERVE still has %s", mesos.Resources{r})
		}
	}
	stopAgent()
	c.CheckConsistent()
}

func ptr[T any](v T) *T { return &v }
