package agent

import (
	"net/http"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"mesh/mesos"
)

// scrapeMetrics reads the agent's /metrics with Prometheus' text parser.
func scrapeMetrics(t testing.TB, addr string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET /metrics: %d", resp.StatusCode)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("GET /metrics does not parse: %v", err)
	}
	return fams
}

// metricValue is the value of name{labels} (a histogram's sample
// count); ok is false when the series is absent.
func metricValue(fams map[string]*dto.MetricFamily, name string, labels ...string) (v float64, ok bool) {
	fam := fams[name]
	if fam == nil {
		return 0, false
	}
	for _, m := range fam.GetMetric() {
		got := map[string]string{}
		for _, l := range m.GetLabel() {
			got[l.GetName()] = l.GetValue()
		}
		match := len(got) == len(labels)/2
		for i := 0; i+1 < len(labels); i += 2 {
			match = match && got[labels[i]] == labels[i+1]
		}
		if match {
			return m.GetCounter().GetValue() + m.GetGauge().GetValue() + float64(m.GetHistogram().GetSampleCount()), true
		}
	}
	return 0, false
}

// expectMetric checks that name{labels} is present with value want.
func expectMetric(t testing.TB, fams map[string]*dto.MetricFamily, want float64, name string, labels ...string) {
	t.Helper()
	got, ok := metricValue(fams, name, labels...)
	switch {
	case !ok:
		t.Errorf("%s%v is missing", name, labels)
	case got != want:
		t.Errorf("%s%v = %v, want %v", name, labels, got, want)
	}
}

// TestAgent_MetricsCountLaunchesAndPendingUpdates: launches, refused
// launches, running containers, executor launch times and the updates
// awaiting acknowledgement are what the agent did and holds.
func TestAgent_MetricsCountLaunchesAndPendingUpdates(t *testing.T) {
	f := newFakeServer(t)
	a := startAgent(t, testConfig(t, f))
	a.waitRegistered(t)
	m := scrapeMetrics(t, a.Addr())
	expectMetric(t, m, 0, "mesh_agent_task_launches_total")
	expectMetric(t, m, 0, "mesh_agent_containers")
	expectMetric(t, m, 0, "mesh_agent_status_updates_pending")

	f.setWithhold(mesos.TaskRunning, -1)
	f.launch(testFramework("fw-1"), commandTask("t1", "sleep 100"))
	f.waitState(t, "t1", mesos.TaskRunning)
	// The duplicate is refused; its TASK_FAILED queues behind the
	// unacknowledged TASK_RUNNING in the task's stream.
	f.launch(testFramework("fw-1"), commandTask("t1", "echo again"))
	waitFor(t, 20*time.Second, "the refused launch to be counted", func() bool {
		m = scrapeMetrics(t, a.Addr())
		v, _ := metricValue(m, "mesh_agent_status_updates_pending")
		return v == 2
	})
	expectMetric(t, m, 2, "mesh_agent_task_launches_total")
	expectMetric(t, m, 1, "mesh_agent_task_launch_failures_total")
	expectMetric(t, m, 1, "mesh_agent_containers")
	expectMetric(t, m, 1, "mesh_agent_executor_launch_duration_seconds")
	// Under posix isolation nothing measures the container.
	if _, ok := m["mesh_container_memory_rss_bytes"]; ok {
		t.Error("per-container memory reported without a way to measure it")
	}

	f.setWithhold(mesos.TaskRunning, 0)
	waitFor(t, 20*time.Second, "the updates to be acknowledged", func() bool {
		v, _ := metricValue(scrapeMetrics(t, a.Addr()), "mesh_agent_status_updates_pending")
		return v == 0
	})
	f.kill("fw-1", "t1")
	f.waitAcked(t, "t1", mesos.TaskKilled)
	waitFor(t, 20*time.Second, "the container to end", func() bool {
		v, _ := metricValue(scrapeMetrics(t, a.Addr()), "mesh_agent_containers")
		return v == 0
	})
}
