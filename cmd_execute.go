package main

import (
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"mesh/auth"
	"mesh/execute"
)

// executeCommand is `mesh execute`: run a command on the cluster as a
// one-off framework, print its progress and output, and exit 0 only if
// every task finished.
func executeCommand() *cli.Command {
	return &cli.Command{
		Name:      "execute",
		Usage:     "run a shell command (or N instances of it) on the cluster and wait for it",
		UsageText: "mesh execute -master 127.0.0.1:5050 -name hello -command 'echo hi' [-instances N]",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "master", Value: "127.0.0.1:5050", Usage: "server `host:port`, or a comma-separated list of them"},
			&cli.StringFlag{Name: "name", Required: true, Usage: "framework and task name; task ids are <name>-<i>"},
			&cli.StringFlag{Name: "command", Required: true, Usage: "shell command each task runs"},
			&cli.Float64Flag{Name: "cpus", Value: execute.DefaultCPUs, Usage: "cpus per task"},
			&cli.Float64Flag{Name: "mem", Value: execute.DefaultMem, Usage: "memory per task, in MB"},
			&cli.IntFlag{Name: "instances", Value: execute.DefaultInstances, Usage: "how many tasks to run"},
			&cli.StringFlag{Name: "user", Usage: "user the tasks run as (default: the current user)"},
			&cli.StringFlag{Name: "role", Value: execute.DefaultRole, Usage: "role to receive offers in"},
			&cli.DurationFlag{Name: "timeout", Usage: "kill every task and give up after this long (0: never)"},
			&cli.DurationFlag{Name: "kill-after", Usage: "kill each task this long after it starts running (0: never)"},
			&cli.DurationFlag{Name: "failover-timeout", Value: time.Minute, Usage: "how long the cluster keeps the tasks if this command loses its server"},
			&cli.BoolFlag{Name: "checkpoint", Usage: "let tasks survive an agent restart"},
			&cli.StringFlag{Name: "image", Usage: "run the tasks in this root filesystem: the absolute `path` of a directory or .tar/.tar.gz on the agents' machines"},
			&cli.StringSliceFlag{Name: "uri", Usage: "fetch this `URI` into each sandbox first, extracting archives (repeatable)"},
			&cli.StringSliceFlag{Name: "volume", Usage: "bind `HOST_PATH:CONTAINER_PATH[:ro]` into each task (repeatable; the agent's -host-volumes must allow the host path; a relative host path is in the sandbox)"},
			&cli.StringSliceFlag{Name: "env", Usage: "set `NAME=VALUE` for the command (repeatable)"},
			&cli.StringFlag{Name: "output", Value: execute.OutputAuto, Usage: "auto: print a single task's stdout (and its stderr on stderr) while it runs; for many instances, a progress line and, at the end, the output of the tasks that did not finish. all: each task's output once it ends"},
		}, append(append(tlsFlags(), credentialFlags()...), logFlags()...)...),
		Action: runExecute,
	}
}

func runExecute(c *cli.Context) error {
	if c.NArg() > 0 {
		return fmt.Errorf("execute: unexpected arguments %q (quote the -command)", c.Args().Slice())
	}
	logger, err := newLogger(c, "mesh")
	if err != nil {
		return err
	}
	var masters []string
	for _, m := range strings.Split(c.String("master"), ",") {
		if m = strings.TrimSpace(m); m != "" {
			masters = append(masters, m)
		}
	}
	cfg := execute.Config{
		Masters:         masters,
		Name:            c.String("name"),
		Command:         c.String("command"),
		CPUs:            c.Float64("cpus"),
		Mem:             c.Float64("mem"),
		Instances:       c.Int("instances"),
		User:            c.String("user"),
		Role:            c.String("role"),
		Timeout:         c.Duration("timeout"),
		KillAfter:       c.Duration("kill-after"),
		FailoverTimeout: c.Duration("failover-timeout"),
		Checkpoint:      c.Bool("checkpoint"),
		Image:           c.String("image"),
		URIs:            c.StringSlice("uri"),
		Env:             c.StringSlice("env"),
		Volumes:         c.StringSlice("volume"),
		Out:             os.Stdout,
		ErrOut:          os.Stderr,
		TTY:             isTerminal(os.Stdout),
		Output:          c.String("output"),
		Logger:          logger,
	}
	t, err := loadTLS(c)
	if err != nil {
		return fmt.Errorf("execute: %w", err)
	}
	if t != nil {
		// Servers and agents (for the tasks' output) answer: any mesh
		// role signed by the CA will do.
		cfg.HTTPClient, cfg.Scheme = &http.Client{Transport: t.HTTPTransport("")}, t.Scheme()
	}
	p, secret, err := loadCredential(c)
	if err != nil {
		return fmt.Errorf("execute: %w", err)
	}
	cfg.Principal, cfg.Secret = p, secret.Value()
	if p != "" {
		// The agents, whose files carry the tasks' output, take the
		// credential the servers do.
		var base http.RoundTripper
		if cfg.HTTPClient != nil {
			base = cfg.HTTPClient.Transport
		}
		cfg.HTTPClient = &http.Client{Transport: authTransport(base, auth.BasicHeader(p, cfg.Secret))}
	}
	if cfg.Instances < 1 {
		return fmt.Errorf("execute: -instances must be at least 1, not %d", cfg.Instances)
	}
	// Ctrl-C or SIGTERM kills the running tasks and tears the framework
	// down before we exit.
	ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		// After the first signal, restore the default handling so that a
		// second Ctrl-C exits at once.
		<-ctx.Done()
		stop()
	}()
	// Any error, including tasks that did not finish, exits 1 after one
	// line on stderr; the state lines on stdout tell the details.
	if _, err := execute.Run(ctx, cfg); err != nil {
		return fmt.Errorf("execute: %w", err)
	}
	return nil
}

// isTerminal reports whether f is a terminal.
func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}
