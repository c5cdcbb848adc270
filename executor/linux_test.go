//go:build linux && cgo

package executor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/opencontainers/cgroups"
	"github.com/opencontainers/runc/libcontainer"

	"mesh/mesos"
)

// linuxOrSkip returns a linux containerizer in a fresh state directory,
// or skips when this machine cannot run one.
func linuxOrSkip(t *testing.T, opts LinuxOptions) *Linux {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("linux containerizer tests need root (they run in CI as root)")
	}
	if !cgroupsUsable() {
		t.Skip("linux containerizer tests need the memory, cpu and pids cgroup controllers")
	}
	work := t.TempDir()
	// The sandbox must be traversable by unprivileged users, from /.
	for _, d := range []string{work, filepath.Dir(work)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	l, err := NewLinux(Options{
		StateDir: filepath.Join(work, "meta", "containers"),
		Logger:   testLogger(t),
		Linux:    opts,
	})
	if err != nil {
		t.Fatalf("new linux containerizer: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// sandbox makes a sandbox directory owned by user (if given).
func sandbox(t *testing.T, l *Linux, user string) string {
	t.Helper()
	dir := filepath.Join(filepath.Dir(filepath.Dir(l.opts.StateDir)), "frameworks", "fw", "executors", "e", "runs", strings.ReplaceAll(t.Name(), "/", "_"))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if user != "" {
		id, err := LookupUser(user)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(dir, int(id.UID), int(id.GID)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// runShell runs script with /bin/sh in a new container and returns its
// exit status and output once it ends.
func runShell(t *testing.T, l *Linux, user, script string, res mesos.Resources) (ExitStatus, string, string) {
	t.Helper()
	dir := sandbox(t, l, user)
	id := "c-" + strings.ReplaceAll(strings.ReplaceAll(t.Name(), "/", "-"), "_", "-")
	spec := ContainerSpec{
		ID:        id,
		Argv:      []string{"/bin/sh", "-c", script},
		Env:       []string{"PATH=/usr/local/bin:/usr/bin:/bin"},
		Dir:       dir,
		Stdout:    filepath.Join(dir, "stdout"),
		Stderr:    filepath.Join(dir, "stderr"),
		User:      user,
		Resources: res,
	}
	return runSpec(t, l, spec)
}

// runSpec runs spec in a new container and returns its exit status and
// output once it ends.
func runSpec(t *testing.T, l *Linux, spec ContainerSpec) (ExitStatus, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := l.Launch(ctx, spec); err != nil {
		t.Fatalf("launch: %v", err)
	}
	st, err := l.Wait(ctx, spec.ID)
	if err != nil {
		t.Fatalf("wait: %v", err)
	}
	if err := l.Destroy(ctx, spec.ID, 0); err != nil {
		t.Fatalf("destroy: %v", err)
	}
	out, _ := os.ReadFile(spec.Stdout)
	errOut, _ := os.ReadFile(spec.Stderr)
	return st, string(out), string(errOut)
}

func smallResources() mesos.Resources {
	return mesos.Resources{mesos.ScalarResource("cpus", 0.5), mesos.ScalarResource("mem", 64)}
}

func TestLinux_RunsAsUserInOwnPIDNamespace(t *testing.T) {
	l := linuxOrSkip(t, LinuxOptions{})
	st, out, errOut := runShell(t, l, "nobody", `id -u; echo "pid=$$"; ls /proc | grep -c '^[0-9]'; pwd`, smallResources())
	if !st.Success() {
		t.Fatalf("container %s; stderr: %s", st, errOut)
	}
	lines := strings.Fields(out)
	if len(lines) != 4 {
		t.Fatalf("output %q", out)
	}
	if lines[0] != "65534" {
		t.Errorf("task ran as uid %s, want nobody (65534)", lines[0])
	}
	if lines[1] != "pid=1" {
		t.Errorf("first process is %s in its PID namespace, want pid=1", lines[1])
	}
	// sh, ls and grep (and sh's subshell at most): nothing of the host.
	if n := lines[2]; n > "4" || len(n) > 1 {
		t.Errorf("task sees %s processes, want only its own", n)
	}
}

func TestLinux_CannotWriteHostRootOrCgroups(t *testing.T) {
	l := linuxOrSkip(t, LinuxOptions{AllowRoot: true})
	// As root inside the container, to show that the file systems are
	// read-only rather than merely not writable by an ordinary user.
	st, out, errOut := runShell(t, l, "root", `
		touch /usr/mesh-was-here 2>/dev/null && echo host-root-writable
		mkdir /sys/fs/cgroup/memory 2>/dev/null && echo cgroup-writable
		echo 100000000 > /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null && echo limit-raised
		echo 1 > /sys/kernel/mm/ksm/run 2>/dev/null && echo sys-writable
		touch "$PWD/sandbox-file" && echo sandbox-ok`, smallResources())
	if !st.Success() {
		t.Fatalf("container %s; stderr: %s", st, errOut)
	}
	if strings.TrimSpace(out) != "sandbox-ok" {
		t.Errorf("output %q; want only sandbox-ok (host root, /sys and /sys/fs/cgroup read-only, sandbox writable)", out)
	}
	if _, err := os.Stat("/usr/mesh-was-here"); err == nil {
		os.Remove("/usr/mesh-was-here")
		t.Error("container wrote the host's root")
	}
}

func TestLinux_TmpdirIsInTheSandbox(t *testing.T) {
	l := linuxOrSkip(t, LinuxOptions{})
	st, out, errOut := runShell(t, l, "nobody", `f=$(mktemp) && echo hi > "$f" && echo "$f" && stat -c '%A %u' "$TMPDIR"; touch /tmp/mesh-was-here 2>/dev/null && echo host-tmp-writable; true`, smallResources())
	if !st.Success() {
		t.Fatalf("container %s; stderr: %s", st, errOut)
	}
	tmp := filepath.Join(sandbox(t, l, "nobody"), SandboxTmp)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || filepath.Dir(lines[0]) != tmp || lines[1] != "drwxrwxrwt 65534" {
		t.Fatalf("output %q (stderr %q), want a temporary file in %s, which is sticky and belongs to nobody", out, errOut, tmp)
	}
	if b, err := os.ReadFile(lines[0]); err != nil || string(b) != "hi\n" {
		t.Errorf("the task's temporary file: %q, %v", b, err)
	}
}

func TestLinux_RefusesRootWithoutAllowRoot(t *testing.T) {
	l := linuxOrSkip(t, LinuxOptions{})
	for _, user := range []string{"root", ""} {
		dir := sandbox(t, l, "")
		_, err := l.Launch(context.Background(), ContainerSpec{ID: "c-root" + user, Argv: []string{"/bin/true"}, Dir: dir, User: user, Resources: smallResources()})
		if !errors.Is(err, ErrBadContainerSpec) || !strings.Contains(err.Error(), "-allow-root-tasks") {
			t.Errorf("launch as %q: err = %v, want a refusal naming -allow-root-tasks", user, err)
		}
	}
}

func TestLinux_RejectsBadInput(t *testing.T) {
	l := linuxOrSkip(t, LinuxOptions{})
	dir := sandbox(t, l, "nobody")
	cases := []struct {
		name string
		spec ContainerSpec
		want string
	}{
		{"unknown user", ContainerSpec{User: "no-such-user-mesh"}, "does not exist"},
		{"zero mem", ContainerSpec{User: "nobody", Resources: mesos.Resources{mesos.ScalarResource("mem", 0)}}, "mem resource of 0 MB"},
		{"missing image", ContainerSpec{User: "nobody", Rootfs: "/no/such/rootfs.tar.gz"}, "no such file"},
	}
	for i, c := range cases {
		c.spec.ID = fmt.Sprintf("bad-%d", i)
		c.spec.Argv = []string{"/bin/true"}
		c.spec.Dir = dir
		if c.spec.Resources == nil {
			c.spec.Resources = smallResources()
		}
		_, err := l.Launch(context.Background(), c.spec)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want one saying %q", c.name, err, c.want)
		}
	}
	if entries, _ := os.ReadDir(l.root); len(entries) != 0 {
		t.Errorf("failed launches left container state: %v", entries)
	}
}

// launchForCgroups launches spec, destroys it when the test ends, and
// returns its state (where its cgroups are).
func launchForCgroups(t *testing.T, l *Linux, spec ContainerSpec) *libcontainer.State {
	t.Helper()
	ctx := context.Background()
	if _, err := l.Launch(ctx, spec); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Destroy(ctx, spec.ID, 0) })
	st, err := l.containers[spec.ID].c.State()
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// readCgroupFile reads a file of the container's cgroup for controller
// ctrl (cgroup v1), or of its unified cgroup (v2).
func readCgroupFile(t *testing.T, st *libcontainer.State, ctrl, file string) string {
	t.Helper()
	p, ok := st.CgroupPaths[ctrl]
	if !ok {
		p = st.CgroupPaths[""]
	}
	b, err := os.ReadFile(filepath.Join(p, file))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// cpuWeightFile is the cgroup file that holds a container's cpu weight
// and the value it holds for shares (cgroup v1's unit).
func cpuWeightFile(st *libcontainer.State, shares uint64) (ctrl, file, want string) {
	if _, v1 := st.CgroupPaths["cpu"]; v1 {
		return "cpu", "cpu.shares", strconv.FormatUint(shares, 10)
	}
	return "", "cpu.weight", strconv.FormatUint(cgroups.ConvertCPUSharesToCgroupV2Value(shares), 10)
}

func TestLinux_EnforcesCPUQuotaAndPidsLimit(t *testing.T) {
	l := linuxOrSkip(t, LinuxOptions{PidsLimit: 16})
	dir := sandbox(t, l, "nobody")
	spec := ContainerSpec{
		ID: "c-limits", Argv: []string{"/bin/sh", "-c", `i=0; while [ $i -lt 40 ]; do sleep 30 & i=$((i+1)); done 2>>forks; sleep 30`},
		Env: []string{"PATH=/usr/bin:/bin"}, Dir: dir, User: "nobody", Stderr: filepath.Join(dir, "stderr"),
		Resources: mesos.Resources{mesos.ScalarResource("cpus", 0.25), mesos.ScalarResource("mem", 64)},
	}
	st := launchForCgroups(t, l, spec)
	read := func(ctrl, file string) string { t.Helper(); return readCgroupFile(t, st, ctrl, file) }
	if _, v1 := st.CgroupPaths["cpu"]; v1 {
		if q := read("cpu", "cpu.cfs_quota_us"); q != "25000" {
			t.Errorf("cpu.cfs_quota_us = %s, want 25000 (0.25 cpus)", q)
		}
		if s := read("cpu", "cpu.shares"); s != "256" {
			t.Errorf("cpu.shares = %s, want 256", s)
		}
		if m := read("memory", "memory.limit_in_bytes"); m != "67108864" {
			t.Errorf("memory.limit_in_bytes = %s, want 64 MiB", m)
		}
		if m := read("memory", "memory.memsw.limit_in_bytes"); m != "67108864" {
			t.Errorf("memory.memsw.limit_in_bytes = %s, want 64 MiB (no swap)", m)
		}
	} else {
		if q := read("", "cpu.max"); q != "25000 100000" {
			t.Errorf("cpu.max = %s, want 25000 100000", q)
		}
		if w, want := read("", "cpu.weight"), cgroups.ConvertCPUSharesToCgroupV2Value(256); w != strconv.FormatUint(want, 10) {
			t.Errorf("cpu.weight = %s, want %d (256 shares)", w, want)
		}
		if m := read("", "memory.max"); m != "67108864" {
			t.Errorf("memory.max = %s, want 64 MiB", m)
		}
		if m := read("", "memory.swap.max"); m != "0" {
			t.Errorf("memory.swap.max = %s, want 0 (no swap)", m)
		}
	}
	if p := read("pids", "pids.max"); p != "16" {
		t.Errorf("pids.max = %s, want 16", p)
	}
	defer func() {
		b, _ := os.ReadFile(filepath.Join(dir, "forks"))
		e, _ := os.ReadFile(filepath.Join(dir, "stderr"))
		t.Logf("forks: %s\nstderr: %s", b, e)
	}()
	waitFor(t, 10*time.Second, "forks beyond the pids limit to fail", func() bool {
		b, _ := os.ReadFile(filepath.Join(dir, "forks"))
		return strings.Contains(string(b), "fork") || strings.Contains(string(b), "Resource temporarily unavailable")
	})
	if n := strings.TrimSpace(read("pids", "pids.current")); n > "16" && len(n) >= 2 {
		t.Errorf("pids.current = %s beyond the limit", n)
	}
}

func TestLinux_RecoverReloadsRunningAndDestroysHalfCreated(t *testing.T) {
	l := linuxOrSkip(t, LinuxOptions{})
	dir := sandbox(t, l, "nobody")
	ctx := context.Background()
	spec := ContainerSpec{ID: "c-survivor", Argv: []string{"/bin/sleep", "60"}, Dir: dir, User: "nobody", Resources: smallResources()}
	st, err := l.Launch(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	// A container the agent created but never started, as a crash
	// between the two would leave it.
	cfg := l.buildConfig(ContainerSpec{ID: "c-half", Dir: dir}, limits{memBytes: 64 << 20, pids: 16}, &Identity{Name: "nobody", UID: 65534, GID: 65534}, "", containerPaths{})
	if _, err := libcontainer.Create(l.root, "c-half", cfg); err != nil {
		t.Fatal(err)
	}
	l.Close()

	l2, err := NewLinux(l.opts)
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	got, err := l2.Recover(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != "c-survivor" || got[0].Pid != st.Pid || got[0].Dir != dir || !got[0].Recovered {
		t.Fatalf("recovered %+v, want only c-survivor (pid %d)", got, st.Pid)
	}
	if _, err := os.Stat(filepath.Join(l.root, "c-half")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("half-created container left: %v", err)
	}
	if err := l2.Destroy(ctx, "c-survivor", time.Second); err != nil {
		t.Fatal(err)
	}
	if syscall.Kill(st.Pid, 0) == nil {
		// It may linger as our zombie until the first instance's waiter
		// reaps it.
		waitFor(t, 5*time.Second, "the container's process to be gone", func() bool { return !processAlive(st.Pid, st.StartTime) })
	}
}

func TestLinux_OOMIsReportedAsMemoryLimitation(t *testing.T) {
	l := linuxOrSkip(t, LinuxOptions{})
	if _, err := os.Stat("/usr/bin/busybox"); err != nil {
		t.Skip("needs busybox (make deps installs busybox-static)")
	}
	dir := sandbox(t, l, "nobody")
	ctx := context.Background()
	// dd allocates its 300M block: resident memory, unlike a tmpfs write.
	spec := ContainerSpec{ID: "c-oom", Argv: []string{"/usr/bin/busybox", "dd", "if=/dev/zero", "of=/dev/null", "bs=300M", "count=1"},
		Dir: dir, User: "nobody", Resources: smallResources(), Stderr: filepath.Join(dir, "stderr")}
	if _, err := l.Launch(ctx, spec); err != nil {
		t.Fatal(err)
	}
	st, err := l.Wait(ctx, spec.ID)
	if err != nil {
		t.Fatal(err)
	}
	if st.Signal != syscall.SIGKILL {
		t.Errorf("dd %s, want killed by SIGKILL", st)
	}
	lim, err := l.Limitation(spec.ID)
	if err != nil || lim == nil {
		t.Fatalf("limitation = %v, %v; want a memory limitation", lim, err)
	}
	if lim.Resource != "mem" || !strings.Contains(lim.Message, "Requested: 64MB") {
		t.Errorf("limitation %+v", lim)
	}
	if err := l.Destroy(ctx, spec.ID, 0); err != nil {
		t.Fatal(err)
	}
}

func TestLinux_DeferredCPUQuotaIsEnforcedLater(t *testing.T) {
	l := linuxOrSkip(t, LinuxOptions{})
	dir := sandbox(t, l, "nobody")
	spec := ContainerSpec{
		ID: "c-deferred", Argv: []string{"/bin/sleep", "30"}, Env: []string{"PATH=/usr/bin:/bin"}, Dir: dir, User: "nobody",
		Resources:     mesos.Resources{mesos.ScalarResource("cpus", 0.25), mesos.ScalarResource("mem", 64)},
		DeferCPUQuota: true,
	}
	st := launchForCgroups(t, l, spec)
	quota := func() string {
		t.Helper()
		file, want := "cpu.cfs_quota_us", "25000"
		p, ok := st.CgroupPaths["cpu"]
		if !ok {
			p, file, want = st.CgroupPaths[""], "cpu.max", "25000 100000"
		}
		b, err := os.ReadFile(filepath.Join(p, file))
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSpace(string(b)); got != want {
			return got
		}
		return "enforced"
	}
	if q := quota(); q == "enforced" {
		t.Fatalf("the quota is in force before EnforceCPUQuota")
	}
	if err := l.EnforceCPUQuota(spec.ID); err != nil {
		t.Fatal(err)
	}
	if q := quota(); q != "enforced" {
		t.Errorf("quota after EnforceCPUQuota: %s", q)
	}
}

func TestLinux_SeccompDeniesSyscalls(t *testing.T) {
	if !SeccompEnabled() {
		t.Skip("this test binary has no seccomp support (make test builds with -tags=seccomp and libseccomp)")
	}
	// As root (in a container without CAP_SYS_ADMIN): a user namespace
	// and the session keyring need no privilege, so only the filter stops
	// them.
	l := linuxOrSkip(t, LinuxOptions{AllowRoot: true})
	dir := sandbox(t, l, "")
	spec := ContainerSpec{
		ID: "c-seccomp", Argv: []string{os.Args[0]}, Env: []string{"PATH=/usr/bin:/bin", envTestSyscalls + "=1"},
		Dir: dir, User: "root", Stdout: filepath.Join(dir, "stdout"), Stderr: filepath.Join(dir, "stderr"),
		Resources: smallResources(),
	}
	ctx := context.Background()
	if _, err := l.Launch(ctx, spec); err != nil {
		t.Fatal(err)
	}
	defer l.Destroy(ctx, spec.ID, 0)
	if st, err := l.Wait(ctx, spec.ID); err != nil || !st.Success() {
		e, _ := os.ReadFile(spec.Stderr)
		t.Fatalf("exit %v, %v: %s", st, err, e)
	}
	out, _ := os.ReadFile(spec.Stdout)
	for _, want := range []string{"unshare: EPERM", "keyctl: EPERM", "add_key: EPERM", "mount: EPERM",
		"clone-newuser: EPERM", "clone3: ENOSYS", "io_uring_setup: EPERM", "getpid: allowed"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("want %q in:\n%s", want, out)
		}
	}
}
