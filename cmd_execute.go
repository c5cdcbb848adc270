package main

import (
	"errors"

	"github.com/urfave/cli/v2"
)

func executeCommand() *cli.Command {
	return &cli.Command{Name: "execute", Action: func(c *cli.Context) error { return errors.New("not yet") }}
}
