//go:build linux && cgo

package executor

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/runc/libcontainer"

	"mesh/mesos"
)

// prestartSpec is a launch of this test binary printing its environment
// (as root, which these tests allow).
func prestartSpec(t *testing.T, l *Linux, id string, res mesos.Resources) ContainerSpec {
	t.Helper()
	dir := filepath.Join(filepath.Dir(filepath.Dir(l.opts.StateDir)), "frameworks", "fw", "executors", "e", "runs", id)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return ContainerSpec{
		ID:            id,
		Argv:          []string{os.Args[0]},
		Env:           []string{"PATH=/usr/bin:/bin", envTestPrintEnv + "=1", "FOO=bar baz", EnvSandbox + "=" + dir},
		Dir:           dir,
		Stdout:        filepath.Join(dir, "stdout"),
		Stderr:        filepath.Join(dir, "stderr"),
		User:          "root",
		Resources:     res,
		DeferCPUQuota: true,
	}
}

// claimWithin waits for a prestarted container for spec.
func claimWithin(t *testing.T, l *Linux, spec ContainerSpec, d time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		if id, ok := l.Claim(spec.User, spec.Argv); ok {
			return id
		}
		if time.Now().After(deadline) {
			t.Fatalf("no prestarted container after %s", d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// claimedPid is the init pid of the claimed container id.
func claimedPid(l *Linux, id string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if w := l.pool.claimed[id]; w != nil {
		return w.lc.state.Pid
	}
	return -1
}

func TestLinux_PrestartedContainerRunsTheLaunch(t *testing.T) {
	l := linuxOrSkip(t, LinuxOptions{AllowRoot: true, Prestart: 1})
	tmpl := prestartSpec(t, l, "template", smallResources())
	l.Prestart(tmpl)
	probe := prestartSpec(t, l, "probe", smallResources())
	id := claimWithin(t, l, probe, 20*time.Second)

	prePid := claimedPid(l, id)

	// The launch's limits differ from the template's: they are applied.
	res := mesos.Resources{mesos.ScalarResource("cpus", 0.25), mesos.ScalarResource("mem", 48)}
	spec := prestartSpec(t, l, id, res)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := l.Launch(ctx, spec)
	if err != nil {
		t.Fatalf("launch: %v", err)
	}
	if st.Pid != prePid {
		t.Errorf("launch runs in pid %d, not in the prestarted container's %d", st.Pid, prePid)
	}
	if st.Dir != spec.Dir {
		t.Errorf("state dir %q, want %q", st.Dir, spec.Dir)
	}
	c, err := l.get(id)
	if err != nil {
		t.Fatal(err)
	}
	cfg := c.c.Config()
	if got := cfg.Cgroups.Resources.Memory; got != 48<<20 {
		t.Errorf("memory limit %d, want %d", got, 48<<20)
	}
	if got := cfg.Cgroups.Resources.CpuShares; got != 256 {
		t.Errorf("cpu shares %d, want 256", got)
	}
	if cst, err := c.c.State(); err != nil {
		t.Fatal(err)
	} else if ctrl, file, want := cpuWeightFile(cst, 256); readCgroupFile(t, cst, ctrl, file) != want {
		t.Errorf("%s = %s, want %s (the launch's weight, not the prestart's idle one)", file, readCgroupFile(t, cst, ctrl, file), want)
	}
	if !slices.Contains(cfg.Labels, labelDir+spec.Dir) {
		t.Errorf("labels %q do not name the sandbox %s", cfg.Labels, spec.Dir)
	}
	exit, err := l.Wait(ctx, id)
	if err != nil || !exit.Success() {
		errOut, _ := os.ReadFile(spec.Stderr)
		t.Fatalf("exit %v, %v; stderr: %s", exit, err, errOut)
	}
	out, err := os.ReadFile(spec.Stdout)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"FOO=bar baz\n", "cwd=" + spec.Dir + "\n", EnvSandbox + "=" + spec.Dir + "\n"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(string(out), EnvDeferredFD) {
		t.Errorf("%s leaked into the environment:\n%s", EnvDeferredFD, out)
	}
	if b, err := os.ReadFile(filepath.Join(spec.Dir, "written-by-task")); err != nil || string(b) != "ok" {
		t.Errorf("file the task wrote in its sandbox: %q, %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(l.pool.dir, id)); !os.IsNotExist(err) {
		t.Errorf("the prestarted sandbox's old path is still there: %v", err)
	}
	if err := l.Destroy(ctx, id, 0); err != nil {
		t.Fatal(err)
	}
}

func TestLinux_PrestartedContainerFallsBackWhenUnusable(t *testing.T) {
	l := linuxOrSkip(t, LinuxOptions{AllowRoot: true, Prestart: 1})
	l.Prestart(prestartSpec(t, l, "template", smallResources()))
	id := claimWithin(t, l, prestartSpec(t, l, "probe", smallResources()), 20*time.Second)
	// Output files outside the sandbox cannot be swapped in: the launch
	// gets a new container under the same id.
	prePid := claimedPid(l, id)
	spec := prestartSpec(t, l, id, smallResources())
	spec.Stdout = filepath.Join(spec.Dir, "out")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := l.Launch(ctx, spec)
	if err != nil {
		t.Fatalf("launch: %v", err)
	}
	if st.Pid == prePid {
		t.Errorf("launch with foreign output files ran in the prestarted container")
	}
	if exit, err := l.Wait(ctx, id); err != nil || !exit.Success() {
		t.Fatalf("exit %v, %v", exit, err)
	}
	if out, _ := os.ReadFile(spec.Stdout); !strings.Contains(string(out), "FOO=bar baz") {
		t.Errorf("output %q", out)
	}
	if err := l.Destroy(ctx, id, 0); err != nil {
		t.Fatal(err)
	}
	// A claim that is never launched is destroyed by Destroy.
	id = claimWithin(t, l, spec, 20*time.Second)
	if err := l.Destroy(ctx, id, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(l.root, id)); !os.IsNotExist(err) {
		t.Errorf("claimed container %s still has state after Destroy: %v", id, err)
	}
}

func TestLinux_PrestartedContainersGoAwayOnCloseAndRestart(t *testing.T) {
	l := linuxOrSkip(t, LinuxOptions{AllowRoot: true, Prestart: 2})
	l.Prestart(prestartSpec(t, l, "template", smallResources()))
	deadline := time.Now().Add(30 * time.Second)
	for len(l.Prestarted()) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("%d prestarted containers, want 2", len(l.Prestarted()))
		}
		time.Sleep(20 * time.Millisecond)
	}
	ids := l.Prestarted()

	// An agent that dies leaves them created: the next one destroys them.
	l.cancel()
	<-l.pool.done
	l2, err := NewLinux(l.opts)
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	recovered, err := l2.Recover(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(recovered) != 0 {
		t.Errorf("recovered %v, want no container", recovered)
	}
	for _, id := range ids {
		if _, err := libcontainer.Load(l.root, id); err == nil {
			t.Errorf("prestarted container %s survived a restart", id)
		}
	}
	if entries, _ := os.ReadDir(l2.pool.dir); len(entries) != 0 {
		t.Errorf("%d stale prestarted sandboxes", len(entries))
	}

	// Close destroys the ready ones.
	l2.Prestart(prestartSpec(t, l2, "template", smallResources()))
	deadline = time.Now().Add(30 * time.Second)
	for len(l2.Prestarted()) < 1 {
		if time.Now().After(deadline) {
			t.Fatal("no prestarted container")
		}
		time.Sleep(20 * time.Millisecond)
	}
	ids = l2.Prestarted()
	l2.Close()
	for _, id := range ids {
		if _, err := libcontainer.Load(l2.root, id); err == nil {
			t.Errorf("prestarted container %s survived Close", id)
		}
	}
}
