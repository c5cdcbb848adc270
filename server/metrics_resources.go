package server

import (
	"github.com/prometheus/client_golang/prometheus"

	"mesh/fsm"
	"mesh/mesos"
)

// scalarKinds are the scalar resources with metrics of their own, in
// Prometheus' base units (Mesos counts mem and disk in MB).
var scalarKinds = []struct {
	name, unit string
	scale      float64
}{
	{"cpus", "cpus", 1},
	{"mem", "memory_bytes", 1 << 20},
	{"disk", "disk_bytes", 1 << 20},
	{"gpus", "gpus", 1},
}

// resourceMetrics are the per-resource metrics: what the cluster has,
// what live tasks hold and what has been offered, by role.
type resourceMetrics struct {
	offered   []*prometheus.CounterVec // by scalarKinds index
	total     []*prometheus.Desc
	allocated []*prometheus.Desc
}

func newResourceMetrics(f factory) resourceMetrics {
	var m resourceMetrics
	for _, k := range scalarKinds {
		m.offered = append(m.offered, f.counterVec(prometheus.CounterOpts{Name: "mesh_offered_" + k.unit + "_total",
			Help: "Resources offered to frameworks (" + k.name + "), by the role they were offered to."}, "role"))
		m.total = append(m.total, prometheus.NewDesc("mesh_cluster_"+k.unit,
			"Resources of the active agents ("+k.name+").", nil, nil))
		m.allocated = append(m.allocated, prometheus.NewDesc("mesh_allocated_"+k.unit,
			"Resources live tasks and their executors hold ("+k.name+"), by role.", []string{"role"}, nil))
	}
	return m
}

// countOffer counts the resources of a committed offer.
func (m *resourceMetrics) countOffer(o *fsm.Offer) {
	for i, k := range scalarKinds {
		if v := o.Resources.Scalar(k.name); v > 0 {
			m.offered[i].WithLabelValues(o.Role).Add(v * k.scale)
		}
	}
}

func (m *resourceMetrics) describe(ch chan<- *prometheus.Desc) {
	for i := range scalarKinds {
		ch <- m.total[i]
		ch <- m.allocated[i]
	}
}

// collect reports the cluster's and the roles' resources from one read
// of the state, counting a custom executor's resources once per agent.
func (m *resourceMetrics) collect(ch chan<- prometheus.Metric, st *fsm.State) {
	// The lists are summed once each (mesos.Sum): adding task by task
	// copied the sum every time, which made a scrape at 100,000 tasks
	// twice as long (BenchmarkResourceMetrics_Collect).
	var agents [][]mesos.Resource
	for _, a := range st.Agents() {
		if a.State == fsm.AgentActive {
			agents = append(agents, a.Info.Resources)
		}
	}
	total := mesos.Sum(agents...)
	lists := map[string][][]mesos.Resource{}
	for _, t := range st.Tasks() {
		if taskLive(t) {
			lists[t.Role] = append(lists[t.Role], t.Info.Resources)
		}
	}
	for _, e := range st.Executors() {
		lists[e.Role] = append(lists[e.Role], e.Info.Resources)
	}
	byRole := sumEach(lists)
	for i, k := range scalarKinds {
		ch <- prometheus.MustNewConstMetric(m.total[i], prometheus.GaugeValue, total.Scalar(k.name)*k.scale)
		for role, res := range byRole {
			ch <- prometheus.MustNewConstMetric(m.allocated[i], prometheus.GaugeValue, res.Scalar(k.name)*k.scale, role)
		}
	}
}
