// Package agent is mesh's agent: it advertises a machine's resources to the
// servers, launches executors in containers, relays their task status
// updates reliably (checkpointed, retried until the framework acknowledges
// them), and serves the executor API, the sandbox files API and /state.
//
// The agent talks to the leading server over the internal protocol in
// package agentapi: one long-lived SUBSCRIBE stream of commands, and
// UPDATE calls for status updates.
package agent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

	"mesh/acl"
	"mesh/auth"
	"mesh/executor"
	"mesh/mesos"
	"mesh/mesos/agentapi"
	"mesh/tlsutil"
)

// Config configures an agent.
type Config struct {
	// Servers are server HTTP addresses (host:port) from -join. Any
	// server will do: followers redirect to the leader.
	Servers []string
	// HTTPAddr is the listen address, e.g. 127.0.0.1:5051; port 0 picks a
	// free one.
	HTTPAddr string
	// WorkDir holds sandboxes and checkpoints.
	WorkDir string
	// Recover is what to do with the executors an earlier agent left
	// running on WorkDir: RecoverReconnect (the default; Run goes on with
	// them) or RecoverCleanup (Cleanup kills them; no server is needed).
	Recover string
	// Resources is the raw -resources string; "" auto-detects. Resources
	// named in it replace the detected ones of that name.
	Resources string
	// Attributes is the raw -attributes string.
	Attributes string
	// Hostname defaults to os.Hostname().
	Hostname string
	// Isolation names the containerizer backend: "linux" or "posix"; ""
	// picks linux when running as root on a machine with cgroups, else
	// posix (with a warning).
	Isolation string
	// AllowRootTasks lets tasks run as root under linux isolation; without
	// it a task whose user is root (or that names no user while the agent
	// runs as root) is refused.
	AllowRootTasks bool
	// PrestartContainers is how many containers linux isolation keeps
	// created ahead of launches for each recent task user, so that a
	// command task's launch only starts one; 0 turns it off.
	PrestartContainers int
	// ExecutorCommand starts the command executor; default
	// [os.Executable(), "executor"].
	ExecutorCommand []string
	// ExecutorEnv adds "NAME=value" entries to every executor's
	// environment (executors do not inherit the agent's environment).
	ExecutorEnv []string
	// StatusRetryInterval is the first resend of an unacknowledged status
	// update (default 10s, doubling to 10min).
	StatusRetryInterval time.Duration
	// ExecutorRegistrationTimeout is how long a new executor has to
	// subscribe (default 1m); also how long a recovered executor has to
	// resubscribe after an agent restart.
	ExecutorRegistrationTimeout time.Duration
	// ExecutorShutdownGracePeriod is how long an executor has to stop
	// after SHUTDOWN before its container is destroyed (default 5s;
	// ExecutorInfo.shutdown_grace_period overrides it).
	ExecutorShutdownGracePeriod time.Duration
	// KillTasksOnShutdown destroys every container when Run returns;
	// otherwise executors keep running and a restarted agent recovers
	// them.
	KillTasksOnShutdown bool
	// EnableDebug serves Go's profiler at /debug/pprof/.
	EnableDebug bool
	// HostVolumes are the host paths (and what lies below them) tasks may
	// mount as volumes; none when empty.
	HostVolumes []string
	// TaskCapabilities are the capabilities a task may ask for in its
	// linux_info's effective_capabilities; none when empty.
	TaskCapabilities []string
	// GCDelay is how long the sandbox of an ended executor is kept when
	// the disk is empty; GCDiskHeadroom is the share of the disk kept
	// free: the delay shrinks as the disk fills, to nothing at 1 -
	// GCDiskHeadroom used (Mesos' --gc_delay, --gc_disk_headroom).
	GCDelay        time.Duration
	GCDiskHeadroom float64
	// FetcherCacheDir keeps the downloads of URIs marked `cache`, a
	// directory per task user; default <WorkDir>/fetcher-cache.
	FetcherCacheDir string
	// FetcherCacheSize bounds the fetcher cache in bytes; the least
	// recently used downloads go first.
	FetcherCacheSize int64
	Logger           hclog.Logger
	// TLS, when set, serves the HTTP API over TLS and dials the servers
	// over mutual TLS, presenting the agent's certificate and accepting
	// only a server's (agent/tls.go).
	TLS *tlsutil.TLS
	// JoinToken, when set, is the bearer token the agent authenticates
	// to the servers with (their -agent-join-token); with TLS its
	// certificate proves it too.
	JoinToken *auth.Secret
	// Credentials are the principals and secrets callers of the agent's
	// HTTP API authenticate with (HTTP Basic or a bearer token; nil:
	// none): the servers' -credentials file, as Mesos' agent reads
	// --http_credentials (agent/authn.go).
	Credentials *auth.Credentials
	// AuthenticateHTTPReadOnly requires an authenticated principal on
	// the read-only endpoints (the files API, /state, /containers,
	// /metrics...); AuthenticateHTTPReadWrite on the operator API
	// (/api/v1) and /debug. Either needs Credentials.
	AuthenticateHTTPReadOnly  bool
	AuthenticateHTTPReadWrite bool
	// ACLs, when set, authorizes what callers of the agent's endpoints do
	// (access_sandboxes on the files API, READ_FILE and LIST_FILES); nil
	// allows everything.
	ACLs *acl.Authorizer
}

// Defaults.
const (
	DefaultHTTPAddr                    = "127.0.0.1:5051"
	DefaultExecutorRegistrationTimeout = time.Minute
	DefaultExecutorShutdownGracePeriod = 5 * time.Second
	DefaultPrestartContainers          = 1
	// maxPrestartContainers bounds PrestartContainers: each is a waiting
	// process and its cgroups.
	maxPrestartContainers = 64
	// executorRecoveryTimeout is MESOS_RECOVERY_TIMEOUT: how long an
	// executor keeps trying to resubscribe while its agent is away.
	executorRecoveryTimeout = 15 * time.Minute
	// maxCompletedExecutors bounds what /state remembers per framework.
	maxCompletedExecutors = 50
	// maxCompletedTasks bounds what /state remembers per executor.
	maxCompletedTasks = 100
)

// DefaultConfig returns a configuration with every default filled in
// except Servers and WorkDir.
func DefaultConfig() Config {
	return Config{
		HTTPAddr:                    DefaultHTTPAddr,
		Isolation:                   executor.IsolationPosix,
		StatusRetryInterval:         agentapi.StatusRetryInterval,
		ExecutorRegistrationTimeout: DefaultExecutorRegistrationTimeout,
		ExecutorShutdownGracePeriod: DefaultExecutorShutdownGracePeriod,
		PrestartContainers:          DefaultPrestartContainers,
		FetcherCacheSize:            DefaultFetcherCacheSize,
		GCDelay:                     DefaultGCDelay,
		GCDiskHeadroom:              DefaultGCDiskHeadroom,
	}
}

// DefaultFetcherCacheSize is Mesos' default fetcher cache size, 2 GB.
const DefaultFetcherCacheSize = 2 << 30

// Agent is one mesh agent.
type Agent struct {
	cfg     Config
	log     hclog.Logger
	workDir string // absolute, symlinks resolved
	// workDirGiven is WorkDir made absolute but not resolved.
	workDirGiven string
	hostname     string
	resources    mesos.Resources
	attributes   []mesos.Attribute

	ln       net.Listener
	httpSrv  *http.Server
	endpoint string // host:port executors reach the agent at

	containerizer executor.Containerizer
	// cacheTrimming is set while the fetcher cache is being trimmed.
	cacheTrimming atomic.Bool
	// launchSlots bounds the launches in progress: a launch holds its
	// slot from creating the container until the executor subscribes.
	launchSlots chan struct{}
	// bootID is the machine's current boot id (see runCheckpoint.BootID).
	bootID string
	// lock is held on the work directory from New until the agent stops.
	lock    *workDirLock
	updates *statusUpdates
	// exits are the executor exits not yet answered by the leader.
	exits pendingExits
	// metrics is the agent's own Prometheus registry and metrics.
	metrics *agentMetrics
	conn    *serverConn

	// ctx ends when Run shuts down; wg tracks the goroutines Run started
	// and the per-executor ones.
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	runOnce sync.Once
	// idCopy mirrors id for lock-free readers.
	idCopy atomic.Value

	// stopping is set once the agent stops (Run returning, or Cleanup);
	// stopMsg, set before it, is the status message of tasks killed then.
	stopping atomic.Bool
	stopMsg  string

	// mu guards the registry of runs and what is listed below it. It is
	// held only to read or change these, never across a file write nor
	// while a runner's lock is taken (see runner.go).
	mu         sync.Mutex
	id         string
	frameworks map[string]*framework
	recovered  []*runner // runs reloaded by New, armed by Run
	unstarted  []*runner // reloaded runs never launched, launched by Run
	orphans    []string  // recovered containers without a run

	// volumes are the agent's persistent volumes and reservations.
	volumes *persistentVolumes

	// testCrashAt, set by tests only, stops a checkpoint change at the
	// named point when it returns true, leaving what a kill there leaves.
	testCrashAt func(point string) bool
	// testBeforeCheckpoint, set by tests only (before Run), is called
	// before a run's checkpoint is written and before a status update
	// checkpoint is synced, with the file's path; it may block.
	testBeforeCheckpoint func(path string)
}

// New validates cfg, binds the HTTP listener and reloads the state a
// previous agent left in WorkDir (its id, pending status updates, and the
// executors still running). Run starts the agent.
func New(cfg Config) (*Agent, error) {
	a, err := newAgent(cfg)
	if err != nil {
		return nil, err
	}
	if err := a.recover(); err != nil {
		a.ln.Close()
		a.updates.Close()
		a.containerizer.Close()
		a.lock.release()
		return nil, err
	}
	return a, nil
}

func newAgent(cfg Config) (_ *Agent, err error) {
	def := DefaultConfig()
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	if cfg.HTTPAddr == "" {
		cfg.HTTPAddr = def.HTTPAddr
	}
	if cfg.StatusRetryInterval <= 0 {
		cfg.StatusRetryInterval = def.StatusRetryInterval
	}
	if cfg.ExecutorRegistrationTimeout <= 0 {
		cfg.ExecutorRegistrationTimeout = def.ExecutorRegistrationTimeout
	}
	if cfg.ExecutorShutdownGracePeriod <= 0 {
		cfg.ExecutorShutdownGracePeriod = def.ExecutorShutdownGracePeriod
	}
	switch cfg.Recover {
	case "", RecoverReconnect:
		if len(cfg.Servers) == 0 {
			return nil, fmt.Errorf("%w: no server to join (-join host:port)", ErrBadConfig)
		}
	case RecoverCleanup:
		// Nothing is prestarted or served.
		cfg.PrestartContainers = 0
	default:
		return nil, fmt.Errorf("%w: -recover %q: want %s or %s", ErrBadConfig, cfg.Recover, RecoverReconnect, RecoverCleanup)
	}
	if cfg.PrestartContainers < 0 || cfg.PrestartContainers > maxPrestartContainers {
		return nil, fmt.Errorf("%w: -prestart-containers %d is not between 0 and %d", ErrBadConfig, cfg.PrestartContainers, maxPrestartContainers)
	}
	for _, s := range cfg.Servers {
		if _, _, err := net.SplitHostPort(s); err != nil {
			return nil, fmt.Errorf("%w: -join %q is not host:port: %w", ErrBadConfig, s, err)
		}
	}
	if cfg.WorkDir == "" {
		return nil, fmt.Errorf("%w: no work directory (-work-dir)", ErrBadConfig)
	}
	if err := cfg.validateAuth(); err != nil {
		return nil, err
	}
	if len(cfg.ExecutorCommand) == 0 {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("find the mesh binary to run executors with: %w", err)
		}
		cfg.ExecutorCommand = []string{exe, "executor"}
	}
	if cfg.Hostname == "" {
		h, err := os.Hostname()
		if err != nil {
			return nil, fmt.Errorf("%w: no -hostname and none from the system: %w", ErrBadConfig, err)
		}
		cfg.Hostname = h
	}

	workDir, err := filepath.Abs(cfg.WorkDir)
	if err != nil {
		return nil, fmt.Errorf("%w: -work-dir %q: %w", ErrBadConfig, cfg.WorkDir, err)
	}
	if err := os.MkdirAll(filepath.Join(workDir, sandboxRoot), 0o755); err != nil {
		return nil, fmt.Errorf("create work directory: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(workDir, metaDir), 0o700); err != nil {
		return nil, fmt.Errorf("create work directory: %w", err)
	}
	given := workDir
	if workDir, err = filepath.EvalSymlinks(workDir); err != nil {
		return nil, fmt.Errorf("resolve work directory: %w", err)
	}

	a := &Agent{
		cfg:          cfg,
		log:          cfg.Logger.Named("agent"),
		workDir:      workDir,
		workDirGiven: given,
		hostname:     cfg.Hostname,
		frameworks:   map[string]*framework{},
		launchSlots:  make(chan struct{}, max(2, 2*runtime.NumCPU())),
		bootID:       bootID(),
	}
	a.volumes = newPersistentVolumes(workDir, a.metaPath(resourcesFile))
	// Before anything touches the work directory's contents.
	if a.lock, err = lockWorkDir(filepath.Join(workDir, metaDir)); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			a.lock.release()
		}
	}()
	if cfg.GCDelay <= 0 || cfg.GCDiskHeadroom < 0 || cfg.GCDiskHeadroom > 1 {
		return nil, fmt.Errorf("%w: -gc-delay %v must be positive and -gc-disk-headroom %g between 0 and 1", ErrBadConfig, cfg.GCDelay, cfg.GCDiskHeadroom)
	}
	if cfg.FetcherCacheSize < 0 {
		return nil, fmt.Errorf("%w: -fetcher-cache-size %d is negative", ErrBadConfig, cfg.FetcherCacheSize>>20)
	}
	if cfg.FetcherCacheDir != "" && !filepath.IsAbs(cfg.FetcherCacheDir) {
		return nil, fmt.Errorf("%w: -fetcher-cache-dir %q is not an absolute path", ErrBadConfig, cfg.FetcherCacheDir)
	}
	for _, c := range cfg.TaskCapabilities {
		if _, _, err := executor.CapabilityNumber(c); err != nil {
			return nil, fmt.Errorf("%w: -task-capabilities: %w", ErrBadConfig, err)
		}
	}
	for _, p := range cfg.HostVolumes {
		if !filepath.IsAbs(p) {
			return nil, fmt.Errorf("%w: -host-volumes: %q is not an absolute path", ErrBadConfig, p)
		}
	}
	if os.Geteuid() == 0 {
		if dir := unreachableBy(filepath.Join(workDir, sandboxRoot)); dir != "" {
			a.log.Warn("tasks of users other than root cannot reach their sandboxes: a directory above them is closed to other users; give it o+x (chmod 755)", "dir", dir)
		}
	}
	if a.resources, err = agentResources(cfg.Resources, workDir); err != nil {
		return nil, err
	}
	if a.attributes, err = agentAttributes(cfg.Attributes); err != nil {
		return nil, err
	}
	if cfg.Isolation, err = a.chooseIsolation(cfg.Isolation); err != nil {
		return nil, err
	}
	a.cfg.Isolation = cfg.Isolation
	a.containerizer, err = executor.New(cfg.Isolation, executor.Options{
		StateDir: a.metaPath("containers"),
		Logger:   a.log,
		Linux:    executor.LinuxOptions{AllowRoot: cfg.AllowRootTasks, Prestart: cfg.PrestartContainers},
	})
	if err != nil {
		return nil, fmt.Errorf("%w: -isolation: %w", ErrBadConfig, err)
	}
	a.recordIsolation()
	a.ctx, a.cancel = context.WithCancel(context.Background())
	a.conn = newServerConn(a, cfg.Servers)
	a.updates = newStatusUpdates(a.metaPath("frameworks"), cfg.Logger.Named("status_updates"),
		cfg.StatusRetryInterval, a.conn.postUpdates, a.ID, a.updateAcknowledged)
	a.updates.beforeSync = func(path string) {
		if a.testBeforeCheckpoint != nil {
			a.testBeforeCheckpoint(path)
		}
	}

	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		a.containerizer.Close()
		return nil, fmt.Errorf("listen on -http-addr %s: %w", cfg.HTTPAddr, err)
	}
	a.ln = ln
	a.endpoint = reachableAddr(ln.Addr())
	a.metrics = newAgentMetrics(a)
	a.httpSrv = &http.Server{
		Handler:           a.routes(),
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return a.ctx },
		ErrorLog:          a.log.StandardLogger(&hclog.StandardLoggerOptions{InferLevels: true}),
	}
	// TLS outermost: the HTTP server sees *tls.Conn, fills Request.TLS and
	// answers plain HTTP with a 400 naming the mistake.
	a.ln = tlsListener(cfg.TLS, boundHTTP(a.httpSrv, a.ln))
	return a, nil
}

// reachableAddr turns a listen address into one others can dial: a
// wildcard host becomes loopback.
func reachableAddr(addr net.Addr) string {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok {
		return addr.String()
	}
	ip := tcp.IP
	if ip == nil || ip.IsUnspecified() {
		ip = net.IPv4(127, 0, 0, 1)
	}
	return net.JoinHostPort(ip.String(), strconv.Itoa(tcp.Port))
}

// Addr returns the bound host:port.
func (a *Agent) Addr() string { return a.endpoint }

// ID returns the agent id the servers gave it, "" until the agent has
// registered (a restarted agent re-registers with the id it had). It
// takes no lock: the status update manager calls it under its own.
func (a *Agent) ID() string {
	id, _ := a.idCopy.Load().(string)
	return id
}

// setID records the agent id; caller holds a.mu.
func (a *Agent) setID(id string) {
	a.id = id
	a.idCopy.Store(id)
}

// knownID is the agent id status updates carry: the one the servers gave,
// or before they confirm it, the one a previous agent recorded.
func (a *Agent) knownID() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.id
}

// currentAgentInfo describes this agent.
func (a *Agent) currentAgentInfo() mesos.AgentInfo {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.agentInfo()
}

func (a *Agent) port() int32 {
	if tcp, ok := a.ln.Addr().(*net.TCPAddr); ok {
		return int32(tcp.Port)
	}
	return 0
}

// agentInfo describes this agent; caller holds a.mu.
func (a *Agent) agentInfo() mesos.AgentInfo {
	info := mesos.AgentInfo{
		Hostname:   a.hostname,
		Port:       a.port(),
		Resources:  a.resources.Clone(),
		Attributes: append([]mesos.Attribute(nil), a.attributes...),
	}
	if a.id != "" {
		info.ID = &mesos.AgentID{Value: a.id}
	}
	return info
}

// Run serves HTTP and keeps the server connection until ctx ends, then
// shuts down: executor streams close, the listener stops and, with
// KillTasksOnShutdown, every container is destroyed. Run may be called
// once.
func (a *Agent) Run(ctx context.Context) error {
	started := false
	a.runOnce.Do(func() { started = true })
	if !started {
		return errors.New("agent already ran")
	}
	a.log.Info("agent starting", "addr", a.endpoint, "work_dir", a.workDir, "isolation", a.containerizer.Name(),
		"resources", a.resources.String(), "servers", a.cfg.Servers)

	serveErr := make(chan error, 1)
	go func() { serveErr <- a.httpSrv.Serve(a.ln) }()
	a.goNamed("status_updates", func() { a.updates.Run(a.ctx) })
	a.goNamed("server_conn", func() { a.conn.run(a.ctx) })
	a.armRecovered()
	a.goNamed("sandbox_gc", a.runGC)

	var err error
	select {
	case <-ctx.Done():
	case err = <-serveErr:
		err = fmt.Errorf("serve http: %w", err)
	}
	a.shutdown()
	return err
}

// goNamed runs fn in a goroutine tracked by a.wg; name is for logs.
func (a *Agent) goNamed(name string, fn func()) {
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		a.log.Trace("routine started", "routine", name)
		fn()
		a.log.Trace("routine stopped", "routine", name)
	}()
}

// shutdown stops the agent. Executors keep running unless
// KillTasksOnShutdown.
func (a *Agent) shutdown() {
	a.log.Info("agent shutting down", "kill_tasks", a.cfg.KillTasksOnShutdown)
	a.stopping.Store(true)
	// Unstarted runs are in the registry too.
	runs := a.liveRuns()
	for _, r := range runs {
		r.stopWaiting()
	}
	if a.cfg.KillTasksOnShutdown {
		a.destroyOnShutdown(runs)
	}

	// Ending a.ctx closes executor streams (their handlers watch it) and
	// stops the routines.
	a.cancel()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := a.httpSrv.Shutdown(sctx); err != nil {
		a.httpSrv.Close()
	}
	a.wg.Wait()
	a.updates.Close()
	a.containerizer.Close()
	a.lock.release()
	a.log.Info("agent stopped")
}

// destroyOnShutdown destroys the containers of runs as the agent stops;
// their tasks end TASK_KILLED.
func (a *Agent) destroyOnShutdown(runs []*runner) {
	var wg sync.WaitGroup
	for _, r := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), r.shutdownGrace+10*time.Second)
			defer cancel()
			if err := a.containerizer.Destroy(ctx, r.containerID, r.shutdownGrace); err != nil {
				a.log.Error("cannot destroy container on shutdown", "container_id", r.containerID, "error", err)
			}
		}()
	}
	wg.Wait()
	// Runs never launched have no container to end them.
	for _, r := range runs {
		if !r.launchStarted() {
			r.settle(unknownExit)
		}
	}
}

// launchSlotTimeout bounds how long a launch holds its slot waiting for
// its executor to subscribe.
const launchSlotTimeout = 2 * time.Second

// unreachableBy returns the lowest directory on the way from / to dir
// (dir included) that other users may not search (no o+x), or "" when they
// can reach dir. Sandboxes belong to the tasks' users, who must be able to
// walk down to them.
func unreachableBy(dir string) string {
	for d := dir; ; d = filepath.Dir(d) {
		if fi, err := os.Stat(d); err == nil && fi.Mode().Perm()&0o001 == 0 {
			return d
		}
		if d == filepath.Dir(d) {
			return ""
		}
	}
}
