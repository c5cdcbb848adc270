package acl

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

// logBuffer collects log output for assertions.
type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

const allowFlags = `{"view_flags": [{"principals": {"values": ["ops"]}, "flags": {"type": "ANY"}}]}`
const allowFlagsDev = `{"view_flags": [{"principals": {"values": ["dev"]}, "flags": {"type": "ANY"}}]}`

func writeFile(t *testing.T, path, s string) {
	t.Helper()
	// Write then rename, as an editor or a config tool does: a reader never
	// sees half a file.
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func TestAuthorizer_ReloadSwapsRulesAndKeepsThemOnABadFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "acls.json")
	writeFile(t, path, allowFlags)
	logs := &logBuffer{}
	a, err := Load(path, hclog.New(&hclog.LoggerOptions{Output: logs}))
	if err != nil {
		t.Fatal(err)
	}
	if !a.ACLs().AllowedAny(ViewFlags, "ops") || a.ACLs().AllowedAny(ViewFlags, "dev") {
		t.Fatal("the first file is not in force")
	}
	writeFile(t, path, allowFlagsDev)
	if changed, err := a.Reload(); err != nil || !changed {
		t.Fatalf("reload: %v %v", changed, err)
	}
	if a.ACLs().AllowedAny(ViewFlags, "ops") || !a.ACLs().AllowedAny(ViewFlags, "dev") {
		t.Fatal("the new file is not in force after a reload")
	}
	writeFile(t, path, `{"view_flags": [{"principals": {"values": ["ops"]}}]}`)
	if _, err := a.Reload(); err == nil || !strings.Contains(err.Error(), `"flags" is required`) {
		t.Fatalf("reload of a bad file: %v", err)
	}
	if !a.ACLs().AllowedAny(ViewFlags, "dev") {
		t.Fatal("a bad file replaced the rules in force")
	}
	if !strings.Contains(logs.String(), "refusing the new acl file") {
		t.Fatalf("no log line says the file was refused:\n%s", logs)
	}
	os.Remove(path)
	if _, err := a.Reload(); err == nil || !a.ACLs().AllowedAny(ViewFlags, "dev") {
		t.Fatalf("a removed file: %v, rules kept: %v", err, a.ACLs().AllowedAny(ViewFlags, "dev"))
	}
}

func TestAuthorizer_LoadRefusesABadFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "acls.json")
	writeFile(t, path, `{"view_flags": 1}`)
	if _, err := Load(path, nil); err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("load of a bad file: %v", err)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "none"), nil); err == nil {
		t.Fatal("load of a missing file succeeded")
	}
}

func TestAuthorizer_WatchFollowsTheFileAndTheSignal(t *testing.T) {
	path := filepath.Join(t.TempDir(), "acls.json")
	writeFile(t, path, allowFlags)
	a, err := Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	hup := make(chan os.Signal, 1)
	// A long poll: the change below is seen through the signal alone.
	stop := watch(a, time.Hour, hup)
	writeFile(t, path, allowFlagsDev)
	hup <- os.Interrupt
	waitFor(t, "the signal to reload", func() bool { return a.ACLs().AllowedAny(ViewFlags, "dev") })
	stop()

	defer watch(a, 10*time.Millisecond, nil)()
	writeFile(t, path, allowFlags)
	waitFor(t, "the poll to see the change", func() bool { return a.ACLs().AllowedAny(ViewFlags, "ops") })
}

// watch runs a.Watch until the returned function is called, which waits
// for it to end.
func watch(a *Authorizer, interval time.Duration, hup chan os.Signal) func() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); a.Watch(ctx, interval, hup) }()
	return func() { cancel(); <-done }
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
