// Command mesh is a cluster resource manager in the family of Apache
// Mesos: one binary for servers, agents, the executor and the CLI.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/hashicorp/go-hclog"
	"github.com/urfave/cli/v2"

	"mesh/version"
)

func main() {
	if err := newApp().Run(os.Args); err != nil {
		fmt.Fprintln(os.Stderr, "mesh:", err)
		os.Exit(1)
	}
}

// newApp builds the mesh command line. Every command with flags also
// takes -config FILE and MESH_* environment variables (cli_config.go).
func newApp() *cli.App {
	return &cli.App{
		Name:    "mesh",
		Usage:   "a cluster resource manager that speaks the Mesos v1 HTTP API",
		Version: version.MeshVersion,
		Commands: withConfig([]*cli.Command{
			serverCommand(),
			agentCommand(),
			devCommand(),
			executeCommand(),
			executorCommand(),
			operatorCommand(),
			statusCommand(),
			agentsCommand(),
			frameworksCommand(),
			tasksCommand(),
			killCommand(),
			teardownCommand(),
			drainCommand(),
			whyCommand(),
			maintenanceCommand(),
			logsCommand(),
			lsCommand(),
			tlsCommand(),
			versionCommand(),
		}),
		HideVersion: true,
	}
}

// logFlags are the logging flags every long-running command takes.
func logFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "log-level", Value: "info", Usage: "trace, debug, info, warn or error"},
		&cli.BoolFlag{Name: "log-json", Usage: "log as JSON lines"},
	}
}

// newLogger builds the root logger from the logging flags.
func newLogger(c *cli.Context, name string) (hclog.Logger, error) {
	lvl := hclog.LevelFromString(c.String("log-level"))
	if lvl == hclog.NoLevel {
		return nil, fmt.Errorf("unknown -log-level %q: want trace, debug, info, warn or error", c.String("log-level"))
	}
	return hclog.New(&hclog.LoggerOptions{
		Name:       name,
		Level:      lvl,
		JSONFormat: c.Bool("log-json"),
		Output:     os.Stderr,
	}), nil
}

func versionCommand() *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "print mesh's version",
		Action: func(c *cli.Context) error {
			fmt.Printf("mesh %s (git %s, Mesos API %s)\n", version.MeshVersion, version.GitSHA, version.Version)
			return nil
		},
	}
}

// signalContext is cancelled by SIGINT or SIGTERM.
func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}
