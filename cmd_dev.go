package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/urfave/cli/v2"

	"mesh/agent"
	"mesh/allocator"
	"mesh/fsm"
	"mesh/server"
	"mesh/tlsutil"
)

func devCommand() *cli.Command {
	return &cli.Command{
		Name:  "dev",
		Usage: "run a server and an agent in one process, with data in a temporary directory",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "http-addr", Value: "127.0.0.1:5050", Usage: "address of the server's APIs"},
			&cli.StringFlag{Name: "agent-http-addr", Value: "127.0.0.1:5051", Usage: "address of the agent's API"},
			&cli.StringFlag{Name: "raft-addr", Value: "127.0.0.1:0", Usage: "raft address (port 0 picks one)"},
			&cli.StringFlag{Name: "allocator", Value: server.DefaultConfig().Allocator, Usage: "allocation policy: " + strings.Join(allocator.Names(), " or ")},
			&cli.StringFlag{Name: "resources", Usage: "agent resources, semicolon-separated, e.g. 'cpus:4;mem:4096' (default: detected)"},
			&cli.StringFlag{Name: "attributes", Usage: "agent attributes, semicolon-separated, e.g. 'rack:r1'"},
			&cli.StringFlag{Name: "data-dir", Usage: "keep data here instead of a temporary directory"},
			&cli.StringFlag{Name: "isolation", Usage: "linux or posix (default: linux when root with cgroups, else posix)"},
			&cli.StringFlag{Name: "host-volumes", Usage: "comma-separated host paths tasks may mount as volumes (default: none)"},
			&cli.StringFlag{Name: "agent-tls-cert", Usage: "with TLS on, the agent's PEM certificate (mesh tls init writes agent.pem); -tls-cert is the server's"},
			&cli.StringFlag{Name: "agent-tls-key", Usage: "PEM key of -agent-tls-cert"},
		}, append(append(append(tlsFlags(), serverAuthFlags()...), aclFlag()), logFlags()...)...),
		Action: func(c *cli.Context) error {
			logger, err := newLogger(c, "mesh")
			if err != nil {
				return err
			}
			dir := c.String("data-dir")
			if dir == "" {
				if dir, err = os.MkdirTemp("", "mesh-dev-"); err != nil {
					return err
				}
				// Tasks of other users walk through it to their sandboxes.
				if err := os.Chmod(dir, 0o755); err != nil {
					return err
				}
				defer os.RemoveAll(dir)
			} else if err := makeDevDataDir(dir); err != nil {
				return err
			}
			scfg := server.DefaultConfig()
			scfg.DataDir = dir + "/server"
			scfg.HTTPAddr = c.String("http-addr")
			scfg.RaftAddr = c.String("raft-addr")
			scfg.Allocator = c.String("allocator")
			scfg.Logger = logger
			if scfg.TLS, err = loadTLS(c); err != nil {
				return err
			}
			agentTLS, err := tlsutil.Load(tlsutil.Files{Cert: c.String("agent-tls-cert"), Key: c.String("agent-tls-key"), CA: c.String("tls-ca")})
			if err != nil {
				return fmt.Errorf("-agent-tls-cert: %w", err)
			}
			if (scfg.TLS == nil) != (agentTLS == nil) || (scfg.TLS != nil && (scfg.TLS.Role() == "" || agentTLS.Role() == "")) {
				return errors.New("mesh dev with TLS needs -tls-ca, -tls-cert and -tls-key (the server's) and -agent-tls-cert and -agent-tls-key (the agent's)")
			}
			if err := applyServerAuth(c, logger, &scfg, scfg.HTTPAddr, scfg.RaftAddr, c.String("agent-http-addr")); err != nil {
				return err
			}
			if scfg.ACLs, err = loadACLs(c, logger.Named("server")); err != nil {
				return err
			}
			srv, err := server.New(scfg)
			if err != nil {
				return err
			}
			acfg := agent.DefaultConfig()
			acfg.Servers = []string{srv.HTTPAddr()}
			acfg.HTTPAddr = c.String("agent-http-addr")
			acfg.WorkDir = dir + "/agent"
			acfg.Resources = c.String("resources")
			acfg.Attributes = c.String("attributes")
			acfg.KillTasksOnShutdown = true
			acfg.Isolation = c.String("isolation")
			acfg.HostVolumes = splitList(c.String("host-volumes"))
			// mesh dev runs the commands of the person who started it, as
			// that person (mesh execute's default -user), root included.
			acfg.AllowRootTasks = true
			acfg.Logger = logger
			acfg.TLS = agentTLS
			acfg.JoinToken = scfg.AgentJoinToken
			acfg.ACLs = scfg.ACLs // one file, one set of rules, for both
			// One set of principals too: the agent's files and state
			// take the credentials the server does, when the server does.
			acfg.Credentials = scfg.Credentials
			acfg.AuthenticateHTTPReadOnly = scfg.AuthenticateHTTPReadOnly
			acfg.AuthenticateHTTPReadWrite = scfg.AuthenticateHTTPReadWrite
			ag, err := agent.New(acfg)
			if err != nil {
				return err
			}
			ctx, stop := signalContext()
			defer stop()
			reloadTLSOnSIGHUP(ctx, logger.Named("server"), scfg.TLS)
			reloadTLSOnSIGHUP(ctx, logger.Named("agent"), acfg.TLS)
			reloadAuthOnSIGHUP(ctx, logger.Named("server"), scfg.Credentials, scfg.AgentJoinToken)
			watchACLs(ctx, scfg.ACLs)
			ctx, cancel := context.WithCancel(ctx)
			defer cancel()
			var wg sync.WaitGroup
			errs := make(chan error, 2)
			for _, run := range []func(context.Context) error{srv.Run, ag.Run} {
				wg.Add(1)
				go func(run func(context.Context) error) {
					defer wg.Done()
					if err := run(ctx); err != nil {
						errs <- err
					}
					cancel()
				}(run)
			}
			// Say it runs only once a framework can be served.
			if err := waitDevReady(ctx, srv, devReadyTimeout); err != nil {
				cancel()
				wg.Wait()
				select {
				case runErr := <-errs:
					return runErr
				default:
				}
				if errors.Is(err, context.Canceled) {
					return nil // stopped before it was ready
				}
				return err
			}
			fmt.Printf("mesh dev is running (data in %s)\n", dir)
			fmt.Printf("  frameworks connect to: %s://%s/api/v1/scheduler\n", scfg.TLS.Scheme(), srv.HTTPAddr())
			fmt.Printf("  agent:                 %s://%s\n", acfg.TLS.Scheme(), ag.Addr())
			tlsCA := ""
			if scfg.TLS != nil {
				tlsCA = " -tls-ca " + c.String("tls-ca")
			}
			fmt.Printf("  try:                   mesh execute -master %s%s -name hello -command 'echo hello from mesh' -instances 3\n", srv.HTTPAddr(), tlsCA)
			fmt.Printf("press Ctrl-C to stop\n")
			wg.Wait()
			select {
			case err := <-errs:
				return err
			default:
				return nil
			}
		},
	}
}

// makeDevDataDir creates a -data-dir that does not exist yet, open to
// other users (0755, whatever the umask), as the temporary directory is:
// tasks of users other than the one running mesh dev walk through it to
// their sandboxes. The server would create it private (0700), and those
// tasks would fail with "permission denied". A directory that exists is
// left as its owner made it.
func makeDevDataDir(dir string) error {
	if _, err := os.Stat(dir); err == nil {
		return nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("-data-dir: %w", err)
	}
	// The directories this creates, from dir up to the first that exists.
	var created []string
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil || d == filepath.Dir(d) {
			break
		}
		created = append(created, d)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("-data-dir: %w", err)
	}
	for _, d := range created {
		if err := os.Chmod(d, 0o755); err != nil {
			return fmt.Errorf("-data-dir: %w", err)
		}
	}
	return nil
}

// devReadyTimeout bounds how long mesh dev waits for its server to lead
// and its agent to register.
const devReadyTimeout = 2 * time.Minute

// waitDevReady waits until the server leads and has an active agent: from
// then on a framework that subscribes gets offers. It gives up when ctx
// ends (Ctrl-C, or the server or agent failed) or after timeout.
func waitDevReady(ctx context.Context, srv *server.Server, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if srv.IsLeader() && hasActiveAgent(srv) {
			return nil
		}
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return fmt.Errorf("the server did not lead with a registered agent within %s", timeout)
			}
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// hasActiveAgent reports whether the server's state holds an active agent.
func hasActiveAgent(srv *server.Server) bool {
	for _, a := range srv.FSM().State().Agents() {
		if a.State == fsm.AgentActive {
			return true
		}
	}
	return false
}
