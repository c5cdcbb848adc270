package main

import (
	"errors"

	"github.com/urfave/cli/v2"
)

func devCommand() *cli.Command {
	return &cli.Command{Name: "dev", Action: func(c *cli.Context) error { return errors.New("not yet") }}
}
