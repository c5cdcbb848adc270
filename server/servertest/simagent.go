package servertest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"mesh/mesos"
	"mesh/mesos/agentapi"
	"mesh/mesos/recordio"
)

// SimAgent speaks the real agent protocol with fake containers: a task
// reports TASK_RUNNING and, unless its command (or its custom
// executor's) contains "sleep", then TASK_FINISHED; each next update
// only after the previous is acknowledged, as the real agent's status
// update manager does. It keeps the executors it was asked to start and
// reports them when it registers, as the real agent does; a default
// executor (task groups) exits, and is reported, once its last task's
// terminal update is acknowledged; a custom executor exits when the
// test says (ExitExecutor).
type SimAgent struct {
	Server    string // server HTTP address
	Hostname  string
	Port      int32
	Resources mesos.Resources
	// Attributes are advertised at registration (optional).
	Attributes []mesos.Attribute
	ID         string
	// Pings makes the agent advertise agentapi.CapabilityPing and answer
	// every PING with a PONG (unless muted); without it the agent is one
	// of an older version that ignores PING.
	Pings bool
	// PongStream makes an agent with Pings answer them on a pong stream
	// when the leader offers one (agentapi.CapabilityPongStream), as the
	// real agent does, with calls while it has none.
	PongStream bool

	muted bool // under mu: PINGs go unanswered, as by a stopped agent
	pings int  // under mu: PINGs received
	// answers answers the stream's PINGs (nil: with calls); streamPongs
	// and callPongs count the PINGs answered each way (under mu).
	answers                *agentapi.Answerer
	streamPongs, callPongs int

	mu    sync.Mutex
	tasks map[string]*simTask // framework/task
	// executors are the executors it runs, by framework/executor.
	executors map[string]mesos.ExecutorInfo
	terms     []uint64
	launched  int
	kills     map[string][]*mesos.KillPolicy // framework/task → the policy of each KILL
	refused   string                         // the message of an ERROR event that ended the stream
	// checkpointed is the latest CHECKPOINT_RESOURCES received.
	checkpointed mesos.Resources
	cancel       context.CancelFunc
	done         chan struct{}
	client       *http.Client
}

type simTask struct {
	fid     string
	info    mesos.TaskInfo
	exec    *mesos.ExecutorInfo // its executor, nil for a command task
	state   mesos.TaskState     // the latest acknowledged state
	pending []mesos.TaskStatus  // next updates, head outstanding
	sent    bool
}

// NewSimAgent returns an unstarted simulated agent.
func NewSimAgent(server string, res mesos.Resources) *SimAgent {
	return &SimAgent{Server: server, Hostname: "sim", Port: 5051, Resources: res,
		tasks: map[string]*simTask{}, kills: map[string][]*mesos.KillPolicy{}, client: &http.Client{},
		executors: map[string]mesos.ExecutorInfo{}}
}

// Start subscribes and serves commands until Stop.
func (a *SimAgent) Start(t interface {
	Helper()
	Fatalf(string, ...any)
	Cleanup(func())
}) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	a.cancel = cancel
	a.done = make(chan struct{})
	registered := make(chan error, 2)
	go func() {
		defer close(a.done)
		if err := a.run(ctx, registered); err != nil {
			registered <- err
		}
	}()
	select {
	case err := <-registered:
		if err != nil {
			t.Fatalf("sim agent: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("sim agent did not register")
	}
	t.Cleanup(a.Stop)
}

// Stop disconnects the agent.
func (a *SimAgent) Stop() {
	if a.cancel != nil {
		a.cancel()
		<-a.done
		a.cancel = nil
	}
}

// Refused returns the message of the ERROR event that ended the agent's
// stream, "" if none did.
func (a *SimAgent) Refused() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.refused
}

// Launched returns how many tasks the agent was asked to launch.
func (a *SimAgent) Launched() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.launched
}

// TaskState returns the latest acknowledged state of a task, "" if the
// agent does not know it.
func (a *SimAgent) TaskState(frameworkID, taskID string) mesos.TaskState {
	a.mu.Lock()
	defer a.mu.Unlock()
	if st := a.tasks[frameworkID+"/"+taskID]; st != nil {
		return st.state
	}
	return ""
}

// Kills returns the kill policy of each KILL the agent was sent for a
// task, oldest first (nil for a KILL without one).
func (a *SimAgent) Kills(frameworkID, taskID string) []*mesos.KillPolicy {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]*mesos.KillPolicy(nil), a.kills[frameworkID+"/"+taskID]...)
}

// Forget drops a task from the agent, as an agent restarted on a work
// dir that lost the task would: it is not reported when the agent next
// registers.
func (a *SimAgent) Forget(frameworkID, taskID string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.tasks, frameworkID+"/"+taskID)
}

// run registers, signals registered, then processes the stream until it
// ends. An error before registration is returned.
func (a *SimAgent) run(ctx context.Context, registered chan<- error) error {
	info := mesos.AgentInfo{Hostname: a.Hostname, Port: a.Port, Resources: a.Resources, Attributes: a.Attributes}
	if a.ID != "" {
		info.ID = &mesos.AgentID{Value: a.ID}
	}
	// Re-registering reports the tasks it runs, as the real agent does.
	var tasks []agentapi.Task
	a.mu.Lock()
	for _, st := range a.tasks {
		tasks = append(tasks, agentapi.Task{FrameworkID: mesos.FrameworkID{Value: st.fid}, TaskID: st.info.TaskID, State: st.state})
		st.sent = false // resend the outstanding update to the new stream
	}
	var execs []mesos.ExecutorInfo
	for _, e := range a.executors {
		execs = append(execs, e)
	}
	a.mu.Unlock()
	sub := &agentapi.Subscribe{AgentInfo: info, Tasks: tasks, Executors: execs, Capabilities: []string{agentapi.CapabilityExecutors}}
	if a.Pings {
		sub.Capabilities = append(sub.Capabilities, agentapi.CapabilityPing)
	}
	body, _ := json.Marshal(agentapi.Call{Type: agentapi.CallSubscribe, Subscribe: sub})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+a.Server+agentapi.Path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := a.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("subscribe: status %d", resp.StatusCode)
	}
	rd := recordio.NewReader(resp.Body)
	first := true
	for {
		rec, err := rd.ReadRecord()
		if err != nil {
			if first {
				return err
			}
			return nil
		}
		var ev agentapi.Event
		if err := json.Unmarshal(rec, &ev); err != nil {
			return err
		}
		if ev.Type == agentapi.EventError && !first {
			// As the real agent: the server refuses it; the stream ends.
			a.mu.Lock()
			a.refused = ev.Error.Message
			a.mu.Unlock()
			return nil
		}
		if first {
			if ev.Type != agentapi.EventRegistered {
				return fmt.Errorf("first event %s, want REGISTERED", ev.Type)
			}
			a.ID = ev.Registered.AgentID.Value
			if a.Pings && a.PongStream {
				answers := agentapi.NewAnswerer(a.client, "http://"+a.Server+agentapi.Path, ev.Registered)
				defer func() {
					a.mu.Lock()
					answers.Close()
					a.answers = nil
					a.mu.Unlock()
				}()
				a.mu.Lock()
				a.answers = answers
				a.mu.Unlock()
			}
			first = false
			registered <- nil
			continue
		}
		a.handle(ctx, &ev)
	}
}

// Mute stops (true) or resumes (false) the agent's answers to PING while
// its stream stays open, as a stopped process or a network that drops
// packets would.
func (a *SimAgent) Mute(muted bool) {
	a.mu.Lock()
	a.muted = muted
	a.mu.Unlock()
}

// PingsReceived returns how many PING events the agent has received.
func (a *SimAgent) PingsReceived() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.pings
}

// PongsSent returns how many PINGs the agent answered on a pong stream
// and with PONG calls.
func (a *SimAgent) PongsSent() (onStream, calls int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.streamPongs, a.callPongs
}

// Checkpointed returns the reservations and volumes the leader last told
// the agent it holds.
func (a *SimAgent) Checkpointed() mesos.Resources {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.checkpointed.Clone()
}

// Done is closed when the agent's stream has ended (the server closed it,
// or Stop).
func (a *SimAgent) Done() <-chan struct{} { return a.done }

func (a *SimAgent) handle(ctx context.Context, ev *agentapi.Event) {
	switch ev.Type {
	case agentapi.EventPing:
		a.mu.Lock()
		a.pings++
		answer := a.Pings && !a.muted
		if answer && a.answers != nil {
			answer, _ = a.answers.Answer(ctx, ev)
		}
		if answer {
			a.callPongs++ // no stream, or one not yet accepted or given up
		} else if a.Pings && !a.muted {
			a.streamPongs++
		}
		a.mu.Unlock()
		if answer {
			go a.pong(ctx)
		}
		return
	case agentapi.EventLaunch:
		a.mu.Lock()
		fid := ev.Launch.FrameworkInfo.ID.Value
		for _, ti := range ev.Launch.Tasks {
			exec := ev.Launch.Executor
			if exec == nil {
				exec = ti.Executor
			}
			if exec != nil && a.executors[fid+"/"+exec.ExecutorID.Value].ExecutorID.Value == "" {
				e := *exec
				e.FrameworkID = &mesos.FrameworkID{Value: fid}
				a.executors[fid+"/"+e.ExecutorID.Value] = e
			}
			st := &simTask{fid: fid, info: ti, exec: exec, state: mesos.TaskStaging}
			st.pending = append(st.pending, a.status(ti.TaskID, mesos.TaskRunning))
			cmd := ti.Command
			if cmd == nil && ti.Executor != nil {
				cmd = ti.Executor.Command // a custom executor's task runs as long as it does
			}
			if cmd == nil || !strings.Contains(cmd.Value, "sleep") {
				st.pending = append(st.pending, a.status(ti.TaskID, mesos.TaskFinished))
			}
			a.tasks[st.fid+"/"+ti.TaskID.Value] = st
			a.launched++
		}
		a.mu.Unlock()
	case agentapi.EventCheckpointResources:
		a.mu.Lock()
		a.checkpointed = ev.CheckpointResources.Resources
		a.mu.Unlock()
	case agentapi.EventKill:
		a.mu.Lock()
		key := ev.Kill.FrameworkID.Value + "/" + ev.Kill.TaskID.Value
		a.kills[key] = append(a.kills[key], ev.Kill.KillPolicy)
		if st := a.tasks[ev.Kill.FrameworkID.Value+"/"+ev.Kill.TaskID.Value]; st != nil {
			st.pending = append(st.pending, a.status(ev.Kill.TaskID, mesos.TaskKilled))
		}
		a.mu.Unlock()
	case agentapi.EventAcknowledge:
		a.mu.Lock()
		if st := a.tasks[ev.Acknowledge.FrameworkID.Value+"/"+ev.Acknowledge.TaskID.Value]; st != nil &&
			len(st.pending) > 0 && bytes.Equal(st.pending[0].UUID, ev.Acknowledge.UUID) {
			st.state = st.pending[0].State
			st.pending = st.pending[1:]
			st.sent = false
			if st.state.IsTerminal() {
				a.defaultExecutorDone(ctx, st)
			}
		}
		a.mu.Unlock()
	case agentapi.EventShutdownFramework:
		a.mu.Lock()
		for k, st := range a.tasks {
			if st.fid == ev.ShutdownFramework.FrameworkID.Value {
				delete(a.tasks, k)
			}
		}
		for k, e := range a.executors {
			if e.FrameworkID.Value == ev.ShutdownFramework.FrameworkID.Value {
				delete(a.executors, k)
			}
		}
		a.mu.Unlock()
	}
	a.flush(ctx)
}

func (a *SimAgent) status(id mesos.TaskID, s mesos.TaskState) mesos.TaskStatus {
	u := uuid.New()
	return mesos.TaskStatus{TaskID: id, State: s, Source: mesos.SourceExecutor, UUID: u[:],
		ExecutorID: &mesos.ExecutorID{Value: id.Value}, Timestamp: float64(time.Now().UnixNano()) / 1e9}
}

// Resend sends the head update of every task again, acknowledged or not
// yet, as an agent's status update manager does when an acknowledgement
// is late, and returns the server's answer.
func (a *SimAgent) Resend(ctx context.Context) (int, error) {
	code, _, err := a.ResendWithAnswer(ctx)
	return code, err
}

// ResendWithAnswer is Resend, also giving how long the server asked the
// agent not to resend the updates (agentapi.UpdateResult).
func (a *SimAgent) ResendWithAnswer(ctx context.Context) (code int, resendAfter time.Duration, err error) {
	a.mu.Lock()
	var batch []agentapi.StatusUpdate
	for _, st := range a.tasks {
		if len(st.pending) > 0 {
			batch = append(batch, agentapi.StatusUpdate{FrameworkID: mesos.FrameworkID{Value: st.fid}, Status: st.pending[0]})
		}
	}
	a.mu.Unlock()
	resp, err := a.postUpdates(ctx, batch)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	return resp.StatusCode, agentapi.ResendAfter(resp.Body), nil
}

func (a *SimAgent) postUpdates(ctx context.Context, batch []agentapi.StatusUpdate) (*http.Response, error) {
	body, _ := json.Marshal(agentapi.Call{Type: agentapi.CallUpdate, AgentID: &mesos.AgentID{Value: a.ID},
		Update: &agentapi.Update{Updates: batch}})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+a.Server+agentapi.Path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	return a.client.Do(req)
}

// flush sends the head update of every task that has none outstanding.
func (a *SimAgent) flush(ctx context.Context) {
	a.mu.Lock()
	var batch []agentapi.StatusUpdate
	for _, st := range a.tasks {
		if len(st.pending) > 0 && !st.sent {
			st.sent = true
			batch = append(batch, agentapi.StatusUpdate{FrameworkID: mesos.FrameworkID{Value: st.fid}, Status: st.pending[0]})
		}
	}
	a.mu.Unlock()
	if len(batch) == 0 {
		return
	}
	go func() {
		if resp, err := a.postUpdates(ctx, batch); err == nil {
			resp.Body.Close()
		}
	}()
}

func (a *SimAgent) pong(ctx context.Context) {
	body, _ := json.Marshal(agentapi.Call{Type: agentapi.CallPong, AgentID: &mesos.AgentID{Value: a.ID}})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+a.Server+agentapi.Path, bytes.NewReader(body))
	if err != nil {
		return
	}
	req.Header.Set("Content-Type", "application/json")
	if resp, err := a.client.Do(req); err == nil {
		resp.Body.Close()
	}
}

// defaultExecutorDone makes the default executor of task st exit, and
// reports it, once st was its last live task. Caller holds a.mu.
func (a *SimAgent) defaultExecutorDone(ctx context.Context, st *simTask) {
	if st.exec == nil || st.exec.Type != mesos.ExecutorTypeDefault {
		return
	}
	eid := st.exec.ExecutorID.Value
	for _, o := range a.tasks {
		if o.fid == st.fid && o.exec != nil && o.exec.ExecutorID.Value == eid &&
			(!o.state.IsTerminal() || len(o.pending) > 0) {
			return
		}
	}
	if _, ok := a.executors[st.fid+"/"+eid]; !ok {
		return
	}
	delete(a.executors, st.fid+"/"+eid)
	go a.postExecutorExited(ctx, st.fid, eid, 0)
}

// Executors returns the ids (framework/executor) of the executors the
// agent runs.
func (a *SimAgent) Executors() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []string
	for k := range a.executors {
		out = append(out, k)
	}
	return out
}

// ForgetExecutor drops an executor without reporting its exit, as an
// agent whose executor ended while it was away would: it is not listed
// when the agent next registers.
func (a *SimAgent) ForgetExecutor(frameworkID, executorID string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.executors, frameworkID+"/"+executorID)
}

// ExitExecutor ends an executor with status (as waitpid encodes it) and
// reports the exit to the server, returning its answer's status code.
func (a *SimAgent) ExitExecutor(ctx context.Context, frameworkID, executorID string, status int32) (int, error) {
	a.ForgetExecutor(frameworkID, executorID)
	return a.postExecutorExited(ctx, frameworkID, executorID, status)
}

func (a *SimAgent) postExecutorExited(ctx context.Context, fid, eid string, status int32) (int, error) {
	body, _ := json.Marshal(agentapi.Call{Type: agentapi.CallExecutorExited, AgentID: &mesos.AgentID{Value: a.ID},
		ExecutorExited: &agentapi.ExecutorExited{FrameworkID: mesos.FrameworkID{Value: fid},
			ExecutorID: mesos.ExecutorID{Value: eid}, Status: status}})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+a.Server+agentapi.Path, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := a.client.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}
