package main

import (
	"errors"

	"github.com/urfave/cli/v2"
)

func serverCommand() *cli.Command {
	return &cli.Command{Name: "server", Action: func(c *cli.Context) error { return errors.New("not yet") }}
}
