package main

import (
	"fmt"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"mesh/tlsutil"
)

func tlsCommand() *cli.Command {
	return &cli.Command{
		Name:  "tls",
		Usage: "create a certificate authority and certificates for TLS between servers, agents and clients",
		Subcommands: []*cli.Command{
			{
				Name:      "init",
				Usage:     "create DIR with a CA and a server, an agent and a client certificate signed by it",
				ArgsUsage: "DIR",
				Flags:     []cli.Flag{hostsFlag()},
				Action: func(c *cli.Context) error {
					if c.NArg() != 1 {
						return fmt.Errorf("mesh tls init takes one directory, got %d arguments", c.NArg())
					}
					dir := c.Args().First()
					if err := tlsutil.Init(dir, splitList(c.String("hosts"))); err != nil {
						return err
					}
					fmt.Fprintf(c.App.Writer, "wrote %s, %s and the server, agent and client certificates and keys to %s\n",
						tlsutil.CAFile, tlsutil.CAKeyFile, dir)
					return nil
				},
			},
			{
				Name:  "cert",
				Usage: "issue one more certificate and key signed by the CA of a directory made by mesh tls init",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "ca", Usage: "directory holding ca.pem and ca-key.pem", Required: true},
					&cli.StringFlag{Name: "role", Usage: "server, agent or client", Required: true},
					hostsFlag(),
					&cli.StringFlag{Name: "out", Usage: "writes OUT.pem and OUT-key.pem", Required: true},
				},
				Action: func(c *cli.Context) error {
					ca, err := tlsutil.LoadCA(c.String("ca"))
					if err != nil {
						return err
					}
					cert, key, err := ca.Issue(c.String("role"), splitList(c.String("hosts")), tlsutil.CertValidity)
					if err != nil {
						return err
					}
					out := filepath.Clean(c.String("out"))
					if err := tlsutil.WritePair(out, cert, key); err != nil {
						return err
					}
					fmt.Fprintf(c.App.Writer, "wrote %s.pem and %s-key.pem (role %s)\n", out, out, c.String("role"))
					return nil
				},
			},
		},
	}
}

// hostsFlag is -hosts: the addresses a certificate is valid for.
func hostsFlag() cli.Flag {
	return &cli.StringFlag{Name: "hosts", Value: "127.0.0.1,localhost", Usage: "comma-separated IP addresses and DNS names the certificates are valid for"}
}
