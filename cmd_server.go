package main

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"mesh/allocator"
	"mesh/server"
	"mesh/tlsutil"
)

func serverCommand() *cli.Command {
	d := server.DefaultConfig()
	return &cli.Command{
		Name:  "server",
		Usage: "run a server: a member of the Raft quorum; the leader is the master",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "data-dir", Usage: "where the raft log and snapshots live", Required: true},
			&cli.StringFlag{Name: "http-addr", Value: d.HTTPAddr, Usage: "address of the scheduler, agent and operator APIs"},
			&cli.StringFlag{Name: "raft-addr", Value: d.RaftAddr, Usage: "address raft listens on and dials peers from"},
			&cli.StringFlag{Name: "raft-advertise", Usage: "address peers reach this server's raft at (default: -raft-addr)"},
			&cli.IntFlag{Name: "bootstrap-expect", Value: d.BootstrapExpect, Usage: "number of servers that form the quorum"},
			&cli.StringFlag{Name: "join", Usage: "comma-separated HTTP addresses of other servers"},
			&cli.DurationFlag{Name: "heartbeat-interval", Value: d.HeartbeatInterval, Usage: "HEARTBEAT period on framework and agent streams"},
			&cli.DurationFlag{Name: "allocation-interval", Value: d.AllocationInterval, Usage: "period of the background allocation pass"},
			&cli.StringFlag{Name: "allocator", Value: d.Allocator, Usage: "allocation policy: " + strings.Join(allocator.Names(), " or ")},
			&cli.StringFlag{Name: "min-allocatable-resources", Value: d.MinAllocatableResources, Usage: "least an offer holds: quantity sets separated by '|', each 'name:amount' separated by ';' (an offer holds one set)"},
			&cli.DurationFlag{Name: "offer-timeout", Usage: "how long an offer stands before it is rescinded (0: until used or declined)"},
			&cli.DurationFlag{Name: "agent-reregister-timeout", Value: d.AgentReregisterTimeout, Usage: "how long a disconnected agent has to come back before its tasks are lost"},
			&cli.DurationFlag{Name: "agent-ping-timeout", Value: d.AgentPingTimeout, Usage: "how often the leader pings each agent, and how long it waits for the answer"},
			&cli.IntFlag{Name: "max-agent-ping-timeouts", Value: d.MaxAgentPingTimeouts, Usage: "unanswered pings in a row after which an agent is marked unreachable (its tasks lost)"},
			&cli.DurationFlag{Name: "framework-failover-minimum", Value: d.FrameworkFailoverMinimum, Usage: "least time a framework gets to resubscribe after a leader change"},
			&cli.IntFlag{Name: "max-completed-tasks-per-framework", Value: d.MaxCompletedTasksPerFramework, Usage: "completed tasks kept (and shown by /state) per framework; older ones are forgotten"},
			&cli.IntFlag{Name: "max-completed-frameworks", Value: d.MaxCompletedFrameworks, Usage: "removed frameworks kept, with their tasks; older ones are forgotten"},
			&cli.DurationFlag{Name: "raft-heartbeat-timeout", Value: d.RaftHeartbeatTimeout, Usage: "raft follower heartbeat timeout"},
			&cli.DurationFlag{Name: "raft-election-timeout", Value: d.RaftElectionTimeout, Usage: "raft election timeout"},
			&cli.DurationFlag{Name: "raft-leader-lease", Value: d.RaftLeaderLease, Usage: "raft leader lease timeout"},
			&cli.DurationFlag{Name: "raft-store-timeout", Value: d.RaftStoreTimeout, Usage: "longest a raft log write may take before the server steps down (0: no limit)"},
			&cli.Uint64Flag{Name: "raft-snapshot-threshold", Value: d.SnapshotThreshold, Usage: "log entries since the last snapshot that make the next one due"},
			&cli.DurationFlag{Name: "raft-snapshot-interval", Value: d.SnapshotInterval, Usage: "how often raft checks whether a snapshot is due (each check at a random time between it and twice it)"},
			&cli.Int64Flag{Name: "raft-snapshot-log-bytes", Value: d.SnapshotLogBytes, Usage: "bytes of log entries stored since the last snapshot that make one due at once, without waiting for the periodic check (0: off)"},
			&cli.IntFlag{Name: "rest-gc-percent", Value: d.RestGCPercent, Usage: "Go's GC target (as GOGC) while the server is at rest, when below the process' own; coming to rest the server also compacts its state's records: less memory held between bursts of work (0: off)"},
			&cli.DurationFlag{Name: "http-read-header-timeout", Value: d.HTTPReadHeaderTimeout, Usage: "longest a client may take to send a request's headers"},
			&cli.DurationFlag{Name: "http-read-timeout", Value: d.HTTPReadTimeout, Usage: "longest a client may take to send a whole request (a snapshot upload: between two reads)"},
			&cli.DurationFlag{Name: "http-write-timeout", Value: d.HTTPWriteTimeout, Usage: "longest an answer may take to write (streams: each write)"},
			&cli.DurationFlag{Name: "http-idle-timeout", Value: d.HTTPIdleTimeout, Usage: "how long an idle keep-alive connection is kept"},
			&cli.IntFlag{Name: "http-max-header-bytes", Value: d.HTTPMaxHeaderBytes, Usage: "largest request headers accepted"},
			&cli.IntFlag{Name: "http-max-conns-per-ip", Value: d.HTTPMaxConnsPerIP, Usage: "connections one client IP may hold open; more are answered 429 (0: no limit)"},
			&cli.BoolFlag{Name: "http-limit-loopback", Usage: "apply -http-max-conns-per-ip to loopback clients too (on one machine every client has the same address)"},
			&cli.IntFlag{Name: "max-framework-streams", Value: d.MaxFrameworkStreams, Usage: "framework event streams (SUBSCRIBE) open at once; more are answered 429"},
			&cli.Int64Flag{Name: "max-snapshot-restore-bytes", Value: d.MaxSnapshotRestoreBytes, Usage: "largest snapshot a restore accepts"},
			&cli.BoolFlag{Name: "enable-debug", Usage: "serve Go's profiler (cpu and heap profiles, goroutine dumps) at /debug/pprof/ and a dump of the whole heap at /debug/heapdump on the HTTP address; off by default, as it exposes the process's internals"},
		}, append(append(append(tlsFlags(), serverAuthFlags()...), aclFlag()), logFlags()...)...),
		Action: func(c *cli.Context) error {
			logger, err := newLogger(c, "mesh")
			if err != nil {
				return err
			}
			cfg := server.DefaultConfig()
			cfg.DataDir = c.String("data-dir")
			cfg.HTTPAddr = c.String("http-addr")
			cfg.RaftAddr = c.String("raft-addr")
			cfg.RaftAdvertise = c.String("raft-advertise")
			cfg.BootstrapExpect = c.Int("bootstrap-expect")
			cfg.Join = splitList(c.String("join"))
			cfg.HeartbeatInterval = c.Duration("heartbeat-interval")
			cfg.AllocationInterval = c.Duration("allocation-interval")
			cfg.Allocator = c.String("allocator")
			cfg.OfferTimeout = c.Duration("offer-timeout")
			cfg.MinAllocatableResources = c.String("min-allocatable-resources")
			cfg.AgentReregisterTimeout = c.Duration("agent-reregister-timeout")
			cfg.AgentPingTimeout = c.Duration("agent-ping-timeout")
			cfg.MaxAgentPingTimeouts = c.Int("max-agent-ping-timeouts")
			cfg.FrameworkFailoverMinimum = c.Duration("framework-failover-minimum")
			cfg.MaxCompletedTasksPerFramework = c.Int("max-completed-tasks-per-framework")
			cfg.MaxCompletedFrameworks = c.Int("max-completed-frameworks")
			cfg.RaftHeartbeatTimeout = c.Duration("raft-heartbeat-timeout")
			cfg.RaftElectionTimeout = c.Duration("raft-election-timeout")
			cfg.RaftLeaderLease = c.Duration("raft-leader-lease")
			cfg.RaftStoreTimeout = c.Duration("raft-store-timeout")
			cfg.SnapshotThreshold = c.Uint64("raft-snapshot-threshold")
			cfg.SnapshotInterval = c.Duration("raft-snapshot-interval")
			if cfg.SnapshotLogBytes, err = zeroMeansOff("raft-snapshot-log-bytes", c.Int64("raft-snapshot-log-bytes")); err != nil {
				return err
			}
			if cfg.RestGCPercent, err = zeroMeansOff("rest-gc-percent", c.Int("rest-gc-percent")); err != nil {
				return err
			}
			if cfg.SnapshotThreshold == 0 || cfg.SnapshotInterval == 0 {
				// The server's settings read 0 as their default.
				return fmt.Errorf("-raft-snapshot-threshold %d, -raft-snapshot-interval %s: neither can be 0", cfg.SnapshotThreshold, cfg.SnapshotInterval)
			}
			cfg.HTTPReadHeaderTimeout = c.Duration("http-read-header-timeout")
			cfg.HTTPReadTimeout = c.Duration("http-read-timeout")
			cfg.HTTPWriteTimeout = c.Duration("http-write-timeout")
			cfg.HTTPIdleTimeout = c.Duration("http-idle-timeout")
			cfg.HTTPMaxHeaderBytes = c.Int("http-max-header-bytes")
			cfg.HTTPMaxConnsPerIP = c.Int("http-max-conns-per-ip")
			cfg.HTTPLimitLoopback = c.Bool("http-limit-loopback")
			cfg.MaxFrameworkStreams = c.Int("max-framework-streams")
			cfg.MaxSnapshotRestoreBytes = c.Int64("max-snapshot-restore-bytes")
			cfg.EnableDebug = c.Bool("enable-debug")
			cfg.Logger = logger
			if cfg.TLS, err = loadServingTLS(c, logger, tlsutil.RoleServer); err != nil {
				return err
			}
			if err := applyServerAuth(c, logger, &cfg, cfg.HTTPAddr, cfg.RaftAddr); err != nil {
				return err
			}
			if cfg.ACLs, err = loadACLs(c, logger); err != nil {
				return err
			}
			srv, err := server.New(cfg)
			if err != nil {
				return err
			}
			ctx, stop := signalContext()
			defer stop()
			reloadTLSOnSIGHUP(ctx, logger, cfg.TLS)
			reloadAuthOnSIGHUP(ctx, logger, cfg.Credentials, cfg.AgentJoinToken)
			watchACLs(ctx, cfg.ACLs)
			return srv.Run(ctx)
		},
	}
}

// splitList splits a comma-separated flag value, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// zeroMeansOff reads a flag whose 0 turns its feature off as the server's
// setting for off (-1; the server reads 0 as its default), and refuses a
// negative value.
func zeroMeansOff[T int | int64](flag string, v T) (T, error) {
	switch {
	case v == 0:
		return -1, nil
	case v < 0:
		return 0, fmt.Errorf("-%s %d: cannot be negative (0 turns it off)", flag, v)
	}
	return v, nil
}
