// Package execute is `mesh execute`: a ready-made framework, like
// mesos-execute, that runs a shell command (or N instances of it) on the
// cluster, prints every task state change and the tasks' output, and
// reports whether every task finished.
package execute

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/user"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/hashicorp/go-hclog"

	"mesh/mesos"
	"mesh/mesos/scheduler"
	"mesh/mesos/scheduler/client"
)

// Defaults for Config's zero values.
const (
	DefaultCPUs          = 0.1
	DefaultMem           = 32.0
	DefaultInstances     = 1
	DefaultRole          = "*"
	DefaultShutdownGrace = 10 * time.Second
)

// callTimeout bounds each call to the server and each output fetch.
const callTimeout = 15 * time.Second

// declineSeconds is the filter for offers declined once every task is
// launched: we want no more offers (a relaunch REVIVEs).
const declineSeconds = 3600.0

// Bounds of the wait before resubscribing after repeated stream losses.
const (
	resubscribeBackoff    = 100 * time.Millisecond
	maxResubscribeBackoff = 5 * time.Second
)

// maxLaunchAttempts bounds how often the launch of a task may be refused
// (an invalid offer, a call the server rejects as wrong) before the run
// gives up. A launch lost to a leader change is no refusal: it is
// launched again without counting.
const maxLaunchAttempts = 5

// maxTeardownTries bounds the TEARDOWNs tried (resubscribing in between)
// when the servers answer with transient errors.
const maxTeardownTries = 3

// Config configures one run.
type Config struct {
	// Masters lists servers as host:port; any server will do.
	Masters []string
	// Name names the framework and the tasks; task ids are <Name>-<i>.
	Name string
	// Command is run by /bin/sh -c in each task.
	Command string
	// Image, when set, is the tasks' root filesystem: an absolute path, on
	// the agents' machines, of a directory or a .tar/.tar.gz of one (a
	// MESOS container whose docker image name is the path).
	Image string
	// URIs are fetched into each task's sandbox before the command runs;
	// archives are extracted.
	URIs []string
	// Env are NAME=VALUE variables set for the command.
	Env []string
	// Volumes are HOST_PATH:CONTAINER_PATH[:ro] binds (Mesos host_path
	// volumes; a relative host path is one of the sandbox).
	Volumes []string
	// CPUs and Mem (MB) are each task's resources; 0 means 0.1 and 32.
	CPUs, Mem float64
	// Instances is how many tasks to run; 0 means 1.
	Instances int
	// User runs the tasks; "" means the current user.
	User string
	// Role is the role offers are made to; "" means "*".
	Role string
	// FailoverTimeout is how long the server keeps the framework and its
	// tasks after the event stream drops (0: tear down at once).
	FailoverTimeout time.Duration
	// Checkpoint asks agents to checkpoint the tasks, so they survive an
	// agent restart.
	Checkpoint bool
	// KillAfter kills each task this long after it starts running; 0 never.
	KillAfter time.Duration
	// Timeout kills every task and gives up this long after Run starts;
	// 0 never.
	Timeout time.Duration
	// ShutdownGrace bounds the wait for killed tasks to end before the
	// framework is torn down anyway; 0 means DefaultShutdownGrace.
	ShutdownGrace time.Duration
	// Out receives state lines and task output; nil means os.Stdout.
	Out io.Writer
	// ErrOut receives the stderr of a task whose output is streamed; nil
	// means Out.
	ErrOut io.Writer
	// TTY says Out is a terminal: the progress line is redrawn in place.
	TTY bool
	// Output is OutputAuto ("" too) or OutputAll.
	Output string
	// Logger receives progress logs; nil discards them.
	Logger hclog.Logger
	// HTTPClient talks to servers and agents; nil means a fresh client.
	HTTPClient *http.Client
	// Scheme is "https" when servers and agents serve TLS (HTTPClient
	// then carries the TLS configuration); empty means "http".
	Scheme string
	// Principal and Secret, when Principal is set, authenticate the
	// framework to the servers (HTTP Basic); Principal is its
	// FrameworkInfo.principal.
	Principal, Secret string

	// newTimer starts the reconciliation and resubscription timers; nil
	// means the wall clock.
	newTimer client.TimerFunc
	// followPoll is how often a running task's output is read; 0 means
	// DefaultFollowPoll.
	followPoll time.Duration
}

// TaskResult is the outcome of one task.
type TaskResult struct {
	ID      string
	AgentID string
	// State is the last state reported, "" if none was.
	State mesos.TaskState
	// Source, Reason and Message are those of the last state reported.
	Source  string
	Reason  string
	Message string
	// Launched is true if the task was launched (as far as we know) and
	// did not come back as never started.
	Launched bool
}

// Result is the outcome of a run, one TaskResult per instance in order.
type Result struct {
	FrameworkID string
	Tasks       []TaskResult
}

// Succeeded reports whether every task finished.
func (r Result) Succeeded() bool {
	for _, t := range r.Tasks {
		if t.State != mesos.TaskFinished {
			return false
		}
	}
	return len(r.Tasks) > 0
}

// Sentinel errors of Run.
var (
	// ErrTasksFailed means at least one task ended in a state other than
	// TASK_FINISHED.
	ErrTasksFailed = errors.New("not every task finished")
	// ErrInterrupted means the caller's context ended the run.
	ErrInterrupted = errors.New("interrupted")
	// ErrTimeout means Config.Timeout ended the run.
	ErrTimeout = errors.New("timed out")
	// ErrFramework wraps the message of an ERROR event from the server.
	ErrFramework = errors.New("framework error")
	// ErrRefused means the server kept refusing to launch a task.
	ErrRefused = errors.New("launch refused")
)

// withDefaults fills in zero values and checks the rest.
func (cfg Config) withDefaults() (Config, error) {
	if len(cfg.Masters) == 0 {
		return cfg, errors.New("no master given")
	}
	if cfg.Name == "" {
		return cfg, errors.New("no name given")
	}
	if strings.ContainsAny(cfg.Name, "/\\") || strings.IndexFunc(cfg.Name, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 {
		return cfg, fmt.Errorf("name %q cannot be part of a task id: no slashes or control characters", cfg.Name)
	}
	if cfg.Command == "" {
		return cfg, errors.New("no command given")
	}
	if cfg.Image != "" && !strings.HasPrefix(cfg.Image, "/") && !strings.HasPrefix(cfg.Image, "file:///") {
		return cfg, fmt.Errorf("image %q: give the absolute path of a directory or tarball on the agents' machines", cfg.Image)
	}
	for _, e := range cfg.Env {
		if name, _, ok := strings.Cut(e, "="); !ok || name == "" {
			return cfg, fmt.Errorf("env %q: want NAME=VALUE", e)
		}
	}
	for _, v := range cfg.Volumes {
		if _, err := parseVolume(v); err != nil {
			return cfg, err
		}
	}
	for _, u := range cfg.URIs {
		if strings.TrimSpace(u) == "" {
			return cfg, errors.New("empty uri")
		}
	}
	if cfg.CPUs == 0 {
		cfg.CPUs = DefaultCPUs
	}
	if cfg.Mem == 0 {
		cfg.Mem = DefaultMem
	}
	if cfg.CPUs < 0 || cfg.Mem < 0 {
		return cfg, fmt.Errorf("cpus (%g) and mem (%g) cannot be negative", cfg.CPUs, cfg.Mem)
	}
	if cfg.Instances == 0 {
		cfg.Instances = DefaultInstances
	}
	if cfg.Instances < 0 {
		return cfg, fmt.Errorf("instances (%d) cannot be negative", cfg.Instances)
	}
	if cfg.Role == "" {
		cfg.Role = DefaultRole
	}
	if cfg.User == "" {
		u, err := user.Current()
		if err != nil {
			return cfg, fmt.Errorf("find the current user (give one): %w", err)
		}
		cfg.User = u.Username
	}
	if cfg.ShutdownGrace <= 0 {
		cfg.ShutdownGrace = DefaultShutdownGrace
	}
	if cfg.Out == nil {
		cfg.Out = os.Stdout
	}
	switch cfg.Output {
	case "":
		cfg.Output = OutputAuto
	case OutputAuto, OutputAll:
	default:
		return cfg, fmt.Errorf("output %q: want %s or %s", cfg.Output, OutputAuto, OutputAll)
	}
	if cfg.followPoll <= 0 {
		cfg.followPoll = DefaultFollowPoll
	}
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{}
	}
	if cfg.newTimer == nil {
		cfg.newTimer = client.WallTimer
	}
	return cfg, nil
}

// task is what the runner knows of one instance.
type task struct {
	id       string
	agentID  string
	state    mesos.TaskState // last state printed, "" before any update
	source   string
	reason   string
	message  string
	launched bool // an ACCEPT carried it (and no later news undid that)
	attempts int  // launches refused
	refusal  string
	terminal bool
	timer    *time.Timer
	executor string    // executor id an update named, "" for the task's own
	follow   *follower // reads its output while it runs, nil if not
}

// item is one result of Subscription.Next, passed to the run loop.
type item struct {
	ev  *scheduler.Event
	err error
}

// runner holds the state of one Run; only the run loop touches it.
type runner struct {
	cfg     Config
	log     hclog.Logger
	console *console
	out     io.Writer // the console
	errOut  io.Writer // streamed stderr: Config.ErrOut, or the console
	c       *client.Client
	info    mesos.FrameworkInfo

	tasks   []*task
	byID    map[string]*task
	pending []*task           // waiting for an offer, in order
	agents  map[string]string // agent id → base URL of its HTTP server

	life       context.Context    // outlives the caller's ctx, for cleanup calls
	subscribed bool               // a SUBSCRIBED has been seen on some stream
	losses     int                // streams lost since the last SUBSCRIBED
	staleSubs  int                // resubscriptions for stale calls since a call went through
	resub      bool               // a call found the subscription stale or the server gone
	stopReq    error              // set by a handler to give up, nil before
	stopping   error              // why the run is winding down, nil before
	teardowns  int                // TEARDOWNs tried
	tornDown   bool               // a TEARDOWN was accepted
	tearErr    error              // why the last TEARDOWN failed
	recon      *client.Reconciler // tasks whose state is to be learned
	killC      chan string        // task ids whose KillAfter expired
	done       chan struct{}      // closed when Run returns
	wg         sync.WaitGroup     // stream readers
}

// Run runs the configured command on the cluster and returns once every
// task has ended and the framework is torn down. The error is nil only if
// every task reached TASK_FINISHED. When ctx ends, running tasks are
// killed (waiting up to ShutdownGrace for them to end) and the framework is
// torn down before Run returns.
func Run(ctx context.Context, cfg Config) (Result, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return Result{}, fmt.Errorf("execute: %w", err)
	}
	r := newRunner(cfg)
	res, err := r.run(ctx)
	r.stopFollowers()
	r.showProgress()
	r.console.close()
	r.printFailedOutputs()
	if r.stopping != nil {
		r.report()
	}
	close(r.done)
	r.wg.Wait()
	return res, err
}

func newRunner(cfg Config) *runner {
	log := cfg.Logger.Named("execute")
	failover := cfg.FailoverTimeout.Seconds()
	con := newConsole(cfg.Out, cfg.TTY)
	var errOut io.Writer = con
	if cfg.ErrOut != nil {
		errOut = cfg.ErrOut
	}
	r := &runner{
		cfg:     cfg,
		log:     log,
		console: con,
		out:     con,
		errOut:  errOut,
		c: client.New(client.Config{
			Masters:    cfg.Masters,
			Logger:     log.Named("client"),
			HTTPClient: cfg.HTTPClient,
			Scheme:     cfg.Scheme,
			Principal:  cfg.Principal,
			Secret:     cfg.Secret,
		}),
		info: mesos.FrameworkInfo{
			// The run names its framework itself, so that a SUBSCRIBE
			// repeated after an answer that never came (the server died
			// after committing it) registers the same framework, not a
			// second one; servers accept a framework id they have never
			// seen, as Mesos masters do after a failover.
			ID:              &mesos.FrameworkID{Value: "execute-" + uuid.NewString()},
			User:            cfg.User,
			Name:            cfg.Name,
			Principal:       cfg.Principal,
			FailoverTimeout: &failover,
			Roles:           []string{cfg.Role},
			Capabilities:    []mesos.FrameworkCapability{{Type: mesos.CapabilityMultiRole}},
		},
		byID:   map[string]*task{},
		agents: map[string]string{},
		life:   context.Background(),
		recon:  client.NewReconciler(0, 0, cfg.newTimer),
		killC:  make(chan string),
		done:   make(chan struct{}),
	}
	if cfg.Checkpoint {
		cp := true
		r.info.Checkpoint = &cp
	}
	for i := 0; i < cfg.Instances; i++ {
		t := &task{id: fmt.Sprintf("%s-%d", cfg.Name, i)}
		r.tasks = append(r.tasks, t)
		r.byID[t.id] = t
		r.pending = append(r.pending, t)
	}
	return r
}

// run is the event loop: subscribe (again after a lost stream or a stale
// subscription), handle events, reconcile tasks of unknown state, and wind
// down on interrupt, timeout, refusals or when every task is over.
func (r *runner) run(ctx context.Context) (Result, error) {
	runCtx := ctx
	if r.cfg.Timeout > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeout(ctx, r.cfg.Timeout)
		defer cancel()
	}
	defer r.stopTimers()
	// graceCtx bounds the wind-down once it starts.
	graceCtx, graceCancel := context.Background(), context.CancelFunc(func() {})
	defer func() { graceCancel() }()

	var st *stream // the open subscription, nil between streams
	closeSub := func() {
		if st != nil {
			st.close()
			st = nil
		}
	}
	defer closeSub()

	interrupt := runCtx.Done()
	beginStop := func(why error) {
		r.stopping = why
		r.log.Warn("stopping", "reason", why)
		interrupt = nil
		graceCtx, graceCancel = context.WithTimeout(r.life, r.cfg.ShutdownGrace)
		if st != nil {
			r.killAll()
		}
	}

	for {
		r.showProgress()
		if r.stopReq != nil && r.stopping == nil {
			beginStop(r.stopReq)
		}
		if r.finished() {
			if r.teardown(st != nil) {
				return r.result(), r.finalErr(nil)
			}
			closeSub() // resubscribe and tear down again
		}
		if r.resub && st != nil {
			r.log.Info("resubscribing: the server no longer takes this stream's calls", "master", r.c.Master())
			r.staleSubs++
			closeSub()
		}
		r.resub = false
		if st == nil {
			phase := runCtx
			if r.stopping != nil {
				phase = graceCtx
			}
			err := r.backoff(phase)
			if err == nil {
				st, err = r.subscribe(phase)
			}
			if st == nil {
				switch {
				case phase.Err() == nil:
					return r.result(), err // refused: nothing more to try
				case r.stopping == nil:
					beginStop(stopReason(ctx, r.cfg.Timeout))
					if r.subscribed {
						continue // try once more to kill and tear down
					}
					return r.result(), r.finalErr(nil)
				default:
					return r.result(), r.finalErr(nil)
				}
			}
		}
		select {
		case it := <-st.events:
			if it.err != nil {
				r.log.Warn("event stream lost, resubscribing", "error", it.err)
				r.losses++
				closeSub()
				continue
			}
			if it.ev.Type == scheduler.EventSubscribed {
				r.losses = 0
			}
			if err := r.handle(it.ev); err != nil {
				if r.removedAfterTeardown(err) {
					return r.result(), r.finalErr(nil)
				}
				return r.result(), err
			}
		case <-r.recon.C():
			r.reconcile()
		case id := <-r.killC:
			if t := r.byID[id]; t != nil && !t.terminal {
				r.log.Info("kill-after expired, killing task", "task_id", id)
				r.kill(t)
			}
		case <-interrupt:
			beginStop(stopReason(ctx, r.cfg.Timeout))
			if !r.subscribed {
				return r.result(), r.finalErr(nil)
			}
		case <-graceCtx.Done():
			r.log.Warn("tasks did not end within the grace period, tearing down")
			r.teardowns = maxTeardownTries - 1 // one last try
			r.teardown(st != nil)
			return r.result(), r.finalErr(nil)
		}
	}
}

// backoff waits before resubscribing after a stream was lost more than
// once in a row, so a server that keeps dropping streams is not hammered.
func (r *runner) backoff(phase context.Context) error {
	// A SUBSCRIBED ends a run of lost streams, but not a run of stale
	// calls: a server that takes the stream and refuses the calls must not
	// be hammered either.
	n := max(r.losses, r.staleSubs)
	if n < 2 {
		return nil
	}
	wait := min(resubscribeBackoff<<min(n-2, 16), maxResubscribeBackoff)
	c, stop := r.cfg.newTimer(wait)
	defer stop()
	select {
	case <-phase.Done():
		return phase.Err()
	case <-c:
		return nil
	}
}

// stopReason says why the run is winding down.
func stopReason(ctx context.Context, timeout time.Duration) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%w: %w", ErrInterrupted, context.Cause(ctx))
	}
	return fmt.Errorf("%w after %s", ErrTimeout, timeout)
}

// stream is one open subscription and the goroutine reading it.
type stream struct {
	sub    *client.Subscription
	cancel context.CancelFunc
	events chan item
	done   chan struct{}
}

// close ends the stream and tells its reader to stop.
func (s *stream) close() {
	s.sub.Close()
	s.cancel()
	close(s.done)
}

// subscribe opens a stream, resubscribing with the framework id once one
// is known, and starts reading it. The stream outlives phase (so killed
// tasks can still be reported after an interrupt); phase only bounds the
// attempts.
func (r *runner) subscribe(phase context.Context) (*stream, error) {
	info := r.info
	if id := r.c.FrameworkID(); id != "" {
		info.ID = &mesos.FrameworkID{Value: id} // the one the server confirmed
	}
	sctx, cancel := context.WithCancel(r.life)
	stop := context.AfterFunc(phase, cancel)
	sub, err := r.c.Subscribe(sctx, client.SubscribeCall(&info))
	if !stop() { // phase ended while subscribing
		if err == nil {
			sub.Close()
		}
		cancel()
		return nil, fmt.Errorf("subscribe: %w", phase.Err())
	}
	if err != nil {
		cancel()
		return nil, fmt.Errorf("subscribe: %w", err)
	}
	st := &stream{sub: sub, cancel: cancel, events: make(chan item), done: make(chan struct{})}
	r.wg.Add(1)
	go r.read(st)
	return st, nil
}

// read feeds a stream's events to the run loop until the stream ends or
// the loop stops listening.
func (r *runner) read(st *stream) {
	defer r.wg.Done()
	for {
		ev, err := st.sub.Next()
		select {
		case st.events <- item{ev, err}:
		case <-st.done:
			return
		}
		if err != nil {
			return
		}
	}
}

// finished reports whether nothing is left to wait for: every task is
// over, or, when winding down, every launched task is.
func (r *runner) finished() bool {
	for _, t := range r.tasks {
		if t.terminal {
			continue
		}
		if r.stopping != nil && !t.launched {
			continue
		}
		return false
	}
	return true
}

// removedAfterTeardown reports whether err, an ERROR event on a new
// stream, says the framework is removed after a TEARDOWN was tried: that
// TEARDOWN failed on its way back (the leader died after committing it,
// say), and the framework is gone as asked. It then counts as torn down.
func (r *runner) removedAfterTeardown(err error) bool {
	if r.teardowns == 0 || !errors.Is(err, ErrFramework) || !strings.Contains(err.Error(), "Framework has been removed") {
		return false
	}
	r.tornDown = true
	r.log.Info("framework torn down: it was found removed after a TEARDOWN whose answer was lost", "framework_id", r.c.FrameworkID())
	return true
}

// teardown removes the framework, and reports whether it is done with:
// false asks the loop to resubscribe and try again, after a transient
// error and while tries are left.
func (r *runner) teardown(connected bool) bool {
	if !connected || r.c.StreamID() == "" {
		return true
	}
	r.teardowns++
	err := r.call(client.TeardownCall())
	r.tearErr = err
	switch {
	case err == nil:
		r.tornDown = true
		r.log.Info("framework torn down", "framework_id", r.c.FrameworkID())
		return true
	case client.Transient(err) && r.teardowns < maxTeardownTries:
		r.log.Warn("teardown failed, resubscribing to try again", "error", err)
		return false
	default:
		r.log.Warn("teardown failed", "error", err)
		return true
	}
}

// finalErr turns the run's outcome into Run's error: the cause of giving
// up (if the run gave up) and every task that did not finish.
func (r *runner) finalErr(cause error) error {
	if cause == nil {
		cause = r.stopping
	}
	res := r.result()
	if cause == nil && res.Succeeded() {
		return nil
	}
	var bad []string
	for _, t := range res.Tasks {
		if t.State != mesos.TaskFinished {
			s := string(t.State)
			if s == "" {
				s = "never launched"
				if t.Launched {
					s = "state unknown"
				}
			}
			bad = append(bad, t.ID+" "+s)
		}
	}
	if cause == nil {
		return fmt.Errorf("%w: %s", ErrTasksFailed, strings.Join(bad, ", "))
	}
	if len(bad) == 0 {
		return cause
	}
	return fmt.Errorf("%w; %d of %d tasks did not finish: %s", cause, len(bad), len(res.Tasks), strings.Join(bad, ", "))
}

// report prints why the run gave up and what is known of every task that
// did not finish.
func (r *runner) report() {
	fmt.Fprintf(r.out, "giving up: %v\n", r.stopping)
	for _, t := range r.tasks {
		if t.state != mesos.TaskFinished {
			fmt.Fprintf(r.out, "  %s: %s\n", t.id, t.describe(r.recon.IsUnknown(t.id)))
		}
	}
	fid := r.c.FrameworkID()
	switch {
	case r.tornDown:
		fmt.Fprintf(r.out, "framework %s torn down\n", fid)
	case fid == "":
		fmt.Fprintln(r.out, "no framework id was received: nothing to tear down")
	default:
		why := "no server could be reached"
		if r.tearErr != nil {
			why = r.tearErr.Error()
		}
		fmt.Fprintf(r.out, "framework %s not torn down (%s): the cluster keeps it and its tasks for the failover timeout, %s\n",
			fid, why, r.cfg.FailoverTimeout)
	}
}

// describe says what became of t, for the report; unknown is whether its
// state is still being asked for.
func (t *task) describe(unknown bool) string {
	switch {
	case !t.launched && t.state == "" && t.attempts > 0:
		return fmt.Sprintf("never launched: refused %d times, last: %s", t.attempts, t.refusal)
	case !t.launched && t.state == "":
		return "never launched: no offer taken for it"
	case unknown && !t.terminal:
		return t.lastKnown() + "; state unknown: the server has not answered reconciliation"
	}
	return t.lastKnown()
}

// result snapshots the tasks' outcomes.
func (r *runner) result() Result {
	res := Result{FrameworkID: r.c.FrameworkID()}
	for _, t := range r.tasks {
		res.Tasks = append(res.Tasks, TaskResult{
			ID: t.id, AgentID: t.agentID, State: t.state, Source: t.source, Reason: t.reason,
			Message: t.message, Launched: t.launched,
		})
	}
	return res
}

// call sends one call with a bounded wait; cleanup calls must work after
// the caller's context ended, so it is not derived from it. An error that
// says nothing about the call itself (a stale subscription, no leader, no
// server) makes the loop resubscribe: the stream is probably on a server
// that is no longer the leader.
func (r *runner) call(call *scheduler.Call) error {
	ctx, cancel := context.WithTimeout(r.life, callTimeout)
	defer cancel()
	err := r.c.Call(ctx, call)
	switch {
	case err == nil:
		r.staleSubs = 0
	case client.Transient(err):
		r.resub = true
	}
	return err
}

// stopTimers stops every kill-after timer and the reconciliation timer.
func (r *runner) stopTimers() {
	r.recon.Stop()
	for _, t := range r.tasks {
		if t.timer != nil {
			t.timer.Stop()
		}
	}
}
