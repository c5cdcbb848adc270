package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// netnsAddr is the address the exposure tests give a veth link inside
// the network namespace they create; it exists nowhere else.
const netnsAddr = "10.231.7.1"

// newNetns creates a network namespace with loopback up and netnsAddr on
// one end of a veth pair, removed when the test ends. It skips the test where it
// cannot (not root, no ip command).
func newNetns(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to create a network namespace")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs the ip command (iproute2) to create a network namespace")
	}
	b := make([]byte, 4)
	rand.Read(b)
	ns := "mesh-authn-" + hex.EncodeToString(b)
	ipCmd(t, "netns", "add", ns)
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", ns).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", ns, err, out)
		}
	})
	ipCmd(t, "-n", ns, "link", "set", "lo", "up")
	// Both ends of the veth pair are inside the namespace.
	ipCmd(t, "-n", ns, "link", "add", "v0", "type", "veth", "peer", "name", "v1")
	ipCmd(t, "-n", ns, "addr", "add", netnsAddr+"/24", "dev", "v0")
	ipCmd(t, "-n", ns, "link", "set", "v0", "up")
	ipCmd(t, "-n", ns, "link", "set", "v1", "up")
	return ns
}

func ipCmd(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// runInNetns runs mesh with args inside ns to completion and returns its
// output and exit code.
func runInNetns(t *testing.T, ns string, timeout time.Duration, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", ns, meshBin}, args...)...).CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("mesh %v did not finish within %s:\n%s", args, timeout, out)
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return string(out), ee.ExitCode()
	} else if err != nil {
		t.Fatalf("mesh %v: %v", args, err)
	}
	return string(out), 0
}

// TestExposed_RefusesToStartWithoutTLSAndAuthentication: a server, an
// agent and mesh dev told to listen on an address other than loopback (in
// a network namespace of the test's own) refuse to start without TLS and
// authentication and say why; with -insecure the server starts and warns;
// with TLS and credentials it starts without a warning. An agent with TLS
// but no -credentials is refused too, and starts with them.
func TestExposed_RefusesToStartWithoutTLSAndAuthentication(t *testing.T) {
	ns := newNetns(t)
	exposed := netnsAddr + ":5050"
	for _, args := range [][]string{
		{"server", "-data-dir", t.TempDir(), "-http-addr", exposed, "-raft-addr", "127.0.0.1:5052"},
		{"agent", "-http-addr", netnsAddr + ":5051", "-join", "127.0.0.1:5050", "-work-dir", t.TempDir()},
		{"dev", "-http-addr", exposed, "-data-dir", filepath.Join(t.TempDir(), "dev")},
	} {
		out, code := runInNetns(t, ns, time.Minute, args...)
		if code == 0 || !strings.Contains(out, "not a loopback address") || !strings.Contains(out, "TLS") || !strings.Contains(out, "-insecure") {
			t.Errorf("mesh %s on %s: exit %d, want a refusal saying why:\n%s", args[0], netnsAddr, code, out)
		}
	}

	p := startBin(t, "ip", "netns", "exec", ns, meshBin, "server", "-data-dir", t.TempDir(), "-http-addr", exposed, "-raft-addr", "127.0.0.1:5052", "-insecure")
	waitFor(t, 60*time.Second, "the -insecure server to start", func() bool { return strings.Contains(p.out.String(), "server started") })
	if out := p.out.String(); !strings.Contains(out, "without TLS and authentication (-insecure)") {
		t.Errorf("the -insecure server does not warn:\n%s", out)
	}
	p.stop(t)

	dir := t.TempDir()
	if out, code := run(t, time.Minute, "tls", "init", "-hosts", netnsAddr+",127.0.0.1", dir); code != 0 {
		t.Fatalf("mesh tls init: %d\n%s", code, out)
	}
	creds := filepath.Join(dir, "credentials")
	if err := os.WriteFile(creds, []byte(`{"credentials":[{"principal":"ops","secret":"exposed-test-secret"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	p = startBin(t, "ip", append([]string{"netns", "exec", ns, meshBin, "server", "-data-dir", t.TempDir(), "-http-addr", exposed,
		"-raft-addr", netnsAddr + ":5052", "-credentials", creds}, tlsArgs(dir, "server")...)...)
	waitFor(t, 60*time.Second, "the server with TLS and authentication to start", func() bool { return strings.Contains(p.out.String(), "server started") })
	if out := p.out.String(); strings.Contains(out, "insecure") || strings.Contains(out, "exposed-test-secret") {
		t.Errorf("the server with TLS and authentication warns, or logs the secret:\n%s", out)
	}
	p.stop(t)

	// An exposed agent with TLS but without -credentials would serve its
	// sandboxes and state to anyone who reaches it.
	agentArgs := append([]string{"agent", "-http-addr", netnsAddr + ":5051", "-join", exposed, "-work-dir", t.TempDir(), "-isolation", "posix"},
		tlsArgs(dir, "agent")...)
	out, code := runInNetns(t, ns, time.Minute, agentArgs...)
	if code == 0 || !strings.Contains(out, "not a loopback address") || !strings.Contains(out, "-credentials FILE") || strings.Contains(out, "TLS (") {
		t.Errorf("an exposed agent with TLS and no -credentials: exit %d, want a refusal naming -credentials only:\n%s", code, out)
	}
	p = startBin(t, "ip", append([]string{"netns", "exec", ns, meshBin}, append(agentArgs, "-credentials", creds)...)...)
	waitFor(t, 60*time.Second, "the agent with TLS and authentication to start", func() bool { return strings.Contains(p.out.String(), "agent starting") })
	if out := p.out.String(); strings.Contains(out, "insecure") || strings.Contains(out, "exposed-test-secret") {
		t.Errorf("the agent with TLS and authentication warns, or logs the secret:\n%s", out)
	}
}
