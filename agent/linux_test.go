//go:build linux && cgo

package agent

import (
	"archive/tar"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"mesh/executor"
	"mesh/executor/rootfstest"
	"mesh/mesos"
)

var (
	exeOnce sync.Once
	exePath string
	exeErr  error
)

// worldExecutable returns a copy of this test binary that any user can
// run: the go tool builds it in a directory only its owner may enter, and
// linux containers run executors as the task's user.
func worldExecutable(t testing.TB) string {
	t.Helper()
	exeOnce.Do(func() {
		dir, err := os.MkdirTemp("", "mesh-agent-test-")
		if err != nil {
			exeErr = err
			return
		}
		os.Chmod(dir, 0o755)
		afterTests = append(afterTests, func() { os.RemoveAll(dir) })
		exePath = filepath.Join(dir, "agent.test")
		in, err := os.Open(os.Args[0])
		if err != nil {
			exeErr = err
			return
		}
		defer in.Close()
		out, err := os.OpenFile(exePath, os.O_WRONLY|os.O_CREATE, 0o755)
		if err != nil {
			exeErr = err
			return
		}
		if _, err := io.Copy(out, in); err != nil {
			exeErr = err
		}
		out.Close()
	})
	if exeErr != nil {
		t.Fatal(exeErr)
	}
	return exePath
}

// linuxConfig is testConfig with linux isolation, or skips the test when
// this machine cannot run linux containers.
func linuxConfig(t testing.TB, f *fakeServer) Config {
	t.Helper()
	if iso, why := executor.DefaultIsolation(); iso != executor.IsolationLinux {
		t.Skipf("linux isolation unavailable here (%s); these tests run in CI as root", why)
	}
	cfg := testConfig(t, f)
	cfg.Isolation = executor.IsolationLinux
	cfg.ExecutorCommand = []string{worldExecutable(t)}
	// Sandboxes must be reachable by the tasks' users.
	for d := cfg.WorkDir; d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
		os.Chmod(d, 0o755)
	}
	return cfg
}

func nobodyFramework(id string) mesos.FrameworkInfo {
	fw := testFramework(id)
	fw.User = "nobody"
	return fw
}

func withImage(t mesos.TaskInfo, path string) mesos.TaskInfo {
	c := &mesos.ContainerInfo{Type: mesos.ContainerTypeMesos}
	c.Mesos = &struct {
		Image *mesos.Image `json:"image,omitempty"`
	}{Image: &mesos.Image{Type: mesos.ImageTypeDocker, Docker: &struct {
		Name string `json:"name"`
	}{Name: path}}}
	t.Container = c
	return t
}

func withMem(t mesos.TaskInfo, mb float64) mesos.TaskInfo {
	t.Resources = []mesos.Resource{mesos.ScalarResource("cpus", 0.2), mesos.ScalarResource("mem", mb)}
	return t
}

func TestAgentLinux_OOMIsTaskFailedWithMemoryLimitation(t *testing.T) {
	f := newFakeServer(t)
	a := startAgent(t, linuxConfig(t, f))
	a.waitRegistered(t)
	_, tarball := rootfstest.Build(t)
	// dd allocates its 300 MiB block in resident memory.
	f.launch(nobodyFramework("fw-1"), withMem(withImage(commandTask("oom", "dd if=/dev/zero of=/dev/null bs=300M count=1"), tarball), 64))
	st := f.waitState(t, "oom", mesos.TaskFailed)
	if st.Reason != mesos.ReasonContainerLimitationMem {
		t.Errorf("reason = %s, want %s (message %q)", st.Reason, mesos.ReasonContainerLimitationMem, st.Message)
	}
	if !strings.Contains(st.Message, "Memory limit exceeded") || !strings.Contains(st.Message, "64MB") {
		t.Errorf("message %q does not name the 64MB limit", st.Message)
	}
}

func TestAgentLinux_TaskRunsInImageAsUserAndSeesOnlyItself(t *testing.T) {
	f := newFakeServer(t)
	a := startAgent(t, linuxConfig(t, f))
	a.waitRegistered(t)
	dir, tarball := rootfstest.Build(t)
	script := `id -u; echo "sandbox=$MESOS_SANDBOX pwd=$(pwd)"; ls /proc | grep -c '^[0-9]'; ls /bin/busybox; touch /tmp/x && echo rootfs-writable; touch $MESOS_SANDBOX/out`
	f.launch(nobodyFramework("fw-1"),
		withImage(commandTask("tar", script), tarball),
		withImage(commandTask("dir", script), dir),
		withImage(commandTask("tar2", "true"), tarball))
	for _, tid := range []string{"tar", "dir", "tar2"} {
		st := f.waitState(t, tid, mesos.TaskFinished)
		if st.Source != mesos.SourceExecutor {
			t.Errorf("%s: %+v", tid, st)
		}
	}
	for _, tid := range []string{"tar", "dir"} {
		sb := sandboxOf(t, a, tid)
		out, _ := os.ReadFile(filepath.Join(sb, "stdout"))
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if len(lines) < 5 || lines[0] != "65534" || lines[1] != "sandbox=/mnt/mesos/sandbox pwd=/mnt/mesos/sandbox" ||
			len(lines[2]) != 1 || lines[3] != "/bin/busybox" || lines[4] != "rootfs-writable" {
			t.Errorf("%s: task output %q", tid, out)
		}
		if _, err := os.Stat(filepath.Join(sb, "out")); err != nil {
			t.Errorf("%s: the task's file did not land in the sandbox: %v", tid, err)
		}
	}
	// The image directory itself is untouched (the task wrote its overlay).
	if _, err := os.Stat(filepath.Join(dir, "tmp", "x")); err == nil {
		t.Error("task wrote into the image directory")
	}
	// The tarball was unpacked once.
	images, _ := filepath.Glob(filepath.Join(a.workDir, "meta", "images", "*"))
	if len(images) != 1 {
		t.Errorf("image cache holds %v, want one unpacked tarball", images)
	}
}

// The agent's work directory is often a filesystem of its own, or on
// one: the containers see it read-only like every host filesystem, with
// the sandbox and the image's overlay mounted onto it.
func TestAgentLinux_WorkDirOnItsOwnFilesystem(t *testing.T) {
	for _, tc := range []struct{ name, work string }{
		{"mount point", ""},
		{"below a mount point", "work"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeServer(t)
			cfg := linuxConfig(t, f)
			fs := cfg.WorkDir
			if err := unix.Mount("tmpfs", fs, "tmpfs", 0, "mode=755,size=256m"); err != nil {
				t.Fatalf("mount a tmpfs at the work directory: %v", err)
			}
			t.Cleanup(func() { unix.Unmount(fs, unix.MNT_DETACH) })
			if tc.work != "" {
				cfg.WorkDir = filepath.Join(cfg.WorkDir, tc.work)
				if err := os.Mkdir(cfg.WorkDir, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			a := startAgent(t, cfg)
			a.waitRegistered(t)
			_, tarball := rootfstest.Build(t)
			f.launch(nobodyFramework("fw-1"),
				commandTask("host", `echo "host $(id -u) $(pwd)"; touch /mesh-host-x 2>/dev/null || echo read-only; echo "$TMPDIR"; mktemp >/dev/null && echo tmp-ok`),
				withImage(commandTask("image", `echo "image $(id -u) $(pwd)"; ls /bin/busybox`), tarball))
			want := map[string]string{
				"host":  "host 65534 SANDBOX\nread-only\nSANDBOX/tmp\ntmp-ok",
				"image": "image 65534 /mnt/mesos/sandbox\n/bin/busybox",
			}
			for tid, w := range want {
				if st := f.waitState(t, tid, mesos.TaskFinished); st.Source != mesos.SourceExecutor {
					t.Errorf("%s: %+v", tid, st)
				}
				sb := sandboxOf(t, a, tid)
				out, _ := os.ReadFile(filepath.Join(sb, "stdout"))
				if got, w := strings.TrimSpace(string(out)), strings.ReplaceAll(w, "SANDBOX", sb); got != w {
					t.Errorf("%s: output %q, want %q", tid, got, w)
				}
			}
			// Each agent of this process found the host root's bind made
			// by the first rather than stacking another on it, though
			// libcontainer may have left the main thread in a container's
			// mount namespace.
			b, err := os.ReadFile("/proc/thread-self/mountinfo")
			if err != nil {
				t.Fatal(err)
			}
			if n := strings.Count(string(b), " "+executor.DefaultHostRootDir+" "); n != 1 {
				t.Errorf("%s is mounted %d times, want once", executor.DefaultHostRootDir, n)
			}
		})
	}
}

func withVolumes(t testing.TB, task mesos.TaskInfo, volumes string) mesos.TaskInfo {
	t.Helper()
	if task.Container == nil {
		task.Container = &mesos.ContainerInfo{Type: mesos.ContainerTypeMesos}
	}
	if err := json.Unmarshal([]byte(volumes), &task.Container.Volumes); err != nil {
		t.Fatal(err)
	}
	return task
}

func TestAgentLinux_VolumesMountHostAndSandboxPaths(t *testing.T) {
	f := newFakeServer(t)
	cfg := linuxConfig(t, f)
	host := t.TempDir()
	for _, d := range []string{host, filepath.Dir(host)} {
		os.Chmod(d, 0o777)
	}
	if err := os.WriteFile(filepath.Join(host, "given"), []byte("from the host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg.HostVolumes = []string{host}
	a := startAgent(t, cfg)
	a.waitRegistered(t)
	_, tarball := rootfstest.Build(t)
	volumes := `[{"container_path":"/data","host_path":"` + host + `","mode":"RW"},
		{"container_path":"/var/cache","mode":"RW","source":{"type":"SANDBOX_PATH","sandbox_path":{"type":"SELF","path":"cache"}}}]`
	f.launch(nobodyFramework("fw-1"),
		withVolumes(t, withImage(commandTask("image", `cat /data/given && echo image > /data/image && echo c > /var/cache/c`), tarball), volumes),
		withVolumes(t, commandTask("host", `cat data/given && echo host > data/host`), `[{"container_path":"data","host_path":"`+host+`","mode":"RW"}]`),
		withVolumes(t, commandTask("denied", "true"), `[{"container_path":"data","host_path":"/etc","mode":"RO"}]`))
	for _, tid := range []string{"image", "host"} {
		f.waitState(t, tid, mesos.TaskFinished)
		out, _ := os.ReadFile(filepath.Join(sandboxOf(t, a, tid), "stdout"))
		if string(out) != "from the host\n" {
			t.Errorf("%s: output %q", tid, out)
		}
		if b, err := os.ReadFile(filepath.Join(host, tid)); err != nil || string(b) != tid+"\n" {
			t.Errorf("%s: its file in the host volume: %q, %v", tid, b, err)
		}
	}
	if b, err := os.ReadFile(filepath.Join(sandboxOf(t, a, "image"), "cache", "c")); err != nil || string(b) != "c\n" {
		t.Errorf("the sandbox volume: %q, %v", b, err)
	}
	st := f.waitState(t, "denied", mesos.TaskFailed)
	if st.Reason != mesos.ReasonContainerLaunchFailed || !strings.Contains(st.Message, "-host-volumes") {
		t.Errorf("a host path outside -host-volumes: %s %q", st.Reason, st.Message)
	}
}

// The fetcher cache works from inside containers: the user's cache
// directory is writable there, for a task on the host's root and for one
// with an image, whose executor fetches as root.
func TestAgentLinux_FetcherCacheInContainers(t *testing.T) {
	srv, got := countingServer(t, "cached payload\n")
	f := newFakeServer(t)
	a := startAgent(t, linuxConfig(t, f))
	a.waitRegistered(t)
	_, tarball := rootfstest.Build(t)
	yes := true
	cached := func(task mesos.TaskInfo) mesos.TaskInfo {
		task.Command.URIs = []mesos.CommandURI{{Value: srv.URL + "/payload.txt", Cache: &yes}}
		return task
	}
	for _, task := range []mesos.TaskInfo{
		cached(commandTask("host", "cat payload.txt")),
		withImage(cached(commandTask("image", "cat payload.txt")), tarball),
		cached(commandTask("host2", "cat payload.txt")),
	} {
		f.launch(nobodyFramework("fw-1"), task)
		f.waitState(t, task.TaskID.Value, mesos.TaskFinished)
		out, _ := os.ReadFile(filepath.Join(sandboxOf(t, a, task.TaskID.Value), "stdout"))
		if string(out) != "cached payload\n" {
			t.Errorf("%s: output %q", task.TaskID.Value, out)
		}
	}
	if n := got.of("/payload.txt"); n != 1 {
		t.Errorf("%d downloads, want 1", n)
	}
	fi, err := os.Stat(filepath.Join(a.workDir, "fetcher-cache", "nobody"))
	if err != nil || fi.Mode().Perm() != 0o700 || fi.Sys().(*syscall.Stat_t).Uid != 65534 {
		t.Errorf("nobody's cache directory: %v, %v; want 0700 and owned by nobody", fi, err)
	}
}

// Capabilities a task asks for reach it as ambient capabilities, on the
// host's root and in an image, where the executor switches to the task's
// user; one outside -task-capabilities fails the task.
func TestAgentLinux_TaskCapabilities(t *testing.T) {
	f := newFakeServer(t)
	cfg := linuxConfig(t, f)
	cfg.TaskCapabilities = []string{"NET_BIND_SERVICE"}
	a := startAgent(t, cfg)
	a.waitRegistered(t)
	_, tarball := rootfstest.Build(t)
	withCaps := func(task mesos.TaskInfo, caps string) mesos.TaskInfo {
		if task.Container == nil {
			task.Container = &mesos.ContainerInfo{Type: mesos.ContainerTypeMesos}
		}
		task.Container.LinuxInfo = json.RawMessage(`{"effective_capabilities":{"capabilities":[` + caps + `]}}`)
		return task
	}
	script := `id -u; grep '^CapAmb' /proc/self/status | tr -s '\t' ' '`
	f.launch(nobodyFramework("fw-1"),
		withCaps(commandTask("host", script), `"NET_BIND_SERVICE"`),
		withCaps(withImage(commandTask("image", script), tarball), `"NET_BIND_SERVICE"`),
		withCaps(commandTask("denied", "true"), `"SYS_ADMIN"`))
	for _, tid := range []string{"host", "image"} {
		f.waitState(t, tid, mesos.TaskFinished)
		out, _ := os.ReadFile(filepath.Join(sandboxOf(t, a, tid), "stdout"))
		if string(out) != "65534\nCapAmb: 0000000000000400\n" {
			t.Errorf("%s: output %q, want nobody with CAP_NET_BIND_SERVICE ambient", tid, out)
		}
	}
	st := f.waitState(t, "denied", mesos.TaskFailed)
	if !strings.Contains(st.Message, "-task-capabilities") {
		t.Errorf("SYS_ADMIN: %s %q", st.Reason, st.Message)
	}
}

func TestAgentLinux_BadInputFailsTheTaskOnly(t *testing.T) {
	f := newFakeServer(t)
	cfg := linuxConfig(t, f)
	a := startAgent(t, cfg)
	a.waitRegistered(t)
	tmp := t.TempDir()
	escape := filepath.Join(tmp, "escape.tar.gz")
	rootfstest.TarEntries(t, escape, rootfstest.Entry{Name: "bin/", Type: tar.TypeDir}, rootfstest.Entry{Name: "../../mesh-escaped", Type: tar.TypeReg, Body: "x"})
	abs := filepath.Join(tmp, "abs.tar.gz")
	rootfstest.TarEntries(t, abs, rootfstest.Entry{Name: "etc", Type: tar.TypeSymlink, Link: "/etc"}, rootfstest.Entry{Name: "etc/mesh-escaped", Type: tar.TypeReg, Body: "x"})

	unknownUser := testFramework("fw-u")
	unknownUser.User = "no-such-user-mesh"
	cases := []struct {
		fw   mesos.FrameworkInfo
		task mesos.TaskInfo
		want string
	}{
		{unknownUser, commandTask("user", "true"), "does not exist"},
		{testFramework("fw-root"), commandTask("root", "true"), "-allow-root-tasks"},
		{nobodyFramework("fw-1"), withImage(commandTask("missing", "true"), filepath.Join(tmp, "nope.tar")), "no such file"},
		{nobodyFramework("fw-1"), withImage(commandTask("dotdot", "true"), escape), "'..'"},
		{nobodyFramework("fw-1"), withImage(commandTask("abslink", "true"), abs), "absolute symlink"},
		{nobodyFramework("fw-1"), withMem(commandTask("mem0", "true"), 0), "mem resource of 0 MB"},
	}
	if cases[1].fw.User != "root" {
		cases[1].fw.User = "root"
	}
	for _, c := range cases {
		f.launch(c.fw, c.task)
		st := f.waitState(t, c.task.TaskID.Value, mesos.TaskFailed)
		if !strings.Contains(st.Message, c.want) {
			t.Errorf("%s: message %q, want it to say %q", c.task.TaskID.Value, st.Message, c.want)
		}
	}
	for _, p := range []string{filepath.Join(tmp, "..", "mesh-escaped"), "/etc/mesh-escaped", filepath.Join(cfg.WorkDir, "mesh-escaped")} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("a bad image wrote %s", p)
		}
	}
	// The agent still runs tasks.
	f.launch(nobodyFramework("fw-1"), commandTask("after", "true"))
	f.waitState(t, "after", mesos.TaskFinished)
}

func TestAgentLinux_MonitorStatistics(t *testing.T) {
	f := newFakeServer(t)
	a := startAgent(t, linuxConfig(t, f))
	a.waitRegistered(t)
	f.launch(nobodyFramework("fw-1"), withMem(commandTask("t1", "sleep 30"), 48))
	f.waitState(t, "t1", mesos.TaskRunning)
	code, body := httpGet(t, "http://"+a.Addr()+"/monitor/statistics")
	if code != 200 {
		t.Fatalf("GET /monitor/statistics = %d %s", code, body)
	}
	var stats []StatisticsJSON
	if err := json.Unmarshal(body, &stats); err != nil {
		t.Fatal(err)
	}
	if len(stats) != 1 {
		t.Fatalf("statistics %s", body)
	}
	s := stats[0]
	if s.ExecutorID != "t1" || s.FrameworkID != "fw-1" || s.Source != "t1" || s.Statistics.MemLimitBytes != 48<<20 ||
		s.Statistics.CPUsLimit != 0.2 || s.Statistics.MemRSSBytes == 0 || s.Statistics.Timestamp == 0 {
		t.Errorf("statistics %s", body)
	}
	f.kill("fw-1", "t1")
	f.waitState(t, "t1", mesos.TaskKilled)
}

func TestAgentLinux_RestartKeepsTasksRunning(t *testing.T) {
	f := newFakeServer(t)
	cfg := linuxConfig(t, f)
	cfg.KillTasksOnShutdown = false
	a1 := startAgent(t, cfg)
	a1.waitRegistered(t)
	tasks := []string{"r1", "r2", "r3"}
	for _, tid := range tasks {
		f.launch(nobodyFramework("fw-1"), commandTask(tid, "sleep 4"))
	}
	for _, tid := range tasks {
		f.waitAcked(t, tid, mesos.TaskRunning)
	}
	pids := map[int]bool{}
	for _, e := range a1.State().Frameworks[0].Executors {
		pids[e.Pid] = true
	}
	a1.stop(t)
	// A container the crash left half created.
	half := filepath.Join(cfg.WorkDir, "meta", "containers", "lc", "half-created")
	if err := os.MkdirAll(half, 0o700); err != nil {
		t.Fatal(err)
	}

	a2 := restartAgent(t, cfg, a1)
	st := a2.State()
	if len(st.Frameworks) != 1 || len(st.Frameworks[0].Executors) != 3 {
		t.Fatalf("restarted agent recovered %+v, want 3 executors", st)
	}
	for _, e := range st.Frameworks[0].Executors {
		if !pids[e.Pid] || e.Tasks[0].State != mesos.TaskRunning {
			t.Errorf("executor %s: pid %d, state %s; want one of %v still running", e.ID, e.Pid, e.Tasks[0].State, pids)
		}
	}
	if _, err := os.Stat(half); !os.IsNotExist(err) {
		t.Errorf("half-created container not destroyed: %v", err)
	}
	for _, tid := range tasks {
		f.waitAcked(t, tid, mesos.TaskFinished)
	}
	time.Sleep(500 * time.Millisecond) // let any duplicate arrive
	for _, tid := range tasks {
		n := 0
		for _, d := range f.updatesOf(tid) {
			if d.Status.State.IsTerminal() {
				n++
			}
		}
		if n != 1 {
			t.Errorf("task %s: %d terminal updates reached the server, want exactly 1", tid, n)
		}
	}
}

// A run whose container was being created when the agent died, and which
// the next agent finds half created, never had an executor that
// subscribed, and so never ran a task: under linux isolation the next
// agent launches it again, in its own sandbox, and it runs once.
func TestAgentLinux_RestartLaunchesARunWhoseExecutorNeverSubscribed(t *testing.T) {
	f := newFakeServer(t)
	cfg := linuxConfig(t, f)
	a1 := crashedWithHalfMadeContainer(t, f, cfg)

	restartAgent(t, cfg, a1)
	f.waitAcked(t, "t1", mesos.TaskFinished)
	if runs := timesRan(t, cfg.WorkDir); runs != 1 {
		t.Errorf("the task ran %d times, want once", runs)
	}
	for _, d := range f.updatesOf("t1") {
		if d.Status.State == mesos.TaskFailed {
			t.Errorf("the relaunched task also failed: %+v", d.Status)
		}
	}
}

// crashedWithHalfMadeContainer leaves cfg's work directory as an agent
// that died while it created the container of task t1 (of framework fw-1,
// run as nobody) leaves it: the launch marked as begun, and the
// container's state half written. It returns the stopped agent.
func crashedWithHalfMadeContainer(t *testing.T, f *fakeServer, cfg Config) *testAgent {
	t.Helper()
	a, cid := crashedMidLaunch(t, f, cfg, nobodyFramework("fw-1"))
	if err := os.MkdirAll(filepath.Join(cfg.WorkDir, "meta", "containers", "lc", cid), 0o700); err != nil {
		t.Fatal(err)
	}
	return a
}

// The executor of a launch the agent died in the middle of may have sent
// SUBSCRIBE to the agent's address before the next agent destroyed its
// half-made container; the call waits in the open listener's queue. The
// next agent launches the run again under a new token, so that call is
// refused and the task goes to the new executor: it runs once and is not
// reported lost.
func TestAgentLinux_RelaunchRefusesTheEarlierExecutorsSubscription(t *testing.T) {
	f := newFakeServer(t)
	cfg := linuxConfig(t, f)
	a1 := crashedWithHalfMadeContainer(t, f, cfg)
	var oldToken string
	editRunCheckpoint(t, a1, func(cp *runCheckpoint) { oldToken = cp.Token })
	if oldToken == "" {
		t.Fatal("the run's checkpoint holds no token")
	}

	cfg.HTTPAddr = a1.Addr()
	cfg.KillTasksOnShutdown = true
	stale := make(chan int, 1)
	a2 := startAgentAfter(t, cfg, func(a *Agent) {
		// The relaunch waits for a slot until the stale call is answered.
		for range cap(a.launchSlots) {
			a.launchSlots <- struct{}{}
		}
		go func() { stale <- staleSubscribe(t, a.Addr(), oldToken) }()
	})
	select {
	case code := <-stale:
		if code != http.StatusUnauthorized {
			t.Errorf("the earlier executor's SUBSCRIBE was answered %d, want 401", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the earlier executor's SUBSCRIBE was not answered")
	}
	for range cap(a2.launchSlots) {
		<-a2.launchSlots
	}
	f.waitAcked(t, "t1", mesos.TaskFinished)
	if runs := timesRan(t, cfg.WorkDir); runs != 1 {
		t.Errorf("the task ran %d times, want once", runs)
	}
	for _, d := range f.updatesOf("t1") {
		if d.Status.State != mesos.TaskRunning && d.Status.State != mesos.TaskStarting && d.Status.State != mesos.TaskFinished {
			t.Errorf("the relaunched task was reported %s: %+v", d.Status.State, d.Status)
		}
	}
	var cp runCheckpoint
	if b, err := os.ReadFile(a2.runCheckpointPath("fw-1", "t1")); err == nil {
		// The run may be over, its checkpoint gone; if not, it holds the
		// new token.
		if cp, err = decodeRunCheckpoint(b, "fw-1", "t1"); err != nil || cp.Token == oldToken {
			t.Errorf("the relaunched run's checkpoint keeps the old token (err %v)", err)
		}
	}
}

// staleSubscribe sends the SUBSCRIBE of executor t1 of fw-1 with token to
// the agent at addr and returns the answer's status code.
func staleSubscribe(t *testing.T, addr, token string) int {
	body := `{"type":"SUBSCRIBE","framework_id":{"value":"fw-1"},"executor_id":{"value":"t1"},"subscribe":{}}`
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+"/api/v1/executor", strings.NewReader(body))
	if err != nil {
		return 0
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Logf("stale SUBSCRIBE: %v", err)
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestAgentLinux_PrestartedContainerRunsTaskAndSurvivesRestart(t *testing.T) {
	f := newFakeServer(t)
	cfg := linuxConfig(t, f)
	cfg.KillTasksOnShutdown = false
	cfg.PrestartContainers = 1
	a1 := startAgent(t, cfg)
	a1.waitRegistered(t)
	fw := nobodyFramework("fw-1")
	f.launch(fw, commandTask("p1", "true"))
	f.waitAcked(t, "p1", mesos.TaskFinished)

	// The first launch left a container like it prepared.
	var ready []string
	waitFor(t, 20*time.Second, "a prestarted container in /state", func() bool {
		ready = a1.State().PrestartedContainers
		return len(ready) == 1
	})
	f.launch(fw, commandTask("p2", `echo "sandbox=$MESOS_SANDBOX pwd=$(pwd)"; sleep 3`))
	f.waitAcked(t, "p2", mesos.TaskRunning)
	var dir string
	for _, e := range a1.State().Frameworks[0].Executors {
		if e.ID == "p2" {
			dir = e.Directory
		}
	}
	if filepath.Base(dir) != ready[0] {
		t.Fatalf("task p2 runs in %s, not in the prestarted container %s", dir, ready[0])
	}
	a1.stop(t)

	restartAgent(t, cfg, a1)
	f.waitAcked(t, "p2", mesos.TaskFinished)
	time.Sleep(300 * time.Millisecond) // let any duplicate arrive
	n := 0
	for _, d := range f.updatesOf("p2") {
		if d.Status.State.IsTerminal() {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d terminal updates of p2, want 1", n)
	}
	out, err := os.ReadFile(filepath.Join(dir, "stdout"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "sandbox=" + dir + " pwd=" + dir + "\n"; string(out) != want {
		t.Errorf("task output %q, want %q", out, want)
	}
	// The restarted agent has launched nothing: nothing is prestarted.
	if entries, err := os.ReadDir(filepath.Join(cfg.WorkDir, "prestarted")); err != nil || len(entries) != 0 {
		t.Errorf("prestarted sandboxes left over after the restart: %d, %v", len(entries), err)
	}
}

func TestAgentLinux_FetchesURIsAsTheTaskUser(t *testing.T) {
	f := newFakeServer(t)
	a := startAgent(t, linuxConfig(t, f))
	a.waitRegistered(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/tool" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte("#!/bin/sh\necho tool ran\n"))
	}))
	defer srv.Close()
	_, tarball := rootfstest.Build(t)
	withURI := func(task mesos.TaskInfo) mesos.TaskInfo {
		task.Command.URIs = []mesos.CommandURI{{Value: srv.URL + "/tool", Executable: new(bool)}}
		*task.Command.URIs[0].Executable = true
		return task
	}
	f.launch(nobodyFramework("fw-1"),
		withURI(commandTask("host", `./tool; stat -c %u tool`)),
		withImage(withURI(commandTask("image", `$MESOS_SANDBOX/tool; stat -c %u $MESOS_SANDBOX/tool`)), tarball))
	for _, tid := range []string{"host", "image"} {
		if st := f.waitState(t, tid, mesos.TaskFinished); st.Source != mesos.SourceExecutor {
			t.Errorf("%s: %+v", tid, st)
		}
		out, _ := os.ReadFile(filepath.Join(sandboxOf(t, a, tid), "stdout"))
		if string(out) != "tool ran\n65534\n" {
			t.Errorf("%s: output %q, want the fetched tool's output and its owner, nobody", tid, out)
		}
	}
}

// A task of another user than root runs as the same user as its executor
// on the host's root, yet cannot read the executor's environment (which
// holds its token) or trace it: the executor is not dumpable.
func TestAgentLinux_TaskCannotReadItsExecutorsEnvironment(t *testing.T) {
	f := newFakeServer(t)
	a := startAgent(t, linuxConfig(t, f))
	a.waitRegistered(t)
	f.launch(nobodyFramework("fw-1"), commandTask("t1", `id -un > user; cat /proc/1/environ > env 2> err; cat /proc/1/cmdline > cmd`))
	f.waitState(t, "t1", mesos.TaskFinished)
	dir := sandboxOf(t, a, "t1")
	read := func(name string) string {
		b, _ := os.ReadFile(filepath.Join(dir, name))
		return string(b)
	}
	if u := read("user"); u != "nobody\n" {
		t.Fatalf("the task ran as %q", u)
	}
	if !strings.Contains(read("cmd"), "agent.test") {
		t.Fatalf("/proc/1 is not the executor: %q", read("cmd"))
	}
	if env := read("env"); env != "" || !strings.Contains(read("err"), "Permission denied") {
		t.Errorf("the task read its executor's environment (%d bytes; stderr %q)", len(env), read("err"))
	}
}
