package main

import (
	"os"

	"github.com/urfave/cli/v2"

	"mesh/executor"
)

// executorCommand is the command executor the agent starts for each
// command task; it is configured through the MESOS_* environment and is
// not meant to be run by hand.
func executorCommand() *cli.Command {
	return &cli.Command{
		Name:   "executor",
		Usage:  "run the command executor (started by an agent)",
		Hidden: true,
		Flags:  logFlags(),
		Action: func(c *cli.Context) error {
			logger, err := newLogger(c, "mesh")
			if err != nil {
				return err
			}
			cfg, err := executor.CommandExecutorConfigFromEnv(os.Getenv)
			if err != nil {
				return err
			}
			cfg.Logger = logger.With("container_id", cfg.ContainerID)
			ctx, stop := signalContext()
			defer stop()
			return executor.RunCommandExecutor(ctx, cfg)
		},
	}
}
