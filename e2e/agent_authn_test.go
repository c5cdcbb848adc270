package e2e

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestAgentAuthn_FilesNeedACredential: an agent started with -credentials
// and -authenticate-http-readonly/-readwrite serves its files to a caller
// with a credential and refuses one without. mesh execute and mesh logs
// read a task's output with -principal/-secret-file, mesh logs without
// them is refused by the agent, the server's web-UI file proxy passes the
// caller's credential on, and a principal added to the agent's file is
// served after SIGHUP. No secret appears in the agent's log.
func TestAgentAuthn_FilesNeedACredential(t *testing.T) {
	dir := t.TempDir()
	creds, aliceFile := filepath.Join(dir, "credentials"), filepath.Join(dir, "alice-secret")
	for p, data := range map[string]string{creds: "ops " + opsSecret + "\nalice " + aliceSecret + "\n", aliceFile: aliceSecret} {
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	httpAddr := freePort(t)
	// The server authenticates frameworks only: what refuses a reader
	// below is the agent.
	start(t, "server", "-data-dir", filepath.Join(dir, "data"), "-http-addr", httpAddr, "-raft-addr", freePort(t),
		"-bootstrap-expect", "1", "-credentials", creds, "-authenticate-frameworks")
	agentAddr := freePort(t)
	ag := start(t, "agent", "-allow-root-tasks", "-join", httpAddr, "-http-addr", agentAddr, "-work-dir", filepath.Join(dir, "agent"),
		"-resources", agentResources, "-credentials", creds, "-authenticate-http-readonly", "-authenticate-http-readwrite")
	st := waitAgents(t, httpAddr, 1)
	agentID := st.Agents[0].ID

	out, code := run(t, 3*time.Minute, "execute", "-master", httpAddr, "-principal", "alice", "-secret-file", aliceFile,
		"-name", "agentauth", "-command", "echo hello from the sandbox", "-cpus", "0.1", "-mem", "32")
	if code != 0 || !strings.Contains(out, "hello from the sandbox") {
		t.Fatalf("mesh execute as alice exited %d, or did not print the task's output it reads from the agent:\n%s", code, out)
	}

	out, code = run(t, time.Minute, "logs", "-address", httpAddr, "-principal", "alice", "-secret-file", aliceFile, "agentauth-0")
	if code != 0 || out != "hello from the sandbox\n" {
		t.Fatalf("mesh logs with a credential exited %d:\n%s", code, out)
	}
	out, code = run(t, time.Minute, "logs", "-address", httpAddr, "agentauth-0")
	if code == 0 || !strings.Contains(out, "401") || !strings.Contains(out, "-principal") || strings.Contains(out, "hello from the sandbox") {
		t.Fatalf("mesh logs without a credential exited %d:\n%s", code, out)
	}
	if code, body := plainDo(t, agentAddr, "GET", "/state", "", ""); code != 401 {
		t.Fatalf("the agent's /state without a credential: %d %s", code, body)
	}
	if code, _ := plainDo(t, agentAddr, "GET", "/health", "", ""); code != 200 {
		t.Fatalf("the agent's /health without a credential: %d, want it open", code)
	}

	// The server's web-UI file proxy, through which the page reads
	// sandboxes, passes the caller's credential on.
	out, code = run(t, time.Minute, "ls", "-address", httpAddr, "-principal", "alice", "-secret-file", aliceFile, "-json", "agentauth-0")
	if code != 0 || !strings.Contains(out, "/stdout") {
		t.Fatalf("mesh ls with a credential exited %d:\n%s", code, out)
	}
	sandbox := ""
	for _, line := range strings.Split(out, "\n") {
		if i := strings.Index(line, `"path": "`); i >= 0 && strings.HasSuffix(strings.TrimRight(line, `",`), "/stdout") {
			sandbox = strings.TrimSuffix(strings.TrimRight(line[i+len(`"path": "`):], `",`), "/stdout")
		}
	}
	if sandbox == "" {
		t.Fatalf("no stdout path in mesh ls -json:\n%s", out)
	}
	proxied := "/ui/files/read?offset=0&agent_id=" + url.QueryEscape(agentID) + "&path=" + url.QueryEscape(sandbox+"/stdout")
	if code, body := plainDo(t, httpAddr, "GET", proxied, "alice", aliceSecret); code != 200 || !strings.Contains(body, "hello from the sandbox") {
		t.Fatalf("the UI's file proxy with alice's credential: %d %s", code, body)
	}
	if code, body := plainDo(t, httpAddr, "GET", proxied, "", ""); code != 401 || strings.Contains(body, "hello") {
		t.Fatalf("the UI's file proxy without a credential: %d %s, want the agent's 401", code, body)
	}

	const carolSecret = "carol-agent-e2e-secret-4e1d"
	if code, _ := plainDo(t, agentAddr, "GET", "/state", "carol", carolSecret); code != 401 {
		t.Fatalf("carol before she is in the agent's credentials: %d", code)
	}
	if err := os.WriteFile(creds, []byte("ops "+opsSecret+"\nalice "+aliceSecret+"\ncarol "+carolSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := ag.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "carol served by the agent after SIGHUP", func() bool {
		code, _ := plainDo(t, agentAddr, "GET", "/state", "carol", carolSecret)
		return code == 200
	})
	for _, secret := range []string{opsSecret, aliceSecret, carolSecret} {
		if strings.Contains(ag.out.String(), secret) {
			t.Errorf("the agent logged the secret %q", secret)
		}
	}
}

// TestAgentAuthn_DevAgentTakesTheServersCredentials: mesh dev's agent
// authenticates with the server's -credentials and flags: its /state is
// refused without a credential and served with one of the server's
// principals, as the server's is.
func TestAgentAuthn_DevAgentTakesTheServersCredentials(t *testing.T) {
	dir := t.TempDir()
	creds := filepath.Join(dir, "credentials")
	if err := os.WriteFile(creds, []byte("ops "+opsSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	httpAddr, agentAddr := freePort(t), freePort(t)
	dev := start(t, "dev", "-http-addr", httpAddr, "-agent-http-addr", agentAddr, "-isolation", "posix", "-data-dir", filepath.Join(dir, "dev"),
		"-resources", "cpus:1;mem:512;disk:100", "-credentials", creds, "-authenticate-http-readonly", "-authenticate-http-readwrite")
	waitFor(t, 60*time.Second, "mesh dev to say it is running", func() bool {
		return strings.Contains(dev.out.String(), "mesh execute -master "+httpAddr)
	})
	for _, addr := range []string{httpAddr, agentAddr} {
		if code, body := plainDo(t, addr, "GET", "/state", "", ""); code != 401 {
			t.Errorf("/state of %s without a credential: %d %s", addr, code, body)
		}
		if code, body := plainDo(t, addr, "GET", "/state", "ops", opsSecret); code != 200 {
			t.Errorf("/state of %s as ops: %d %s", addr, code, body)
		}
	}
}
