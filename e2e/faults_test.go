package e2e

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The fault suite's flags. The defaults are the short configuration that
// runs under `make test`; `make test-faults` passes the long one.
var (
	faultsSeed      = flag.Uint64("faults.seed", 0, "seed that fixes the fault schedule (0: from the clock, printed)")
	faultsCount     = flag.Int("faults.count", 10, "number of faults to inject")
	faultsMinTasks  = flag.Int("faults.min-tasks", 0, "go on with the schedule past -faults.count (up to three times as many faults) until the workload has started this many tasks")
	faultsGapMin    = flag.Duration("faults.gap-min", 2*time.Second, "least time between the end of a fault and the next")
	faultsGapMax    = flag.Duration("faults.gap-max", 4*time.Second, "most time between the end of a fault and the next")
	faultsMix       = flag.String("faults.mix", defaultFaultMix, "weights of the fault kinds: kill-leader, kill-follower, kill-agent, stop-leader")
	faultsWorkers   = flag.Int("faults.workers", 3, "concurrent mesh execute runs")
	faultsInstances = flag.Int("faults.instances", 20, "tasks per mesh execute run")
	faultsSettle    = flag.Duration("faults.settle", 2*time.Minute, "how long after the last fault every mesh execute has to end before it counts as hung")
	faultsDir       = flag.String("faults.dir", "", "keep the suite's logs and work directories here (default: a temporary directory, removed)")
)

// faultTaskCommand is each task's command: it leaves one marker line per
// execution in its sandbox, so that executions can be counted, and runs
// for half a second.
const faultTaskCommand = "echo ran >> " + faultMarker + "; sleep 0.5"

// faultMarker is the file, in a task's sandbox, that counts its executions.
const faultMarker = "fault-marker"

// TestFaults_NothingLostNothingHung runs a workload of `mesh execute`
// runs against 3 servers and two agents (one -isolation linux, one
// -isolation posix) while a seeded schedule kills (SIGKILL) the leader, a
// follower or an agent and restarts it on its own directory 1-3 s later,
// or stops the leader (SIGSTOP) for 2 s. Once the faults stop and the
// cluster settles, it checks that no task was lost (launched, its end
// never seen by its framework), doubled (two run directories or two
// executions), or divergent (servers disagree, or a framework's view
// differs from /state), that no framework hung, no mesh process panicked
// and no process of the suite outlived it.
func TestFaults_NothingLostNothingHung(t *testing.T) {
	mix, err := parseFaultMix(*faultsMix)
	if err != nil {
		t.Fatalf("-faults.mix: %v", err)
	}
	if *faultsGapMin <= 0 || *faultsGapMax < *faultsGapMin || *faultsCount < 0 || *faultsWorkers < 1 || *faultsInstances < 1 {
		t.Fatalf("bad fault suite flags: gap %s..%s, count %d, workers %d, instances %d",
			*faultsGapMin, *faultsGapMax, *faultsCount, *faultsWorkers, *faultsInstances)
	}
	seed := *faultsSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("fault schedule seed %d (replay with -faults.seed %d)", seed, seed)
	plan := planFaults(seed, 3**faultsCount, *faultsGapMin, *faultsGapMax, mix)

	dir := *faultsDir
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	s := newFaultSuite(t, dir)
	s.startCluster()

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() {
		// On the way out, also after a t.Fatal: no new run starts, a run
		// still going is stopped, and nothing the suite started is left.
		cancel()
		s.settleDeadline.Store(time.Now().UnixNano())
		s.fleet.killAll()
		wg.Wait()
		s.fleet.killAll()
	}()
	runs := &runSet{}
	for k := range *faultsWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.workload(ctx, k, runs)
		}()
	}
	// Let the workload begin before the first fault.
	waitFor(t, 2*time.Minute, "the first task running", func() bool { return runs.anyRunning() })
	records := s.inject(plan, func(done int) bool {
		return done >= *faultsCount && runs.tasks() >= *faultsMinTasks
	})
	s.settleDeadline.Store(time.Now().Add(*faultsSettle).UnixNano())
	cancel()
	wg.Wait()

	rep := s.check(runs.all(), records)
	rep.seed = seed
	table := rep.table()
	t.Logf("fault suite results (seed %d):\n%s", seed, table)
	if err := os.WriteFile(filepath.Join(dir, "results.txt"), []byte(table+"\n"+rep.evidenceText()), 0o644); err != nil {
		t.Error(err)
	}
	rep.assertZero(t)
}

// faultSuite is the cluster of one run of the suite and what it started.
type faultSuite struct {
	t       *testing.T
	dir     string
	fleet   *fleet
	cluster *testCluster
	agents  []*faultAgent
	// settleDeadline is when, in unix nanoseconds, a mesh execute still
	// running counts as hung; 0 while the faults go on.
	settleDeadline atomic.Int64
}

// faultAgent is one agent of the suite, restarted on its own work dir.
type faultAgent struct {
	name    string
	workDir string
	args    []string
	p       *proc
}

func newFaultSuite(t *testing.T, dir string) *faultSuite {
	for _, d := range []string{"logs", "servers", "agents"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	s := &faultSuite{t: t, dir: dir, fleet: newFleet(t, filepath.Join(dir, "logs"))}
	// Whatever happens, nothing the suite started outlives it.
	t.Cleanup(s.fleet.killAll)
	return s
}

// startCluster starts 3 servers and the agents and waits until the leader
// lists every agent as active.
func (s *faultSuite) startCluster() {
	t := s.t
	extra := append(append([]string(nil), testRaftTiming...), "-max-completed-frameworks", "100000")
	c := newClusterWith(t, 3, false, extra...)
	for _, srv := range c.servers {
		srv.dataDir = filepath.Join(s.dir, "servers", srv.name)
		for i, a := range srv.args {
			if a == "-data-dir" {
				srv.args[i+1] = srv.dataDir
			}
		}
		srv.p = s.fleet.start(srv.name, srv.args...)
	}
	s.cluster = c
	c.waitStable(60 * time.Second)

	isolations := []string{"linux", "posix"}
	if os.Geteuid() != 0 {
		t.Logf("not root: the -isolation linux agent is replaced by a second posix agent")
		isolations = []string{"posix", "posix"}
	}
	for i, iso := range isolations {
		a := &faultAgent{name: fmt.Sprintf("agent%d-%s", i+1, iso), workDir: filepath.Join(s.dir, "agents", fmt.Sprintf("agent%d", i+1))}
		a.args = []string{"agent", "-allow-root-tasks", "-isolation", iso, "-join", c.addrs(),
			"-http-addr", freePort(t), "-work-dir", a.workDir, "-gc-delay", "24h",
			"-resources", "cpus:8;mem:8192;disk:10000;ports:[31000-31100]"}
		a.p = s.fleet.start(a.name, a.args...)
		s.agents = append(s.agents, a)
	}
	l := c.waitStable(60 * time.Second)
	waitAgents(t, l.httpAddr, len(s.agents))
}

// workload runs mesh execute runs one after the other until ctx ends (the
// faults are over), each waited for until the settle deadline.
func (s *faultSuite) workload(ctx context.Context, k int, runs *runSet) {
	const maxRuns = 10000
	for i := 0; i < maxRuns && ctx.Err() == nil; i++ {
		r := &execRun{name: fmt.Sprintf("w%di%d", k, i), instances: *faultsInstances}
		r.p = s.fleet.start("execute-"+r.name, "execute", "-master", s.cluster.addrs(), "-name", r.name,
			"-command", faultTaskCommand, "-instances", fmt.Sprint(r.instances), "-cpus", "0.1", "-mem", "32",
			"-checkpoint", "-failover-timeout", "5m")
		r.log = s.fleet.logOf(r.p)
		runs.add(r)
		s.waitRun(r)
	}
}

// waitRun waits for a run to exit; one still running at the settle
// deadline is hung: it is stopped (SIGTERM, then SIGKILL).
func (s *faultSuite) waitRun(r *execRun) {
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-r.p.done:
			r.exitCode = r.p.cmd.ProcessState.ExitCode()
			return
		case <-tick.C:
			d := s.settleDeadline.Load()
			if d == 0 || time.Now().UnixNano() < d {
				continue
			}
			r.hung = true
			if b, err := os.ReadFile(r.log); err == nil {
				r.atDeadline = string(b) // what it had printed when it was declared hung
			}
			s.fleet.stop(r.p, 30*time.Second)
			r.exitCode = r.p.cmd.ProcessState.ExitCode()
			return
		}
	}
}

// runSet is the runs of every workload goroutine.
type runSet struct {
	mu   sync.Mutex
	runs []*execRun
}

func (rs *runSet) add(r *execRun) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	rs.runs = append(rs.runs, r)
}

func (rs *runSet) all() []*execRun {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return append([]*execRun(nil), rs.runs...)
}

// tasks counts the tasks of every run started so far.
func (rs *runSet) tasks() int {
	n := 0
	for _, r := range rs.all() {
		n += r.instances
	}
	return n
}

// anyRunning reports whether some run printed a TASK_RUNNING.
func (rs *runSet) anyRunning() bool {
	for _, r := range rs.all() {
		if b, err := os.ReadFile(r.log); err == nil && strings.Contains(string(b), " TASK_RUNNING") {
			return true
		}
	}
	return false
}
