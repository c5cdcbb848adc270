package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hashicorp/go-hclog"

	"mesh/executor"
	"mesh/mesos"
	"mesh/mesos/agentapi"
	"mesh/mesos/recordio"
)

// envTestExecutor makes the test binary act as `mesh executor`, so the
// agent under test starts real, separate executor processes.
const envTestExecutor = "MESH_TEST_EXECUTOR"

func TestMain(m *testing.M) {
	// The linux containerizer re-executes this binary as a container's
	// init ("agent.test init").
	executor.ContainerInit()
	if err := executor.LoadDeferredEnv(); err != nil {
		fmt.Fprintln(os.Stderr, "executor:", err)
		os.Exit(2)
	}
	if os.Getenv(envTestExecutor) == "1" {
		// As `mesh executor` does.
		if err := executor.HideFromTask(); err != nil {
			fmt.Fprintln(os.Stderr, "executor:", err)
			os.Exit(2)
		}
		os.Exit(runTestExecutor())
	}
	code := m.Run()
	for _, f := range afterTests {
		f()
	}
	os.Exit(code)
}

// afterTests run once every test has: they remove what tests shared.
var afterTests []func()

func runTestExecutor() int {
	cfg, err := executor.CommandExecutorConfigFromEnv(os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "executor:", err)
		return 2
	}
	cfg.Logger = hclog.New(&hclog.LoggerOptions{Name: "test-executor", Level: hclog.Debug, Output: os.Stderr})
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	run := executor.RunCommandExecutor
	if os.Getenv(executor.EnvDefaultExecutor) == "1" {
		run = executor.RunDefaultExecutor
	}
	if err := run(ctx, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "executor:", err)
		return 1
	}
	return 0
}

// waitFor polls cond until it holds or d passes.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// testLogger logs through t until the test ends, then drops output
// (goroutines may outlive a failed test by a little).
func testLogger(t testing.TB, name string) hclog.Logger {
	w := &testLogWriter{t: t}
	t.Cleanup(func() {
		w.mu.Lock()
		w.done = true
		w.mu.Unlock()
	})
	return hclog.New(&hclog.LoggerOptions{Name: name, Level: hclog.Debug, Output: w})
}

type testLogWriter struct {
	mu   sync.Mutex
	t    testing.TB
	done bool
}

func (w *testLogWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

// delivery is one status update the fake server received.
type delivery struct {
	FrameworkID string
	Status      mesos.TaskStatus
	Acked       bool
	// At is when the fake server received it.
	At time.Time
}

// fakeServer implements the server side of agentapi: it registers the
// agent, relays commands the test sends, records UPDATE calls and
// acknowledges them (unless told to withhold).
type fakeServer struct {
	t   testing.TB
	srv *httptest.Server

	mu     sync.Mutex
	nextID int
	// capabilities are advertised in REGISTERED.
	capabilities []string
	subscribes   []agentapi.Call
	deliveries   []delivery
	stream       chan agentapi.Event // the current stream's queue
	streamEnd    chan struct{}
	term         uint64
	// withhold counts, per state, how many deliveries to leave
	// unacknowledged; -1 withholds all.
	withhold  map[mesos.TaskState]int
	updateErr int // when non-zero, UPDATE calls fail with this status
	// exits are the EXECUTOR_EXITED calls answered 200; exitCalls counts
	// every one received; the first exitFailures of them are answered 503.
	exits        []agentapi.ExecutorExited
	exitCalls    int
	exitFailures int
}

func newFakeServer(t testing.TB) *fakeServer {
	f := &fakeServer{t: t, withhold: map[mesos.TaskState]int{}, term: 1}
	f.srv = httptest.NewServer(http.HandlerFunc(f.handle))
	t.Cleanup(func() {
		f.mu.Lock()
		if f.streamEnd != nil {
			close(f.streamEnd)
			f.streamEnd = nil
		}
		f.mu.Unlock()
		f.srv.CloseClientConnections()
		f.srv.Close()
	})
	return f
}

func (f *fakeServer) addr() string { return f.srv.Listener.Addr().String() }

func (f *fakeServer) handle(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != agentapi.Path || r.Method != http.MethodPost {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	var call agentapi.Call
	if err := json.NewDecoder(r.Body).Decode(&call); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	switch call.Type {
	case agentapi.CallSubscribe:
		f.serveSubscribe(w, r, call)
	case agentapi.CallUpdate:
		f.mu.Lock()
		if f.updateErr != 0 {
			code := f.updateErr
			f.mu.Unlock()
			http.Error(w, "refused by the test", code)
			return
		}
		var acks []agentapi.Event
		for _, u := range call.Update.Updates {
			d := delivery{FrameworkID: u.FrameworkID.Value, Status: u.Status, At: time.Now()}
			if n := f.withhold[u.Status.State]; n != 0 {
				if n > 0 {
					f.withhold[u.Status.State] = n - 1
				}
			} else {
				d.Acked = true
				acks = append(acks, agentapi.Event{Type: agentapi.EventAcknowledge, Term: f.term, Acknowledge: &agentapi.Acknowledge{
					FrameworkID: u.FrameworkID, TaskID: u.Status.TaskID, UUID: u.Status.UUID,
				}})
			}
			f.deliveries = append(f.deliveries, d)
		}
		stream := f.stream
		f.mu.Unlock()
		w.WriteHeader(http.StatusOK)
		for _, a := range acks {
			if stream != nil {
				stream <- a
			}
		}
	case agentapi.CallExecutorExited:
		f.mu.Lock()
		defer f.mu.Unlock()
		f.exitCalls++
		if f.exitCalls <= f.exitFailures || call.ExecutorExited == nil {
			http.Error(w, "no leader (the test)", http.StatusServiceUnavailable)
			return
		}
		f.exits = append(f.exits, *call.ExecutorExited)
		w.WriteHeader(http.StatusOK)
	default:
		http.Error(w, "unknown call", http.StatusBadRequest)
	}
}

func (f *fakeServer) serveSubscribe(w http.ResponseWriter, r *http.Request, call agentapi.Call) {
	f.mu.Lock()
	f.subscribes = append(f.subscribes, call)
	id := ""
	if call.AgentID != nil {
		id = call.AgentID.Value
	} else if call.Subscribe.AgentInfo.ID != nil {
		id = call.Subscribe.AgentInfo.ID.Value
	}
	if id == "" {
		f.nextID++
		id = fmt.Sprintf("agent-%d", f.nextID)
	}
	if f.streamEnd != nil {
		close(f.streamEnd)
	}
	stream := make(chan agentapi.Event, 1024)
	end := make(chan struct{})
	f.stream, f.streamEnd = stream, end
	term, caps := f.term, f.capabilities
	f.mu.Unlock()

	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	rw := recordio.NewWriter(w)
	write := func(ev agentapi.Event) bool {
		b, _ := json.Marshal(ev)
		return rw.WriteRecord(b) == nil
	}
	if !write(agentapi.Event{Type: agentapi.EventRegistered, Term: term, Registered: &agentapi.Registered{
		AgentID: mesos.AgentID{Value: id}, MasterInfo: mesos.MasterInfo{ID: "fake"}, HeartbeatIntervalSeconds: 1,
		Capabilities: caps,
	}}) {
		return
	}
	defer func() {
		f.mu.Lock()
		if f.stream == stream {
			f.stream, f.streamEnd = nil, nil
		}
		f.mu.Unlock()
	}()
	hb := time.NewTicker(500 * time.Millisecond)
	defer hb.Stop()
	for {
		select {
		case ev := <-stream:
			if !write(ev) {
				return
			}
		case <-hb.C:
			if !write(agentapi.Event{Type: agentapi.EventHeartbeat}) {
				return
			}
		case <-end:
			return
		case <-r.Context().Done():
			return
		}
	}
}

// send queues a command on the current stream, waiting for one if
// needed.
func (f *fakeServer) send(ev agentapi.Event) {
	var stream chan agentapi.Event
	waitFor(f.t, 10*time.Second, "an agent stream", func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		stream = f.stream
		if ev.Term == 0 {
			ev.Term = f.term
		}
		return stream != nil
	})
	stream <- ev
}

// dropStream ends the current stream, as a server restart would.
func (f *fakeServer) dropStream() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.streamEnd != nil {
		close(f.streamEnd)
		f.streamEnd, f.stream = nil, nil
	}
}

func (f *fakeServer) launch(fw mesos.FrameworkInfo, tasks ...mesos.TaskInfo) {
	f.send(agentapi.Event{Type: agentapi.EventLaunch, Launch: &agentapi.Launch{FrameworkInfo: fw, Tasks: tasks}})
}

func (f *fakeServer) kill(fid, tid string) { f.send(killEvent(fid, tid)) }

func (f *fakeServer) setWithhold(state mesos.TaskState, n int) {
	f.mu.Lock()
	f.withhold[state] = n
	f.mu.Unlock()
}

// updatesOf returns the deliveries for one task, in arrival order.
func (f *fakeServer) updatesOf(tid string) []delivery {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []delivery
	for _, d := range f.deliveries {
		if d.Status.TaskID.Value == tid {
			out = append(out, d)
		}
	}
	return out
}

// waitState waits until an update of tid in state arrives and returns
// it.
func (f *fakeServer) waitState(t testing.TB, tid string, state mesos.TaskState) mesos.TaskStatus {
	t.Helper()
	var got mesos.TaskStatus
	waitFor(t, 20*time.Second, fmt.Sprintf("%s of task %s", state, tid), func() bool {
		for _, d := range f.updatesOf(tid) {
			if d.Status.State == state {
				got = d.Status
				return true
			}
		}
		return false
	})
	return got
}

// waitAcked waits until an update of tid in state was acknowledged.
func (f *fakeServer) waitAcked(t testing.TB, tid string, state mesos.TaskState) {
	t.Helper()
	waitFor(t, 20*time.Second, fmt.Sprintf("acknowledged %s of task %s", state, tid), func() bool {
		for _, d := range f.updatesOf(tid) {
			if d.Status.State == state && d.Acked {
				return true
			}
		}
		return false
	})
}

func (f *fakeServer) subscribeCalls() []agentapi.Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]agentapi.Call(nil), f.subscribes...)
}

// testAgent is an agent running under a test.
type testAgent struct {
	*Agent
	cancel   context.CancelFunc
	done     chan error
	stopOnce sync.Once
}

// stop ends Run and waits for it; later calls do nothing.
func (ta *testAgent) stop(t testing.TB) {
	t.Helper()
	ta.stopOnce.Do(func() {
		ta.cancel()
		select {
		case err := <-ta.done:
			if err != nil {
				t.Errorf("agent run: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("agent did not stop")
		}
	})
}

// testConfig is an agent configuration whose executors are this test
// binary (see TestMain).
func testConfig(t testing.TB, f *fakeServer) Config {
	cfg := DefaultConfig()
	cfg.Servers = []string{f.addr()}
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.WorkDir = t.TempDir()
	cfg.Hostname = "test-host"
	cfg.ExecutorCommand = []string{os.Args[0]}
	cfg.ExecutorEnv = []string{envTestExecutor + "=1"}
	cfg.StatusRetryInterval = 200 * time.Millisecond
	cfg.ExecutorRegistrationTimeout = 20 * time.Second
	cfg.ExecutorShutdownGracePeriod = 3 * time.Second
	cfg.KillTasksOnShutdown = true
	cfg.Logger = testLogger(t, "agent")
	return cfg
}

// startAgent builds and runs an agent; it is stopped at the end of the
// test.
func startAgent(t testing.TB, cfg Config) *testAgent {
	t.Helper()
	return startAgentAfter(t, cfg, nil)
}

// startAgentAfter is startAgent that calls before, if set, on the new
// agent (recovered, its listener open) before the agent runs.
func startAgentAfter(t testing.TB, cfg Config, before func(*Agent)) *testAgent {
	t.Helper()
	a, err := New(cfg)
	if err != nil {
		t.Fatalf("new agent: %v", err)
	}
	if before != nil {
		before(a)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ta := &testAgent{Agent: a, cancel: cancel, done: make(chan error, 1)}
	go func() { ta.done <- a.Run(ctx) }()
	t.Cleanup(func() { ta.stop(t) })
	return ta
}

// restartAgent starts the next agent on prev's work directory (cfg's) and
// address, one that kills its tasks when it stops so that the test leaves
// none behind, and waits for it to register.
func restartAgent(t testing.TB, cfg Config, prev *testAgent) *testAgent {
	t.Helper()
	cfg.HTTPAddr = prev.Addr()
	cfg.KillTasksOnShutdown = true
	a := startAgent(t, cfg)
	a.waitRegistered(t)
	return a
}

// waitRegistered waits for the agent to have an id.
func (ta *testAgent) waitRegistered(t testing.TB) string {
	t.Helper()
	waitFor(t, 10*time.Second, "the agent to register", func() bool { return ta.ID() != "" })
	return ta.ID()
}

func testFramework(id string, caps ...string) mesos.FrameworkInfo {
	fw := mesos.FrameworkInfo{User: currentUser(), Name: "test", ID: &mesos.FrameworkID{Value: id}}
	for _, c := range caps {
		fw.Capabilities = append(fw.Capabilities, mesos.FrameworkCapability{Type: c})
	}
	return fw
}

func currentUser() string {
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	if os.Geteuid() == 0 {
		return "root"
	}
	return ""
}

func commandTask(id, cmd string) mesos.TaskInfo {
	return mesos.TaskInfo{
		Name:      "task " + id,
		TaskID:    mesos.TaskID{Value: id},
		AgentID:   mesos.AgentID{Value: "agent-1"},
		Resources: []mesos.Resource{mesos.ScalarResource("cpus", 0.1), mesos.ScalarResource("mem", 32)},
		Command:   &mesos.CommandInfo{Value: cmd},
	}
}

// httpGet fetches url and returns the status and body.
func httpGet(t testing.TB, url string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// newUUID returns 16 fresh bytes.
func newUUID() mesos.Bytes {
	u := uuid.New()
	return mesos.Bytes(u[:])
}

// freeAddr reserves nothing; it only finds a loopback port that was free.
func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func killEvent(fid, tid string) agentapi.Event {
	return agentapi.Event{Type: agentapi.EventKill, Kill: &agentapi.Kill{FrameworkID: mesos.FrameworkID{Value: fid}, TaskID: mesos.TaskID{Value: tid}}}
}

func shutdownFrameworkEvent(fid string) agentapi.Event {
	return agentapi.Event{Type: agentapi.EventShutdownFramework, ShutdownFramework: &agentapi.ShutdownFramework{FrameworkID: mesos.FrameworkID{Value: fid}}}
}

// redirector plays a follower: it answers 503 (no leader yet) a few
// times, then redirects to the leader as servers do.
type redirector struct {
	srv *httptest.Server
	mu  sync.Mutex
	n   int
}

func newRedirector(t testing.TB, leader string, unavailable int) *redirector {
	r := &redirector{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.n++
		n := r.n
		r.mu.Unlock()
		if n <= unavailable {
			http.Error(w, "no leader", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Location", "//"+leader+req.URL.Path)
		w.WriteHeader(http.StatusTemporaryRedirect)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *redirector) addr() string { return r.srv.Listener.Addr().String() }

func (r *redirector) calls() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n
}

// sandboxOf is the sandbox of the run that has task tid.
func sandboxOf(t testing.TB, a *testAgent, tid string) string {
	t.Helper()
	for _, fw := range a.State().Frameworks {
		for _, e := range append(fw.Executors, fw.CompletedExecutors...) {
			for _, task := range append(e.Tasks, e.CompletedTasks...) {
				if task.ID == tid {
					return e.Directory
				}
			}
		}
	}
	t.Fatalf("no sandbox for task %s", tid)
	return ""
}

// downloads counts the requests a test file server answered, by path.
type downloads struct {
	mu sync.Mutex
	n  map[string]int
}

func (d *downloads) of(path string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.n[path]
}

// countingServer serves body at every path on 127.0.0.1 and counts the
// requests.
func countingServer(t testing.TB, body string) (*httptest.Server, *downloads) {
	d := &downloads{n: map[string]int{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d.mu.Lock()
		d.n[r.URL.Path]++
		d.mu.Unlock()
		w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv, d
}
