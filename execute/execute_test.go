package execute

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"mesh/mesos"
	"mesh/mesos/recordio"
	"mesh/mesos/scheduler"
)

// wait bounds every wait for the code under test.
const wait = 10 * time.Second

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func testLogger(t *testing.T) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{Name: "test", Level: hclog.Debug, Output: tWriter{t}})
}

// fakeMaster plays the leading server: the test reads the calls Run makes
// and writes the events it should see.
type fakeMaster struct {
	t     *testing.T
	srv   *httptest.Server
	subs  chan *fakeStream
	calls chan *scheduler.Call
	quit  chan struct{}

	mu       sync.Mutex
	n        int
	streamID string
	// status, when set, picks the answer to a non-SUBSCRIBE call: a code
	// and, for codes other than 202, a message.
	status func(*scheduler.Call) (int, string)
}

// answerCalls is a fakeMaster status that answers every call of type typ
// with code and msg, and the others 202.
func answerCalls(typ string, code int, msg string) func(*scheduler.Call) (int, string) {
	return func(c *scheduler.Call) (int, string) {
		if c.Type == typ {
			return code, msg
		}
		return http.StatusAccepted, ""
	}
}

// fakeStream is one SUBSCRIBE stream of the fake master.
type fakeStream struct {
	call   *scheduler.Call
	events chan *scheduler.Event
	end    chan struct{}
}

func newFakeMaster(t *testing.T) *fakeMaster {
	m := &fakeMaster{
		t:     t,
		subs:  make(chan *fakeStream, 8),
		calls: make(chan *scheduler.Call, 256),
		quit:  make(chan struct{}),
	}
	m.srv = httptest.NewServer(http.HandlerFunc(m.serve))
	t.Cleanup(func() {
		close(m.quit)
		m.srv.CloseClientConnections()
		m.srv.Close()
	})
	return m
}

func (m *fakeMaster) addr() string { return strings.TrimPrefix(m.srv.URL, "http://") }

func (m *fakeMaster) serve(w http.ResponseWriter, r *http.Request) {
	var call scheduler.Call
	if err := json.NewDecoder(r.Body).Decode(&call); err != nil {
		m.t.Errorf("fake master: bad call: %v", err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if call.Type != scheduler.CallSubscribe {
		m.mu.Lock()
		sid := m.streamID
		m.mu.Unlock()
		if got := r.Header.Get("Mesos-Stream-Id"); got != sid {
			m.t.Errorf("fake master: %s with Mesos-Stream-Id %q, want %q", call.Type, got, sid)
		}
		if call.FrameworkID == nil || call.FrameworkID.Value != "F1" {
			m.t.Errorf("fake master: %s with framework_id %+v", call.Type, call.FrameworkID)
		}
		m.calls <- &call
		code, msg := http.StatusAccepted, ""
		m.mu.Lock()
		if m.status != nil {
			code, msg = m.status(&call)
		}
		m.mu.Unlock()
		if code != http.StatusAccepted {
			http.Error(w, msg, code)
			return
		}
		w.WriteHeader(code)
		return
	}
	fs := &fakeStream{call: &call, events: make(chan *scheduler.Event, 64), end: make(chan struct{})}
	m.mu.Lock()
	m.n++
	m.streamID = "stream-" + strconv.Itoa(m.n)
	sid := m.streamID
	m.mu.Unlock()
	m.subs <- fs
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Mesos-Stream-Id", sid)
	w.WriteHeader(http.StatusOK)
	w.(http.Flusher).Flush()
	rw := recordio.NewWriter(w)
	for {
		select {
		case ev := <-fs.events:
			b, _ := json.Marshal(ev)
			if err := rw.WriteRecord(b); err != nil {
				return
			}
		case <-fs.end:
			return
		case <-m.quit:
			return
		case <-r.Context().Done():
			return
		}
	}
}

func (m *fakeMaster) expectSubscribe() *fakeStream {
	m.t.Helper()
	select {
	case fs := <-m.subs:
		return fs
	case <-time.After(wait):
		m.t.Fatalf("no SUBSCRIBE within %s", wait)
		return nil
	}
}

func (m *fakeMaster) expectCall(typ string) *scheduler.Call {
	m.t.Helper()
	select {
	case c := <-m.calls:
		if c.Type != typ {
			b, _ := json.Marshal(c)
			m.t.Fatalf("got call %s, want %s", b, typ)
		}
		return c
	case <-time.After(wait):
		m.t.Fatalf("no %s call within %s", typ, wait)
		return nil
	}
}

func (fs *fakeStream) send(evs ...*scheduler.Event) {
	for _, ev := range evs {
		fs.events <- ev
	}
}

func subscribed() *scheduler.Event {
	return &scheduler.Event{Type: scheduler.EventSubscribed, Subscribed: &scheduler.Subscribed{
		FrameworkID: &mesos.FrameworkID{Value: "F1"}, HeartbeatIntervalSeconds: 15}}
}

// fakeAgent serves /files/read, a few bytes at a time so that readers
// must loop.
type fakeAgent struct {
	srv   *httptest.Server
	files map[string]string
	mu    sync.Mutex
	reads []string
}

func newFakeAgent(t *testing.T, files map[string]string) *fakeAgent {
	a := &fakeAgent{files: files}
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/files/read" {
			http.NotFound(w, r)
			return
		}
		path := r.URL.Query().Get("path")
		a.mu.Lock()
		a.reads = append(a.reads, path)
		a.mu.Unlock()
		data, ok := a.files[path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		off, _ := strconv.Atoi(r.URL.Query().Get("offset"))
		length, _ := strconv.Atoi(r.URL.Query().Get("length"))
		end := min(off+min(length, 5), len(data))
		chunk := ""
		if off < end {
			chunk = data[off:end]
		}
		json.NewEncoder(w).Encode(map[string]any{"data": chunk, "offset": off})
	}))
	t.Cleanup(a.srv.Close)
	return a
}

func offer(id, agentID string, agent *fakeAgent, cpus, mem float64) mesos.Offer {
	o := mesos.Offer{
		ID: mesos.OfferID{Value: id}, FrameworkID: mesos.FrameworkID{Value: "F1"},
		AgentID: mesos.AgentID{Value: agentID}, Hostname: "localhost",
		AllocationInfo: &mesos.AllocationInfo{Role: "*"},
		Resources: mesos.Resources{
			mesos.ScalarResource("cpus", cpus), mesos.ScalarResource("mem", mem),
		}.Allocate("*").ForWire(),
	}
	if agent != nil {
		host, port, _ := net.SplitHostPort(strings.TrimPrefix(agent.srv.URL, "http://"))
		p, _ := strconv.Atoi(port)
		o.URL = &mesos.URL{Scheme: "http", Address: mesos.Address{Hostname: "localhost", IP: host, Port: int32(p)}, Path: "/agent"}
	}
	return o
}

func offers(os ...mesos.Offer) *scheduler.Event {
	return &scheduler.Event{Type: scheduler.EventOffers, Offers: &scheduler.Offers{Offers: os}}
}

var uuidN byte

// update builds an UPDATE; withUUID makes it a reliable (agent) update.
func update(task string, state mesos.TaskState, reason, msg string, withUUID bool) *scheduler.Event {
	st := mesos.TaskStatus{
		TaskID: mesos.TaskID{Value: task}, State: state, Reason: reason, Message: msg,
		AgentID: &mesos.AgentID{Value: "A1"}, Source: mesos.SourceMaster,
	}
	if withUUID {
		uuidN++
		st.UUID = bytes.Repeat([]byte{uuidN}, 16)
		st.Source = mesos.SourceExecutor
	}
	return &scheduler.Event{Type: scheduler.EventUpdate, Update: &scheduler.Update{Status: st}}
}

func (m *fakeMaster) expectAck(ev *scheduler.Event) {
	m.t.Helper()
	c := m.expectCall(scheduler.CallAcknowledge)
	st := ev.Update.Status
	if c.Acknowledge.TaskID.Value != st.TaskID.Value || !bytes.Equal(c.Acknowledge.UUID, st.UUID) ||
		c.Acknowledge.AgentID == nil || c.Acknowledge.AgentID.Value != "A1" {
		m.t.Fatalf("ACKNOWLEDGE %+v does not match update of %s", c.Acknowledge, st.TaskID.Value)
	}
}

// sendAcked sends reliable updates and waits for each acknowledgement.
func (m *fakeMaster) sendAcked(fs *fakeStream, evs ...*scheduler.Event) {
	m.t.Helper()
	for _, ev := range evs {
		fs.send(ev)
		m.expectAck(ev)
	}
}

type runResult struct {
	res Result
	err error
}

// start runs Run in the background; out is safe to read once done fires.
func start(ctx context.Context, t *testing.T, cfg Config) (<-chan runResult, *bytes.Buffer) {
	out := &bytes.Buffer{}
	cfg.Out = out
	if cfg.Logger == nil {
		cfg.Logger = testLogger(t)
	}
	if cfg.User == "" {
		cfg.User = "tester"
	}
	done := make(chan runResult, 1)
	returned := make(chan struct{})
	go func() {
		defer close(returned)
		res, err := Run(ctx, cfg)
		done <- runResult{res, err}
	}()
	t.Cleanup(func() {
		select {
		case <-returned:
		case <-time.After(wait):
			t.Errorf("Run still running at the end of the test")
		}
	})
	return done, out
}

func waitRun(t *testing.T, done <-chan runResult) runResult {
	t.Helper()
	select {
	case r := <-done:
		return r
	case <-time.After(wait):
		t.Fatalf("Run did not return within %s", wait)
		return runResult{}
	}
}

// launched checks an ACCEPT and returns the ids of the tasks it launches.
func launched(t *testing.T, c *scheduler.Call, offerID string, cpus, mem float64) []string {
	t.Helper()
	a := c.Accept
	if len(a.OfferIDs) != 1 || a.OfferIDs[0].Value != offerID {
		t.Fatalf("ACCEPT of offers %+v, want [%s]", a.OfferIDs, offerID)
	}
	if len(a.Operations) != 1 || a.Operations[0].Type != mesos.OperationLaunch {
		t.Fatalf("ACCEPT operations %+v, want one LAUNCH", a.Operations)
	}
	var ids []string
	for _, ti := range a.Operations[0].Launch.TaskInfos {
		rs := mesos.Resources(ti.Resources)
		if rs.Scalar("cpus") != cpus || rs.Scalar("mem") != mem {
			t.Errorf("task %s resources %s, want cpus:%g;mem:%g", ti.TaskID.Value, rs, cpus, mem)
		}
		for _, r := range rs {
			if r.AllocationRole() != "*" {
				t.Errorf("task %s resource %s lacks the offer's allocation_info", ti.TaskID.Value, r.Name)
			}
		}
		if ti.Command == nil || !ti.Command.IsShell() || ti.Command.Value == "" || ti.Executor != nil {
			t.Errorf("task %s command %+v, want a shell command", ti.TaskID.Value, ti.Command)
		}
		if ti.AgentID.Value == "" || ti.Name == "" {
			t.Errorf("task %s lacks agent_id or name", ti.TaskID.Value)
		}
		ids = append(ids, ti.TaskID.Value)
	}
	return ids
}

func refuseSeconds(f *mesos.Filters) float64 { return f.RefuseSecondsOrDefault() }

func TestRun_PacksInstancesAndPrintsOutput(t *testing.T) {
	m := newFakeMaster(t)
	agent := newFakeAgent(t, map[string]string{
		"/frameworks/F1/executors/hello-0/runs/latest/stdout": "hello from 0\n",
		"/frameworks/F1/executors/hello-0/runs/latest/stderr": "",
		"/frameworks/F1/executors/hello-1/runs/latest/stdout": "no newline",
		"/frameworks/F1/executors/hello-1/runs/latest/stderr": "a warning\n",
		"/frameworks/F1/executors/hello-2/runs/latest/stdout": "",
	})
	done, out := start(context.Background(), t, Config{
		Masters: []string{m.addr()}, Name: "hello", Command: "echo hi",
		CPUs: 0.5, Mem: 32, Instances: 3, FailoverTimeout: time.Minute, Output: OutputAll,
	})

	fs := m.expectSubscribe()
	info := fs.call.Subscribe.FrameworkInfo
	if info.ID == nil || !strings.HasPrefix(info.ID.Value, "execute-") || fs.call.FrameworkID == nil || *fs.call.FrameworkID != *info.ID {
		t.Errorf("first SUBSCRIBE does not name the run's own framework id: %+v, %+v", fs.call.FrameworkID, info.ID)
	}
	if info.User != "tester" || info.Name != "hello" || info.FailoverTimeoutSeconds() != 60 ||
		len(info.Roles) != 1 || info.Roles[0] != "*" || !info.HasCapability(mesos.CapabilityMultiRole) ||
		info.HasCapability(mesos.CapabilityPartitionAware) {
		t.Errorf("framework_info = %+v", info)
	}
	fs.send(subscribed(), offers(
		offer("O1", "A1", agent, 1.2, 100),  // room for two
		offer("O2", "A1", agent, 0.2, 1024), // too few cpus
	))
	acc := m.expectCall(scheduler.CallAccept)
	if ids := launched(t, acc, "O1", 0.5, 32); strings.Join(ids, ",") != "hello-0,hello-1" {
		t.Errorf("first ACCEPT launches %v, want hello-0,hello-1", ids)
	}
	if acc.Accept.Filters != nil {
		t.Errorf("ACCEPT with a task still waiting refuses the rest for long: %+v", acc.Accept.Filters)
	}
	dec := m.expectCall(scheduler.CallDecline)
	if len(dec.Decline.OfferIDs) != 1 || dec.Decline.OfferIDs[0].Value != "O2" {
		t.Errorf("DECLINE of %+v, want O2", dec.Decline.OfferIDs)
	}

	fs.send(offers(offer("O3", "A1", agent, 4, 4096)))
	acc = m.expectCall(scheduler.CallAccept)
	if ids := launched(t, acc, "O3", 0.5, 32); strings.Join(ids, ",") != "hello-2" {
		t.Errorf("second ACCEPT launches %v, want hello-2", ids)
	}
	if refuseSeconds(acc.Accept.Filters) < 60 {
		t.Errorf("last ACCEPT refuses the rest for %gs, want long", refuseSeconds(acc.Accept.Filters))
	}
	fs.send(offers(offer("O4", "A1", agent, 4, 4096)))
	if dec := m.expectCall(scheduler.CallDecline); refuseSeconds(dec.Decline.Filters) < 60 {
		t.Errorf("offer after every launch declined for %gs, want long", refuseSeconds(dec.Decline.Filters))
	}

	m.sendAcked(fs,
		update("hello-0", mesos.TaskRunning, "", "", true),
		update("hello-1", mesos.TaskRunning, "", "", true),
		update("hello-0", mesos.TaskFinished, "", "Command exited with status 0", true),
		update("hello-1", mesos.TaskFinished, "", "", true),
		update("hello-2", mesos.TaskFinished, "", "", true),
	)
	m.expectCall(scheduler.CallTeardown)
	rr := waitRun(t, done)
	if rr.err != nil {
		t.Fatalf("Run: %v", rr.err)
	}
	if !rr.res.Succeeded() || rr.res.FrameworkID != "F1" || len(rr.res.Tasks) != 3 {
		t.Errorf("result = %+v", rr.res)
	}
	want := "task hello-0 TASK_RUNNING\n" +
		"task hello-1 TASK_RUNNING\n" +
		"task hello-0 TASK_FINISHED: Command exited with status 0\n" +
		"--- hello-0 stdout ---\nhello from 0\n" +
		"task hello-1 TASK_FINISHED\n" +
		"--- hello-1 stdout ---\nno newline\n" +
		"--- hello-1 stderr ---\na warning\n" +
		"task hello-2 TASK_FINISHED\n" +
		"--- hello-2 stdout ---\n"
	if got := withoutProgress(out.String()); got != want {
		t.Errorf("output:\n%s\nwant:\n%s", out, want)
	}
}

func TestRun_AcknowledgesOnlyUpdatesWithUUID(t *testing.T) {
	m := newFakeMaster(t)
	done, out := start(context.Background(), t, Config{Masters: []string{m.addr()}, Name: "t", Command: "true"})
	fs := m.expectSubscribe()
	fs.send(subscribed(), offers(offer("O1", "A1", nil, 1, 1024)))
	launched(t, m.expectCall(scheduler.CallAccept), "O1", DefaultCPUs, DefaultMem)

	// A server-generated update (no uuid) is printed, never acknowledged:
	// the next call must be the ACK of the reliable update after it.
	fs.send(update("t-0", mesos.TaskRunning, mesos.ReasonReconciliation, "Reconciliation: latest task state", false))
	m.sendAcked(fs, update("t-0", mesos.TaskRunning, "", "", true))
	fs.send(update("t-0", mesos.TaskFinished, mesos.ReasonReconciliation, "", false))
	m.expectCall(scheduler.CallTeardown)
	rr := waitRun(t, done)
	if rr.err != nil {
		t.Fatalf("Run: %v", rr.err)
	}
	want := "task t-0 TASK_RUNNING (REASON_RECONCILIATION): Reconciliation: latest task state\n" +
		"task t-0 TASK_FINISHED (REASON_RECONCILIATION)\n"
	if out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out, want)
	}
}

func TestRun_FailedTaskIsAnError(t *testing.T) {
	m := newFakeMaster(t)
	done, out := start(context.Background(), t, Config{Masters: []string{m.addr()}, Name: "hello", Command: "exit 1", Instances: 2})
	fs := m.expectSubscribe()
	fs.send(subscribed(), offers(offer("O1", "A1", nil, 1, 1024)))
	launched(t, m.expectCall(scheduler.CallAccept), "O1", DefaultCPUs, DefaultMem)
	m.sendAcked(fs,
		update("hello-0", mesos.TaskFinished, "", "", true),
		update("hello-1", mesos.TaskFailed, mesos.ReasonCommandExecutorFailed, "Command exited with status 1", true),
	)
	m.expectCall(scheduler.CallTeardown)
	rr := waitRun(t, done)
	if !errors.Is(rr.err, ErrTasksFailed) || !strings.Contains(rr.err.Error(), "hello-1 TASK_FAILED") {
		t.Fatalf("Run: %v, want ErrTasksFailed naming hello-1", rr.err)
	}
	if rr.res.Succeeded() || rr.res.Tasks[0].State != mesos.TaskFinished || rr.res.Tasks[1].State != mesos.TaskFailed ||
		rr.res.Tasks[1].Reason != mesos.ReasonCommandExecutorFailed {
		t.Errorf("result = %+v", rr.res)
	}
	if !strings.Contains(out.String(), "task hello-1 TASK_FAILED (REASON_COMMAND_EXECUTOR_FAILED): Command exited with status 1\n") {
		t.Errorf("output lacks the failure line:\n%s", out)
	}
}

func TestRun_ResubscribesAndReconcilesAfterStreamLoss(t *testing.T) {
	m := newFakeMaster(t)
	done, _ := start(context.Background(), t, Config{Masters: []string{m.addr()}, Name: "r", Command: "sleep 1", FailoverTimeout: time.Minute})
	fs := m.expectSubscribe()
	fs.send(subscribed(), offers(offer("O1", "A1", nil, 1, 1024)))
	launched(t, m.expectCall(scheduler.CallAccept), "O1", DefaultCPUs, DefaultMem)
	m.sendAcked(fs, update("r-0", mesos.TaskRunning, "", "", true))

	close(fs.end) // the stream drops
	fs = m.expectSubscribe()
	if fs.call.FrameworkID == nil || fs.call.FrameworkID.Value != "F1" ||
		fs.call.Subscribe.FrameworkInfo.ID == nil || fs.call.Subscribe.FrameworkInfo.ID.Value != "F1" {
		t.Fatalf("resubscribe without framework id F1 at top level and in framework_info: %+v", fs.call)
	}
	fs.send(subscribed())
	c := m.expectCall(scheduler.CallReconcile)
	if len(c.Reconcile.Tasks) != 1 || c.Reconcile.Tasks[0].TaskID.Value != "r-0" || c.Reconcile.Tasks[0].AgentID.Value != "A1" {
		t.Errorf("explicit RECONCILE = %+v, want r-0 on A1", c.Reconcile)
	}
	m.sendAcked(fs, update("r-0", mesos.TaskFinished, "", "", true))
	m.expectCall(scheduler.CallTeardown)
	if rr := waitRun(t, done); rr.err != nil {
		t.Fatalf("Run: %v", rr.err)
	}
}

func TestRun_ErrorEventIsFatal(t *testing.T) {
	m := newFakeMaster(t)
	done, _ := start(context.Background(), t, Config{Masters: []string{m.addr()}, Name: "e", Command: "true"})
	fs := m.expectSubscribe()
	fs.send(subscribed(), &scheduler.Event{Type: scheduler.EventError, Error: &scheduler.Error{Message: "Framework has been removed"}})
	rr := waitRun(t, done)
	if !errors.Is(rr.err, ErrFramework) || !strings.Contains(rr.err.Error(), "Framework has been removed") {
		t.Fatalf("Run: %v, want ErrFramework with the message", rr.err)
	}
	if len(m.calls) != 0 {
		t.Errorf("%d calls after a fatal ERROR, want none", len(m.calls))
	}
}

func TestRun_InterruptKillsThenTearsDown(t *testing.T) {
	m := newFakeMaster(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done, out := start(ctx, t, Config{Masters: []string{m.addr()}, Name: "k", Command: "sleep 100", Instances: 2})
	fs := m.expectSubscribe()
	fs.send(subscribed(), offers(offer("O1", "A1", nil, 0.1, 1024))) // room for one
	launched(t, m.expectCall(scheduler.CallAccept), "O1", DefaultCPUs, DefaultMem)
	m.sendAcked(fs, update("k-0", mesos.TaskRunning, "", "", true))

	cancel()
	kill := m.expectCall(scheduler.CallKill)
	if kill.Kill.TaskID.Value != "k-0" || kill.Kill.AgentID == nil || kill.Kill.AgentID.Value != "A1" {
		t.Errorf("KILL = %+v, want k-0 on A1", kill.Kill)
	}
	fs.send(offers(offer("O2", "A1", nil, 1, 1024))) // no launches while stopping
	m.expectCall(scheduler.CallDecline)
	m.sendAcked(fs, update("k-0", mesos.TaskKilled, "", "", true))
	m.expectCall(scheduler.CallTeardown)
	rr := waitRun(t, done)
	if !errors.Is(rr.err, ErrInterrupted) {
		t.Fatalf("Run: %v, want ErrInterrupted", rr.err)
	}
	if rr.res.Tasks[0].State != mesos.TaskKilled || rr.res.Tasks[1].State != "" {
		t.Errorf("result = %+v", rr.res)
	}
	if !strings.Contains(out.String(), "task k-0 TASK_KILLED\n") {
		t.Errorf("output:\n%s", out)
	}
}

func TestRun_TimeoutKillsTasks(t *testing.T) {
	m := newFakeMaster(t)
	done, _ := start(context.Background(), t, Config{Masters: []string{m.addr()}, Name: "to", Command: "sleep 100", Timeout: time.Second})
	fs := m.expectSubscribe()
	fs.send(subscribed(), offers(offer("O1", "A1", nil, 1, 1024)))
	launched(t, m.expectCall(scheduler.CallAccept), "O1", DefaultCPUs, DefaultMem)
	m.expectCall(scheduler.CallKill)
	m.sendAcked(fs, update("to-0", mesos.TaskKilled, "", "", true))
	m.expectCall(scheduler.CallTeardown)
	if rr := waitRun(t, done); !errors.Is(rr.err, ErrTimeout) {
		t.Fatalf("Run: %v, want ErrTimeout", rr.err)
	}
}

func TestRun_RelaunchesTaskTheServerNeverStarted(t *testing.T) {
	m := newFakeMaster(t)
	done, out := start(context.Background(), t, Config{Masters: []string{m.addr()}, Name: "x", Command: "true"})
	fs := m.expectSubscribe()
	fs.send(subscribed(), offers(offer("O1", "A1", nil, 1, 1024)))
	launched(t, m.expectCall(scheduler.CallAccept), "O1", DefaultCPUs, DefaultMem)
	fs.send(update("x-0", mesos.TaskLost, mesos.ReasonInvalidOffers, "Offer O1 is no longer valid", false))
	m.expectCall(scheduler.CallRevive)
	fs.send(offers(offer("O2", "A1", nil, 1, 1024)))
	if ids := launched(t, m.expectCall(scheduler.CallAccept), "O2", DefaultCPUs, DefaultMem); len(ids) != 1 || ids[0] != "x-0" {
		t.Fatalf("relaunch of %v, want x-0", ids)
	}
	m.sendAcked(fs, update("x-0", mesos.TaskFinished, "", "", true))
	m.expectCall(scheduler.CallTeardown)
	if rr := waitRun(t, done); rr.err != nil {
		t.Fatalf("Run: %v", rr.err)
	}
	if !strings.Contains(out.String(), "task x-0 TASK_LOST (REASON_INVALID_OFFERS): Offer O1 is no longer valid\ntask x-0 TASK_FINISHED\n") {
		t.Errorf("output:\n%s", out)
	}
}

func TestRun_RefusedAcceptWaitsForAnotherOffer(t *testing.T) {
	m := newFakeMaster(t)
	refused := 0
	m.status = func(c *scheduler.Call) (int, string) {
		if c.Type == scheduler.CallAccept && refused == 0 {
			refused++
			return http.StatusBadRequest, "failed to validate scheduler::Call: expecting 'accept' to be present"
		}
		return http.StatusAccepted, ""
	}
	done, _ := start(context.Background(), t, Config{Masters: []string{m.addr()}, Name: "ra", Command: "true"})
	fs := m.expectSubscribe()
	fs.send(subscribed(), offers(offer("O1", "A1", nil, 1, 1024)))
	launched(t, m.expectCall(scheduler.CallAccept), "O1", DefaultCPUs, DefaultMem)
	m.expectCall(scheduler.CallRevive) // the refused ACCEPT's long filter may stand
	fs.send(offers(offer("O2", "A1", nil, 1, 1024)))
	if ids := launched(t, m.expectCall(scheduler.CallAccept), "O2", DefaultCPUs, DefaultMem); len(ids) != 1 || ids[0] != "ra-0" {
		t.Fatalf("second ACCEPT launches %v, want ra-0", ids)
	}
	m.sendAcked(fs, update("ra-0", mesos.TaskFinished, "", "", true))
	m.expectCall(scheduler.CallTeardown)
	if rr := waitRun(t, done); rr.err != nil {
		t.Fatalf("Run: %v", rr.err)
	}
}

func TestRun_KillAfter(t *testing.T) {
	m := newFakeMaster(t)
	done, _ := start(context.Background(), t, Config{Masters: []string{m.addr()}, Name: "ka", Command: "sleep 100", KillAfter: 50 * time.Millisecond})
	fs := m.expectSubscribe()
	fs.send(subscribed(), offers(offer("O1", "A1", nil, 1, 1024)))
	launched(t, m.expectCall(scheduler.CallAccept), "O1", DefaultCPUs, DefaultMem)
	m.sendAcked(fs, update("ka-0", mesos.TaskRunning, "", "", true))
	m.expectCall(scheduler.CallKill)
	m.sendAcked(fs, update("ka-0", mesos.TaskKilled, "", "", true))
	m.expectCall(scheduler.CallTeardown)
	if rr := waitRun(t, done); !errors.Is(rr.err, ErrTasksFailed) {
		t.Fatalf("Run: %v, want ErrTasksFailed", rr.err)
	}
}

func TestPack(t *testing.T) {
	o := offer("O1", "A1", nil, 1, 100)
	got := pack(&o, 10, 0.3, 32)
	if len(got) != 3 {
		t.Fatalf("packed %d tasks of cpus:0.3;mem:32 into cpus:1;mem:100, want 3", len(got))
	}
	if got = pack(&o, 2, 0.3, 32); len(got) != 2 {
		t.Fatalf("packed %d tasks, want the 2 asked for", len(got))
	}

	// cpus split between an unreserved and a reserved entry; the offer's
	// allocation_info is added where missing.
	split := mesos.Offer{
		AllocationInfo: &mesos.AllocationInfo{Role: "web"},
		Resources: []mesos.Resource{
			{Name: "cpus", Type: mesos.ValueScalar, Scalar: &mesos.Scalar{Value: 0.2}, Role: "*"},
			{Name: "cpus", Type: mesos.ValueScalar, Scalar: &mesos.Scalar{Value: 0.2}, Role: "web"},
			{Name: "mem", Type: mesos.ValueScalar, Scalar: &mesos.Scalar{Value: 64}, Role: "*"},
		},
	}
	got = pack(&split, 5, 0.3, 32)
	if len(got) != 1 {
		t.Fatalf("packed %d tasks into the split offer, want 1", len(got))
	}
	if got[0].Scalar("cpus") != 0.3 || got[0].Scalar("mem") != 32 {
		t.Errorf("task resources %s", got[0])
	}
	for _, r := range got[0] {
		if r.AllocationRole() != "web" {
			t.Errorf("resource %s has allocation role %q, want web", r.Name, r.AllocationRole())
		}
	}
	if !mesos.Resources(split.Resources).WithDefaultAllocation("web").Contains(got[0]) {
		t.Errorf("task resources %s are not part of the offer", got[0])
	}

	if got = pack(&o, 1, 2, 32); len(got) != 0 {
		t.Errorf("packed a task needing 2 cpus into 1")
	}
}

func TestReadFile_MissingFile(t *testing.T) {
	agent := newFakeAgent(t, map[string]string{})
	_, err := readFile(context.Background(), http.DefaultClient, agent.srv.URL, "/nope")
	if !errors.Is(err, errNoFile) {
		t.Fatalf("readFile: %v, want errNoFile", err)
	}
}

func TestConfig_Defaults(t *testing.T) {
	cfg, err := Config{Masters: []string{"m:1"}, Name: "n", Command: "c"}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.CPUs != 0.1 || cfg.Mem != 32 || cfg.Instances != 1 || cfg.Role != "*" || cfg.User == "" || cfg.Out == nil {
		t.Errorf("defaults = %+v", cfg)
	}
	for _, bad := range []Config{
		{Name: "n", Command: "c"},
		{Masters: []string{"m:1"}, Command: "c"},
		{Masters: []string{"m:1"}, Name: "a/b", Command: "c"},
		{Masters: []string{"m:1"}, Name: "n"},
		{Masters: []string{"m:1"}, Name: "n", Command: "c", Instances: -1},
	} {
		if _, err := bad.withDefaults(); err == nil {
			t.Errorf("config %+v accepted", bad)
		}
	}
}

func TestConfig_TaskCommandImageAndEnv(t *testing.T) {
	cfg := Config{Command: "ls /", Image: "/srv/images/busybox.tar", URIs: []string{"http://127.0.0.1:8080/tool.tgz"}, Env: []string{"GREETING=hi there", "EMPTY="}}
	b, err := json.Marshal(cfg.commandInfo())
	if err != nil {
		t.Fatal(err)
	}
	want := `{"uris":[{"value":"http://127.0.0.1:8080/tool.tgz","extract":true}],"environment":{"variables":[{"name":"GREETING","type":"VALUE","value":"hi there"},{"name":"EMPTY","type":"VALUE"}]},"shell":true,"value":"ls /"}`
	if string(b) != want {
		t.Errorf("command info\n%s\nwant\n%s", b, want)
	}
	if b, err = json.Marshal(cfg.containerInfo()); err != nil {
		t.Fatal(err)
	}
	want = `{"type":"MESOS","mesos":{"image":{"type":"DOCKER","docker":{"name":"/srv/images/busybox.tar"}}}}`
	if string(b) != want {
		t.Errorf("container info\n%s\nwant\n%s", b, want)
	}
	if (Config{Command: "true"}).containerInfo() != nil {
		t.Error("a container info without an image")
	}
	cfg = Config{Command: "true", Volumes: []string{"/srv/data:/data", "cache:/var/cache:ro"}}
	if b, err = json.Marshal(cfg.containerInfo()); err != nil {
		t.Fatal(err)
	}
	want = `{"type":"MESOS","volumes":[{"mode":"RW","container_path":"/data","host_path":"/srv/data"},{"mode":"RO","container_path":"/var/cache","host_path":"cache"}]}`
	if string(b) != want {
		t.Errorf("container info with volumes\n%s\nwant\n%s", b, want)
	}
}

func TestConfig_RejectsBadImageAndEnv(t *testing.T) {
	base := Config{Masters: []string{"127.0.0.1:5050"}, Name: "n", Command: "true"}
	for name, mod := range map[string]func(*Config){
		"relative image":  func(c *Config) { c.Image = "busybox" },
		"env without =":   func(c *Config) { c.Env = []string{"JUSTANAME"} },
		"env no name":     func(c *Config) { c.Env = []string{"=v"} },
		"empty uri":       func(c *Config) { c.URIs = []string{" "} },
		"volume no colon": func(c *Config) { c.Volumes = []string{"/srv"} },
		"volume bad mode": func(c *Config) { c.Volumes = []string{"/srv:/d:x"} },
		"volume no path":  func(c *Config) { c.Volumes = []string{":/d"} },
	} {
		cfg := base
		mod(&cfg)
		if _, err := cfg.withDefaults(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	cfg := base
	cfg.Image, cfg.Env = "file:///srv/rootfs", []string{"A=b=c"}
	if _, err := cfg.withDefaults(); err != nil {
		t.Errorf("valid image and env refused: %v", err)
	}
}
