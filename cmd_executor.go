package main

import (
	"os"

	"github.com/urfave/cli/v2"

	"mesh/executor"
)

// executorCommand is the command executor the agent starts for each
// command task, and the default executor it starts for task groups
// (with MESH_DEFAULT_EXECUTOR=1); it is configured through the MESOS_* environment and is
// not meant to be run by hand.
func executorCommand() *cli.Command {
	return &cli.Command{
		Name:   "executor",
		Usage:  "run the command executor (started by an agent)",
		Hidden: true,
		Flags:  logFlags(),
		Action: func(c *cli.Context) error {
			// The executor's stderr is the task's sandbox stderr: keep it for
			// the task's own output and the executor's problems.
			if !c.IsSet("log-level") {
				if err := c.Set("log-level", "warn"); err != nil {
					return err
				}
			}
			logger, err := newLogger(c, "mesh")
			if err != nil {
				return err
			}
			// Before anything else: the environment holds the token.
			if err := executor.HideFromTask(); err != nil {
				return err
			}
			// In a prestarted container the environment arrives now.
			if err := executor.LoadDeferredEnv(); err != nil {
				return err
			}
			cfg, err := executor.CommandExecutorConfigFromEnv(os.Getenv)
			if err != nil {
				return err
			}
			cfg.Logger = logger.With("container_id", cfg.ContainerID)
			ctx, stop := signalContext()
			defer stop()
			if os.Getenv(executor.EnvDefaultExecutor) == "1" {
				return executor.RunDefaultExecutor(ctx, cfg)
			}
			return executor.RunCommandExecutor(ctx, cfg)
		},
	}
}
