package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"mesh/agent"
	"mesh/auth"
	"mesh/tlsutil"
)

func agentCommand() *cli.Command {
	d := agent.DefaultConfig()
	return &cli.Command{
		Name:  "agent",
		Usage: "run an agent: advertise this machine's resources and run tasks",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "join", Usage: "comma-separated HTTP addresses (host:port) of servers; any server will do (required unless -recover cleanup)"},
			&cli.StringFlag{Name: "http-addr", Value: d.HTTPAddr, Usage: "address of the executor, files and state APIs"},
			&cli.StringFlag{Name: "work-dir", Usage: "where sandboxes and checkpoints live", Required: true},
			&cli.StringFlag{Name: "resources", Usage: "resources to offer, semicolon-separated, e.g. 'cpus:4;mem:4096;ports:[31000-32000]'; names not given are detected"},
			&cli.StringFlag{Name: "attributes", Usage: "attributes of this agent, semicolon-separated, e.g. 'rack:r1;os:linux'"},
			&cli.StringFlag{Name: "hostname", Usage: "hostname to advertise (default: the system's)"},
			&cli.StringFlag{Name: "isolation", Usage: "container isolation: linux (cgroups, namespaces; needs root) or posix (none) (default: linux when root with cgroups, else posix)"},
			&cli.BoolFlag{Name: "allow-root-tasks", Usage: "let tasks run as root under linux isolation (default: refuse them)"},
			&cli.IntFlag{Name: "prestart-containers", Value: d.PrestartContainers, Usage: "containers linux isolation keeps created ahead of launches for each recent task user, so a command task starts without waiting for one (0: off)"},
			&cli.DurationFlag{Name: "executor-registration-timeout", Value: d.ExecutorRegistrationTimeout, Usage: "how long a new executor has to subscribe"},
			&cli.DurationFlag{Name: "executor-shutdown-grace-period", Value: d.ExecutorShutdownGracePeriod, Usage: "how long an executor has to stop after SHUTDOWN"},
			&cli.StringFlag{Name: "recover", Value: agent.RecoverReconnect, Usage: "what to do with the executors an earlier agent left running on -work-dir: reconnect (they go on under this agent) or cleanup (kill them, keep their tasks' final updates for the next agent, and exit; for an incompatible upgrade or a machine leaving the cluster)"},
			&cli.BoolFlag{Name: "kill-tasks-on-shutdown", Usage: "destroy every container when the agent stops (default: leave them running for a restarted agent to recover)"},
			&cli.StringFlag{Name: "host-volumes", Usage: "comma-separated host paths tasks may mount as volumes (ContainerInfo host_path), each with what lies below it (default: none)"},
			&cli.StringFlag{Name: "task-capabilities", Usage: "comma-separated capabilities tasks may ask for in linux_info.effective_capabilities, e.g. NET_BIND_SERVICE (default: none)"},
			&cli.DurationFlag{Name: "gc-delay", Value: d.GCDelay, Usage: "how long the sandbox of an ended executor is kept, on an empty disk; less as the disk fills"},
			&cli.Float64Flag{Name: "gc-disk-headroom", Value: d.GCDiskHeadroom, Usage: "share of the work directory's disk to keep free: sandboxes go at once when it is reached"},
			&cli.StringFlag{Name: "fetcher-cache-dir", Usage: "where downloads of URIs marked cache are kept, a directory per task user (default: <work-dir>/fetcher-cache)"},
			&cli.Int64Flag{Name: "fetcher-cache-size", Value: d.FetcherCacheSize >> 20, Usage: "size of the fetcher cache in MB; the least recently used downloads are removed beyond it"},
			&cli.BoolFlag{Name: "enable-debug", Usage: "serve Go's profiler (cpu and heap profiles, goroutine dumps) at /debug/pprof/ and a dump of the whole heap at /debug/heapdump on the HTTP address; off by default, as it exposes the process's internals"},
			&cli.StringFlag{Name: "agent-join-token", Usage: "`FILE` holding the cluster's join token (the servers' -agent-join-token), with which this agent authenticates when it has no agent certificate; reread on SIGHUP"},
			insecureFlag(),
		}, append(append(append(agentAuthFlags(), tlsFlags()...), aclFlag()), logFlags()...)...),
		Action: func(c *cli.Context) error {
			logger, err := newLogger(c, "mesh")
			if err != nil {
				return err
			}
			cfg := agent.DefaultConfig()
			cfg.Servers = splitList(c.String("join"))
			cfg.Recover = c.String("recover")
			cfg.HTTPAddr = c.String("http-addr")
			cfg.WorkDir = c.String("work-dir")
			cfg.Resources = c.String("resources")
			cfg.Attributes = c.String("attributes")
			cfg.Hostname = c.String("hostname")
			cfg.Isolation = c.String("isolation")
			cfg.AllowRootTasks = c.Bool("allow-root-tasks")
			cfg.PrestartContainers = c.Int("prestart-containers")
			cfg.ExecutorRegistrationTimeout = c.Duration("executor-registration-timeout")
			cfg.ExecutorShutdownGracePeriod = c.Duration("executor-shutdown-grace-period")
			cfg.KillTasksOnShutdown = c.Bool("kill-tasks-on-shutdown")
			cfg.EnableDebug = c.Bool("enable-debug")
			cfg.HostVolumes = splitList(c.String("host-volumes"))
			cfg.TaskCapabilities = splitList(c.String("task-capabilities"))
			cfg.FetcherCacheDir = c.String("fetcher-cache-dir")
			cfg.GCDelay = c.Duration("gc-delay")
			cfg.GCDiskHeadroom = c.Float64("gc-disk-headroom")
			cfg.FetcherCacheSize = c.Int64("fetcher-cache-size") << 20
			cfg.Logger = logger
			if cfg.TLS, err = loadServingTLS(c, logger, tlsutil.RoleAgent); err != nil {
				return err
			}
			if p := c.String("agent-join-token"); p != "" {
				if cfg.JoinToken, err = auth.LoadSecret(p); err != nil {
					return fmt.Errorf("-agent-join-token: %w", err)
				}
			}
			if err := applyAgentAuth(c, logger, &cfg); err != nil {
				return err
			}
			cleanup := cfg.Recover == agent.RecoverCleanup
			if cleanup {
				// Nothing is served: the address is only bound.
				cfg.HTTPAddr = "127.0.0.1:0"
			}
			if cfg.ACLs, err = loadACLs(c, logger); err != nil {
				return err
			}
			a, err := agent.New(cfg)
			if err != nil {
				return err
			}
			ctx, stop := signalContext()
			defer stop()
			reloadTLSOnSIGHUP(ctx, logger, cfg.TLS)
			reloadAuthOnSIGHUP(ctx, logger, cfg.Credentials, cfg.JoinToken)
			watchACLs(ctx, cfg.ACLs)
			if cleanup {
				sum, err := a.Cleanup(ctx)
				fmt.Fprintf(c.App.Writer, "killed %d executors and destroyed %d other containers; %d status updates wait for the next agent on %s\n",
					sum.Executors, sum.Containers, sum.PendingUpdates, cfg.WorkDir)
				return err
			}
			return a.Run(ctx)
		},
	}
}
