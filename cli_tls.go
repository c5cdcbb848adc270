package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/hashicorp/go-hclog"
	"github.com/urfave/cli/v2"

	"mesh/tlsutil"
)

// tlsFlags are -tls-cert, -tls-key and -tls-ca. Servers and agents need
// all three; a client needs -tls-ca alone, its certificate is optional.
func tlsFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "tls-cert", Usage: "PEM certificate this process presents (mesh tls init writes server.pem, agent.pem, client.pem); turns TLS on"},
		&cli.StringFlag{Name: "tls-key", Usage: "PEM key of -tls-cert"},
		&cli.StringFlag{Name: "tls-ca", Usage: "PEM CA certificate peers are verified against (mesh tls init writes ca.pem); turns TLS on"},
	}
}

// loadTLS reads the TLS flags: nil when none is given.
func loadTLS(c *cli.Context) (*tlsutil.TLS, error) {
	return tlsutil.Load(tlsutil.Files{Cert: c.String("tls-cert"), Key: c.String("tls-key"), CA: c.String("tls-ca")})
}

// loadServingTLS reads the TLS flags of a process that serves (a server or
// an agent): with TLS on it needs its own certificate. One whose role is
// not want starts, with a warning, as its peers will refuse it.
func loadServingTLS(c *cli.Context, logger hclog.Logger, want string) (*tlsutil.TLS, error) {
	t, err := loadTLS(c)
	if err != nil || t == nil {
		return t, err
	}
	if t.Certificate() == nil {
		return nil, fmt.Errorf("-tls-ca alone is for clients: with TLS, mesh %s needs -tls-cert and -tls-key (its %s certificate)", want, want)
	}
	if got := t.Role(); got != want {
		logger.Warn("the -tls-cert is not a "+want+" certificate: peers will refuse it", "role", got, "want_role", want)
	}
	return t, nil
}

// reloadTLSOnSIGHUP reloads t's certificate and key whenever the process
// gets SIGHUP, until ctx ends: a renewed certificate is served from the
// next handshake on, without a restart. A bad file is logged and the
// current certificate kept.
func reloadTLSOnSIGHUP(ctx context.Context, logger hclog.Logger, t *tlsutil.TLS) {
	if t == nil {
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
				if err := t.Reload(); err != nil {
					logger.Error("tls certificate not reloaded; the current one stays", "error", err)
					continue
				}
				logger.Info("tls certificate reloaded", "serial", t.Certificate().Leaf.SerialNumber.String(),
					"not_after", t.Certificate().Leaf.NotAfter)
			}
		}
	}()
}
