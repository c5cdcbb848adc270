package executor

import (
	"context"
	"errors"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hashicorp/go-hclog"
)

// waitFor polls cond every 10ms until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func testLogger(t *testing.T) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{Name: t.Name(), Level: hclog.Debug, Output: testWriter{t}})
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func newTestPosix(t *testing.T, stateDir string) *Posix {
	t.Helper()
	p, err := NewPosix(Options{StateDir: stateDir, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// launchShell starts script under /bin/sh in a fresh container whose
// sandbox is dir, and destroys it at the end of the test.
func launchShell(t *testing.T, p *Posix, dir, script, user string) ContainerState {
	t.Helper()
	spec := ContainerSpec{
		ID:     uuid.NewString(),
		Argv:   []string{"/bin/sh", "-c", script},
		Env:    []string{"PATH=/usr/bin:/bin"},
		Dir:    dir,
		Stdout: filepath.Join(dir, "stdout"),
		Stderr: filepath.Join(dir, "stderr"),
		User:   user,
	}
	st, err := p.Launch(context.Background(), spec)
	if err != nil {
		t.Fatalf("launch: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = p.Destroy(ctx, st.ID, 0)
	})
	return st
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	return string(b)
}

func waitExit(t *testing.T, p *Posix, id string) ExitStatus {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := p.Wait(ctx, id)
	if err != nil {
		t.Fatalf("wait: %v", err)
	}
	return st
}

func TestPosix_LaunchWaitsAndCollectsOutput(t *testing.T) {
	dir := t.TempDir()
	p := newTestPosix(t, t.TempDir())
	st := launchShell(t, p, dir, `echo out; echo err >&2; pwd; exit 3`, "")
	if st.Pid <= 0 {
		t.Fatalf("pid = %d", st.Pid)
	}
	es := waitExit(t, p, st.ID)
	if es.Code != 3 || es.Signal != 0 || es.String() != "exited with status 3" {
		t.Fatalf("exit status = %+v (%s), want status 3", es, es)
	}
	real, _ := filepath.EvalSymlinks(dir)
	if got := readFile(t, filepath.Join(dir, "stdout")); got != "out\n"+real+"\n" {
		t.Errorf("stdout = %q", got)
	}
	if got := readFile(t, filepath.Join(dir, "stderr")); got != "err\n" {
		t.Errorf("stderr = %q", got)
	}
	// Waiting again gives the same answer.
	if again := waitExit(t, p, st.ID); again != es {
		t.Errorf("second wait = %+v, want %+v", again, es)
	}
}

func TestPosix_LaunchErrors(t *testing.T) {
	dir := t.TempDir()
	p := newTestPosix(t, t.TempDir())
	_, err := p.Launch(context.Background(), ContainerSpec{ID: "c1", Argv: []string{"/no/such/binary"}, Dir: dir})
	if err == nil || !strings.Contains(err.Error(), "/no/such/binary") {
		t.Errorf("launch of a missing binary: err = %v", err)
	}
	_, err = p.Launch(context.Background(), ContainerSpec{ID: "../x", Argv: []string{"/bin/true"}, Dir: dir})
	if err == nil {
		t.Error("launch with a path as container id succeeded")
	}
	_, err = p.Launch(context.Background(), ContainerSpec{ID: "c2", Argv: []string{"/bin/true"}, Dir: dir, User: "no-such-user-mesh"})
	if err == nil || !strings.Contains(err.Error(), `user "no-such-user-mesh" does not exist`) || !errors.Is(err, ErrUnknownUser) {
		t.Errorf("launch as an unknown user: err = %v", err)
	}
}

func TestPosix_SignalReachesTheGroup(t *testing.T) {
	dir := t.TempDir()
	p := newTestPosix(t, t.TempDir())
	st := launchShell(t, p, dir, `echo ready; sleep 100`, "")
	waitFor(t, 5*time.Second, "the script to start", func() bool { return readFile(t, filepath.Join(dir, "stdout")) == "ready\n" })
	if err := p.Signal(st.ID, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	es := waitExit(t, p, st.ID)
	if es.Signal != syscall.SIGTERM || es.String() != "terminated with signal SIGTERM" {
		t.Fatalf("exit status = %+v (%s), want SIGTERM", es, es)
	}
}

func TestPosix_DestroySendsTermThenKill(t *testing.T) {
	dir := t.TempDir()
	p := newTestPosix(t, t.TempDir())
	// The script survives SIGTERM (it only notes it), so only SIGKILL
	// after the grace period ends it.
	st := launchShell(t, p, dir, `trap 'echo got-term' TERM; echo ready; while true; do sleep 0.05; done`, "")
	waitFor(t, 5*time.Second, "the script to start", func() bool { return strings.Contains(readFile(t, filepath.Join(dir, "stdout")), "ready") })

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	if err := p.Destroy(ctx, st.ID, 300*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if elapsed := time.Since(start); elapsed < 300*time.Millisecond {
		t.Errorf("destroy returned after %s, before the grace period ended", elapsed)
	}
	if out := readFile(t, filepath.Join(dir, "stdout")); !strings.Contains(out, "got-term") {
		t.Errorf("the script never saw SIGTERM; stdout = %q", out)
	}
	if processAlive(st.Pid, st.StartTime) {
		t.Errorf("process %d still alive after destroy", st.Pid)
	}
	if _, err := p.Wait(ctx, st.ID); !errors.Is(err, ErrUnknownContainer) {
		t.Errorf("wait after destroy: err = %v, want ErrUnknownContainer", err)
	}
	if err := p.Destroy(ctx, st.ID, 0); err != nil {
		t.Errorf("second destroy: %v", err)
	}
}

func TestPosix_DestroyKillsProcessesInOtherGroups(t *testing.T) {
	dir := t.TempDir()
	p := newTestPosix(t, t.TempDir())
	// set -m puts the background job in a process group of its own, as
	// the command executor does with its task.
	st := launchShell(t, p, dir, `set -m; sleep 100 & echo $! > child.pid; wait`, "")
	var child int
	waitFor(t, 5*time.Second, "the child's pid", func() bool {
		child, _ = strconv.Atoi(strings.TrimSpace(readFile(t, filepath.Join(dir, "child.pid"))))
		return child > 0
	})
	childStart, err := processStartTime(child)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.Destroy(ctx, st.ID, time.Second); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the child to be gone", func() bool { return !processAlive(child, childStart) })
}

func TestPosix_RecoverAfterRestart(t *testing.T) {
	dir, state := t.TempDir(), t.TempDir()
	p1 := newTestPosix(t, state)
	st := launchShell(t, p1, dir, `echo ready; exec sleep 100`, "")
	waitFor(t, 5*time.Second, "the script to start", func() bool { return readFile(t, filepath.Join(dir, "stdout")) == "ready\n" })

	// A second containerizer on the same state dir (what a restarted
	// agent builds) finds the container again.
	p2 := newTestPosix(t, state)
	got, err := p2.Recover(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != st.ID || got[0].Pid != st.Pid || !got[0].Recovered {
		t.Fatalf("recovered %+v, want the container %s", got, st.ID)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p2.Destroy(ctx, st.ID, time.Second); err != nil {
		t.Fatal(err)
	}
	es, err := p2.Wait(ctx, st.ID)
	if !errors.Is(err, ErrUnknownContainer) {
		t.Fatalf("wait after destroy = %+v, %v", es, err)
	}
	if es := waitExit(t, p1, st.ID); es.Signal != syscall.SIGTERM {
		t.Errorf("exit status seen by the first containerizer = %s, want SIGTERM", es)
	}
	// Nothing left to recover.
	p3 := newTestPosix(t, state)
	if got, err := p3.Recover(context.Background()); err != nil || len(got) != 0 {
		t.Errorf("third recover = %+v, %v; want nothing", got, err)
	}
}

// A container whose state file was never written, as when the agent dies
// between starting its first process and recording it, is found by the
// next containerizer on the state dir, and can be destroyed: it does not
// run on unknown to every agent.
func TestPosix_RecoverFindsAContainerItNeverRecorded(t *testing.T) {
	dir, state := t.TempDir(), t.TempDir()
	p1 := newTestPosix(t, state)
	st := launchShell(t, p1, dir, `echo ready; sleep 100 & wait`, "")
	waitFor(t, 5*time.Second, "the script to start", func() bool { return readFile(t, filepath.Join(dir, "stdout")) == "ready\n" })
	if err := os.Remove(filepath.Join(state, st.ID+".json")); err != nil {
		t.Fatal(err)
	}
	// Another state dir's containerizer does not take it.
	if got, err := newTestPosix(t, t.TempDir()).Recover(context.Background()); err != nil || len(got) != 0 {
		t.Fatalf("a containerizer of another state dir recovered %+v, %v", got, err)
	}

	p2 := newTestPosix(t, state)
	got, err := p2.Recover(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != st.ID || got[0].Pid != st.Pid || got[0].StartTime != st.StartTime || !got[0].Recovered {
		t.Fatalf("recovered %+v, want the container %+v", got, st)
	}
	if _, err := os.Stat(filepath.Join(state, st.ID+".json")); err != nil {
		t.Errorf("the found container was not recorded: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p2.Destroy(ctx, st.ID, time.Second); err != nil {
		t.Fatal(err)
	}
	waitExit(t, p1, st.ID)
	if left := sessionMembers(st.Pid); len(left) != 0 {
		t.Errorf("processes %v of the container survived its destruction", left)
	}
}

func TestPosix_RunsAsUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("running as another user needs root; skipped as not root")
	}
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Skip("no user 'nobody' on this machine; skipped")
	}
	// The sandbox must be reachable by nobody: t.TempDir's parent is 0700.
	dir, err := os.MkdirTemp("", "mesh-posix-user-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	p := newTestPosix(t, t.TempDir())
	st := launchShell(t, p, dir, `id -u; id -g; touch mine`, "nobody")
	if es := waitExit(t, p, st.ID); !es.Success() {
		t.Fatalf("exit status %s; stderr: %s", es, readFile(t, filepath.Join(dir, "stderr")))
	}
	want := nobody.Uid + "\n" + nobody.Gid + "\n"
	if got := readFile(t, filepath.Join(dir, "stdout")); got != want {
		t.Errorf("stdout = %q, want %q", got, want)
	}
	fi, err := os.Stat(filepath.Join(dir, "mine"))
	if err != nil {
		t.Fatal(err)
	}
	if uid := fi.Sys().(*syscall.Stat_t).Uid; strconv.Itoa(int(uid)) != nobody.Uid {
		t.Errorf("file created by the container is owned by uid %d, want %s", uid, nobody.Uid)
	}
}

func TestNew_UnknownIsolation(t *testing.T) {
	_, err := New("vm", Options{StateDir: t.TempDir()})
	if !errors.Is(err, ErrUnknownIsolation) || !strings.Contains(err.Error(), "posix") {
		t.Errorf("err = %v", err)
	}
	c, err := New(IsolationPosix, Options{StateDir: t.TempDir()})
	if err != nil || c.Name() != "posix" {
		t.Fatalf("New(posix) = %v, %v", c, err)
	}
	c.Close()
}

func TestDuration_RoundTrip(t *testing.T) {
	for _, tc := range []struct {
		s string
		d time.Duration
	}{
		{"5secs", 5 * time.Second}, {"15mins", 15 * time.Minute}, {"250ms", 250 * time.Millisecond},
		{"2hrs", 2 * time.Hour}, {"1days", 24 * time.Hour}, {"7us", 7 * time.Microsecond},
	} {
		if got := FormatDuration(tc.d); got != tc.s {
			t.Errorf("FormatDuration(%s) = %q, want %q", tc.d, got, tc.s)
		}
		if got, err := ParseDuration(tc.s); err != nil || got != tc.d {
			t.Errorf("ParseDuration(%q) = %s, %v", tc.s, got, err)
		}
	}
	for in, want := range map[string]time.Duration{"1.5mins": 90 * time.Second, "1m30s": 90 * time.Second, "3s": 3 * time.Second} {
		if got, err := ParseDuration(in); err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %s, %v; want %s", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "secs", "-1secs", "5 parsecs", "abc"} {
		if _, err := ParseDuration(bad); err == nil {
			t.Errorf("ParseDuration(%q) succeeded", bad)
		}
	}
}
