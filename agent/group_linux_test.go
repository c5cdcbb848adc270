//go:build linux && cgo

package agent

import (
	"testing"
	"time"

	"mesh/executor"
	"mesh/mesos"
)

// TestGroup_LinuxContainerGrowsWithGroups: under linux isolation the
// default executor's container is limited to the executor's resources
// and its first group's, and a group launched to it later raises the
// limits by its tasks' resources.
func TestGroup_LinuxContainerGrowsWithGroups(t *testing.T) {
	f := newFakeServer(t)
	a := startAgent(t, linuxConfig(t, f))
	a.waitRegistered(t)
	fw := nobodyFramework("fw-1")
	exec := defaultExecutorInfo("pod")
	exec.Container = nil // no volume: this is about limits
	f.launchGroup(fw, exec, commandTask("a", "exec sleep 1000"))
	st := f.waitState(t, "a", mesos.TaskRunning)
	cid := st.ContainerStatus.ContainerID.Value
	stats := a.containerizer.(executor.StatsReporter)
	limit := func() (uint64, float64) {
		s, err := stats.Stats(cid)
		if err != nil {
			t.Fatal(err)
		}
		return s.MemLimitBytes, s.CPUsLimit
	}
	if mem, cpus := limit(); mem != 64<<20 || cpus != 0.2 {
		t.Fatalf("container limits %d bytes, %v cpus; want 64 MB and 0.2 (executor and first group)", mem, cpus)
	}
	f.launchGroup(fw, exec, commandTask("b", "exec sleep 1000"))
	f.waitState(t, "b", mesos.TaskRunning)
	waitFor(t, 10*time.Second, "the container to grow", func() bool {
		mem, cpus := limit()
		return mem == 96<<20 && cpus > 0.29 && cpus < 0.31
	})
	f.kill("fw-1", "a")
	f.waitState(t, "a", mesos.TaskKilled)
	f.kill("fw-1", "b")
	f.waitState(t, "b", mesos.TaskKilled)
}
