package server

import (
	"context"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"mesh/auth"
	"mesh/mesos"
	"mesh/mesos/scheduler"
	"mesh/mesos/scheduler/client"
	"mesh/tlsutil"
)

// BenchmarkSchedulerAPI_TLS measures a scheduler call (RECONCILE, which
// the leader answers without a raft write) through one real server with
// TLS off and on, and with TLS and every authentication on (the client
// sending HTTP Basic): over a kept-alive connection, and over a new
// connection per call (a TLS handshake each time). docs/benchmarks.md
// holds the figures.
func BenchmarkSchedulerAPI_TLS(b *testing.B) {
	dir := b.TempDir()
	if err := tlsutil.Init(dir, []string{"127.0.0.1"}); err != nil {
		b.Fatal(err)
	}
	load := func(role string) *tlsutil.TLS {
		t, err := tlsutil.Load(tlsutil.Files{CA: filepath.Join(dir, "ca.pem"),
			Cert: filepath.Join(dir, role+".pem"), Key: filepath.Join(dir, role+"-key.pem")})
		if err != nil {
			b.Fatal(err)
		}
		return t
	}
	for _, mode := range []struct {
		name           string
		tls, keepAlive bool
		auth           bool
	}{
		{"plain/keepalive", false, true, false}, {"tls/keepalive", true, true, false}, {"tls+auth/keepalive", true, true, true},
		{"plain/newconn", false, false, false}, {"tls/newconn", true, false, false}, {"tls+auth/newconn", true, false, true},
	} {
		b.Run(mode.name, func(b *testing.B) {
			cfg := DefaultConfig()
			cfg.DataDir, cfg.HTTPAddr, cfg.RaftAddr, cfg.BootstrapExpect = b.TempDir(), "127.0.0.1:0", "127.0.0.1:0", 1
			cfg.Logger = hclog.NewNullLogger()
			tr := &http.Transport{DisableKeepAlives: !mode.keepAlive, MaxIdleConnsPerHost: 4}
			scheme := ""
			if mode.tls {
				cfg.TLS = load(tlsutil.RoleServer)
				tr.TLSClientConfig, scheme = load(tlsutil.RoleClient).ClientConfig(tlsutil.RoleServer), "https"
			}
			principal, secret := "", ""
			if mode.auth {
				principal, secret = "bench", "bench-secret"
				cfg.Credentials = auth.NewCredentials([]auth.Credential{{Principal: principal, Secret: secret}})
				cfg.AgentJoinToken = auth.NewSecret("bench-join-token")
				cfg.AuthenticateFrameworks, cfg.AuthenticateAgents = true, true
				cfg.AuthenticateHTTPReadOnly, cfg.AuthenticateHTTPReadWrite = true, true
			}
			s, err := New(cfg)
			if err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { s.Run(ctx); close(done) }()
			defer func() { cancel(); <-done }()
			deadline := time.Now().Add(30 * time.Second)
			for !s.IsLeader() {
				if time.Now().After(deadline) {
					b.Fatal("the server did not lead within 30s")
				}
				time.Sleep(10 * time.Millisecond)
			}
			// The stream holds its own connection; each call takes an idle
			// one or, without keep-alive, dials (and handshakes) anew.
			c := client.New(client.Config{Masters: []string{s.HTTPAddr()}, Scheme: scheme, HTTPClient: &http.Client{Transport: tr},
				Principal: principal, Secret: secret})
			sub, err := c.Subscribe(ctx, &scheduler.Call{Type: scheduler.CallSubscribe, Subscribe: &scheduler.Subscribe{
				FrameworkInfo: &mesos.FrameworkInfo{User: "bench", Name: "bench"}}})
			if err != nil {
				b.Fatal(err)
			}
			defer sub.Close()
			// SUBSCRIBED gives the client its framework id.
			if ev, err := sub.Next(); err != nil || ev.Type != scheduler.EventSubscribed {
				b.Fatalf("first event: %v %v", ev, err)
			}
			go func() {
				for {
					if _, err := sub.Next(); err != nil {
						return
					}
				}
			}()
			call := &scheduler.Call{Type: scheduler.CallReconcile, Reconcile: &scheduler.Reconcile{}}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := c.Call(ctx, call); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
