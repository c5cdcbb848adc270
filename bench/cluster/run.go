package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"

	"mesh/mesos"
)

// config is one benchmark run.
type config struct {
	MeshBin           string
	Dir               string // where servers keep data and logs; "" means a temp dir, removed after
	Agents            int
	Frameworks        int
	TasksPerFramework int
	AgentsPerGroup    int    // simulated agents per shared http.Transport
	CPUProfile        string // where the benchmark's own cpu profile goes; "" for none
	// FailoverProfile is where the benchmark's own cpu profile from the
	// leader's kill until every agent was back goes; "" for none.
	FailoverProfile   string
	TaskCPUs, TaskMem float64
	TaskDuration      time.Duration // 0: tasks run until killed
	// Churn, when positive, is how long after placement every task that
	// finishes is replaced by a new one (churn.go).
	Churn       time.Duration
	FreeSamples int
	KillLeader  bool
	EndAfter    time.Duration // how long the cluster runs on before the end's figures
	TimeLimit   time.Duration
	ServerFlags []string
	Log         hclog.Logger
}

// bench holds one run's moving parts.
type bench struct {
	cfg     config
	log     hclog.Logger
	res     *result
	cl      *cluster
	sim     *simulator
	fws     []*framework
	waiter  *framework
	fwStats fwStats
	pipe    pipeline
	fwCtx   context.Context
	fwWG    sync.WaitGroup
}

// agentResources gives each agent room for its share of the tasks and a
// quarter more, so every task finds a place and offers stay small.
func agentResources(cfg config) mesos.Resources {
	total := cfg.Frameworks * cfg.TasksPerFramework
	per := (total + cfg.Agents - 1) / cfg.Agents
	slots := float64(per + max(1, per/4))
	return mesos.Resources{mesos.ScalarResource("cpus", slots*cfg.TaskCPUs), mesos.ScalarResource("mem", slots*cfg.TaskMem)}
}

// raiseFileLimit lifts the open-file limit to its maximum for this process
// and the servers it starts: thousands of agents are thousands of
// connections at each end.
func raiseFileLimit() {
	var lim syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) == nil && lim.Cur < lim.Max {
		lim.Cur = lim.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	}
}

// run starts the cluster, the agents and the frameworks, measures, and
// stops everything it started. The run ends by itself within
// cfg.TimeLimit (plus the time to stop).
func run(ctx context.Context, cfg config) (*result, error) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, cfg.TimeLimit)
	defer cancel()
	raiseFileLimit()
	dir := cfg.Dir
	if dir == "" {
		d, err := os.MkdirTemp("", "mesh-bench-cluster-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	b := &bench{cfg: cfg, log: cfg.Log, res: &result{Agents: cfg.Agents, Frameworks: cfg.Frameworks,
		TasksPerFramework: cfg.TasksPerFramework, TaskCPUs: cfg.TaskCPUs, TaskMem: cfg.TaskMem,
		LoadAverage: [2]float64{loadAverage(), -1},
		Placement:   placement{Tasks: cfg.Frameworks * cfg.TasksPerFramework, First: -1, P50: -1, P95: -1, P99: -1, All: -1, Registered: -1}}}
	cl, err := startCluster(cfg.MeshBin, dir, 3, cfg.ServerFlags)
	if err != nil {
		return nil, err
	}
	b.cl = cl
	b.fwStats.pipe = &b.pipe
	defer cl.stop()
	err = b.phases(ctx)
	b.finish()
	b.res.Elapsed = time.Since(start).Seconds()
	if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
		b.res.TimedOut = true
		b.res.Problems = append(b.res.Problems, fmt.Sprintf("the run hit its time limit of %s", cfg.TimeLimit))
		err = nil
	}
	if err != nil {
		b.res.Problems = append(b.res.Problems, fmt.Sprintf("the run stopped early: %v", err))
	}
	return b.res, err
}

// phases runs the measured phases in order; each waits within ctx.
func (b *bench) phases(ctx context.Context) error {
	leader, err := b.cl.waitUp(ctx)
	if err != nil {
		return err
	}
	if mem, err := readProcMemory(leader.cmd.Process.Pid); err == nil {
		b.res.LeaderRSS.Baseline = mem.RSS
	}
	b.res.LeaderRSS.HeapBaseline, _ = liveHeapBytes(ctx, leader.httpAddr)
	b.res.LeaderRSS.GoroutinesBaseline, _ = goroutines(ctx, leader.httpAddr)
	b.log.Info("cluster up", "leader", leader.httpAddr)

	simCtx, simStop := context.WithCancel(context.Background())
	b.sim = newSimulator(b.cl.addrs(), b.cfg.Agents, b.cfg.AgentsPerGroup, agentResources(b.cfg), b.log.Named("sim"))
	b.sim.taskDuration = b.cfg.TaskDuration
	b.sim.pipe = &b.pipe
	simWait := b.sim.start(simCtx)
	defer func() {
		simStop()
		simWait()
	}()
	t0 := time.Now()
	// Registration gets a third of the run; then the frameworks start on
	// the agents there are, and the report says how many were missing.
	regCtx, regCancel := context.WithTimeout(ctx, b.cfg.TimeLimit/3)
	err = waitUntil(regCtx, 50*time.Millisecond, func() bool { n, _ := b.sim.registered(time.Time{}); return n == b.cfg.Agents })
	regCancel()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	n, last := b.sim.registered(time.Time{})
	b.res.Placement.AgentsRegistered = n
	b.res.Placement.Registered = secs(last.Sub(t0))
	if err != nil {
		b.res.Placement.Registered = -1
		b.res.Problems = append(b.res.Problems, fmt.Sprintf("only %d of %d agents registered within %s", n, b.cfg.Agents, b.cfg.TimeLimit/3))
	}
	b.log.Info("agents registered", "agents", n, "took", time.Since(t0))
	if l := b.cl.leader(); l != nil && n == b.cfg.Agents {
		m := &b.res.LeaderRSS
		m.HeapAfterAgents, _ = liveHeapBytes(ctx, l.httpAddr)
		m.GoroutinesAfterAgents, _ = goroutines(ctx, l.httpAddr)
		if m.HeapAfterAgents > 0 && m.HeapBaseline > 0 {
			m.HeapPerAgent = float64(m.HeapAfterAgents-m.HeapBaseline) / float64(n)
		}
	}

	fwCtx, fwStop := context.WithCancel(context.Background())
	b.fwCtx = fwCtx
	defer func() {
		fwStop()
		b.fwWG.Wait()
	}()
	if err := b.place(ctx); err != nil {
		return err
	}
	if l := b.cl.leader(); l != nil {
		if mem, err := readProcMemory(l.cmd.Process.Pid); err == nil {
			b.res.LeaderRSS.AfterPlacement, b.res.LeaderRSS.FileAfterPlacement = mem.RSS, mem.File
		}
		b.res.LeaderRSS.HeapAfterPlacement, _ = liveHeapBytes(ctx, l.httpAddr)
		b.keepHeapProfile(ctx, l.httpAddr, "leader-heap-after-placement.pb.gz")
	}
	if err := b.churn(ctx); err != nil {
		return err
	}
	// Freed resources are timed on a settled cluster: a task whose RUNNING
	// update is still unacknowledged sends its terminal update only after
	// that acknowledgement, as a real agent does.
	if err := b.settle(ctx); err != nil {
		return err
	}
	if err := b.measureFreed(ctx); err != nil {
		return err
	}
	if b.cfg.KillLeader {
		if err := b.failover(ctx); err != nil {
			return err
		}
	}
	if err := b.settle(ctx); err != nil {
		return err
	}
	return runOn(ctx, b.cfg.EndAfter)
}

// runOn lets the cluster run for d (the frameworks declining what they are
// offered, a new leader settling), or until the run ends.
func runOn(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// startFramework runs f until the run ends.
func (b *bench) startFramework(f *framework) {
	b.fwWG.Add(1)
	go func() {
		defer b.fwWG.Done()
		f.run(b.fwCtx)
	}()
}

// place starts the frameworks and waits until every task is RUNNING.
func (b *bench) place(ctx context.Context) error {
	task := mesos.Resources{mesos.ScalarResource("cpus", b.cfg.TaskCPUs), mesos.ScalarResource("mem", b.cfg.TaskMem)}
	for i := 0; i < b.cfg.Frameworks; i++ {
		f := newFramework(fmt.Sprintf("bench-%03d", i), b.cl.addrs(), b.cfg.TasksPerFramework, task, &b.fwStats, b.log.Named("framework"))
		f.finishOK = b.cfg.TaskDuration > 0
		b.fws = append(b.fws, f)
	}
	t0 := time.Now()
	for _, f := range b.fws {
		b.startFramework(f)
	}
	total := b.res.Placement.Tasks
	err := waitUntil(ctx, 50*time.Millisecond, func() bool { return b.runningCount() >= total })
	var ds []time.Duration
	for _, f := range b.fws {
		for _, at := range f.running() {
			ds = append(ds, at.Sub(t0))
		}
	}
	sortDurations(ds)
	pl := &b.res.Placement
	pl.Running = len(ds)
	if len(ds) > 0 {
		pl.First = secs(ds[0])
		pl.P50 = secs(percentile(ds, 50))
		pl.P95 = secs(percentile(ds, 95))
		pl.P99 = secs(percentile(ds, 99))
		pl.All = -1
		if len(ds) >= total {
			pl.All = secs(ds[len(ds)-1])
			pl.PerSecond = float64(total) / ds[len(ds)-1].Seconds()
		}
	}
	b.log.Info("placement", "running", len(ds), "tasks", total)
	return err
}

func (b *bench) runningCount() int {
	n := 0
	for _, f := range b.fws {
		f.mu.Lock()
		n += len(f.runningAt)
		f.mu.Unlock()
	}
	return n
}

// measureFreed kills running tasks one at a time and measures from the
// task's end at its agent until a framework that waits for resources
// receives an offer of that agent.
func (b *bench) measureFreed(ctx context.Context) error {
	b.waiter = newFramework("bench-waiter", b.cl.addrs(), 0, nil, &b.fwStats, b.log.Named("framework"))
	b.waiter.revive = true
	b.startFramework(b.waiter)
	if b.cfg.FreeSamples == 0 {
		return nil
	}
	if err := waitUntil(ctx, 20*time.Millisecond, func() bool { return b.waiter.c.FrameworkID() != "" }); err != nil {
		return fmt.Errorf("waiting framework subscribing: %w", err)
	}
	var ds []time.Duration
	fr := &b.res.Freed
	for i := 0; i < b.cfg.FreeSamples; i++ {
		f := b.fws[i%len(b.fws)]
		tid, agent := f.runningTask(i)
		if tid == "" {
			break
		}
		ch := b.waiter.watchAgent(agent)
		f.kill(b.fwCtx, tid, agent)
		t := time.NewTimer(15 * time.Second)
		select {
		case at := <-ch:
			if v, ok := b.sim.freedAt.Load(taskKey(f.c.FrameworkID(), tid)); ok {
				ds = append(ds, at.Sub(v.(time.Time)))
			}
		case <-t.C:
			fr.TimedOut++
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
		t.Stop()
	}
	sortDurations(ds)
	fr.Samples = len(ds)
	fr.P50, fr.P99, fr.Max = secs(percentile(ds, 50)), secs(percentile(ds, 99)), secs(percentile(ds, 100))
	return nil
}

// failover kills -9 the leader and measures until a new leader serves,
// a framework has a fresh offer and every agent has re-registered.
func (b *bench) failover(ctx context.Context) error {
	old, err := b.cl.waitLeader(ctx)
	if err != nil {
		return err
	}
	fo := &failover{Killed: old.name, RunningTasks: b.runningCount() - b.res.Freed.Samples - b.res.Freed.TimedOut,
		NewLeaderServes: -1, FreshOffer: -1, AllReregistered: -1}
	b.res.Failover = fo
	b.log.Info("killing the leader", "server", old.name)
	var survivors []*server
	pids := []int{0} // the benchmark itself
	for _, s := range b.cl.servers {
		if s != old && s.running() {
			survivors = append(survivors, s)
			pids = append(pids, s.cmd.Process.Pid)
		}
	}
	obs := b.startObserver(ctx)
	if obs != nil {
		defer b.stopObserver(obs)
	}
	stopProfile := func() {}
	if b.cfg.FailoverProfile != "" {
		stop, err := profileCPU(b.cfg.FailoverProfile)
		if err != nil {
			return err
		}
		stopProfile = sync.OnceFunc(stop)
		defer stopProfile()
	}
	cpu := startCPUMeter(pids...)
	regsBefore := b.sim.stats.registrations.Load()
	t0 := time.Now()
	old.kill()
	fo.Reaped = secs(time.Since(t0))
	leader, err := b.cl.waitLeader(ctx)
	if err != nil {
		return err
	}
	fo.LeaderAnswered = secs(time.Since(t0))
	if at, ok := leader.establishedAfter(t0); ok {
		fo.NewLeaderServes = secs(at.Sub(t0))
	}
	// The count of registrations is read first: the scan of every agent
	// under its lock, every 20 ms, took 6% of the benchmark's cpu
	// while its agents re-registered.
	err = waitUntil(ctx, 20*time.Millisecond, func() bool {
		if b.sim.stats.registrations.Load()-regsBefore < int64(b.cfg.Agents) {
			return false
		}
		n, _ := b.sim.registered(t0)
		return n == b.cfg.Agents
	})
	stopProfile()
	n, last := b.sim.registered(t0)
	fo.Reregistered = n
	if err != nil {
		return fmt.Errorf("agents re-registering: %w", err)
	}
	fo.AllReregistered = secs(last.Sub(t0))
	fo.CPU = failoverCPU(cpu.used(), survivors, leader)
	if ds := b.sim.registeredSince(t0); len(ds) > 0 {
		fo.FirstReregistered = secs(ds[0])
		fo.HalfReregistered = secs(percentile(ds, 50))
		fo.P90Reregistered = secs(percentile(ds, 90))
	}
	var first time.Time
	var offered *framework
	all := append([]*framework{b.waiter}, b.fws...)
	err = waitUntil(ctx, 20*time.Millisecond, func() bool {
		for _, f := range all {
			if at := f.firstOfferAfter(t0); !at.IsZero() && (first.IsZero() || at.Before(first)) {
				first, offered = at, f
			}
		}
		return !first.IsZero()
	})
	if err != nil {
		return fmt.Errorf("fresh offer: %w", err)
	}
	fo.FreshOffer = secs(first.Sub(t0))
	fo.Frameworks = frameworksFailover(all, offered, t0)
	if obs != nil {
		fo.Observer = b.observed(ctx, obs, t0)
	}
	b.log.Info("failover", "serves", fo.NewLeaderServes, "offer", fo.FreshOffer, "agents", fo.AllReregistered)
	return nil
}

// frameworksFailover says when, after t0, the frameworks' streams ended
// and they were subscribed again; offered had the first fresh offer.
func frameworksFailover(all []*framework, offered *framework, t0 time.Time) fwFailover {
	var ended, subscribed []time.Duration
	fw := fwFailover{Offered: -1}
	for _, f := range all {
		e, s := f.failoverTimes(t0)
		if !e.IsZero() {
			ended = append(ended, e.Sub(t0))
		}
		if !s.IsZero() {
			subscribed = append(subscribed, s.Sub(t0))
			if f == offered {
				fw.Offered = secs(s.Sub(t0))
			}
		}
	}
	sortDurations(ended)
	sortDurations(subscribed)
	fw.FirstEnded, fw.LastEnded, fw.FirstSubscribed, fw.HalfSubscribed = -1, -1, -1, -1
	if len(ended) > 0 {
		fw.FirstEnded, fw.LastEnded = secs(ended[0]), secs(ended[len(ended)-1])
	}
	if len(subscribed) > 0 {
		fw.FirstSubscribed, fw.HalfSubscribed = secs(subscribed[0]), secs(percentile(subscribed, 50))
	}
	return fw
}

// failoverCPU sorts the cpu used from the kill until every agent was
// back (the benchmark's first, then each survivor's) into the new
// leader's, the other servers' and the benchmark's own.
func failoverCPU(used []float64, survivors []*server, leader *server) failoverCPUSecs {
	c := failoverCPUSecs{Benchmark: used[0]}
	for i, s := range survivors {
		if s == leader {
			c.Leader = used[i+1]
		} else {
			c.Followers += used[i+1]
		}
	}
	return c
}

// settle waits (a bounded time) until every update is acknowledged and
// every task is RUNNING at its framework.
func (b *bench) settle(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	err := waitUntil(ctx, 50*time.Millisecond, func() bool {
		u, _ := b.sim.outstanding()
		if u > 0 {
			return false
		}
		for _, f := range b.fws {
			if f.check() > 0 {
				return false
			}
		}
		return true
	})
	if errors.Is(err, context.DeadlineExceeded) {
		return nil // finish reports what is left
	}
	return err
}

// finish gathers counts and checks correctness.
func (b *bench) finish() {
	r := b.res
	c := &r.Counts
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if l, err := b.cl.waitLeader(ctx); err == nil {
		r.LeaderRSS.GCPercentEnd, _ = gcPercent(ctx, l.httpAddr)
		if mem, err := readProcMemory(l.cmd.Process.Pid); err == nil {
			r.LeaderRSS.End, r.LeaderRSS.FileEnd, r.LeaderRSS.PeakEnd = mem.RSS, mem.File, mem.Peak
		}
		for _, s := range b.cl.servers {
			if s == l || !s.running() {
				continue
			}
			if mem, err := readProcMemory(s.cmd.Process.Pid); err == nil {
				r.LeaderRSS.OthersEnd = append(r.LeaderRSS.OthersEnd, mem.RSS)
				r.LeaderRSS.OthersFileEnd = append(r.LeaderRSS.OthersFileEnd, mem.File)
			}
		}
		// After placement the frameworks decline what they are offered:
		// the end shows what their filters, and a failover, left.
		r.LeaderRSS.HeapEnd, _ = liveHeapBytes(ctx, l.httpAddr)
		b.keepHeapProfile(ctx, l.httpAddr, "leader-heap-at-the-end.pb.gz")
	}
	if grown := r.LeaderRSS.AfterPlacement - r.LeaderRSS.Baseline; grown > 0 && r.Placement.Running > 0 {
		r.LeaderRSS.PerTask = float64(grown) / float64(r.Placement.Running)
		r.LeaderRSS.PerAgent = float64(grown) / float64(r.Agents)
	}
	if grown := r.LeaderRSS.HeapAfterPlacement - r.LeaderRSS.HeapBaseline; r.LeaderRSS.HeapBaseline > 0 && grown > 0 && r.Placement.Running > 0 {
		r.LeaderRSS.HeapPerTask = float64(grown) / float64(r.Placement.Running)
	}
	kills := 0
	if r.Failover != nil {
		kills = 1
	}
	c.UnplannedLeaderChanges = max(0, b.cl.countLogLines("established leadership")-1-kills)
	c.RaftElections = b.cl.countLogLines("entering leader state")
	r.LoadAverage[1] = loadAverage()
	r.ErrorLogs = b.cl.errorLines(time.Now())
	c.ServerErrorLogLines = len(r.ErrorLogs)
	if len(r.ErrorLogs) > 20 {
		r.ErrorLogs = r.ErrorLogs[:20]
	}
	if s := b.sim; s != nil {
		c.Reregistrations = s.stats.reregistrations.Load()
		c.NoLeaderAnswers = s.stats.noLeader.Load()
		c.AgentErrorEvents = s.stats.errorEvents.Load()
		c.AgentUpdateFailures = s.stats.updateFailures.Load()
		c.AgentResends = s.stats.resends.Load()
		c.Pongs = s.stats.pongs.Load()
		c.PongFailures = s.stats.pongFailures.Load()
		c.StreamPongs = s.stats.streamPongs.Load()
		c.PongStreamsFailed = s.stats.pongStreamsFailed.Load()
		c.PongStreamError, _ = s.stats.pongStreamError.Load().(string)
		c.Launches = s.stats.launches.Load()
		c.DuplicateLaunches = s.stats.dupLaunches.Load()
		c.UnacknowledgedAtEnd, _ = s.outstanding()
	}
	r.Pipeline = b.pipe.report()
	fs := &b.fwStats
	c.FrameworkErrorEvents = fs.errorEvents.Load()
	c.FrameworkCallFailures = fs.callFailures.Load()
	c.Subscribed = fs.subscribed.Load()
	c.Offers = fs.offers.Load()
	c.Revives = fs.revives.Load()
	c.Updates = fs.updates.Load()
	c.Acknowledged = fs.acknowledged.Load()
	c.UpdatesWithoutUUID = fs.noUUID.Load()
	c.Redelivered = fs.redelivered.Load()
	c.DuplicateRunning = fs.dupRunning.Load()
	c.UnexpectedTerminal = fs.unexpected.Load()
	c.Relaunched = fs.relaunched.Load()
	c.LaunchesFailed = fs.launchFailed.Load()
	c.Reconciles = fs.reconciles.Load()
	c.LostSilently = fs.lostSilently.Load()
	for _, f := range b.fws {
		n := f.check()
		c.NotRunningAtEnd += n
		if n > 0 {
			f.mu.Lock()
			last := time.Time{}
			if len(f.offerAt) > 0 {
				last = f.offerAt[len(f.offerAt)-1]
			}
			b.log.Warn("framework short of running tasks", "framework", f.name, "not_running", n, "queued", len(f.queue),
				"in_doubt", len(f.uncertain), "reviving", f.reviving, "last_offer", last.Format(time.RFC3339Nano), "subscribed", f.subs,
				"states", f.stuckStates())
			f.mu.Unlock()
		}
	}
	r.Problems = append(r.Problems, b.problems()...)
}

// problems lists every correctness check that failed.
func (b *bench) problems() []string {
	r, c := b.res, &b.res.Counts
	var out []string
	add := func(bad bool, format string, a ...any) {
		if bad {
			out = append(out, fmt.Sprintf(format, a...))
		}
	}
	add(r.Placement.Running != r.Placement.Tasks, "%d of %d tasks reached RUNNING at their frameworks", r.Placement.Running, r.Placement.Tasks)
	add(c.DuplicateLaunches > 0, "%d tasks launched twice on an agent", c.DuplicateLaunches)
	add(c.DuplicateRunning > 0, "%d tasks RUNNING twice (distinct updates) at their frameworks", c.DuplicateRunning)
	add(c.UnexpectedTerminal > 0, "%d terminal updates for tasks nobody killed", c.UnexpectedTerminal)
	add(c.NotRunningAtEnd > 0, "%d tasks not RUNNING at their frameworks at the end", c.NotRunningAtEnd)
	add(c.UnacknowledgedAtEnd > 0, "%d status updates never acknowledged to their agents", c.UnacknowledgedAtEnd)
	add(c.LostSilently > 0, "%d launches lost without an update to their framework (found by RECONCILE)", c.LostSilently)
	add(c.FrameworkErrorEvents > 0, "%d ERROR events at frameworks", c.FrameworkErrorEvents)
	add(c.AgentErrorEvents > 0, "%d ERROR events at agents", c.AgentErrorEvents)
	add(r.Freed.TimedOut > 0, "%d freed resources never offered to the waiting framework", r.Freed.TimedOut)
	if fo := r.Failover; fo != nil {
		add(fo.Reregistered != r.Agents, "%d of %d agents re-registered after the leader was killed", fo.Reregistered, r.Agents)
	}
	if b.sim != nil {
		tasks := int64(r.Placement.Tasks) + b.fwStats.replaced.Load()
		add(c.Relaunched == 0 && c.Launches-c.DuplicateLaunches != tasks,
			"%d distinct tasks launched at agents for %d tasks", c.Launches-c.DuplicateLaunches, tasks)
	}
	return out
}

// waitUntil polls cond every interval until it holds or ctx ends.
func waitUntil(ctx context.Context, interval time.Duration, cond func() bool) error {
	for !cond() {
		if err := pause(ctx, interval); err != nil {
			return err
		}
	}
	return nil
}
