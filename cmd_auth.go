package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/hashicorp/go-hclog"
	"github.com/urfave/cli/v2"

	"mesh/agent"
	"mesh/auth"
	"mesh/server"
)

// This file holds the authentication flags: what a server checks callers
// against and requires of them, what a client presents, and the refusal
// to serve a non-loopback address without TLS and authentication.

// credentialFlags are what a client (the CLI, mesh execute, a server
// calling its peers) authenticates with. The secret is read from a file,
// never given on the command line, where ps would show it.
func credentialFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "principal", Usage: "principal to authenticate as (HTTP Basic), with -secret-file"},
		&cli.StringFlag{Name: "secret-file", Usage: "`FILE` holding the secret of -principal (its content, without surrounding white space)"},
	}
}

// insecureFlag lets a process serve a non-loopback address without TLS
// and authentication.
func insecureFlag() cli.Flag {
	return &cli.BoolFlag{Name: "insecure", Usage: "serve a non-loopback address without TLS and authentication (anyone who reaches it can run code on the cluster's machines); without it such a process refuses to start"}
}

// serverAuthFlags are a server's authentication flags (mesh server, mesh
// dev).
func serverAuthFlags() []cli.Flag {
	return append([]cli.Flag{
		&cli.StringFlag{Name: "credentials", Usage: "`FILE` of the principals and secrets frameworks and operators authenticate with: Mesos' JSON, {\"credentials\": [{\"principal\": .., \"secret\": ..}]}, or a \"principal secret\" line each; reread on SIGHUP"},
		&cli.StringFlag{Name: "agent-join-token", Usage: "`FILE` holding the token agents authenticate with (their -agent-join-token); reread on SIGHUP"},
		&cli.BoolFlag{Name: "authenticate-frameworks", Usage: "require frameworks to authenticate (default: on when listening on a non-loopback address)"},
		&cli.BoolFlag{Name: "authenticate-agents", Usage: "require agents to authenticate, with a certificate or the join token (default: on when listening on a non-loopback address)"},
		&cli.BoolFlag{Name: "authenticate-http-readonly", Usage: "require authentication on the read-only endpoints: /state, /metrics, ... (default: on when listening on a non-loopback address)"},
		&cli.BoolFlag{Name: "authenticate-http-readwrite", Usage: "require authentication on the operator API (default: on when listening on a non-loopback address)"},
		insecureFlag(),
	}, credentialFlags()...)
}

// agentAuthFlags are an agent's flags for authenticating the callers of
// its own HTTP API, as Mesos' agent has them.
func agentAuthFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "credentials", Usage: "`FILE` of the principals and secrets callers of this agent's HTTP API (files, state, operator API) authenticate with, in the servers' -credentials formats (give it the servers' file); reread on SIGHUP"},
		&cli.BoolFlag{Name: "authenticate-http-readonly", Usage: "require authentication on the read-only endpoints: /files/*, /state, /metrics, ... (default: on when listening on a non-loopback address)"},
		&cli.BoolFlag{Name: "authenticate-http-readwrite", Usage: "require authentication on the agent's operator API, /api/v1 (default: on when listening on a non-loopback address)"},
	}
}

// applyAgentAuth fills cfg's authentication of callers from the flags,
// as applyServerAuth does a server's: each -authenticate-http-* flag not
// given defaults to on when the agent listens on a non-loopback address
// and has -credentials; such an agent without TLS and both refuses to
// start unless -insecure.
func applyAgentAuth(c *cli.Context, logger hclog.Logger, cfg *agent.Config) error {
	if p := c.String("credentials"); p != "" {
		var err error
		if cfg.Credentials, err = auth.LoadCredentials(p); err != nil {
			return err
		}
	}
	exposed := exposedAddr(cfg.HTTPAddr)
	flag := func(name string) bool {
		if c.IsSet(name) {
			return c.Bool(name)
		}
		return exposed != "" && cfg.Credentials != nil
	}
	cfg.AuthenticateHTTPReadOnly = flag("authenticate-http-readonly")
	cfg.AuthenticateHTTPReadWrite = flag("authenticate-http-readwrite")
	if exposed == "" {
		return nil
	}
	var missing []string
	if cfg.TLS == nil {
		missing = append(missing, "TLS (-tls-cert, -tls-key, -tls-ca)")
	}
	switch {
	case cfg.Credentials == nil:
		missing = append(missing, "-credentials FILE")
	default:
		if !cfg.AuthenticateHTTPReadOnly {
			missing = append(missing, "-authenticate-http-readonly")
		}
		if !cfg.AuthenticateHTTPReadWrite {
			missing = append(missing, "-authenticate-http-readwrite")
		}
	}
	return refuseExposed(c, logger, exposed, missing)
}

// isLoopback reports whether addr (host:port) can be reached only from
// this machine: a loopback IP or "localhost". An empty host or 0.0.0.0
// listens on every address.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// exposedAddr is the first of addrs that is not a loopback address, ""
// when all are.
func exposedAddr(addrs ...string) string {
	for _, a := range addrs {
		if !isLoopback(a) {
			return a
		}
	}
	return ""
}

// applyServerAuth fills cfg's authentication from the flags. Every
// -authenticate-* flag not given defaults to on when the server listens
// on a non-loopback address (and has what it needs); such a server
// without TLS and every authentication refuses to start unless -insecure.
func applyServerAuth(c *cli.Context, logger hclog.Logger, cfg *server.Config, addrs ...string) error {
	var err error
	if p := c.String("credentials"); p != "" {
		if cfg.Credentials, err = auth.LoadCredentials(p); err != nil {
			return err
		}
	}
	if p := c.String("agent-join-token"); p != "" {
		if cfg.AgentJoinToken, err = auth.LoadSecret(p); err != nil {
			return fmt.Errorf("-agent-join-token: %w", err)
		}
	}
	if cfg.PeerPrincipal, cfg.PeerSecret, err = loadCredential(c); err != nil {
		return err
	}
	exposed := exposedAddr(addrs...)
	flag := func(name string, def bool) bool {
		if c.IsSet(name) {
			return c.Bool(name)
		}
		return def
	}
	haveCreds := exposed != "" && cfg.Credentials != nil
	cfg.AuthenticateFrameworks = flag("authenticate-frameworks", haveCreds)
	cfg.AuthenticateHTTPReadOnly = flag("authenticate-http-readonly", haveCreds)
	cfg.AuthenticateHTTPReadWrite = flag("authenticate-http-readwrite", haveCreds)
	cfg.AuthenticateAgents = flag("authenticate-agents", exposed != "" && (cfg.AgentJoinToken != nil || cfg.TLS != nil))
	if exposed == "" {
		return nil
	}
	var missing []string
	if cfg.TLS == nil {
		missing = append(missing, "TLS (-tls-cert, -tls-key, -tls-ca)")
	}
	if cfg.Credentials == nil {
		missing = append(missing, "-credentials FILE")
	}
	for _, f := range []struct {
		on   bool
		name string
	}{
		{cfg.AuthenticateFrameworks, "-authenticate-frameworks"},
		{cfg.AuthenticateAgents, "-authenticate-agents (agents prove themselves with -agent-join-token FILE or a certificate)"},
		{cfg.AuthenticateHTTPReadOnly, "-authenticate-http-readonly"},
		{cfg.AuthenticateHTTPReadWrite, "-authenticate-http-readwrite"},
	} {
		if !f.on && (cfg.Credentials != nil || strings.HasPrefix(f.name, "-authenticate-agents")) {
			missing = append(missing, f.name)
		}
	}
	return refuseExposed(c, logger, exposed, missing)
}

// refuseExposed refuses a process that listens on exposed, a non-loopback
// address, without what missing names, unless -insecure: then it warns.
func refuseExposed(c *cli.Context, logger hclog.Logger, exposed string, missing []string) error {
	if len(missing) == 0 {
		return nil
	}
	if !c.Bool("insecure") {
		return fmt.Errorf("mesh %s listens on %s, which is not a loopback address, without %s: anyone who reaches it could run code on the cluster's machines. Give them, listen on 127.0.0.1, or start with -insecure",
			c.Command.Name, exposed, strings.Join(missing, ", "))
	}
	logger.Warn("serving a non-loopback address without TLS and authentication (-insecure): anyone who reaches it can run code on the cluster's machines",
		"address", exposed, "missing", strings.Join(missing, ", "))
	return nil
}

// loadCredential reads -principal and -secret-file (or the MESH_SECRET
// variable, for a secret kept out of files): nil without -principal.
func loadCredential(c *cli.Context) (string, *auth.Secret, error) {
	p, file := c.String("principal"), c.String("secret-file")
	switch {
	case p == "" && file == "":
		return "", nil, nil
	case p == "":
		return "", nil, fmt.Errorf("-secret-file needs -principal")
	case file != "":
		s, err := auth.LoadSecret(file)
		if err != nil {
			return "", nil, fmt.Errorf("-secret-file: %w", err)
		}
		return p, s, nil
	case os.Getenv("MESH_SECRET") != "":
		return p, auth.NewSecret(strings.TrimSpace(os.Getenv("MESH_SECRET"))), nil
	default:
		return "", nil, fmt.Errorf("-principal %s needs its secret: -secret-file FILE (or MESH_SECRET_FILE, MESH_SECRET)", p)
	}
}

// clientAuthorization is the Authorization header value of a client's
// -principal and -secret-file, "" without them.
func clientAuthorization(c *cli.Context) (string, error) {
	p, s, err := loadCredential(c)
	if err != nil || p == "" {
		return "", err
	}
	return auth.BasicHeader(p, s.Value()), nil
}

// reloadAuthOnSIGHUP rereads the credentials file and the join token
// whenever the process gets SIGHUP, until ctx ends: a principal added or
// removed counts from the next request on. A file that does not load is
// logged, never quoted, and what was loaded stays.
func reloadAuthOnSIGHUP(ctx context.Context, logger hclog.Logger, creds *auth.Credentials, token *auth.Secret) {
	if creds == nil && token == nil {
		return
	}
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGHUP)
	go func() {
		defer signal.Stop(ch)
		for {
			select {
			case <-ctx.Done():
				return
			case <-ch:
				if creds != nil {
					if err := creds.Reload(); err != nil {
						logger.Error("credentials not reloaded; the current ones stay", "error", err)
					} else {
						logger.Info("credentials reloaded", "path", creds.Path(), "principals", creds.Len())
					}
				}
				if token != nil {
					if err := token.Reload(); err != nil {
						logger.Error("agent join token not reloaded; the current one stays", "error", err)
					} else {
						logger.Info("agent join token reloaded")
					}
				}
			}
		}
	}()
}
