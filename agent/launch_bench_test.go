package agent

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"testing"
	"time"

	"mesh/executor"
	"mesh/mesos"
)

// BenchmarkPosixLaunch is BenchmarkLinuxLaunch under posix isolation
// (no root needed): the same measure of LAUNCH → TASK_RUNNING, tasks of
// the agent's own user.
//
//	go test ./agent/ -run '^$' -bench 'BenchmarkPosixLaunch/20-at-once' -benchtime 1x -v
func BenchmarkPosixLaunch(b *testing.B) {
	b.Run("sequential", func(b *testing.B) { benchLaunch(b, posixBenchConfig, benchN(50), 1) })
	b.Run("20-at-once", func(b *testing.B) { benchLaunch(b, posixBenchConfig, 100, 20) })
}

// posixBenchConfig is the agent and framework of BenchmarkPosixLaunch.
func posixBenchConfig(b *testing.B, f *fakeServer) (Config, mesos.FrameworkInfo) {
	cfg := testConfig(b, f)
	cfg.Isolation = executor.IsolationPosix
	return cfg, testFramework("fw-bench")
}

// benchLaunch launches n tasks in waves of `wave` tasks (one LAUNCH per
// task, a wave sent back to back) and reports latency percentiles and
// the total time.
func benchLaunch(b *testing.B, setup func(*testing.B, *fakeServer) (Config, mesos.FrameworkInfo), n, wave int) {
	for i := 0; i < b.N; i++ {
		f := newFakeServer(b)
		cfg, fw := setup(b, f)
		if os.Getenv("MESH_BENCH_LOG") == "" {
			cfg.Logger = nil
		}
		cfg.StatusRetryInterval = 10 * time.Second
		if v, err := strconv.Atoi(os.Getenv("MESH_BENCH_PRESTART")); err == nil {
			cfg.PrestartContainers = v
		}
		a := startBenchAgent(b, cfg)
		a.waitRegistered(b)
		var lat []time.Duration
		start := time.Now()
		for w := 0; w < n; w += wave {
			if gap := benchGap(); gap > 0 && w > 0 {
				time.Sleep(gap)
			}
			sent := map[string]time.Time{}
			var ids []string
			for j := w; j < w+wave && j < n; j++ {
				id := fmt.Sprintf("t%d-%d", i, j)
				task := mesos.TaskInfo{
					Name: id, TaskID: mesos.TaskID{Value: id}, AgentID: mesos.AgentID{Value: "a"},
					Resources: []mesos.Resource{mesos.ScalarResource("cpus", benchCPUs()), mesos.ScalarResource("mem", 16)},
					Command:   &mesos.CommandInfo{Value: benchCmd()},
				}
				sent[id] = time.Now()
				f.launch(fw, task)
				ids = append(ids, id)
			}
			for _, id := range ids {
				var at time.Time
				var failed string
				waitFor(b, 15*time.Minute, "TASK_RUNNING of "+id, func() bool {
					for _, d := range f.updatesOf(id) {
						if d.Status.State == mesos.TaskRunning {
							at = d.At
							return true
						}
						if d.Status.State.IsTerminal() && d.Status.State != mesos.TaskFinished {
							failed = fmt.Sprintf("task %s: %s %s", id, d.Status.State, d.Status.Message)
							return true
						}
					}
					return false
				})
				if failed != "" {
					b.Fatal(failed)
				}
				lat = append(lat, at.Sub(sent[id]))
				if len(lat)%100 == 0 {
					b.Logf("%d tasks running after %v", len(lat), time.Since(start))
				}
			}
		}
		total := time.Since(start)
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		pct := func(p float64) time.Duration { return lat[int(p*float64(len(lat)-1))] }
		b.ReportMetric(float64(pct(0.5).Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(pct(0.9).Microseconds())/1000, "p90-ms")
		b.ReportMetric(total.Seconds(), "total-s")
		b.Logf("%d tasks, waves of %d: p50 %v p90 %v max %v total %v (%.1f tasks/s)", n, wave, pct(0.5), pct(0.9), lat[len(lat)-1], total, float64(n)/total.Seconds())
		a.stop(b)
	}
}

// startBenchAgent starts the benchmark's agent. MESH_BENCH_SYNC_DELAY (a
// duration) makes every run checkpoint write and status update sync take
// that much longer, as on a disk whose fsync is slower than this
// machine's (~1 ms): it shows what launches wait for while checkpoints
// are written.
func startBenchAgent(b *testing.B, cfg Config) *testAgent {
	d, _ := time.ParseDuration(os.Getenv("MESH_BENCH_SYNC_DELAY"))
	if d <= 0 {
		return startAgent(b, cfg)
	}
	a, err := New(cfg)
	if err != nil {
		b.Fatalf("new agent: %v", err)
	}
	a.testBeforeCheckpoint = func(string) { time.Sleep(d) }
	return runAgent(b, a)
}

// benchN lets MESH_BENCH_N shrink a run while investigating.
func benchN(n int) int {
	if v, err := strconv.Atoi(os.Getenv("MESH_BENCH_N")); err == nil && v > 0 {
		return v
	}
	return n
}

// benchGap is a pause between waves (MESH_BENCH_GAP, a duration).
func benchGap() time.Duration {
	d, _ := time.ParseDuration(os.Getenv("MESH_BENCH_GAP"))
	return d
}

// benchCPUs is each task's cpus (MESH_BENCH_CPUS, default 0.1).
func benchCPUs() float64 {
	if v, err := strconv.ParseFloat(os.Getenv("MESH_BENCH_CPUS"), 64); err == nil && v > 0 {
		return v
	}
	return 0.1
}

// benchCmd is the tasks' command (MESH_BENCH_CMD, default `true`; e.g.
// `sleep 600` for tasks that stay running).
func benchCmd() string {
	if v := os.Getenv("MESH_BENCH_CMD"); v != "" {
		return v
	}
	return "true"
}
