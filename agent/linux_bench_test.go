//go:build linux && cgo

package agent

import (
	"testing"

	"mesh/executor"
	"mesh/mesos"
)

// BenchmarkLinuxLaunch measures LAUNCH → TASK_RUNNING under linux
// isolation on one agent driven by the fake server: the time from the
// fake server queuing the LAUNCH command to it receiving the TASK_RUNNING
// update the agent forwards (the executor has subscribed, started the
// task and reported it). Tasks are `true` with 0.01 cpus and 16 MB.
//
//	go test ./agent/ -run '^$' -bench BenchmarkLinuxLaunch -benchtime 1x -v
func BenchmarkLinuxLaunch(b *testing.B) {
	b.Run("sequential", func(b *testing.B) { benchLaunch(b, linuxBenchConfig, benchN(50), 1) })
	b.Run("20-at-once", func(b *testing.B) { benchLaunch(b, linuxBenchConfig, 100, 20) })
	b.Run("1000-tasks", func(b *testing.B) { benchLaunch(b, linuxBenchConfig, benchN(1000), 1000) })
}

// linuxBenchConfig is the agent and framework of BenchmarkLinuxLaunch:
// linux isolation, tasks of user nobody.
func linuxBenchConfig(b *testing.B, f *fakeServer) (Config, mesos.FrameworkInfo) {
	if iso, why := executor.DefaultIsolation(); iso != executor.IsolationLinux {
		b.Skipf("linux isolation unavailable here (%s)", why)
	}
	return linuxConfig(b, f), nobodyFramework("fw-bench")
}
