package e2e

import (
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestServer_UnknownAllocatorExitsNamingKnownOnes: `mesh server -allocator
// NAME` with a NAME no allocator is registered under exits at start,
// naming the known ones, instead of running as a server that never leads.
func TestServer_UnknownAllocatorExitsNamingKnownOnes(t *testing.T) {
	out, code := run(t, 30*time.Second, "server", "-data-dir", t.TempDir(), "-http-addr", freePort(t),
		"-raft-addr", freePort(t), "-bootstrap-expect", "1", "-allocator", "nope")
	if code == 0 {
		t.Fatalf("mesh server -allocator nope exited 0:\n%s", out)
	}
	if !strings.Contains(out, `"nope"`) || !strings.Contains(out, "drf") {
		t.Fatalf("the error does not name the unknown allocator and the known ones:\n%s", out)
	}
}

// TestDev_NewDataDirRunsTasksOfOtherUsers: `mesh dev -data-dir NEWDIR`
// creates NEWDIR so that a task of a non-root user can reach its sandbox
// and run.
func TestDev_NewDataDirRunsTasksOfOtherUsers(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("running a task as another user needs root")
	}
	if _, err := user.Lookup("nobody"); err != nil {
		t.Skip("no user nobody on this machine")
	}
	// The test's own temporary directory is private (0700); the path down
	// to NEWDIR must be open to other users as it would be under a home
	// directory or /var/lib.
	base := t.TempDir()
	for _, d := range []string{base, filepath.Dir(base)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	dir := filepath.Join(base, "new", "data")
	// The task runs the agent's own binary as nobody: run mesh dev from a
	// copy there, as the checkout's path need not be open to other users.
	bin := copyBinaryTo(t, base, "mesh")
	addr := freePort(t)
	dev := startBin(t, bin, "dev", "-data-dir", dir, "-http-addr", addr, "-agent-http-addr", freePort(t),
		"-resources", "cpus:2;mem:1024;disk:1000;ports:[31000-31100]", "-isolation", "posix")
	waitFor(t, 60*time.Second, "mesh dev to be ready", func() bool { return strings.Contains(dev.out.String(), "mesh dev is running") })
	out, code := run(t, 2*time.Minute, "execute", "-master", addr, "-name", "other-user", "-user", "nobody",
		"-command", "echo ran as $(id -un)")
	if code != 0 || !strings.Contains(out, "ran as nobody") {
		t.Fatalf("a task of user nobody under mesh dev -data-dir NEWDIR exited %d:\n%s", code, out)
	}
}
