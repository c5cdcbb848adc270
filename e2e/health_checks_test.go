package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"mesh/executor"
	"mesh/mesos"
	"mesh/mesos/codec"
	"mesh/mesos/scheduler"
	"mesh/mesos/scheduler/client"
)

// TestHealthChecks_PosixAgent runs the health check, check and
// max_completion_time scenario through a real server and a real
// `mesh agent -isolation posix`, the framework speaking protobuf.
func TestHealthChecks_PosixAgent(t *testing.T) {
	healthChecks(t, executor.IsolationPosix, codec.Protobuf)
}

// TestHealthChecks_LinuxAgent is the same scenario in linux containers
// (the executor in the container's namespaces; no network namespace, so
// 127.0.0.1 is the task's), the framework speaking JSON.
func TestHealthChecks_LinuxAgent(t *testing.T) {
	if iso, why := executor.DefaultIsolation(); iso != executor.IsolationLinux {
		t.Skipf("linux isolation unavailable here (%s); this test runs in CI as root", why)
	}
	healthChecks(t, executor.IsolationLinux, codec.JSON)
}

// checksFramework launches tasks and records each task's updates,
// acknowledging them.
type checksFramework struct {
	t       *testing.T
	cl      *client.Client
	ctx     context.Context
	events  chan *scheduler.Event
	updates map[string][]mesos.TaskStatus
}

// await handles events until cond holds for the updates of task id.
func (f *checksFramework) await(id, what string, cond func([]mesos.TaskStatus) bool) []mesos.TaskStatus {
	f.t.Helper()
	deadline := time.NewTimer(60 * time.Second)
	defer deadline.Stop()
	for !cond(f.updates[id]) {
		select {
		case ev, ok := <-f.events:
			if !ok {
				f.t.Fatalf("event stream ended waiting for %s of task %s", what, id)
			}
			if ev.Type != scheduler.EventUpdate {
				continue
			}
			st := ev.Update.Status
			f.updates[st.TaskID.Value] = append(f.updates[st.TaskID.Value], st)
			if len(st.UUID) > 0 {
				if err := f.cl.Call(f.ctx, client.AcknowledgeCall(&st)); err != nil {
					f.t.Fatalf("acknowledge: %v", err)
				}
			}
		case <-deadline.C:
			f.t.Fatalf("no %s of task %s within 60s; its updates: %s", what, id, describeUpdates(f.updates[id]))
		}
	}
	return f.updates[id]
}

func describeUpdates(us []mesos.TaskStatus) string {
	var b strings.Builder
	for _, u := range us {
		fmt.Fprintf(&b, "\n  %s %s healthy=%v check=%v %q", u.State, u.Reason, ptrString(u.Healthy), u.CheckStatus != nil, u.Message)
	}
	return b.String()
}

func ptrString[T any](p *T) string {
	if p == nil {
		return "-"
	}
	return fmt.Sprint(*p)
}

func terminal(us []mesos.TaskStatus) bool { return len(us) > 0 && us[len(us)-1].State.IsTerminal() }

// withHealth reports whether some update is a health update saying healthy.
func withHealth(healthy bool) func([]mesos.TaskStatus) bool {
	return func(us []mesos.TaskStatus) bool {
		for _, u := range us {
			if u.State == mesos.TaskRunning && u.Reason == mesos.ReasonTaskHealthCheckStatusUpdated && u.Healthy != nil && *u.Healthy == healthy {
				return true
			}
		}
		return false
	}
}

func healthChecks(t *testing.T, isolation, encoding string) {
	busybox, _ := exec.LookPath("busybox")
	c := newCluster(t, 1)
	c.startAll()
	start(t, "agent", "-allow-root-tasks", "-isolation", isolation, "-join", c.addrs(), "-http-addr", freePort(t),
		"-work-dir", t.TempDir(), "-resources", "cpus:2;mem:1024;disk:1000;ports:[31000-31100]", "-kill-tasks-on-shutdown")
	leader := c.waitStable(30 * time.Second).httpAddr
	waitAgents(t, leader, 1)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cl := client.New(client.Config{Masters: strings.Split(c.addrs(), ","), Encoding: encoding})
	info := mesos.FrameworkInfo{User: "root", Name: "checks",
		Capabilities: []mesos.FrameworkCapability{{Type: mesos.CapabilityTaskKillingState}}}
	sub, err := cl.Subscribe(ctx, client.SubscribeCall(&info))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	f := &checksFramework{t: t, cl: cl, ctx: ctx, events: make(chan *scheduler.Event, 256), updates: map[string][]mesos.TaskStatus{}}
	go func() {
		defer close(f.events)
		for {
			ev, err := sub.Next()
			if err != nil {
				return
			}
			f.events <- ev
		}
	}()
	var offer mesos.Offer
	for offer.ID.Value == "" {
		select {
		case ev := <-f.events:
			if ev != nil && ev.Type == scheduler.EventOffers {
				offer = ev.Offers.Offers[0]
			}
		case <-ctx.Done():
			t.Fatal("no offer")
		}
	}

	// A grace period long enough for the task to get ready: failures
	// before the first success do not count.
	zero, fast, timeout, grace := 0.0, 0.2, 10.0, 120.0
	marker := fmt.Sprintf("mesh-checks-%d", time.Now().UnixNano())
	task := func(id, cmd string) mesos.TaskInfo {
		return mesos.TaskInfo{Name: id, TaskID: mesos.TaskID{Value: id}, AgentID: offer.AgentID,
			Resources:  []mesos.Resource{mesos.ScalarResource("cpus", 0.1), mesos.ScalarResource("mem", 32)},
			Command:    &mesos.CommandInfo{Value: cmd},
			KillPolicy: &mesos.KillPolicy{GracePeriod: &mesos.DurationInfo{Nanoseconds: int64(time.Second)}}}
	}
	three, one := uint32(3), uint32(1)
	path := "/health"

	// An HTTP health check of a port nothing listens on.
	httpTask := task("http", "sleep 120")
	httpTask.HealthCheck = &mesos.HealthCheck{Type: mesos.CheckTypeHTTP,
		HTTP:         &mesos.HTTPCheckInfo{Port: uint32(portNumber(t, freePort(t))), Path: &path},
		DelaySeconds: &zero, IntervalSeconds: &fast, TimeoutSeconds: &timeout, GracePeriodSeconds: &zero, ConsecutiveFailures: &three}
	// A COMMAND health check of a file in the sandbox the task deletes on
	// SIGUSR1.
	cmdTask := task("command", "touch ok; trap 'rm -f ok' USR1; : "+marker+"-command; while true; do sleep 0.05; done")
	cmdTask.HealthCheck = &mesos.HealthCheck{Type: mesos.CheckTypeCommand, Command: &mesos.CommandInfo{Value: "test -f ok"},
		DelaySeconds: &zero, IntervalSeconds: &fast, TimeoutSeconds: &timeout, GracePeriodSeconds: &grace, ConsecutiveFailures: &one}
	// A general check of the same kind: reported, never acted on.
	checkTask := task("check", "touch ok; trap 'rm -f ok' USR1; : "+marker+"-check; while true; do sleep 0.05; done")
	checkTask.Check = &mesos.CheckInfo{Type: mesos.CheckTypeCommand, Command: &mesos.CheckCommand{Command: mesos.CommandInfo{Value: "test -f ok"}},
		DelaySeconds: &zero, IntervalSeconds: &fast, TimeoutSeconds: &timeout}
	// A task that would run two minutes, with one second to complete.
	maxTask := task("max", "sleep 120")
	maxTask.MaxCompletionTime = &mesos.DurationInfo{Nanoseconds: int64(time.Second)}
	tasks := []mesos.TaskInfo{httpTask, cmdTask, checkTask, maxTask}
	// A TCP health check of a listener in the task (busybox httpd).
	tcpPort := 0
	if busybox != "" {
		tcpPort = portNumber(t, freePort(t))
		tcpTask := task("tcp", fmt.Sprintf("%s httpd -f -p 127.0.0.1:%d -h . & while true; do sleep 0.05; done", busybox, tcpPort))
		tcpTask.HealthCheck = &mesos.HealthCheck{Type: mesos.CheckTypeTCP, TCP: &mesos.TCPCheckInfo{Port: uint32(tcpPort)},
			DelaySeconds: &zero, IntervalSeconds: &fast, TimeoutSeconds: &timeout, GracePeriodSeconds: &grace, ConsecutiveFailures: &one}
		tasks = append(tasks, tcpTask)
	} else {
		t.Log("busybox is not installed (make deps installs it): the TCP health check's listener is left out")
	}
	launched := time.Now()
	if err := cl.Call(ctx, client.AcceptCall([]mesos.OfferID{offer.ID}, []mesos.OfferOperation{client.LaunchOp(tasks...)}, nil)); err != nil {
		t.Fatal(err)
	}

	// max_completion_time: TASK_FAILED with the reason, long before the
	// task's own end, without TASK_KILLING.
	us := f.await("max", "the end", terminal)
	end := us[len(us)-1]
	if end.State != mesos.TaskFailed || end.Reason != mesos.ReasonMaxCompletionTimeReached {
		t.Errorf("max: ended %s %s %q, want TASK_FAILED REASON_MAX_COMPLETION_TIME_REACHED", end.State, end.Reason, end.Message)
	}
	if took := time.Since(launched); took > 90*time.Second {
		t.Errorf("max: ended after %s", took)
	} else {
		t.Logf("max: TASK_FAILED %s after the ACCEPT (max_completion_time 1s, the task's own end 120s)", took.Round(time.Millisecond))
	}
	for _, u := range us {
		if u.State == mesos.TaskKilling {
			t.Errorf("max: TASK_KILLING sent for a max_completion_time kill")
		}
	}

	// HTTP on a closed port: three unhealthy updates, then the kill.
	us = f.await("http", "the end", terminal)
	unhealthy := 0
	for _, u := range us {
		if u.State == mesos.TaskRunning && u.Reason == mesos.ReasonTaskHealthCheckStatusUpdated {
			if u.Healthy == nil || *u.Healthy {
				t.Errorf("http: health update %+v", u)
			}
			unhealthy++
		}
	}
	end = us[len(us)-1]
	if unhealthy != 3 || end.State != mesos.TaskKilled || end.Healthy == nil || *end.Healthy {
		t.Errorf("http: %d unhealthy updates, then %s healthy=%s; want 3, then TASK_KILLED healthy=false:%s",
			unhealthy, end.State, ptrString(end.Healthy), describeUpdates(us))
	}
	if us[len(us)-2].State != mesos.TaskKilling {
		t.Errorf("http: no TASK_KILLING before the end:%s", describeUpdates(us))
	}

	// COMMAND: healthy, then unhealthy once the task deleted the file.
	f.await("command", "healthy", withHealth(true))
	signalTask(t, marker+"-command", syscall.SIGUSR1)
	us = f.await("command", "the end", terminal)
	if !withHealth(false)(us) || us[len(us)-1].State != mesos.TaskKilled {
		t.Errorf("command: healthy then unhealthy then TASK_KILLED expected:%s", describeUpdates(us))
	}

	// TCP: healthy, then unhealthy once the listener is gone.
	if tcpPort != 0 {
		f.await("tcp", "healthy", withHealth(true))
		signalTask(t, fmt.Sprintf("httpd -f -p 127.0.0.1:%d", tcpPort), syscall.SIGKILL)
		us = f.await("tcp", "the end", terminal)
		if !withHealth(false)(us) || us[len(us)-1].State != mesos.TaskKilled {
			t.Errorf("tcp: healthy then unhealthy then TASK_KILLED expected:%s", describeUpdates(us))
		}
	}

	// A check: exit code 0, then 1, and the task keeps running until the
	// framework kills it.
	exitCode := func(code int32) func([]mesos.TaskStatus) bool {
		return func(us []mesos.TaskStatus) bool {
			for _, u := range us {
				if u.Reason == mesos.ReasonTaskCheckStatusUpdated && u.CheckStatus != nil && u.CheckStatus.Command != nil &&
					u.CheckStatus.Command.ExitCode != nil && *u.CheckStatus.Command.ExitCode == code {
					return true
				}
			}
			return false
		}
	}
	f.await("check", "check status 0", exitCode(0))
	signalTask(t, marker+"-check", syscall.SIGUSR1)
	us = f.await("check", "check status 1", exitCode(1))
	if terminal(us) {
		t.Fatalf("check: a failing check ended the task:%s", describeUpdates(us))
	}
	if err := cl.Call(ctx, &scheduler.Call{Type: scheduler.CallKill, Kill: &scheduler.Kill{TaskID: &mesos.TaskID{Value: "check"}, AgentID: &offer.AgentID}}); err != nil {
		t.Fatal(err)
	}
	us = f.await("check", "the end", terminal)
	for _, u := range us {
		if u.CheckStatus == nil || u.CheckStatus.Type != mesos.CheckTypeCommand {
			t.Errorf("check: a %s update without check_status", u.State)
		}
	}
	if end := us[len(us)-1]; end.State != mesos.TaskKilled || end.Healthy != nil {
		t.Errorf("check: ended %s healthy=%s", end.State, ptrString(end.Healthy))
	}

	// The leader's /state keeps the health of the http task's updates.
	var state struct {
		Frameworks []struct {
			CompletedTasks []struct {
				ID       string `json:"id"`
				Statuses []struct {
					State   string `json:"state"`
					Healthy *bool  `json:"healthy"`
				} `json:"statuses"`
			} `json:"completed_tasks"`
		} `json:"frameworks"`
	}
	waitFor(t, 20*time.Second, "the http task's health in /state", func() bool {
		if getJSON(leader, "/state", &state) != nil {
			return false
		}
		for _, fw := range state.Frameworks {
			for _, tk := range fw.CompletedTasks {
				if tk.ID != "http" {
					continue
				}
				n := 0
				for _, s := range tk.Statuses {
					if s.Healthy != nil && !*s.Healthy {
						n++
					}
				}
				return n == 4 // three TASK_RUNNING, the TASK_KILLED
			}
		}
		return false
	})
}

// portNumber is the port of a host:port address.
func portNumber(t *testing.T, addr string) int {
	t.Helper()
	i := strings.LastIndexByte(addr, ':')
	p, err := strconv.Atoi(addr[i+1:])
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// signalTask sends sig to the processes of the test's tasks whose command
// line contains marker (for an httpd marker: the httpd itself, not the
// task's shell whose command holds the same words).
func signalTask(t *testing.T, marker string, sig syscall.Signal) {
	t.Helper()
	var pids []int
	waitFor(t, 20*time.Second, "a process of "+marker, func() bool {
		pids = pids[:0]
		dirs, _ := filepath.Glob("/proc/[0-9]*")
		for _, d := range dirs {
			b, err := os.ReadFile(filepath.Join(d, "cmdline"))
			if err != nil || len(b) == 0 {
				continue
			}
			argv := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
			line := strings.Join(argv, " ")
			if !strings.Contains(line, marker) {
				continue
			}
			// The shell running the tcp task holds the httpd command in
			// its -c argument: only the httpd itself is meant.
			if strings.HasPrefix(marker, "httpd") && (len(argv) < 2 || argv[1] != "httpd") {
				continue
			}
			if pid, err := strconv.Atoi(filepath.Base(d)); err == nil && pid != os.Getpid() {
				pids = append(pids, pid)
			}
		}
		return len(pids) > 0
	})
	for _, pid := range pids {
		if err := syscall.Kill(pid, sig); err != nil {
			t.Logf("signal %d: %v", pid, err)
		}
	}
}
