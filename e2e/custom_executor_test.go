package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"mesh/agent"
	"mesh/executor"
	"mesh/mesos"
	"mesh/mesos/codec"
	"mesh/mesos/scheduler"
	"mesh/mesos/scheduler/client"
	"mesh/server/servertest"
)

// customExecutorBin builds testdata/customexecutor, a custom executor
// speaking the v1 Executor API in protobuf, into dir.
func customExecutorBin(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "custom-executor")
	build := exec.Command("go", "build", "-o", bin, "./testdata/customexecutor")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the custom executor: %v\n%s", err, out)
	}
	return bin
}

// customCluster is a server, a real agent and a framework in this
// process, with the framework's events in a channel.
type customCluster struct {
	t       *testing.T
	ctx     context.Context
	srv     *servertest.Server
	cl      *client.Client
	events  chan *scheduler.Event
	agentID mesos.AgentID
	workDir string
	// agentCfg is the agent's configuration; stopAgent stops the agent
	// running while set.
	agentCfg  agent.Config
	stopAgent func()
	// pending holds events that came while the test waited for another
	// type; offers, those taken from OFFERS events and not used yet.
	pending []*scheduler.Event
	offers  []mesos.Offer
}

func newCustomCluster(t *testing.T, encoding string, registrationTimeout time.Duration) *customCluster {
	return newCustomClusterWith(t, encoding, registrationTimeout, true)
}

// newCustomClusterWith is newCustomCluster whose agent destroys its
// containers when it stops only if killOnStop; tweaks change the agent's
// configuration.
func newCustomClusterWith(t *testing.T, encoding string, registrationTimeout time.Duration, killOnStop bool, tweaks ...func(*agent.Config)) *customCluster {
	srv := servertest.NewServer(t, servertest.Options{})
	cfg := agent.DefaultConfig()
	cfg.Servers = []string{srv.HTTPAddr()}
	cfg.HTTPAddr = freePort(t)
	cfg.WorkDir = t.TempDir()
	cfg.Resources = "cpus:4;mem:2048;disk:1000;ports:[31000-31100]"
	cfg.ExecutorCommand = []string{meshBin, "executor"}
	cfg.ExecutorRegistrationTimeout = registrationTimeout
	cfg.KillTasksOnShutdown = killOnStop
	cfg.Logger = hclog.New(&hclog.LoggerOptions{Name: "agent", Level: hclog.Warn})
	for _, tw := range tweaks {
		tw(&cfg)
	}
	c := &customCluster{t: t, srv: srv, agentCfg: cfg}
	c.startAgent()
	t.Cleanup(func() { c.stopAgent() })
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	c.ctx, c.events, c.workDir = ctx, make(chan *scheduler.Event, 1024), cfg.WorkDir
	c.cl = client.New(client.Config{Masters: []string{srv.HTTPAddr()}, Encoding: encoding})
	sub, err := c.cl.Subscribe(ctx, client.SubscribeCall(&mesos.FrameworkInfo{User: "root", Name: "custom-executor"}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sub.Close() })
	go func() {
		defer close(c.events)
		for {
			ev, err := sub.Next()
			if err != nil {
				return
			}
			c.events <- ev
		}
	}()
	c.next(scheduler.EventSubscribed)
	return c
}

// startAgent starts an agent of c.agentCfg.
func (c *customCluster) startAgent() {
	c.t.Helper()
	ag, err := agent.New(c.agentCfg)
	if err != nil {
		c.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ag.Run(ctx) }()
	c.stopAgent = sync.OnceFunc(func() {
		cancel()
		<-done
	})
}

// restartAgent stops the agent, which must leave its executors running
// (newCustomClusterWith, killOnStop false), and starts another on its
// work directory and address; that one destroys its containers when it
// stops.
func (c *customCluster) restartAgent() {
	c.t.Helper()
	c.stopAgent()
	c.agentCfg.KillTasksOnShutdown = true
	c.startAgent()
}

// next returns the next event of type typ; events of other types that
// come meanwhile are kept for later calls.
func (c *customCluster) next(typ string) *scheduler.Event {
	c.t.Helper()
	for i, ev := range c.pending {
		if ev.Type == typ {
			c.pending = append(c.pending[:i:i], c.pending[i+1:]...)
			return ev
		}
	}
	timer := time.NewTimer(90 * time.Second)
	defer timer.Stop()
	for {
		select {
		case ev, ok := <-c.events:
			if !ok {
				c.t.Fatalf("stream ended while waiting for %s", typ)
			}
			if ev.Type == typ {
				return ev
			}
			if ev.Type != scheduler.EventHeartbeat {
				c.pending = append(c.pending, ev)
			}
		case <-timer.C:
			c.t.Fatalf("no %s within 90s", typ)
		}
	}
}

// takeOffers returns every offer the framework holds once they hold
// cpus (the agent's resources come back in pieces as tasks end).
func (c *customCluster) takeOffers(cpus float64) []mesos.Offer {
	c.t.Helper()
	for {
		var held float64
		for i := 0; i < len(c.pending); i++ {
			if ev := c.pending[i]; ev.Type == scheduler.EventOffers {
				c.offers = append(c.offers, ev.Offers.Offers...)
				c.pending = append(c.pending[:i:i], c.pending[i+1:]...)
				i--
			}
		}
		for _, o := range c.offers {
			held += mesos.Resources(o.Resources).Scalar("cpus")
		}
		if held >= cpus-1e-9 {
			offers := c.offers
			c.offers = nil
			c.agentID = offers[0].AgentID
			return offers
		}
		c.offers = append(c.offers, c.next(scheduler.EventOffers).Offers.Offers...)
	}
}

func (c *customCluster) call(call *scheduler.Call) {
	c.t.Helper()
	if err := c.cl.Call(c.ctx, call); err != nil {
		c.t.Fatalf("%s: %v", call.Type, err)
	}
}

// launch accepts the offers held with tasks of 0.1 cpus and 32 MB run by info.
func (c *customCluster) launch(info *mesos.ExecutorInfo, ids ...string) {
	c.t.Helper()
	offers := c.takeOffers(0.1 * float64(len(ids)+1))
	var offerIDs []mesos.OfferID
	for _, o := range offers {
		offerIDs = append(offerIDs, o.ID)
	}
	var tasks []mesos.TaskInfo
	for _, id := range ids {
		tasks = append(tasks, mesos.TaskInfo{Name: id, TaskID: mesos.TaskID{Value: id}, AgentID: c.agentID,
			Resources: []mesos.Resource{mesos.ScalarResource("cpus", 0.1), mesos.ScalarResource("mem", 32)},
			Executor:  info})
	}
	c.call(client.AcceptCall(offerIDs, []mesos.OfferOperation{client.LaunchOp(tasks...)}, client.Filters(0)))
}

// ended returns task id's terminal update, skipping (and acknowledging)
// updates of tasks that are not terminal: after an agent restart the
// agent resends updates whose acknowledgement it did not record.
func (c *customCluster) ended(id string) mesos.TaskStatus {
	c.t.Helper()
	for {
		st := c.update()
		if !st.State.IsTerminal() {
			continue
		}
		if st.TaskID.Value != id {
			c.t.Fatalf("%s ended (%s %s %q) while waiting for %s to", st.TaskID.Value, st.State, st.Reason, st.Message, id)
		}
		return st
	}
}

// failure returns the next FAILURE event.
func (c *customCluster) failure() *scheduler.Failure {
	c.t.Helper()
	return c.next(scheduler.EventFailure).Failure
}

// update returns the next status update and acknowledges it.
func (c *customCluster) update() mesos.TaskStatus {
	c.t.Helper()
	st := c.next(scheduler.EventUpdate).Update.Status
	if len(st.UUID) > 0 {
		c.call(client.AcknowledgeCall(&st))
	}
	return st
}

// executorInfo is a custom executor fetched from uri, with its command's
// environment env.
func executorInfo(id, uri string, env ...mesos.EnvironmentVariable) *mesos.ExecutorInfo {
	exe := true
	return &mesos.ExecutorInfo{ExecutorID: mesos.ExecutorID{Value: id}, Name: "test executor " + id,
		Command: &mesos.CommandInfo{Value: "exec ./custom-executor", URIs: []mesos.CommandURI{{Value: uri, Executable: &exe}},
			Environment: &mesos.Environment{Variables: env}},
		Resources: []mesos.Resource{mesos.ScalarResource("cpus", 0.1), mesos.ScalarResource("mem", 32)}}
}

// binaryServer serves the custom executor at /custom-executor on
// 127.0.0.1 (anything else is a 404) and counts its downloads.
func binaryServer(t *testing.T, bin string) (*httptest.Server, func() int) {
	var mu sync.Mutex
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/custom-executor" {
			http.NotFound(w, r)
			return
		}
		mu.Lock()
		n++
		mu.Unlock()
		http.ServeFile(w, r, bin)
	}))
	t.Cleanup(srv.Close)
	return srv, func() int {
		mu.Lock()
		defer mu.Unlock()
		return n
	}
}

// launchedMessage is what the custom executor tells the framework of a
// task it starts.
type launchedMessage struct {
	Event  string            `json:"event"`
	TaskID string            `json:"task_id"`
	PID    int               `json:"pid"`
	Env    map[string]string `json:"env"`
}

// TestCustomExecutor_TwoTasksMessagesAndKill9: a custom executor (a Go
// program speaking the v1 Executor API in protobuf) is fetched from a URI
// on 127.0.0.1 and runs the tasks launched to its ExecutorInfo in one
// process (two in one ACCEPT, a third later); MESSAGEs go both ways; on
// kill -9 of the executor the framework gets FAILURE with the exit status
// as Mesos encodes it, and each task TASK_FAILED with
// REASON_EXECUTOR_TERMINATED. It runs with the framework speaking JSON
// and protobuf.
func TestCustomExecutor_TwoTasksMessagesAndKill9(t *testing.T) {
	bin := customExecutorBin(t, t.TempDir())
	for _, enc := range []string{codec.JSON, codec.Protobuf} {
		t.Run(strings.TrimPrefix(enc, "application/"), func(t *testing.T) { twoTasksMessagesAndKill9(t, enc, bin) })
	}
}

func twoTasksMessagesAndKill9(t *testing.T, encoding, bin string) {
	files, downloads := binaryServer(t, bin)
	c := newCustomCluster(t, encoding, time.Minute)
	fid := c.cl.FrameworkID()
	info := executorInfo("e1", files.URL+"/custom-executor", mesos.EnvironmentVariable{Name: "CUSTOM_EXECUTOR_GREETING", Value: "hello"})

	c.launch(info, "t1", "t2")
	pids := map[int]bool{}
	var env map[string]string
	running := map[string]bool{}
	for i := 0; i < 2; i++ {
		st := c.update()
		if st.State != mesos.TaskRunning {
			t.Fatalf("task %s: %s %s %s", st.TaskID.Value, st.State, st.Reason, st.Message)
		}
		running[st.TaskID.Value] = true
		msg := c.next(scheduler.EventMessage).Message
		var m launchedMessage
		if err := json.Unmarshal(msg.Data, &m); err != nil || m.Event != "launched" {
			t.Fatalf("message %q: %v", msg.Data, err)
		}
		if msg.ExecutorID == nil || msg.ExecutorID.Value != "e1" || msg.AgentID == nil || msg.AgentID.Value != c.agentID.Value {
			t.Errorf("message from %+v on %+v, want e1 on %s", msg.ExecutorID, msg.AgentID, c.agentID.Value)
		}
		pids[m.PID], env = true, m.Env
	}
	if !running["t1"] || !running["t2"] {
		t.Fatalf("running: %v, want t1 and t2", running)
	}
	want := map[string]string{"MESOS_FRAMEWORK_ID": fid, "MESOS_EXECUTOR_ID": "e1", "MESOS_AGENT_ID": c.agentID.Value,
		"MESOS_SLAVE_ID": c.agentID.Value, "MESOS_CHECKPOINT": "1", "MESOS_HTTP_COMMAND_EXECUTOR": "0",
		"CUSTOM_EXECUTOR_GREETING": "hello"}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("executor's %s = %q, want %q", k, env[k], v)
		}
	}
	for _, k := range []string{"MESOS_AGENT_ENDPOINT", "MESOS_SANDBOX", "MESOS_DIRECTORY", "MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD"} {
		if env[k] == "" {
			t.Errorf("executor has no %s", k)
		}
	}

	// A third task goes to the running executor.
	c.launch(info, "t3")
	if st := c.update(); st.TaskID.Value != "t3" || st.State != mesos.TaskRunning {
		t.Fatalf("t3: %+v", st)
	}
	var m launchedMessage
	if err := json.Unmarshal(c.next(scheduler.EventMessage).Message.Data, &m); err != nil || m.TaskID != "t3" {
		t.Fatalf("launched message for t3: %+v %v", m, err)
	}
	pids[m.PID] = true
	if len(pids) != 1 {
		t.Fatalf("tasks ran in executor processes %v, want one", pids)
	}
	if n := downloads(); n != 1 {
		t.Errorf("executor fetched %d times, want once", n)
	}
	// /state counts the executor's resources once: 3 tasks of 0.1 cpus
	// and their executor's 0.1.
	if got := usedCPUs(t, c.srv.HTTPAddr()); got < 0.4-1e-9 || got > 0.4+1e-9 {
		t.Errorf("/state: the agent uses %v cpus, want 0.4", got)
	}

	// Framework → executor → framework. A message for an executor the
	// agent does not run, or an agent that does not exist, is accepted
	// and dropped, as Mesos drops it.
	for _, to := range []struct{ agent, executor string }{{c.agentID.Value, "no-such-executor"}, {"no-such-agent", "e1"}} {
		c.call(&scheduler.Call{Type: scheduler.CallMessage, Message: &scheduler.Message{
			AgentID: &mesos.AgentID{Value: to.agent}, ExecutorID: &mesos.ExecutorID{Value: to.executor}, Data: mesos.Bytes("lost")}})
	}
	c.call(&scheduler.Call{Type: scheduler.CallMessage, Message: &scheduler.Message{
		AgentID: &c.agentID, ExecutorID: &mesos.ExecutorID{Value: "e1"}, Data: mesos.Bytes("ping")}})
	if got := string(c.next(scheduler.EventMessage).Message.Data); got != "echo: ping" {
		t.Fatalf("executor answered %q, want %q", got, "echo: ping")
	}

	if err := syscall.Kill(m.PID, syscall.SIGKILL); err != nil {
		t.Fatalf("kill -9 %d: %v", m.PID, err)
	}
	failed := map[string]bool{}
	for len(failed) < 3 {
		st := c.update()
		if st.State != mesos.TaskFailed || st.Reason != mesos.ReasonExecutorTerminated {
			t.Errorf("task %s: %s %s %q, want TASK_FAILED REASON_EXECUTOR_TERMINATED", st.TaskID.Value, st.State, st.Reason, st.Message)
		}
		failed[st.TaskID.Value] = true
	}
	failure := c.failure()
	if failure.ExecutorID == nil || failure.ExecutorID.Value != "e1" || failure.AgentID == nil ||
		failure.AgentID.Value != c.agentID.Value || failure.Status == nil || *failure.Status != int32(syscall.SIGKILL) {
		t.Errorf("FAILURE of %v on %v with status %s, want e1 on %s with status %d", failure.ExecutorID, failure.AgentID,
			statusString(failure.Status), c.agentID.Value, syscall.SIGKILL)
	}
}

// TestCustomExecutor_BadExecutorsFailTheirTasks: an executor URI that
// answers 404, an output file that escapes the sandbox, an executor that
// exits at once and one that never subscribes each fail their task with
// the state and reason Mesos gives, and the agent goes on serving.
func TestCustomExecutor_BadExecutorsFailTheirTasks(t *testing.T) {
	bin := customExecutorBin(t, t.TempDir())
	files, _ := binaryServer(t, bin)
	c := newCustomCluster(t, codec.Protobuf, 5*time.Second)
	uri := files.URL + "/custom-executor"

	escape := executorInfo("escape", uri)
	escape.Command.URIs[0].OutputFile = "../escaped-executor"
	cases := []struct {
		info        *mesos.ExecutorInfo
		reason, msg string
		status      int32
	}{
		{executorInfo("missing", files.URL+"/no-such-executor"), mesos.ReasonContainerLaunchFailed, "404", -1},
		{escape, mesos.ReasonContainerLaunchFailed, "escaped-executor", -1},
		{executorInfo("quits", uri, mesos.EnvironmentVariable{Name: "CUSTOM_EXECUTOR_MODE", Value: "exit"}),
			mesos.ReasonExecutorTerminated, "exited with status 3", 3 << 8},
		{executorInfo("silent", uri, mesos.EnvironmentVariable{Name: "CUSTOM_EXECUTOR_MODE", Value: "silent"}),
			mesos.ReasonExecutorRegistrationTO, "did not register within 5s", destroyedStatus},
	}
	for _, tc := range cases {
		id := "task-of-" + tc.info.ExecutorID.Value
		c.launch(tc.info, id)
		st := c.update()
		if st.TaskID.Value != id || st.State != mesos.TaskFailed || st.Reason != tc.reason || !strings.Contains(st.Message, tc.msg) {
			t.Errorf("%s: %s %s %q, want TASK_FAILED %s saying %q", id, st.State, st.Reason, st.Message, tc.reason, tc.msg)
		}
		f := c.failure()
		okStatus := f.Status != nil && *f.Status == tc.status || tc.status == destroyedStatus && destroyed(f.Status)
		if f.ExecutorID == nil || f.ExecutorID.Value != tc.info.ExecutorID.Value || !okStatus {
			t.Errorf("%s: FAILURE of %v with status %s, want status %d", id, f.ExecutorID, statusString(f.Status), tc.status)
		}
	}
	filepath.WalkDir(c.workDir, func(p string, _ os.DirEntry, err error) error {
		if err == nil && filepath.Base(p) == "escaped-executor" {
			t.Errorf("a fetched file escaped its sandbox: %s", p)
		}
		return nil
	})
	// The agent still runs a good executor.
	c.launch(executorInfo("good", uri), "good-task")
	if st := c.update(); st.State != mesos.TaskRunning {
		t.Fatalf("good-task: %s %s %q", st.State, st.Reason, st.Message)
	}
	// Once its task is killed the executor runs on, idle; the leader still
	// records it, and refuses a task that names it with another
	// ExecutorInfo, as the Mesos master does.
	c.call(client.KillCall("good-task", c.agentID.Value))
	if st := c.update(); st.State != mesos.TaskKilled {
		t.Fatalf("good-task: %s %s %q, want TASK_KILLED", st.State, st.Reason, st.Message)
	}
	c.launch(executorInfo("good", uri, mesos.EnvironmentVariable{Name: "CUSTOM_EXECUTOR_GREETING", Value: "changed"}), "other-task")
	if st := c.update(); st.State != mesos.TaskError || st.Reason != mesos.ReasonTaskInvalid || st.Source != mesos.SourceMaster ||
		!strings.Contains(st.Message, "not compatible") {
		t.Errorf("other-task: %s %s from %s %q, want TASK_ERROR REASON_TASK_INVALID from the master, not compatible",
			st.State, st.Reason, st.Source, st.Message)
	}
}

// TestCustomExecutor_ShutdownAndGrace: a framework's SHUTDOWN reaches its
// executor, which kills its task and exits (FAILURE with status 0); an
// executor that ignores SHUTDOWN is destroyed once its
// ExecutorInfo.shutdown_grace_period has passed, its task TASK_KILLED.
func TestCustomExecutor_ShutdownAndGrace(t *testing.T) {
	bin := customExecutorBin(t, t.TempDir())
	files, _ := binaryServer(t, bin)
	c := newCustomCluster(t, codec.JSON, time.Minute)
	uri := files.URL + "/custom-executor"
	shutdown := func(eid string) {
		c.call(&scheduler.Call{Type: scheduler.CallShutdown, Shutdown: &scheduler.Shutdown{
			AgentID: &c.agentID, ExecutorID: &mesos.ExecutorID{Value: eid}}})
	}

	c.launch(executorInfo("polite", uri), "polite-task")
	if st := c.update(); st.State != mesos.TaskRunning {
		t.Fatalf("polite-task: %s %s %q", st.State, st.Reason, st.Message)
	}
	shutdown("polite")
	if st := c.update(); st.State != mesos.TaskKilled || st.Source != mesos.SourceExecutor {
		t.Errorf("polite-task: %s from %s %q, want TASK_KILLED from its executor", st.State, st.Source, st.Message)
	}
	if f := c.failure(); f.ExecutorID.Value != "polite" || f.Status == nil || *f.Status != 0 {
		t.Errorf("FAILURE of %v with status %s, want polite with status 0", f.ExecutorID, statusString(f.Status))
	}

	stubborn := executorInfo("stubborn", uri, mesos.EnvironmentVariable{Name: "CUSTOM_EXECUTOR_MODE", Value: "stubborn"})
	stubborn.ShutdownGracePeriod = &mesos.DurationInfo{Nanoseconds: int64(time.Second)}
	c.launch(stubborn, "stubborn-task")
	if st := c.update(); st.State != mesos.TaskRunning {
		t.Fatalf("stubborn-task: %s %s %q", st.State, st.Reason, st.Message)
	}
	shutdown("stubborn")
	if st := c.update(); st.State != mesos.TaskKilled || st.Source != mesos.SourceAgent || st.Reason != mesos.ReasonExecutorTerminated {
		t.Errorf("stubborn-task: %s from %s %s %q, want TASK_KILLED from the agent", st.State, st.Source, st.Reason, st.Message)
	}
	if f := c.failure(); f.ExecutorID.Value != "stubborn" || !destroyed(f.Status) {
		t.Errorf("FAILURE of %v with status %s, want stubborn killed by SIGTERM or SIGKILL", f.ExecutorID, statusString(f.Status))
	}
}

// statusString renders a FAILURE's status.
func statusString(s *int32) string {
	if s == nil {
		return "none"
	}
	return strconv.Itoa(int(*s))
}

// destroyedStatus stands for the status of an executor the agent
// destroyed: killed by SIGTERM or SIGKILL, whichever reached it first.
const destroyedStatus = -2

// destroyed reports whether a FAILURE's status is that of an executor
// the agent destroyed.
func destroyed(s *int32) bool {
	return s != nil && (*s == int32(syscall.SIGTERM) || *s == int32(syscall.SIGKILL))
}

// TestCustomExecutor_SurvivesAgentRestart: a custom executor keeps running
// while its agent restarts, subscribes to the next agent process, which
// recovered its run, and goes on taking messages and kills; its kill -9
// then reaches the framework as FAILURE from the new agent process.
func TestCustomExecutor_SurvivesAgentRestart(t *testing.T) {
	bin := customExecutorBin(t, t.TempDir())
	files, _ := binaryServer(t, bin)
	c := newCustomClusterWith(t, codec.Protobuf, time.Minute, false)
	c.launch(executorInfo("e1", files.URL+"/custom-executor"), "t1", "t2")
	var pid int
	for i := 0; i < 2; i++ {
		if st := c.update(); st.State != mesos.TaskRunning {
			t.Fatalf("%s: %s %s %q", st.TaskID.Value, st.State, st.Reason, st.Message)
		}
		var m launchedMessage
		if err := json.Unmarshal(c.next(scheduler.EventMessage).Message.Data, &m); err != nil {
			t.Fatal(err)
		}
		pid = m.PID
	}

	c.restartAgent()
	// The executor is back once a message reaches it through the new
	// agent process; until it has resubscribed, messages are dropped.
	deadline := time.Now().Add(60 * time.Second)
	for answered := false; !answered; {
		if time.Now().After(deadline) {
			t.Fatal("the executor did not answer a message after the agent restarted")
		}
		c.call(&scheduler.Call{Type: scheduler.CallMessage, Message: &scheduler.Message{
			AgentID: &c.agentID, ExecutorID: &mesos.ExecutorID{Value: "e1"}, Data: mesos.Bytes("ping")}})
		select {
		case ev := <-c.events:
			if ev.Type == scheduler.EventMessage && string(ev.Message.Data) == "echo: ping" {
				answered = true
			} else if ev.Type != scheduler.EventHeartbeat {
				c.pending = append(c.pending, ev)
			}
		case <-time.After(time.Second):
		}
	}
	c.call(client.KillCall("t1", c.agentID.Value))
	if st := c.ended("t1"); st.State != mesos.TaskKilled {
		t.Fatalf("t1: %s %s %q, want TASK_KILLED", st.State, st.Reason, st.Message)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill -9 %d: %v", pid, err)
	}
	if st := c.ended("t2"); st.State != mesos.TaskFailed || st.Reason != mesos.ReasonExecutorTerminated {
		t.Errorf("t2: %s %s %q, want TASK_FAILED REASON_EXECUTOR_TERMINATED", st.State, st.Reason, st.Message)
	}
	if f := c.failure(); f.ExecutorID == nil || f.ExecutorID.Value != "e1" {
		t.Errorf("FAILURE of %v, want e1", f.ExecutorID)
	}
}

// usedCPUs reads the cpus the only agent uses from the leader's /state.
func usedCPUs(t *testing.T, addr string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/state")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var state struct {
		Slaves []struct {
			UsedResources map[string]any `json:"used_resources"`
		} `json:"slaves"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&state); err != nil || len(state.Slaves) != 1 {
		t.Fatalf("/state: %v, %d agents", err, len(state.Slaves))
	}
	cpus, _ := state.Slaves[0].UsedResources["cpus"].(float64)
	return cpus
}

// TestCustomExecutor_ContainerGrowsWithItsTasks: under linux isolation a
// custom executor's container is limited to the executor's resources and
// its tasks', and a task launched to the running executor raises the
// limits by its own, as Mesos' containerizer update does.
func TestCustomExecutor_ContainerGrowsWithItsTasks(t *testing.T) {
	if iso, why := executor.DefaultIsolation(); iso != executor.IsolationLinux {
		t.Skipf("linux isolation not available: %s", why)
	}
	bin := customExecutorBin(t, t.TempDir())
	files, _ := binaryServer(t, bin)
	c := newCustomClusterWith(t, codec.JSON, time.Minute, true, func(cfg *agent.Config) {
		cfg.Isolation, cfg.AllowRootTasks = executor.IsolationLinux, true
	})
	info := executorInfo("e1", files.URL+"/custom-executor")
	memLimit := func() uint64 {
		var stats []agent.StatisticsJSON
		if err := getJSON(c.agentCfg.HTTPAddr, "/monitor/statistics", &stats); err != nil {
			return 0
		}
		for _, s := range stats {
			if s.ExecutorID == "e1" {
				return s.Statistics.MemLimitBytes
			}
		}
		return 0
	}
	c.launch(info, "t1")
	if st := c.update(); st.State != mesos.TaskRunning {
		t.Fatalf("t1: %s %s %s", st.State, st.Reason, st.Message)
	}
	if got := memLimit(); got != 64<<20 {
		t.Fatalf("container memory limit %d, want 64 MB (executor and t1)", got)
	}
	c.launch(info, "t2")
	if st := c.update(); st.State != mesos.TaskRunning {
		t.Fatalf("t2: %s %s %s", st.State, st.Reason, st.Message)
	}
	waitFor(t, 10*time.Second, "the container to grow to 96 MB", func() bool { return memLimit() == 96<<20 })
}
