package agent

import (
	"time"

	"mesh/mesos"
	execapi "mesh/mesos/executor"
)

// framework is what the agent knows of one framework: its info and the
// executors it runs here.
type framework struct {
	id        string
	info      mesos.FrameworkInfo
	executors map[string]*executorRun // live runs by executor id
	completed []*executorRun          // ended runs, oldest first, capped
	// shuttingDown is set by SHUTDOWN_FRAMEWORK: once the last executor is
	// gone the framework's pending updates are dropped and it is
	// forgotten.
	shuttingDown bool
}

// runState is the lifecycle of an executor run.
type runState int

const (
	// runRegistering: launched, not yet subscribed.
	runRegistering runState = iota
	// runRunning: subscribed (the stream may be down for a while).
	runRunning
	// runTerminating: told to shut down or being destroyed.
	runTerminating
	// runTerminated: the container is gone.
	runTerminated
)

// String names the state for /state.
func (s runState) String() string {
	switch s {
	case runRegistering:
		return "REGISTERING"
	case runRunning:
		return "RUNNING"
	case runTerminating:
		return "TERMINATING"
	default:
		return "TERMINATED"
	}
}

// termination says what a run's unfinished tasks become when its
// container is gone because the agent destroyed it.
type termination struct {
	state   mesos.TaskState
	reason  string
	message string
}

// executorRun is one executor in one container.
type executorRun struct {
	fw              *framework
	id              string // executor id
	info            mesos.ExecutorInfo
	commandExecutor bool
	containerID     string
	directory       string
	user            string
	pid             int
	// token is the secret the executor authenticates its calls with
	// (executor.EnvExecutorToken); "" for a run checkpointed before
	// executors had tokens.
	token string
	// recovered is set for a run found again after an agent restart.
	recovered bool
	// subscribed is set once the executor subscribed to this agent
	// process.
	subscribed    bool
	shutdownGrace time.Duration
	// startSlot, while set, gives back the launch slot the run holds
	// until its executor has started up and subscribed.
	startSlot func()
	// launchBegan is set once the agent starts creating the run's
	// container (the launching marker is written then). A run that an
	// agent checkpointed but never began to launch is launched by the
	// next agent on the work directory.
	launchBegan bool

	state  runState
	stream *eventStream // current subscription, nil while none
	// outbox holds events for the executor while it has no stream; they
	// follow SUBSCRIBED when it (re)subscribes.
	outbox []execapi.Event

	tasks     map[string]*taskEntry
	taskOrder []string     // task ids in launch order
	completed []*taskEntry // forgotten tasks, for /state

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
}

func (r *executorRun) stopTimers() {
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
// subscription.
func (r *executorRun) send(ev execapi.Event) {
	if r.stream != nil && r.stream.send(ev) {
		return
	}
	r.outbox = append(r.outbox, ev)
}

// liveTasks returns the run's tasks that are not terminal.
func (r *executorRun) liveTasks() []*taskEntry {
	var out []*taskEntry
	for _, id := range r.taskOrder {
		if t := r.tasks[id]; !t.state.IsTerminal() {
			out = append(out, t)
		}
	}
	return out
}

// addTask adds a task to the run.
func (r *executorRun) addTask(info mesos.TaskInfo) *taskEntry {
	t := &taskEntry{info: info, state: mesos.TaskStaging}
	r.tasks[info.TaskID.Value] = t
	r.taskOrder = append(r.taskOrder, info.TaskID.Value)
	return t
}

// removeTask moves a task to the run's completed list.
func (r *executorRun) removeTask(id string) {
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

// findTask returns the live run holding task tid of framework fw.
func (fw *framework) findTask(tid string) (*executorRun, *taskEntry) {
	for _, r := range fw.executors {
		if t, ok := r.tasks[tid]; ok {
			return r, t
		}
	}
	return nil, nil
}

// releaseStartSlot gives back the run's launch slot, if it holds one.
// Caller holds a.mu.
func (r *executorRun) releaseStartSlot() {
	if r.startSlot != nil {
		r.startSlot()
		r.startSlot = nil
	}
}
