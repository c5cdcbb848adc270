package agent

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"mesh/executor"
)

// agentMetrics are one agent's Prometheus metrics, in a registry of its
// own (tests run several agents in one process). Containers' usage and
// the status update queue are read when /metrics is scraped.
type agentMetrics struct {
	reg            *prometheus.Registry
	handler        http.Handler
	launches       prometheus.Counter
	launchFailures prometheus.Counter
	launchTime     prometheus.Histogram
	limitations    *prometheus.CounterVec
	// droppedMessages counts framework messages the agent could not
	// deliver (best effort, as in Mesos).
	droppedMessages prometheus.Counter
}

func newAgentMetrics(a *Agent) *agentMetrics {
	reg := prometheus.NewRegistry()
	m := &agentMetrics{
		reg: reg,
		launches: prometheus.NewCounter(prometheus.CounterOpts{Name: "mesh_agent_task_launches_total",
			Help: "Tasks the server asked this agent to launch."}),
		launchFailures: prometheus.NewCounter(prometheus.CounterOpts{Name: "mesh_agent_task_launch_failures_total",
			Help: "Launches refused before a container was started (invalid task, container that could not be planned)."}),
		launchTime: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "mesh_agent_executor_launch_duration_seconds",
			Help:    "Time from a launch to its executor subscribing, for executors this agent process started.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 12)}),
		limitations: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mesh_agent_container_limitations_total",
			Help: "Containers that ended because they ran into a limit, by resource (mem: killed by the OOM killer)."}, []string{"resource"}),
		droppedMessages: prometheus.NewCounter(prometheus.CounterOpts{Name: "mesh_agent_framework_messages_dropped_total",
			Help: "Framework messages (either way) and executor exits that could not be delivered."}),
	}
	m.limitations.WithLabelValues("mem")
	reg.MustRegister(m.launches, m.launchFailures, m.launchTime, m.limitations, m.droppedMessages, &agentCollector{a: a},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.handler = promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	return m
}

// limitation counts a container that ran into a limit of resource.
func (m *agentMetrics) limitation(resource string) {
	if resource != "mem" {
		resource = "other"
	}
	m.limitations.WithLabelValues(resource).Inc()
}

// executorSubscribed records the launch time of a run this process
// created (launched is zero for a recovered run).
func (m *agentMetrics) executorSubscribed(launched time.Time) {
	if !launched.IsZero() {
		m.launchTime.Observe(time.Since(launched).Seconds())
	}
}

var (
	containerLabels   = []string{"framework_id", "executor_id"}
	descContainers    = prometheus.NewDesc("mesh_agent_containers", "Executor containers this agent runs.", nil, nil)
	descPendingStatus = prometheus.NewDesc("mesh_agent_status_updates_pending",
		"Status updates checkpointed and not yet acknowledged by their framework.", nil, nil)
	descCPUUser = prometheus.NewDesc("mesh_container_cpu_user_seconds_total",
		"CPU time a container spent in user mode.", containerLabels, nil)
	descCPUSystem = prometheus.NewDesc("mesh_container_cpu_system_seconds_total",
		"CPU time a container spent in kernel mode.", containerLabels, nil)
	descCPUThrottled = prometheus.NewDesc("mesh_container_cpu_throttled_seconds_total",
		"Time a container was throttled by its CPU quota.", containerLabels, nil)
	descCPULimit = prometheus.NewDesc("mesh_container_cpu_limit",
		"A container's CPU share, in cpus.", containerLabels, nil)
	descMemRSS = prometheus.NewDesc("mesh_container_memory_rss_bytes",
		"A container's resident memory.", containerLabels, nil)
	descMemLimit = prometheus.NewDesc("mesh_container_memory_limit_bytes",
		"A container's memory limit.", containerLabels, nil)
)

// agentCollector reads the containers and the update queue at scrape
// time. Per-container series exist only while the container runs and
// only under an isolation that can measure it (linux).
type agentCollector struct{ a *Agent }

func (c *agentCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descContainers, descPendingStatus, descCPUUser, descCPUSystem,
		descCPUThrottled, descCPULimit, descMemRSS, descMemLimit} {
		ch <- d
	}
}

func (c *agentCollector) Collect(ch chan<- prometheus.Metric) {
	a := c.a
	ch <- prometheus.MustNewConstMetric(descPendingStatus, prometheus.GaugeValue, float64(a.updates.Pending()))
	ch <- prometheus.MustNewConstMetric(descContainers, prometheus.GaugeValue, float64(len(a.liveRuns())))
	if _, ok := a.containerizer.(executor.StatsReporter); !ok {
		return
	}
	for _, s := range a.Statistics() {
		st, labels := s.Statistics, []string{s.FrameworkID, s.ExecutorID}
		ch <- prometheus.MustNewConstMetric(descCPUUser, prometheus.CounterValue, st.CPUsUserTimeSecs, labels...)
		ch <- prometheus.MustNewConstMetric(descCPUSystem, prometheus.CounterValue, st.CPUsSystemTimeSecs, labels...)
		ch <- prometheus.MustNewConstMetric(descCPUThrottled, prometheus.CounterValue, st.CPUsThrottledSecs, labels...)
		ch <- prometheus.MustNewConstMetric(descMemRSS, prometheus.GaugeValue, float64(st.MemRSSBytes), labels...)
		if st.CPUsLimit > 0 {
			ch <- prometheus.MustNewConstMetric(descCPULimit, prometheus.GaugeValue, st.CPUsLimit, labels...)
		}
		if st.MemLimitBytes > 0 {
			ch <- prometheus.MustNewConstMetric(descMemLimit, prometheus.GaugeValue, float64(st.MemLimitBytes), labels...)
		}
	}
}

// handleMetrics serves GET /metrics in Prometheus' text format.
func (a *Agent) handleMetrics(w http.ResponseWriter, r *http.Request) {
	if onlyGET(w, r) && a.authorizeEndpoint(w, r) {
		a.metrics.handler.ServeHTTP(w, r)
	}
}
