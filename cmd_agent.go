package main

import (
	"errors"

	"github.com/urfave/cli/v2"
)

func agentCommand() *cli.Command {
	return &cli.Command{Name: "agent", Action: func(c *cli.Context) error { return errors.New("not yet") }}
}
