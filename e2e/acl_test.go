package e2e

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// writeACLs writes rules to path as a config tool would: a new file
// renamed over the old one.
func writeACLs(t *testing.T, path, rules string) {
	t.Helper()
	if err := os.WriteFile(path+".new", []byte(rules), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".new", path); err != nil {
		t.Fatal(err)
	}
}

func flagsStatus(addr string) int {
	resp, err := http.Get("http://" + addr + "/flags")
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestACL_ServerReloadsWithoutRestart: a `mesh server -acls` process
// follows its file after SIGHUP, refuses a bad new file and keeps the
// rules in force, and does not start with a bad file.
func TestACL_ServerReloadsWithoutRestart(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "acls.json")
	deny := `{"view_flags": [{"principals": {"type": "ANY"}, "flags": {"type": "NONE"}}]}`
	allow := `{"view_flags": [{"principals": {"type": "ANY"}, "flags": {"type": "ANY"}}]}`
	writeACLs(t, path, deny)
	addr := freePort(t)
	p := start(t, "server", "-data-dir", filepath.Join(dir, "data"), "-http-addr", addr, "-raft-addr", freePort(t), "-acls", path)
	waitFor(t, 20*time.Second, "the server to answer", func() bool { return flagsStatus(addr) != 0 })
	if code := flagsStatus(addr); code != http.StatusForbidden {
		t.Fatalf("GET /flags under a rule that denies it: %d", code)
	}

	writeACLs(t, path, allow)
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the new rules after SIGHUP", func() bool { return flagsStatus(addr) == http.StatusOK })
	// The rules are swapped in, then the reload is logged.
	waitFor(t, 10*time.Second, "a log line saying the rules were reloaded", func() bool {
		return strings.Contains(p.out.String(), "acls reloaded")
	})

	writeACLs(t, path, `{"view_flags": [{"principals": {"type": "ANY"}}]}`)
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the bad file to be refused", func() bool {
		return strings.Contains(p.out.String(), "refusing the new acl file")
	})
	if code := flagsStatus(addr); code != http.StatusOK {
		t.Fatalf("GET /flags after a bad file: %d, want the rules in force (200)", code)
	}
	select {
	case <-p.done:
		t.Fatalf("the server exited:\n%s", p.out)
	default:
	}

	bad := filepath.Join(dir, "bad.json")
	writeACLs(t, bad, `{"run_task": []}`)
	out, code := run(t, time.Minute, "server", "-data-dir", filepath.Join(dir, "data2"), "-http-addr", freePort(t),
		"-raft-addr", freePort(t), "-acls", bad)
	if code == 0 || !strings.Contains(out, bad) || !strings.Contains(out, `unknown action "run_task"`) {
		t.Fatalf("mesh server with a bad ACL file exited %d:\n%s", code, out)
	}
}

// TestACL_CLIShowsWhatItsCallerMayView: under ACLs that let anyone view
// the frameworks and tasks of user root only, `mesh tasks` lists the
// task of a framework of root and not that of a framework of nobody.
func TestACL_CLIShowsWhatItsCallerMayView(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "acls.json")
	writeACLs(t, path, `{
	  "register_frameworks": [{"principals": {"type": "ANY"}, "roles": {"type": "ANY"}}],
	  "run_tasks": [{"principals": {"type": "ANY"}, "users": {"type": "ANY"}}],
	  "register_agents": [{"principals": {"type": "ANY"}, "agents": {"type": "ANY"}}],
	  "view_agents": [{"principals": {"type": "ANY"}, "agents": {"type": "ANY"}}],
	  "view_frameworks": [{"principals": {"type": "ANY"}, "users": {"values": ["root"]}}],
	  "view_tasks": [{"principals": {"type": "ANY"}, "users": {"values": ["root"]}}],
	  "view_executors": [{"principals": {"type": "ANY"}, "users": {"values": ["root"]}}]
	}`)
	httpAddr := freePort(t)
	dev := start(t, "dev", "-http-addr", httpAddr, "-agent-http-addr", freePort(t), "-isolation", "posix",
		"-resources", "cpus:2;mem:1024;disk:1000;ports:[31000-31100]", "-acls", path)
	waitFor(t, 60*time.Second, "mesh dev to say it is running", func() bool {
		return strings.Contains(dev.out.String(), "mesh execute -master "+httpAddr)
	})
	for _, user := range []string{"nobody", "root"} {
		// The outcome does not matter (nobody may not write the sandbox):
		// the task exists either way.
		run(t, 90*time.Second, "execute", "-master", httpAddr, "-name", "as-"+user, "-user", user, "-command", "true")
	}
	out, code := run(t, 30*time.Second, "tasks", "-address", httpAddr)
	if code != 0 || !strings.Contains(out, "as-root") || strings.Contains(out, "as-nobody") {
		t.Fatalf("mesh tasks under ACLs that show root's tasks only exited %d:\n%s", code, out)
	}
}
