//go:build linux && cgo

package agent

import (
	"testing"
	"time"

	"mesh/executor/rootfstest"
	"mesh/mesos"
)

// TestAgentLinux_MetricsPerContainerAndOOM: a running container's cpu
// and memory series carry its limits and usage, and a container the OOM
// killer ends is counted as a memory limitation.
func TestAgentLinux_MetricsPerContainerAndOOM(t *testing.T) {
	f := newFakeServer(t)
	a := startAgent(t, linuxConfig(t, f))
	a.waitRegistered(t)
	f.launch(nobodyFramework("fw-1"), withMem(commandTask("t1", "sleep 30"), 48))
	f.waitState(t, "t1", mesos.TaskRunning)
	m := scrapeMetrics(t, a.Addr())
	c := []string{"framework_id", "fw-1", "executor_id", "t1"}
	expectMetric(t, m, 48<<20, "mesh_container_memory_limit_bytes", c...)
	expectMetric(t, m, 0.2, "mesh_container_cpu_limit", c...)
	for _, name := range []string{"mesh_container_memory_rss_bytes", "mesh_container_cpu_user_seconds_total",
		"mesh_container_cpu_system_seconds_total", "mesh_container_cpu_throttled_seconds_total"} {
		if _, ok := metricValue(m, name, c...); !ok {
			t.Errorf("%s%v is missing", name, c)
		}
	}
	if v, _ := metricValue(m, "mesh_container_memory_rss_bytes", c...); v <= 0 {
		t.Errorf("mesh_container_memory_rss_bytes = %v, want > 0", v)
	}
	expectMetric(t, m, 0, "mesh_agent_container_limitations_total", "resource", "mem")

	_, tarball := rootfstest.Build(t)
	f.launch(nobodyFramework("fw-1"), withMem(withImage(commandTask("oom", "dd if=/dev/zero of=/dev/null bs=300M count=1"), tarball), 64))
	f.waitState(t, "oom", mesos.TaskFailed)
	// The container is counted once it is cleaned up, which may follow
	// the update.
	waitFor(t, 20*time.Second, "the OOM to be counted", func() bool {
		v, _ := metricValue(scrapeMetrics(t, a.Addr()), "mesh_agent_container_limitations_total", "resource", "mem")
		return v == 1
	})
	f.kill("fw-1", "t1")
	f.waitState(t, "t1", mesos.TaskKilled)
}
