package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// plainDo sends method path over plain HTTP as principal with secret (no
// credential when principal is "") and returns the status and body.
func plainDo(t *testing.T, addr, method, path, principal, secret string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+addr+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if principal != "" {
		req.SetBasicAuth(principal, secret)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	return resp.StatusCode, string(b)
}

// TestAuthn_ServersAndAgentsWithoutTLS: on loopback without TLS, with
// authentication on, servers form their cluster with the credential they
// present to each other; an agent without the join token never
// registers, one with it does; mesh execute runs a task as a principal;
// and a principal added to the credentials file is served after SIGHUP.
func TestAuthn_ServersAndAgentsWithoutTLS(t *testing.T) {
	dir := t.TempDir()
	creds, token, opsFile := filepath.Join(dir, "credentials"), filepath.Join(dir, "join-token"), filepath.Join(dir, "ops-secret")
	aliceFile := filepath.Join(dir, "alice-secret")
	for p, data := range map[string]string{
		creds:     "ops " + opsSecret + "\nalice " + aliceSecret + "\n",
		token:     joinToken,
		opsFile:   opsSecret + "\n",
		aliceFile: aliceSecret,
	} {
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	c := newCluster(t, 3, "-credentials", creds, "-agent-join-token", token, "-principal", "ops", "-secret-file", opsFile,
		"-authenticate-frameworks", "-authenticate-agents", "-authenticate-http-readwrite")
	for _, s := range c.servers {
		c.start(s)
	}
	var leader *testServer
	waitFor(t, 30*time.Second, "a leader that every server follows, with three raft peers", func() bool {
		if leader = establishedLeader(c.servers); leader == nil {
			return false
		}
		for _, s := range c.servers {
			var h health
			if getJSON(s.httpAddr, "/health", &h) != nil || h.Leader != leader.httpAddr {
				return false
			}
		}
		var peers []struct {
			ID string `json:"id"`
		}
		code, body := plainDo(t, leader.httpAddr, "GET", "/internal/v1/raft/peers", "ops", opsSecret)
		return code == 200 && json.Unmarshal([]byte(body), &peers) == nil && len(peers) == 3
	})
	if code, body := plainDo(t, leader.httpAddr, "GET", "/internal/v1/raft/peers", "", ""); code != http.StatusUnauthorized {
		t.Fatalf("raft peers without a credential: %d %s", code, body)
	}
	// A framework's principal is not a server.
	if code, body := plainDo(t, leader.httpAddr, "GET", "/internal/v1/peer", "alice", aliceSecret); code != http.StatusForbidden {
		t.Fatalf("the peer endpoint as alice: %d %s", code, body)
	}
	activeAgents := func() int {
		code, body := plainDo(t, leader.httpAddr, "GET", "/state", "ops", opsSecret)
		var st clusterState
		if code != 200 || json.Unmarshal([]byte(body), &st) != nil {
			return -1
		}
		n := 0
		for _, a := range st.Agents {
			if a.State == "active" {
				n++
			}
		}
		return n
	}

	intruder := start(t, "agent", "-join", c.addrs(), "-http-addr", freePort(t), "-work-dir", t.TempDir(), "-resources", agentResources, "-log-level", "debug")
	waitFor(t, 30*time.Second, "the agent without the join token refused", func() bool {
		o := intruder.out.String()
		return strings.Contains(o, "cannot register with a server") && strings.Contains(o, "401")
	})
	if n := activeAgents(); n != 0 {
		t.Fatalf("%d agents registered without the join token", n)
	}
	intruder.stop(t)

	start(t, "agent", "-allow-root-tasks", "-join", c.addrs(), "-http-addr", freePort(t), "-work-dir", t.TempDir(),
		"-resources", agentResources, "-agent-join-token", token)
	waitFor(t, 60*time.Second, "the agent with the join token registered", func() bool { return activeAgents() == 1 })

	out, code := run(t, 3*time.Minute, "execute", "-master", c.addrs(), "-principal", "alice", "-secret-file", aliceFile,
		"-name", "authn-plain", "-command", "echo hello as alice", "-cpus", "0.1", "-mem", "32")
	if code != 0 || !strings.Contains(out, "hello as alice") {
		t.Fatalf("mesh execute as alice exited %d:\n%s", code, out)
	}
	if out, code := run(t, time.Minute, "execute", "-master", c.addrs(), "-name", "anonymous", "-command", "true"); code == 0 || !strings.Contains(out, "401") {
		t.Fatalf("mesh execute without a credential exited %d:\n%s", code, out)
	}

	const carolSecret = "carol-e2e-secret-0b7e"
	if code, _ := plainDo(t, leader.httpAddr, "GET", "/state", "carol", carolSecret); code != http.StatusUnauthorized {
		t.Fatalf("carol before she is in the credentials file: %d", code)
	}
	if err := os.WriteFile(creds, []byte("ops "+opsSecret+"\nalice "+aliceSecret+"\ncarol "+carolSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := leader.p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "carol served after SIGHUP", func() bool {
		code, _ := plainDo(t, leader.httpAddr, "GET", "/state", "carol", carolSecret)
		return code == 200
	})
	if !strings.Contains(leader.p.out.String(), "credentials reloaded") {
		t.Error("the server does not say it reloaded its credentials")
	}
	for _, s := range c.servers {
		for _, secret := range []string{opsSecret, aliceSecret, joinToken, carolSecret} {
			if strings.Contains(s.p.out.String(), secret) {
				t.Errorf("%s logged the secret %q", s.name, secret)
			}
		}
	}
}
