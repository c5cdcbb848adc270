package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/urfave/cli/v2"

	"mesh/agent"
)

func TestIsLoopback_OnlyThisMachinesAddresses(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:5050": true, "127.0.0.13:0": true, "[::1]:5050": true, "localhost:5050": true,
		"0.0.0.0:5050": false, ":5050": false, "10.0.0.1:5050": false, "[::]:5050": false, "mesh.example:5050": false,
	} {
		if got := isLoopback(addr); got != want {
			t.Errorf("isLoopback(%q) = %v, want %v", addr, got, want)
		}
	}
	if got := exposedAddr("127.0.0.1:1", "0.0.0.0:2", "10.0.0.1:3"); got != "0.0.0.0:2" {
		t.Errorf("exposedAddr = %q, want the first that is not loopback", got)
	}
}

func TestServerAuthFlags_SecretNeverAFlagValue(t *testing.T) {
	for _, f := range append(serverAuthFlags(), credentialFlags()...) {
		for _, name := range f.Names() {
			if name == "secret" || strings.HasSuffix(name, "-secret") {
				t.Errorf("flag -%s takes a secret on the command line, where ps shows it", name)
			}
		}
	}
}

// TestApplyAgentAuth_ExposedAgentNeedsAuthentication: an agent on a
// non-loopback address authenticates its callers by default once it has
// -credentials, and refuses to start without TLS and authentication,
// naming what is missing, unless -insecure; on loopback nothing is
// required.
func TestApplyAgentAuth_ExposedAgentNeedsAuthentication(t *testing.T) {
	creds := filepath.Join(t.TempDir(), "credentials")
	if err := os.WriteFile(creds, []byte("ops ops-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(addr string, args ...string) (agent.Config, error) {
		t.Helper()
		cfg := agent.Config{HTTPAddr: addr}
		var applied error
		app := &cli.App{Name: "mesh", Commands: []*cli.Command{{
			Name:  "agent",
			Flags: append(agentAuthFlags(), insecureFlag()),
			Action: func(c *cli.Context) error {
				applied = applyAgentAuth(c, hclog.NewNullLogger(), &cfg)
				return nil
			},
		}}}
		if err := app.Run(append([]string{"mesh", "agent"}, args...)); err != nil {
			t.Fatal(err)
		}
		return cfg, applied
	}
	for _, c := range []struct {
		name       string
		addr       string
		args       []string
		errHas     []string
		errLacks   string
		ro, rw, ok bool
	}{
		{name: "loopback", addr: "127.0.0.1:5051", ok: true},
		{name: "loopback with credentials", addr: "127.0.0.1:5051", args: []string{"-credentials", creds}, ok: true},
		{name: "exposed bare", addr: "0.0.0.0:5051", errHas: []string{"TLS", "-credentials FILE", "-insecure"}},
		{name: "exposed with credentials", addr: "0.0.0.0:5051", args: []string{"-credentials", creds},
			errHas: []string{"TLS"}, errLacks: "-authenticate-http", ro: true, rw: true},
		{name: "exposed, read-only left open", addr: "0.0.0.0:5051", args: []string{"-credentials", creds, "-authenticate-http-readonly=false"},
			errHas: []string{"TLS", "-authenticate-http-readonly"}, errLacks: "-authenticate-http-readwrite", rw: true},
		{name: "exposed insecure", addr: "0.0.0.0:5051", args: []string{"-credentials", creds, "-insecure"}, ro: true, rw: true, ok: true},
	} {
		cfg, err := run(c.addr, c.args...)
		if c.ok != (err == nil) {
			t.Errorf("%s: error %v", c.name, err)
		}
		for _, want := range c.errHas {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("%s: error %v does not name %s", c.name, err, want)
			}
		}
		if c.errLacks != "" && err != nil && strings.Contains(err.Error(), c.errLacks) {
			t.Errorf("%s: error %v names %s, which is on", c.name, err, c.errLacks)
		}
		if cfg.AuthenticateHTTPReadOnly != c.ro || cfg.AuthenticateHTTPReadWrite != c.rw {
			t.Errorf("%s: readonly %v readwrite %v, want %v %v", c.name, cfg.AuthenticateHTTPReadOnly, cfg.AuthenticateHTTPReadWrite, c.ro, c.rw)
		}
	}
}
