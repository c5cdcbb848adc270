package main

import (
	"errors"

	"github.com/urfave/cli/v2"
)

func executorCommand() *cli.Command {
	return &cli.Command{Name: "executor", Action: func(c *cli.Context) error { return errors.New("not yet") }}
}
