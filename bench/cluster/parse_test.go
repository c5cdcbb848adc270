package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"mesh/mesos"
	"mesh/mesos/agentapi"
	"mesh/procstat"
)

func TestParseStatusBytes_ReadsKilobytes(t *testing.T) {
	status := "Name:\tmesh\nVmPeak:\t  99 kB\nVmHWM:\t   4096 kB\nVmRSS:\t   2048 kB\nRssAnon:\t 1536 kB\nRssFile:\t  512 kB\nThreads:\t9\n"
	for field, want := range map[string]int64{"VmRSS": 2048 << 10, "RssFile": 512 << 10, "VmHWM": 4096 << 10} {
		if got, err := parseStatusBytes(status, field); err != nil || got != want {
			t.Fatalf("parseStatusBytes(%s) = %d, %v; want %d", field, got, err, want)
		}
	}
	for _, bad := range []string{"", "VmRSS:\t12 MB\n", "VmRSS:\tx kB\n", "VmRSS:\t-1 kB\n", "VmRSSx:\t1 kB\n"} {
		if _, err := parseStatusBytes(bad, "VmRSS"); err == nil {
			t.Errorf("parseStatusBytes(%q) accepted it", bad)
		}
	}
}

// TestReadProcMemory_OfThisProcess: the test's own process has an RSS,
// a peak no lower than it, and file-backed pages no more than it.
func TestReadProcMemory_OfThisProcess(t *testing.T) {
	m, err := readProcMemory(os.Getpid())
	if err != nil {
		t.Skipf("no /proc here: %v", err)
	}
	if m.RSS <= 0 || m.Peak < m.RSS || m.File < 0 || m.File > m.RSS {
		t.Fatalf("memory of this process: %+v", m)
	}
}

func FuzzParseStatusBytes(f *testing.F) {
	f.Add("VmRSS:\t   2048 kB\n")
	f.Add("VmRSS:\t99999999999999999999 kB\n")
	f.Add("VmRSS: kB")
	f.Fuzz(func(t *testing.T, s string) {
		if n, err := parseStatusBytes(s, "VmRSS"); err == nil && n < 0 {
			t.Fatalf("parseStatusBytes(%q) = %d", s, n)
		}
	})
}

func TestFit_PacksWhatFits(t *testing.T) {
	task := mesos.Resources{mesos.ScalarResource("cpus", 0.01), mesos.ScalarResource("mem", 1)}
	offer := mesos.Resources{mesos.ScalarResource("cpus", 0.12), mesos.ScalarResource("mem", 7)}
	if n := fit(offer, task); n != 7 {
		t.Fatalf("fit = %d, want 7 (mem bound)", n)
	}
	if n := fit(mesos.Resources{mesos.ScalarResource("cpus", 1)}, task); n != 0 {
		t.Fatalf("fit without mem = %d, want 0", n)
	}
}

// newTestAgent returns one simulated agent that talks to no server.
func newTestAgent() *simAgent {
	s := newSimulator([]string{"127.0.0.1:1"}, 1, 1, nil, hclog.NewNullLogger())
	return s.agents[0]
}

func record(t testing.TB, ev agentapi.Event) []byte {
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSimAgent_UpdatesWaitForAcknowledgement(t *testing.T) {
	a := newTestAgent()
	a.leader = "127.0.0.1:1"
	fid := mesos.FrameworkID{Value: "f1"}
	launch := agentapi.Event{Type: agentapi.EventLaunch, Term: 2, Launch: &agentapi.Launch{
		FrameworkInfo: mesos.FrameworkInfo{ID: &fid}, Tasks: []mesos.TaskInfo{{TaskID: mesos.TaskID{Value: "t1"}}}}}
	for i := 0; i < 2; i++ { // the second launch is a duplicate
		if _, done, err := a.handleRecord(context.Background(), "x", record(t, launch), true); done || err != nil {
			t.Fatalf("launch: done %v, %v", done, err)
		}
	}
	if got := a.sim.stats.dupLaunches.Load(); got != 1 {
		t.Fatalf("duplicate launches = %d, want 1", got)
	}
	_, batch := a.nextBatch()
	if len(batch) != 1 || batch[0].Status.State != mesos.TaskStarting {
		t.Fatalf("first batch = %+v, want TASK_STARTING alone", batch)
	}
	if _, again := a.nextBatch(); len(again) != 0 {
		t.Fatalf("sent %+v before the acknowledgement", again)
	}
	ack := agentapi.Event{Type: agentapi.EventAcknowledge, Term: 2, Acknowledge: &agentapi.Acknowledge{
		FrameworkID: fid, TaskID: mesos.TaskID{Value: "t1"}, UUID: batch[0].Status.UUID}}
	if _, _, err := a.handleRecord(context.Background(), "x", record(t, ack), true); err != nil {
		t.Fatal(err)
	}
	if _, next := a.nextBatch(); len(next) != 1 || next[0].Status.State != mesos.TaskRunning {
		t.Fatalf("after the acknowledgement sent %+v, want TASK_RUNNING", next)
	}
	stale := agentapi.Event{Type: agentapi.EventKill, Term: 1, Kill: &agentapi.Kill{FrameworkID: fid, TaskID: mesos.TaskID{Value: "t1"}}}
	if _, _, err := a.handleRecord(context.Background(), "x", record(t, stale), true); err != nil {
		t.Fatal(err)
	}
	if n := len(a.tasks["f1/t1"].pending); n != 1 {
		t.Fatalf("a KILL of an older term was obeyed: %d pending updates", n)
	}
}

// FuzzSimAgentRecord feeds the simulated agent's stream decoder arbitrary
// records: it must never panic, and a record that is not JSON ends the
// stream with an error.
func FuzzSimAgentRecord(f *testing.F) {
	fid := mesos.FrameworkID{Value: "f1"}
	for _, ev := range []agentapi.Event{
		{Type: agentapi.EventRegistered, Term: 1, Registered: &agentapi.Registered{AgentID: mesos.AgentID{Value: "a1"}, HeartbeatIntervalSeconds: 15}},
		{Type: agentapi.EventLaunch, Term: 1, Launch: &agentapi.Launch{FrameworkInfo: mesos.FrameworkInfo{ID: &fid},
			Tasks: []mesos.TaskInfo{{TaskID: mesos.TaskID{Value: "t1"}}}}},
		{Type: agentapi.EventKill, Term: 1, Kill: &agentapi.Kill{FrameworkID: fid, TaskID: mesos.TaskID{Value: "t1"}}},
		{Type: agentapi.EventAcknowledge, Acknowledge: &agentapi.Acknowledge{FrameworkID: fid, TaskID: mesos.TaskID{Value: "t1"}}},
		{Type: agentapi.EventShutdownFramework, ShutdownFramework: &agentapi.ShutdownFramework{FrameworkID: fid}},
		{Type: agentapi.EventError, Error: &agentapi.Error{Message: "no"}},
		{Type: agentapi.EventRegistered},
	} {
		b, _ := json.Marshal(ev)
		f.Add(b)
	}
	f.Add([]byte("not json"))
	f.Add([]byte(`{"type":"LAUNCH","launch":{"framework_info":{"user":"u","name":"n"}}}`))
	f.Fuzz(func(t *testing.T, rec []byte) {
		a := newTestAgent()
		_, done, err := a.handleRecord(context.Background(), "x", rec, true)
		if !json.Valid(rec) && (err == nil || !done) {
			t.Fatalf("invalid JSON %q: done %v, err %v", rec, done, err)
		}
	})
}

func TestParseHeapAlloc_ReadsBytes(t *testing.T) {
	got, err := parseHeapAlloc("heap profile: 1: 2 [3: 4] @ heap/1048576\n\n# runtime.MemStats\n# Alloc = 10\n# HeapAlloc = 123456\n# Sys = 9\n")
	if err != nil || got != 123456 {
		t.Fatalf("parseHeapAlloc = %d, %v; want 123456", got, err)
	}
	for _, bad := range []string{"", "# HeapAlloc = x\n", "# HeapAlloc = -5\n", "HeapAlloc = 5\n"} {
		if _, err := parseHeapAlloc(bad); err == nil {
			t.Errorf("parseHeapAlloc(%q) accepted it", bad)
		}
	}
}

func FuzzParseHeapAlloc(f *testing.F) {
	f.Add("# HeapAlloc = 123456\n")
	f.Add("# HeapAlloc = 99999999999999999999\n")
	f.Add("# HeapAlloc = ")
	f.Fuzz(func(t *testing.T, s string) {
		if n, err := parseHeapAlloc(s); err == nil && n < 0 {
			t.Fatalf("parseHeapAlloc(%q) = %d", s, n)
		}
	})
}

func TestParseGoroutineTotal_ReadsTheCount(t *testing.T) {
	got, err := parseGoroutineTotal("goroutine profile: total 1277\n")
	if err != nil || got != 1277 {
		t.Fatalf("parseGoroutineTotal = %d, %v; want 1277", got, err)
	}
	for _, bad := range []string{"", "goroutine profile: total x", "goroutine profile: total -3", "total 5"} {
		if _, err := parseGoroutineTotal(bad); err == nil {
			t.Errorf("parseGoroutineTotal(%q) accepted it", bad)
		}
	}
}

func FuzzParseGoroutineTotal(f *testing.F) {
	f.Add("goroutine profile: total 1277\n")
	f.Add("goroutine profile: total ")
	f.Fuzz(func(t *testing.T, s string) {
		if n, err := parseGoroutineTotal(s); err == nil && n < 0 {
			t.Fatalf("parseGoroutineTotal(%q) = %d", s, n)
		}
	})
}

// TestProfileCPU_WritesAProfile: -cpuprofile leaves a profile, and names the flag when the file cannot be made.
func TestProfileCPU_WritesAProfile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bench.cpu")
	stop, err := profileCPU(path)
	if err != nil {
		t.Fatal(err)
	}
	stop()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b { // a profile is gzipped
		t.Fatalf("the profile is not a gzipped profile: %d bytes", len(b))
	}
	if _, err := profileCPU(filepath.Join(t.TempDir(), "missing", "bench.cpu")); err == nil || !strings.Contains(err.Error(), "-cpuprofile") {
		t.Fatalf("a profile in a missing directory: %v, want an error naming -cpuprofile", err)
	}
}

// TestEstablishedAfter_ReadsTheLogsClock: the first "established
// leadership" line at or after t0 gives its own timestamp; lines before t0
// and lines without a timestamp are passed over.
func TestEstablishedAfter_ReadsTheLogsClock(t *testing.T) {
	s := &server{logPath: filepath.Join(t.TempDir(), "server.log")}
	log := strings.Join([]string{
		"2026-12-06T22:08:27.035Z [INFO]  mesh.server: established leadership: term=2 took=8.9ms",
		"garbled established leadership",
		"2026-12-06T22:08:33.330Z [INFO]  mesh.server: the leader's process is gone",
		"2026-12-06T22:08:33.400Z [INFO]  mesh.server: established leadership: term=3 took=49ms",
		"2026-12-06T22:09:00.000Z [INFO]  mesh.server: established leadership: term=4 took=9ms",
	}, "\n") + "\n"
	if err := os.WriteFile(s.logPath, []byte(log), 0o644); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 12, 6, 22, 8, 33, 266e6, time.UTC)
	at, ok := s.establishedAfter(t0)
	if want := t0.Add(134 * time.Millisecond); !ok || !at.Equal(want) {
		t.Fatalf("establishedAfter = %v, %v; want %v", at, ok, want)
	}
	if _, ok := s.establishedAfter(t0.Add(time.Hour)); ok {
		t.Fatal("found a leadership established before t0")
	}
}

func FuzzLogTime(f *testing.F) {
	f.Add("2026-12-06T22:08:33.400Z [INFO]  mesh.server: established leadership")
	f.Add("2026-12-06T22:08:33.400+0100 x")
	f.Add("")
	f.Fuzz(func(t *testing.T, line string) {
		at, ok := logTime(line)
		if !ok {
			return
		}
		if back, ok := logTime(at.Format(logTimeLayout)); !ok || !back.Equal(at) {
			t.Fatalf("logTime(%q) = %v, which does not read back (%v, %v)", line, at, back, ok)
		}
	})
}

func TestParseProcStatCPU_AddsUserAndSystemTime(t *testing.T) {
	// A command name with a space and a parenthesis, as /proc shows it.
	stat := "4242 (mesh (x) y) S 1 4242 4242 0 -1 4194560 2300 0 0 0 250 130 0 0 20 0 9 0 12345 0 0"
	got, err := parseProcStatCPU(stat)
	if err != nil || got != 3800*time.Millisecond {
		t.Fatalf("parseProcStatCPU = %v, %v; want 3.8s", got, err)
	}
	for _, bad := range []string{"", "4242 mesh S 1", "4242 (mesh) S 1 2 3", "4242 (mesh) S 1 4242 4242 0 -1 4194560 2300 0 0 0 x 130",
		"4242 (mesh) S 1 4242 4242 0 -1 4194560 2300 0 0 0 -5 130"} {
		if _, err := parseProcStatCPU(bad); err == nil {
			t.Errorf("parseProcStatCPU(%q) accepted it", bad)
		}
	}
}

func TestCPUMeter_CountsThisProcess(t *testing.T) {
	m := startCPUMeter(0)
	deadline := time.Now().Add(5 * time.Second)
	for m.used()[0] < 0.05 && time.Now().Before(deadline) {
		for i := 0; i < 1e6; i++ {
			_ = strings.Repeat("x", i%7)
		}
	}
	if got := m.used()[0]; got < 0.05 {
		t.Fatalf("cpu used = %v s after spinning, want at least 0.05", got)
	}
	if got := startCPUMeter(-1).used()[0]; got != -1 {
		t.Fatalf("cpu used by a process that cannot be read = %v, want -1", got)
	}
}

func FuzzParseProcStatCPU(f *testing.F) {
	f.Add("4242 (mesh) S 1 4242 4242 0 -1 4194560 2300 0 0 0 250 130 0 0 20 0 9 0")
	f.Add("1 ()) R 0 0 0 0 0 0 0 0 0 0 99999999999999999999 1")
	f.Fuzz(func(t *testing.T, s string) {
		if d, err := parseProcStatCPU(s); err == nil && d < 0 {
			t.Fatalf("parseProcStatCPU(%q) = %v", s, d)
		}
	})
}

// parseProcStatCPU reads utime and stime, the 14th and 15th fields, from
// a /proc/<pid>/stat line, as cpuTime does from a process's.
func parseProcStatCPU(stat string) (time.Duration, error) {
	f, err := procstat.Fields([]byte(stat))
	if err != nil {
		return 0, err
	}
	return cpuOfFields(f)
}

// TestParseFlags_EndAfter: -end-after takes a duration and refuses a
// negative one, saying so.
func TestParseFlags_EndAfter(t *testing.T) {
	cfg, _, err := parseFlags([]string{"-mesh", os.Args[0], "-end-after", "40s"})
	if err != nil || cfg.EndAfter != 40*time.Second {
		t.Fatalf("-end-after 40s: %v, %v", cfg.EndAfter, err)
	}
	if _, _, err := parseFlags([]string{"-mesh", os.Args[0], "-end-after", "-1s"}); err == nil || !strings.Contains(err.Error(), "-end-after must not be negative") {
		t.Fatalf("-end-after -1s: %v", err)
	}
}

// TestParseFlags_FailoverProfile: the failover's profile is taken, and
// refused beside the whole run's profile (one cpu profile at a time) or
// without a leader's kill.
func TestParseFlags_FailoverProfile(t *testing.T) {
	cfg, _, err := parseFlags([]string{"-mesh", os.Args[0], "-failover-cpuprofile", "fo.cpu"})
	if err != nil || cfg.FailoverProfile != "fo.cpu" {
		t.Fatalf("-failover-cpuprofile fo.cpu: %q, %v", cfg.FailoverProfile, err)
	}
	for _, args := range [][]string{
		{"-cpuprofile", "all.cpu", "-failover-cpuprofile", "fo.cpu"},
		{"-kill-leader=false", "-failover-cpuprofile", "fo.cpu"},
	} {
		if _, _, err := parseFlags(append([]string{"-mesh", os.Args[0]}, args...)); err == nil || !strings.Contains(err.Error(), "-failover-cpuprofile") {
			t.Fatalf("%q: %v", args, err)
		}
	}
}

// TestParseFlags_Churn: a churn takes a duration, and is refused when it
// is negative, when tasks never finish (nothing to replace) or beside a
// leader's kill.
func TestParseFlags_Churn(t *testing.T) {
	cfg, _, err := parseFlags([]string{"-mesh", os.Args[0], "-churn", "4m", "-task-duration", "1m", "-kill-leader=false"})
	if err != nil || cfg.Churn != 4*time.Minute {
		t.Fatalf("-churn 4m: %v, %v", cfg.Churn, err)
	}
	for args, want := range map[string]string{
		"-churn -1s -task-duration 1m -kill-leader=false": "-churn -1s: must not be negative",
		"-churn 4m -kill-leader=false":                    "-churn 4m0s: needs -task-duration",
		"-churn 4m -task-duration 1m":                     "-kill-leader=false",
	} {
		if _, _, err := parseFlags(append([]string{"-mesh", os.Args[0]}, strings.Fields(args)...)); err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("%s: %v, want %q", args, err, want)
		}
	}
}

// TestFreePorts_AllDifferent: the ports for a cluster's servers are all
// different, each held until every one is chosen.
func TestFreePorts_AllDifferent(t *testing.T) {
	addrs, err := freePorts(200)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, a := range addrs {
		if seen[a] {
			t.Fatalf("port %s given twice", a)
		}
		seen[a] = true
	}
}

// TestWaitUp_AServerThatExitsEndsTheWait: a server that exits as the
// cluster starts ends the wait at once, with what its log says last.
func TestWaitUp_AServerThatExitsEndsTheWait(t *testing.T) {
	dir := t.TempDir()
	s := &server{name: "server2", logPath: filepath.Join(dir, "server2.log")}
	if err := s.start("/bin/sh", []string{"-c", "echo 'mesh: -raft-addr 127.0.0.1:1: bind: address already in use'; exit 1"}); err != nil {
		t.Fatal(err)
	}
	c := &cluster{servers: []*server{s}, http: &http.Client{Timeout: time.Second}}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := c.waitUp(ctx)
	if err == nil || !strings.Contains(err.Error(), "server2 exited as the cluster started: mesh: -raft-addr 127.0.0.1:1: bind: address already in use") {
		t.Fatalf("waitUp: %v", err)
	}
}

func TestParseGCPercent_ReadsTheTarget(t *testing.T) {
	text := "# HELP go_gc_gogc_percent Heap size target percentage.\n# TYPE go_gc_gogc_percent gauge\ngo_gc_gogc_percent 25\ngo_goroutines 9\n"
	if n, err := parseGCPercent(text); err != nil || n != 25 {
		t.Fatalf("parseGCPercent: %d, %v; want 25", n, err)
	}
	for _, bad := range []string{"", "go_gc_gogc_percent\n", "go_gc_gogc_percent x\n", "go_gc_gogc_percent -1\n", "go_gc_gogc_percent NaN\n"} {
		if n, err := parseGCPercent(bad); err == nil {
			t.Fatalf("parseGCPercent(%q) = %d, want an error", bad, n)
		}
	}
}

func FuzzParseGCPercent(f *testing.F) {
	f.Add("go_gc_gogc_percent 100\n")
	f.Add("go_gc_gogc_percent 1e3\n")
	f.Fuzz(func(t *testing.T, text string) {
		if n, err := parseGCPercent(text); err == nil && n < 0 {
			t.Fatalf("parseGCPercent(%q) = %d", text, n)
		}
	})
}
