// Command cluster is mesh's cluster benchmark: three real `mesh server`
// processes, thousands of simulated agents (the real agent protocol with
// a fake containerizer) and frameworks on the real scheduler API. It
// measures placement throughput, the time from freed resources to an
// offer, leader failover at scale and the leader's memory, and checks
// that nothing was lost or doubled on the way.
//
//	go build -o bin/mesh . && go run ./bench/cluster -mesh bin/mesh -agents 1000 -frameworks 10 -tasks 1000
//
// It is not part of the mesh binary; `make bench-cluster` runs it.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
)

func main() {
	if servers := os.Getenv(observerEnv); servers != "" {
		os.Exit(observerMain(servers))
	}
	os.Exit(realMain())
}

// realMain runs the benchmark and returns the exit code, once its
// deferred work (the cpu profile's end) is done.
func realMain() int {
	cfg, asJSON, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench-cluster:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if cfg.CPUProfile != "" {
		stopProfile, err := profileCPU(cfg.CPUProfile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench-cluster:", err)
			return 2
		}
		defer stopProfile()
	}
	res, err := run(ctx, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench-cluster:", err)
		if res == nil {
			return 1
		}
	}
	if asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(res)
	} else {
		res.writeText(os.Stdout)
	}
	if err != nil || len(res.Problems) > 0 {
		return 1
	}
	return 0
}

// parseFlags reads the command line into a config; any bad value is an
// error that says what was wrong.
func parseFlags(args []string) (config, bool, error) {
	fs := flag.NewFlagSet("bench-cluster", flag.ContinueOnError)
	bin := os.Getenv("MESH_BIN")
	if bin == "" {
		bin = "bin/mesh"
	}
	var cfg config
	fs.StringVar(&cfg.MeshBin, "mesh", bin, "the mesh binary that runs the servers (default: $MESH_BIN, else bin/mesh)")
	fs.IntVar(&cfg.Agents, "agents", 1000, "simulated agents")
	fs.IntVar(&cfg.Frameworks, "frameworks", 10, "frameworks")
	fs.IntVar(&cfg.TasksPerFramework, "tasks", 1000, "tasks each framework launches")
	fs.IntVar(&cfg.AgentsPerGroup, "agents-per-transport", 1000, "simulated agents sharing one HTTP transport")
	fs.Float64Var(&cfg.TaskCPUs, "task-cpus", 0.01, "cpus of one task")
	fs.Float64Var(&cfg.TaskMem, "task-mem", 1, "mem (MB) of one task")
	fs.DurationVar(&cfg.TaskDuration, "task-duration", 0, "tasks finish after this long once running (0: they run until killed)")
	fs.DurationVar(&cfg.Churn, "churn", 0, "after placement, replace every task that finishes with a new one for this long (needs -task-duration and -kill-leader=false)")
	fs.IntVar(&cfg.FreeSamples, "free-samples", 50, "tasks killed one at a time to time freed resources -> offer")
	fs.BoolVar(&cfg.KillLeader, "kill-leader", true, "kill -9 the leader once every task runs, and measure the failover")
	fs.DurationVar(&cfg.EndAfter, "end-after", 0, "let the cluster run this long after the last measurement before the end's figures (a new leader settles for 30 s)")
	fs.DurationVar(&cfg.TimeLimit, "time-limit", 10*time.Minute, "the run stops by itself after this long")
	fs.StringVar(&cfg.Dir, "dir", "", "keep the servers' data and logs here (default: a temp dir, removed after)")
	serverFlags := fs.String("server-flags", "", "extra flags for every server, space-separated")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	verbose := fs.Bool("v", false, "log progress to stderr")
	fs.StringVar(&cfg.CPUProfile, "cpuprofile", "", "write the benchmark's own cpu profile (its simulated agents and frameworks) to this file")
	fs.StringVar(&cfg.FailoverProfile, "failover-cpuprofile", "", "write the benchmark's own cpu profile from the leader's kill until every agent was back to this file")
	if err := fs.Parse(args); err != nil {
		return cfg, false, err
	}
	if fs.NArg() > 0 {
		return cfg, false, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	cfg.ServerFlags = strings.Fields(*serverFlags)
	level := hclog.Warn
	if *verbose {
		level = hclog.Info
	}
	cfg.Log = hclog.New(&hclog.LoggerOptions{Name: "bench", Level: level, Output: os.Stderr})
	return cfg, *asJSON, cfg.validate()
}

func (c config) validate() error {
	switch {
	case c.MeshBin == "":
		return fmt.Errorf("-mesh: no mesh binary given")
	case c.Agents < 1:
		return fmt.Errorf("-agents %d: need at least one agent", c.Agents)
	case c.Frameworks < 1:
		return fmt.Errorf("-frameworks %d: need at least one framework", c.Frameworks)
	case c.TasksPerFramework < 1:
		return fmt.Errorf("-tasks %d: need at least one task per framework", c.TasksPerFramework)
	case c.AgentsPerGroup < 1:
		return fmt.Errorf("-agents-per-transport %d: need at least one", c.AgentsPerGroup)
	case !(c.TaskCPUs > 0) || !(c.TaskMem > 0):
		return fmt.Errorf("-task-cpus %g, -task-mem %g: both must be positive", c.TaskCPUs, c.TaskMem)
	case c.FreeSamples < 0 || c.TaskDuration < 0 || c.EndAfter < 0:
		return fmt.Errorf("-free-samples, -task-duration and -end-after must not be negative")
	case c.TimeLimit <= 0:
		return fmt.Errorf("-time-limit %s: must be positive", c.TimeLimit)
	case c.CPUProfile != "" && c.FailoverProfile != "":
		return fmt.Errorf("-cpuprofile and -failover-cpuprofile: a process has one cpu profile at a time; give one")
	case c.FailoverProfile != "" && !c.KillLeader:
		return fmt.Errorf("-failover-cpuprofile: needs -kill-leader")
	case c.Churn < 0:
		return fmt.Errorf("-churn %s: must not be negative", c.Churn)
	case c.Churn > 0 && (c.TaskDuration == 0 || c.KillLeader):
		return fmt.Errorf("-churn %s: needs -task-duration (tasks that finish, to replace) and -kill-leader=false (the failover measures a steady cluster)", c.Churn)
	}
	if _, err := os.Stat(c.MeshBin); err != nil {
		return fmt.Errorf("-mesh %s: %w (build it with make build)", c.MeshBin, err)
	}
	return nil
}

// profileCPU profiles this process into path until the returned stop.
func profileCPU(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("-cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("-cpuprofile: %w", err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}
