package executor

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"mesh/mesos"
	execapi "mesh/mesos/executor"
	"mesh/mesos/recordio"
	"mesh/tlsutil"
)

// fakeAgent serves the executor API for one executor: it records
// subscriptions and updates and acknowledges updates unless told not to.
type fakeAgent struct {
	t   *testing.T
	srv *httptest.Server

	mu         sync.Mutex
	subscribes []execapi.Call
	updates    []mesos.TaskStatus
	stream     chan execapi.Event
	end        chan struct{}
	launch     *mesos.TaskInfo // sent after SUBSCRIBED on the first subscription
	fwInfo     mesos.FrameworkInfo
	noAck      map[mesos.TaskState]bool
}

func newFakeAgent(t *testing.T, task *mesos.TaskInfo) *fakeAgent {
	f := &fakeAgent{t: t, launch: task, noAck: map[mesos.TaskState]bool{},
		fwInfo: mesos.FrameworkInfo{User: "u", Name: "n", ID: &mesos.FrameworkID{Value: "fw"}}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.handle))
	t.Cleanup(func() {
		f.dropStream()
		f.srv.CloseClientConnections()
		f.srv.Close()
	})
	return f
}

func (f *fakeAgent) handle(w http.ResponseWriter, r *http.Request) {
	var call execapi.Call
	if err := json.NewDecoder(r.Body).Decode(&call); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if err := call.Validate(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	switch call.Type {
	case execapi.CallSubscribe:
		f.mu.Lock()
		first := len(f.subscribes) == 0
		f.subscribes = append(f.subscribes, call)
		if f.end != nil {
			close(f.end)
		}
		stream, end := make(chan execapi.Event, 64), make(chan struct{})
		f.stream, f.end = stream, end
		initial := []execapi.Event{{Type: execapi.EventSubscribed, Subscribed: &execapi.Subscribed{FrameworkInfo: f.fwInfo}}}
		for _, u := range call.Subscribe.UnacknowledgedUpdates {
			initial = append(initial, ackOf(*u.Status))
		}
		if first && f.launch != nil {
			initial = append(initial, execapi.Event{Type: execapi.EventLaunch, Launch: &execapi.Launch{Task: *f.launch}})
		}
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		rw := recordio.NewWriter(w)
		write := func(ev execapi.Event) bool { b, _ := json.Marshal(ev); return rw.WriteRecord(b) == nil }
		for _, ev := range initial {
			if !write(ev) {
				return
			}
		}
		for {
			select {
			case ev := <-stream:
				if !write(ev) {
					return
				}
			case <-end:
				return
			case <-r.Context().Done():
				return
			}
		}
	case execapi.CallUpdate:
		st := *call.Update.Status
		f.mu.Lock()
		f.updates = append(f.updates, st)
		ack := !f.noAck[st.State]
		stream := f.stream
		f.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
		if ack && stream != nil {
			stream <- ackOf(st)
		}
	default:
		w.WriteHeader(http.StatusAccepted)
	}
}

func ackOf(st mesos.TaskStatus) execapi.Event {
	return execapi.Event{Type: execapi.EventAcknowledged, Acknowledged: &execapi.Acknowledged{TaskID: st.TaskID, UUID: st.UUID}}
}

func (f *fakeAgent) send(ev execapi.Event) {
	var stream chan execapi.Event
	waitFor(f.t, 10*time.Second, "an executor stream", func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		stream = f.stream
		return stream != nil
	})
	stream <- ev
}

func (f *fakeAgent) dropStream() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.end != nil {
		close(f.end)
		f.end, f.stream = nil, nil
	}
}

func (f *fakeAgent) states() []mesos.TaskState {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []mesos.TaskState
	for _, u := range f.updates {
		out = append(out, u.State)
	}
	return out
}

func (f *fakeAgent) last() mesos.TaskStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.updates[len(f.updates)-1]
}

func (f *fakeAgent) waitState(t *testing.T, s mesos.TaskState) {
	t.Helper()
	waitFor(t, 10*time.Second, string(s), func() bool {
		for _, x := range f.states() {
			if x == s {
				return true
			}
		}
		return false
	})
}

// runExecutor runs the command executor in this process against f and
// returns a channel with its result.
func runExecutor(t *testing.T, f *fakeAgent, dir string, mutate func(*CommandExecutorConfig)) (<-chan error, context.CancelFunc) {
	return runExecutorWith(t, RunCommandExecutor, f, dir, mutate)
}

// runExecutorWith runs an executor (run) in this process against f and
// returns a channel with its result; it is stopped when the test ends.
func runExecutorWith(t *testing.T, run func(context.Context, CommandExecutorConfig) error, f *fakeAgent, dir string,
	mutate func(*CommandExecutorConfig)) (<-chan error, context.CancelFunc) {
	cfg := CommandExecutorConfig{
		FrameworkID:   "fw",
		ExecutorID:    "e1",
		AgentEndpoint: f.srv.Listener.Addr().String(),
		Directory:     dir,
		Checkpoint:    true,
		Logger:        testLogger(t),
	}
	if mutate != nil {
		mutate(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done, finished := make(chan error, 1), make(chan struct{})
	go func() {
		defer close(finished)
		done <- run(ctx, cfg)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-finished:
		case <-time.After(20 * time.Second):
			t.Error("executor did not stop")
		}
	})
	return done, cancel
}

func waitDone(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(20 * time.Second):
		t.Fatal("executor did not finish")
		return nil
	}
}

func checkStates(t *testing.T, got []mesos.TaskState, want ...mesos.TaskState) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("updates %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("updates %v, want %v", got, want)
		}
	}
}

func TestCommandExecutor_RunsArgvCommandWithItsEnvironment(t *testing.T) {
	dir := t.TempDir()
	shell := false
	task := &mesos.TaskInfo{Name: "t", TaskID: mesos.TaskID{Value: "t1"}, Command: &mesos.CommandInfo{
		Shell: &shell, Value: "/bin/sh",
		Arguments:   []string{"sh", "-c", `echo "$FOO $MESOS_SANDBOX $0" > out`},
		Environment: &mesos.Environment{Variables: []mesos.EnvironmentVariable{{Name: "FOO", Value: "bar"}}},
	}}
	f := newFakeAgent(t, task)
	done, _ := runExecutor(t, f, dir, nil)
	if err := waitDone(t, done); err != nil {
		t.Fatalf("executor: %v", err)
	}
	checkStates(t, f.states(), mesos.TaskStarting, mesos.TaskRunning, mesos.TaskFinished)
	for _, u := range f.updates {
		if u.Source != mesos.SourceExecutor || len(u.UUID) != 16 || u.ExecutorID == nil || u.ExecutorID.Value != "e1" || u.Timestamp == 0 {
			t.Errorf("update %+v lacks a field", u)
		}
	}
	if got := readFile(t, filepath.Join(dir, "out")); got != "bar "+dir+" sh\n" {
		t.Errorf("task wrote %q", got)
	}
	te, err := ReadTaskExit(dir)
	if err != nil || te.ExitCode != 0 || te.State != mesos.TaskFinished || te.TaskID != "t1" || te.Pid == 0 {
		t.Errorf("exit status file %+v, %v", te, err)
	}
}

// A secret given by value reaches the task as its variable, as Mesos'
// default secret resolver does; one given by reference fails the task,
// naming the variable.
func TestCommandExecutor_SecretEnvironmentVariables(t *testing.T) {
	byValue := mesos.EnvironmentVariable{Name: "PW", Type: "SECRET", Secret: json.RawMessage(`{"type":"VALUE","value":{"data":"aHVudGVyMg=="}}`)}
	task := &mesos.TaskInfo{Name: "t", TaskID: mesos.TaskID{Value: "t1"}, Command: &mesos.CommandInfo{
		Value: `echo "$PW" > out`, Environment: &mesos.Environment{Variables: []mesos.EnvironmentVariable{byValue}}}}
	f := newFakeAgent(t, task)
	dir := t.TempDir()
	done, _ := runExecutor(t, f, dir, nil)
	if err := waitDone(t, done); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(dir, "out")); got != "hunter2\n" {
		t.Errorf("task saw PW=%q", got)
	}

	byRef := mesos.EnvironmentVariable{Name: "PW", Type: "SECRET", Secret: json.RawMessage(`{"type":"REFERENCE","reference":{"name":"/db/pw"}}`)}
	task = &mesos.TaskInfo{Name: "t", TaskID: mesos.TaskID{Value: "t2"}, Command: &mesos.CommandInfo{
		Value: "true", Environment: &mesos.Environment{Variables: []mesos.EnvironmentVariable{byRef}}}}
	g := newFakeAgent(t, task)
	done, _ = runExecutor(t, g, t.TempDir(), nil)
	if err := waitDone(t, done); err != nil {
		t.Fatal(err)
	}
	if st := g.last(); st.State != mesos.TaskFailed || !strings.Contains(st.Message, "variable PW") || !strings.Contains(st.Message, "secret resolver") {
		t.Errorf("last update %+v", st)
	}
}

func TestCommandExecutor_ReportsFailureAndLaunchErrors(t *testing.T) {
	f := newFakeAgent(t, &mesos.TaskInfo{Name: "t", TaskID: mesos.TaskID{Value: "t1"}, Command: &mesos.CommandInfo{Value: "exit 4"}})
	dir := t.TempDir()
	done, _ := runExecutor(t, f, dir, nil)
	if err := waitDone(t, done); err != nil {
		t.Fatal(err)
	}
	if st := f.last(); st.State != mesos.TaskFailed || st.Message != "Command exited with status 4" {
		t.Errorf("last update %+v", st)
	}
	if te, _ := ReadTaskExit(dir); te.ExitCode != 4 {
		t.Errorf("exit status file %+v", te)
	}

	shell := false
	g := newFakeAgent(t, &mesos.TaskInfo{Name: "t", TaskID: mesos.TaskID{Value: "t2"}, Command: &mesos.CommandInfo{Shell: &shell, Value: "/no/such/program"}})
	done, _ = runExecutor(t, g, t.TempDir(), nil)
	if err := waitDone(t, done); err != nil {
		t.Fatal(err)
	}
	if st := g.last(); st.State != mesos.TaskFailed || !strings.Contains(st.Message, "Failed to launch task") || !strings.Contains(st.Message, "/no/such/program") {
		t.Errorf("last update %+v", st)
	}
}

func TestCommandExecutor_KillEscalatesAfterGracePeriod(t *testing.T) {
	task := &mesos.TaskInfo{Name: "t", TaskID: mesos.TaskID{Value: "t1"},
		Command: &mesos.CommandInfo{Value: `trap 'echo term >> got' TERM; echo ready > ready; while true; do sleep 0.05; done`}}
	f := newFakeAgent(t, task)
	f.fwInfo.Capabilities = []mesos.FrameworkCapability{{Type: mesos.CapabilityTaskKillingState}}
	dir := t.TempDir()
	done, _ := runExecutor(t, f, dir, nil)
	f.waitState(t, mesos.TaskRunning)
	waitFor(t, 5*time.Second, "the task's trap", func() bool { return readFile(t, filepath.Join(dir, "ready")) != "" })
	f.send(execapi.Event{Type: execapi.EventKill, Kill: &execapi.Kill{TaskID: task.TaskID,
		KillPolicy: &mesos.KillPolicy{GracePeriod: &mesos.DurationInfo{Nanoseconds: int64(200 * time.Millisecond)}}}})
	if err := waitDone(t, done); err != nil {
		t.Fatal(err)
	}
	checkStates(t, f.states(), mesos.TaskStarting, mesos.TaskRunning, mesos.TaskKilling, mesos.TaskKilled)
	if st := f.last(); st.Message != "Command terminated with signal SIGKILL" {
		t.Errorf("TASK_KILLED message %q", st.Message)
	}
	waitFor(t, 5*time.Second, "the trap's note", func() bool { return strings.Contains(readFile(t, filepath.Join(dir, "got")), "term") })
}

func TestCommandExecutor_ResubscribesWithUnacknowledgedUpdates(t *testing.T) {
	task := &mesos.TaskInfo{Name: "t", TaskID: mesos.TaskID{Value: "t1"}, Command: &mesos.CommandInfo{Value: "sleep 0.3"}}
	f := newFakeAgent(t, task)
	f.noAck[mesos.TaskRunning] = true
	done, _ := runExecutor(t, f, t.TempDir(), nil)
	f.waitState(t, mesos.TaskRunning)
	// The agent goes away before acknowledging TASK_RUNNING and comes
	// back acknowledging everything.
	f.mu.Lock()
	f.noAck = map[mesos.TaskState]bool{}
	f.mu.Unlock()
	f.dropStream()
	if err := waitDone(t, done); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.subscribes) < 2 {
		t.Fatalf("%d subscriptions, want a resubscription", len(f.subscribes))
	}
	resub := f.subscribes[1].Subscribe
	if len(resub.UnacknowledgedUpdates) == 0 || resub.UnacknowledgedUpdates[0].Status.State != mesos.TaskRunning {
		t.Errorf("resubscription carried %+v, want the unacknowledged TASK_RUNNING", resub.UnacknowledgedUpdates)
	}
	if len(resub.UnacknowledgedTasks) != 0 {
		t.Errorf("resubscription lists tasks %+v although TASK_STARTING was acknowledged", resub.UnacknowledgedTasks)
	}
}

func TestCommandExecutor_ShutdownBeforeLaunch(t *testing.T) {
	f := newFakeAgent(t, nil)
	done, _ := runExecutor(t, f, t.TempDir(), nil)
	f.send(execapi.Event{Type: execapi.EventShutdown})
	if err := waitDone(t, done); err != nil {
		t.Fatal(err)
	}
}

func TestCommandExecutor_GivesUpWhenTheAgentStaysAway(t *testing.T) {
	f := newFakeAgent(t, nil)
	f.srv.Close()
	done, _ := runExecutor(t, f, t.TempDir(), func(c *CommandExecutorConfig) {
		c.RecoveryTimeout = 300 * time.Millisecond
		c.SubscriptionBackoffMax = 50 * time.Millisecond
	})
	if err := waitDone(t, done); err == nil || !strings.Contains(err.Error(), "recovery timeout") {
		t.Errorf("err = %v", err)
	}
}

// Told to stop (SIGTERM) while the agent is away, the executor kills the
// task, records its end in the sandbox for the agent to read, and exits
// without waiting for an acknowledgement no agent will send.
func TestCommandExecutor_StopsWithoutTheAgent(t *testing.T) {
	f := newFakeAgent(t, &mesos.TaskInfo{Name: "t", TaskID: mesos.TaskID{Value: "t1"}, Command: &mesos.CommandInfo{Value: "sleep 100"}})
	dir := t.TempDir()
	done, stop := runExecutor(t, f, dir, nil)
	f.waitState(t, mesos.TaskRunning)
	f.dropStream()
	f.srv.CloseClientConnections()
	f.srv.Close()
	stop()
	if err := waitDone(t, done); err != nil {
		t.Fatalf("executor: %v", err)
	}
	te, err := ReadTaskExit(dir)
	if err != nil || te.TaskID != "t1" || !te.State.IsTerminal() {
		t.Errorf("exit status file %+v, %v", te, err)
	}
}

func TestCommandExecutorConfigFromEnv(t *testing.T) {
	env := map[string]string{
		EnvFrameworkID: "fw", EnvExecutorID: "e", EnvAgentEndpoint: "127.0.0.1:5051", EnvDirectory: "/sb",
		EnvCheckpoint: "1", EnvRecoveryTimeout: "15mins", EnvShutdownGracePeriod: "5secs", EnvContainerID: "c",
	}
	cfg, err := CommandExecutorConfigFromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Checkpoint || cfg.RecoveryTimeout != 15*time.Minute || cfg.ShutdownGracePeriod != 5*time.Second || cfg.Sandbox != "/sb" || cfg.ContainerID != "c" {
		t.Errorf("cfg = %+v", cfg)
	}
	env[EnvRecoveryTimeout] = "soon"
	if _, err := CommandExecutorConfigFromEnv(func(k string) string { return env[k] }); err == nil || !strings.Contains(err.Error(), EnvRecoveryTimeout) {
		t.Errorf("bad duration: err = %v", err)
	}
	if _, err := CommandExecutorConfigFromEnv(func(string) string { return "" }); err == nil || !strings.Contains(err.Error(), EnvAgentEndpoint) {
		t.Errorf("empty env: err = %v", err)
	}
}

// TestCommandExecutorConfigFromEnv_AgentCA: the agent's CA, when given,
// must be PEM certificates; anything else is refused naming the variable.
func TestCommandExecutorConfigFromEnv_AgentCA(t *testing.T) {
	ca, err := tlsutil.NewCA(time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{EnvFrameworkID: "fw", EnvExecutorID: "e", EnvAgentEndpoint: "127.0.0.1:5051", EnvAgentTLSCA: string(ca.PEM)}
	cfg, err := CommandExecutorConfigFromEnv(func(k string) string { return env[k] })
	if err != nil || cfg.AgentCAPEM != string(ca.PEM) {
		t.Fatalf("a PEM CA: %v", err)
	}
	if c := newAgentClient(cfg); !strings.HasPrefix(c.url, "https://") {
		t.Fatalf("with the agent's CA the executor calls %s", c.url)
	}
	env[EnvAgentTLSCA] = "not a certificate"
	if _, err := CommandExecutorConfigFromEnv(func(k string) string { return env[k] }); err == nil || !strings.Contains(err.Error(), EnvAgentTLSCA) {
		t.Fatalf("a CA that is not PEM: %v", err)
	}
}
