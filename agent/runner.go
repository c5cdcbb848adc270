package agent

import (
	"encoding/json"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"mesh/mesos"
	"mesh/mesos/agentapi"
	execapi "mesh/mesos/executor"
)

// An executor run is owned by its runner, in the manner of Nomad's task
// runner: the runner alone moves the run through its states, under its own
// lock, and writes the run's checkpoint. The agent keeps only the registry
// of runs (framework → executor id → runner, see registry.go) and routes
// commands to them: LAUNCH, KILL, SHUTDOWN_FRAMEWORK, acknowledgements,
// executor API calls and recovery.
//
// Locks, in the order they may be taken:
//
//	runner.ckptMu → runner.mu → Agent.mu → statusUpdates (leaf)
//
// Agent.mu is never held while a runner's lock is taken, nor across any
// file write: it guards maps, and is held for microseconds. A runner's
// status updates are written and synced under runner.mu (they are ordered
// per task, and a run's tasks are few); its run.json is written under
// ckptMu alone, so that neither /state nor the executor waits for that
// fsync.

// runState is the lifecycle of an executor run.
//
//	launching ──▶ running ──▶ killing ──▶ terminal
//	recovered ──▶ running
//	launching, recovered ──▶ killing, terminal
type runState int

const (
	// runLaunching: made by a LAUNCH (or found checkpointed but never
	// launched), its container being created or its executor not yet
	// subscribed.
	runLaunching runState = iota
	// runRecovered: found after an agent restart with its container
	// alive; its executor is expected to resubscribe.
	runRecovered
	// runRunning: subscribed (the stream may be down for a while).
	runRunning
	// runKilling: told to shut down or being destroyed.
	runKilling
	// runTerminal: the container is gone; the run's checkpoint is
	// removed and its tasks have their terminal updates.
	runTerminal
)

// String names the state for /state.
func (s runState) String() string {
	switch s {
	case runLaunching:
		return "REGISTERING"
	case runRecovered:
		return "RECOVERED"
	case runRunning:
		return "RUNNING"
	case runKilling:
		return "TERMINATING"
	default:
		return "TERMINATED"
	}
}

// runKind is what runs in a run's container; containerPlan turns a kind,
// its ExecutorInfo and first task into the container's makings.
type runKind int

const (
	// kindCommand is mesh's command executor running one task's
	// CommandInfo.
	kindCommand runKind = iota
	// kindCustom is a framework's executor (ExecutorInfo.command), which
	// may run several tasks.
	kindCustom
	// kindGroup is mesh's default executor running task groups
	// (group.go).
	kindGroup
)

// termination says what a run's unfinished tasks become when its
// container is gone because the agent destroyed it.
type termination struct {
	state   mesos.TaskState
	reason  string
	message string
}

// runner owns one executor in one container.
type runner struct {
	a   *Agent
	log hclog.Logger

	// Fixed when the runner is made.
	kind        runKind
	fwID        string
	id          string // executor id
	info        mesos.ExecutorInfo
	containerID string
	directory   string
	user        string
	// token is the secret the executor authenticates its calls with
	// (executor.EnvExecutorToken); "" for a run checkpointed before
	// executors had tokens.
	token         string
	shutdownGrace time.Duration
	// claimed is set when the container was created ahead of the launch
	// (a prestarted one): it exists before the run launches it.
	claimed bool

	// ckptMu serializes the writes of the run's checkpoint (run.json,
	// and its removal). It is taken before mu and never while mu is held:
	// persist snapshots the run under mu and writes with mu released.
	ckptMu sync.Mutex
	// resizeMu serializes the updates of a custom executor's container
	// limits (custom_resize.go), each computed from the run's tasks when
	// it is made, so that the last one applied is the newest.
	resizeMu sync.Mutex

	// mu guards everything below.
	mu    sync.Mutex
	state runState
	// reported is set for a recovered run whose executor had reported on
	// a task before the agent restarted: its calls are served before it
	// resubscribes.
	reported bool
	pid      int
	// subscribed is set once the executor subscribed to this agent
	// process.
	subscribed bool
	// startSlot, while set, gives back the launch slot the run holds
	// until its executor has started up and subscribed.
	startSlot func()
	// launchBegan is set once the agent starts creating the run's
	// container (the launching marker is written then). A run that an
	// agent checkpointed but never began to launch is launched by the
	// next agent on the work directory.
	launchBegan bool

	stream *eventStream // current subscription, nil while none
	// outbox holds events for the executor while it has no stream; they
	// follow SUBSCRIBED when it (re)subscribes.
	outbox []execapi.Event

	tasks     map[string]*taskEntry
	taskOrder []string     // task ids in launch order
	groups    int          // task groups launched (kindGroup)
	completed []*taskEntry // forgotten tasks, for /state

	// launchedAt is when this agent process created the run (zero for a
	// recovered one), for the executor launch time.
	launchedAt time.Time

	// term, when set, overrides what unfinished tasks become when the
	// container ends.
	term *termination

	regTimer      *time.Timer
	shutdownTimer *time.Timer
	exitStatus    string // how the executor ended, once it has
}

// taskEntry is one task of a run.
type taskEntry struct {
	info mesos.TaskInfo
	// state is the state of the newest update received for the task.
	state mesos.TaskState
	// launched is set once LAUNCH was handed to the executor.
	launched bool
	// group numbers the task group of a kindGroup run's task, from 1.
	group int
}

// runnerSpec is what a runner is made of.
type runnerSpec struct {
	kind                         runKind
	fwID                         string
	info                         mesos.ExecutorInfo
	containerID, directory, user string
	token                        string
	claimed                      bool
	state                        runState
}

func (a *Agent) newRunner(s runnerSpec) *runner {
	return &runner{
		a:             a,
		log:           a.log.With("framework_id", s.fwID, "executor_id", s.info.ExecutorID.Value, "container_id", s.containerID),
		kind:          s.kind,
		fwID:          s.fwID,
		id:            s.info.ExecutorID.Value,
		info:          s.info,
		containerID:   s.containerID,
		directory:     s.directory,
		user:          s.user,
		token:         s.token,
		claimed:       s.claimed,
		shutdownGrace: a.shutdownGrace(s.info),
		state:         s.state,
		tasks:         map[string]*taskEntry{},
	}
}

// commandExecutor reports whether the run is mesh's command executor.
func (r *runner) commandExecutor() bool { return r.kind == kindCommand }

// awaitingExecutor reports whether the run's executor has not subscribed
// (nor, for a recovered run, ever reported on a task): it cannot have
// received a task from this agent process. Caller holds r.mu.
func (r *runner) awaitingExecutor() bool {
	return r.state == runLaunching || (r.state == runRecovered && !r.reported)
}

func (r *runner) stopTimers() {
	if r.regTimer != nil {
		r.regTimer.Stop()
		r.regTimer = nil
	}
	if r.shutdownTimer != nil {
		r.shutdownTimer.Stop()
		r.shutdownTimer = nil
	}
}

// send hands an event to the executor, or keeps it for its next
// subscription. Caller holds r.mu.
func (r *runner) send(ev execapi.Event) {
	if r.stream != nil && r.stream.send(ev) {
		return
	}
	r.outbox = append(r.outbox, ev)
}

// deliverLaunch hands a task to its executor now or at its next
// subscription. Caller holds r.mu.
func (r *runner) deliverLaunch(task *taskEntry) {
	ev := execapi.Event{Type: execapi.EventLaunch, Launch: &execapi.Launch{Task: task.info}}
	if r.stream != nil && r.stream.send(ev) {
		task.launched = true
		return
	}
	r.outbox = append(r.outbox, ev)
}

// liveTasks returns the run's tasks that are not terminal. Caller holds
// r.mu.
func (r *runner) liveTasks() []*taskEntry {
	var out []*taskEntry
	for _, id := range r.taskOrder {
		if t := r.tasks[id]; !t.state.IsTerminal() {
			out = append(out, t)
		}
	}
	return out
}

// addTask adds a task to the run. Caller holds r.mu.
func (r *runner) addTask(info mesos.TaskInfo) *taskEntry {
	t := &taskEntry{info: info, state: mesos.TaskStaging}
	r.tasks[info.TaskID.Value] = t
	r.taskOrder = append(r.taskOrder, info.TaskID.Value)
	return t
}

// removeTask moves a task to the run's completed list. Caller holds r.mu.
func (r *runner) removeTask(id string) {
	t, ok := r.tasks[id]
	if !ok {
		return
	}
	delete(r.tasks, id)
	for i, x := range r.taskOrder {
		if x == id {
			r.taskOrder = append(r.taskOrder[:i:i], r.taskOrder[i+1:]...)
			break
		}
	}
	r.completed = append(r.completed, t)
	if len(r.completed) > maxCompletedTasks {
		r.completed = r.completed[len(r.completed)-maxCompletedTasks:]
	}
}

// hasLiveTask reports whether task tid is an unfinished task of the run.
func (r *runner) hasLiveTask(tid string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	t := r.tasks[tid]
	return t != nil && !t.state.IsTerminal()
}

// agentUpdate records a status update the agent makes for one of the
// run's tasks, and sets the task's state. Caller holds r.mu.
func (r *runner) agentUpdate(task mesos.TaskID, state mesos.TaskState, reason, msg string) {
	if t := r.tasks[task.Value]; t != nil {
		t.state = state
	}
	r.a.agentUpdate(r.fwID, r, task, state, reason, msg)
}

// launchFirst gives a new run its first task, to hand to its executor
// once it subscribes.
func (r *runner) launchFirst(t mesos.TaskInfo) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.deliverLaunch(r.addTask(t))
}

// taskStates lists the run's tasks with their states, for the agent's
// registration.
func (r *runner) taskStates() []agentapi.Task {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]agentapi.Task, 0, len(r.taskOrder))
	for _, id := range r.taskOrder {
		t := r.tasks[id]
		out = append(out, agentapi.Task{FrameworkID: mesos.FrameworkID{Value: r.fwID}, TaskID: t.info.TaskID, State: t.state})
	}
	return out
}

// launchStarted reports whether the agent began to create the run's
// container.
func (r *runner) launchStarted() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.launchBegan
}

// stopWaiting stops the run's timers as the agent stops.
func (r *runner) stopWaiting() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stopTimers()
}

// releaseStartSlot gives back the run's launch slot, if it holds one.
// Caller holds r.mu.
func (r *runner) releaseStartSlot() {
	if r.startSlot != nil {
		r.startSlot()
		r.startSlot = nil
	}
}

// persist writes the run's checkpoint as the run is now, unless the run
// is over (its checkpoint is removed then, and must stay so). It is
// called after a change the checkpoint must hold, without r.mu: the
// write and its fsync happen under ckptMu alone, and since each write
// takes the run as it is when the write begins, the last one holds the
// last change whatever order callers come in. A write that fails is
// logged; checkpoint returns it instead.
func (r *runner) persist() {
	if err := r.checkpoint(); err != nil {
		r.log.Error("cannot checkpoint executor; it will not be recovered after an agent restart", "error", err)
	}
}

// checkpoint is persist, returning what kept the checkpoint from being
// written.
func (r *runner) checkpoint() error {
	r.ckptMu.Lock()
	defer r.ckptMu.Unlock()
	r.mu.Lock()
	if r.state == runTerminal {
		r.mu.Unlock()
		return nil
	}
	cp := runCheckpoint{
		FrameworkInfo:   r.a.frameworkInfo(r.fwID),
		ExecutorInfo:    r.info,
		CommandExecutor: r.commandExecutor(),
		ContainerID:     r.containerID,
		Directory:       r.directory,
		User:            r.user,
		BootID:          r.a.bootID,
		Token:           r.token,
	}
	for _, id := range r.taskOrder {
		cp.Tasks = append(cp.Tasks, r.tasks[id].info)
		if g := r.tasks[id].group; g > 0 {
			if cp.TaskGroups == nil {
				cp.TaskGroups = map[string]int{}
			}
			cp.TaskGroups[id] = g
		}
	}
	r.mu.Unlock()
	b, err := json.Marshal(cp)
	if err != nil {
		return err
	}
	return r.a.writeRunCheckpoint(r.fwID, r.id, b)
}

// forgetCheckpoint removes the run's checkpoint once the run is over.
func (r *runner) forgetCheckpoint() {
	r.ckptMu.Lock()
	defer r.ckptMu.Unlock()
	r.a.removeRunCheckpoint(r.fwID, r.id)
}
