package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/hashicorp/go-hclog"
	"github.com/urfave/cli/v2"

	"mesh/acl"
)

// aclFlag is -acls, the ACL file of a server or an agent.
func aclFlag() cli.Flag {
	return &cli.StringFlag{Name: "acls", Usage: "file of ACLs in Mesos' JSON format that authorize what callers do; " +
		"once given, what no rule allows is denied unless the file says \"permissive\": true. " +
		"Reloaded on SIGHUP and when it changes; a bad new file is refused and the rules in force stay (default: everything allowed)"}
}

// loadACLs reads -acls; nil without it.
func loadACLs(c *cli.Context, logger hclog.Logger) (*acl.Authorizer, error) {
	path := c.String("acls")
	if path == "" {
		return nil, nil
	}
	return acl.Load(path, logger)
}

// watchACLs reloads a's file on SIGHUP and when it changes, until ctx
// ends.
func watchACLs(ctx context.Context, a *acl.Authorizer) {
	if a == nil {
		return
	}
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGHUP)
	go func() {
		defer signal.Stop(ch)
		a.Watch(ctx, acl.DefaultReloadInterval, ch)
	}()
}
