package server

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"mesh/fsm"
	"mesh/mesos/scheduler"
)

// serverMetrics are one server's Prometheus metrics. Each server has a
// registry of its own, so that servers sharing a process (the in-process
// test clusters) do not collide. Only counters and histograms are kept
// up to date on the hot paths; the state's gauges are computed when
// /metrics is scraped (clusterCollector).
type serverMetrics struct {
	reg *prometheus.Registry

	leaderChanges prometheus.Counter
	raftCommit    prometheus.Histogram
	// fsmApply holds one observer per command type, resolved once.
	fsmApply     map[fsm.MessageType]prometheus.Observer
	fsmApplyMisc prometheus.Observer

	httpRequests   *prometheus.CounterVec
	httpDuration   *prometheus.HistogramVec
	schedulerCalls *prometheus.CounterVec
	streams        *prometheus.GaugeVec

	offersMade      prometheus.Counter
	offersDeclined  prometheus.Counter
	offersRescinded prometheus.Counter
	// droppedMessages counts framework messages that could not be
	// delivered, by direction (as Mesos' invalid_*_messages).
	droppedMessages *prometheus.CounterVec
	allocPass       prometheus.Histogram
	res             resourceMetrics

	handler http.Handler
}

// fsmTypeNames names each command type for the fsm apply histogram.
var fsmTypeNames = map[fsm.MessageType]string{
	fsm.ClusterInitRequestType:         "cluster_init",
	fsm.ServerAnnounceRequestType:      "server_announce",
	fsm.FrameworkRegisterRequestType:   "framework_register",
	fsm.FrameworkDisconnectRequestType: "framework_disconnect",
	fsm.FrameworkRemoveRequestType:     "framework_remove",
	fsm.AgentRegisterRequestType:       "agent_register",
	fsm.AgentStateRequestType:          "agent_state",
	fsm.OffersCreateRequestType:        "offers_create",
	fsm.OffersRemoveRequestType:        "offers_remove",
	fsm.TaskLaunchRequestType:          "task_launch",
	fsm.StatusUpdateRequestType:        "status_update",
	fsm.StatusAckRequestType:           "status_ack",
	fsm.HistoryPruneRequestType:        "history_prune",
	fsm.AgentRegisterBatchRequestType:  "agent_register_batch",
	fsm.OfferSuppressionRequestType:    "offer_suppression",
	fsm.AgentDrainRequestType:          "agent_drain",
	fsm.AcceptOperationsRequestType:    "accept_operations",
	fsm.AgentOperationsRequestType:     "agent_operations",
	fsm.OperationAckRequestType:        "operation_ack",
}

// schedulerCallTypes bounds the type label of mesh_scheduler_calls_total:
// a type a client made up is counted as "other".
var schedulerCallTypes = map[string]bool{}

func init() {
	for _, t := range []string{scheduler.CallUnknown, scheduler.CallSubscribe, scheduler.CallTeardown,
		scheduler.CallAccept, scheduler.CallDecline, scheduler.CallAcceptInverseOffers,
		scheduler.CallDeclineInverseOffers, scheduler.CallRevive, scheduler.CallKill, scheduler.CallShutdown,
		scheduler.CallAcknowledge, scheduler.CallAcknowledgeOperationStatus, scheduler.CallReconcile,
		scheduler.CallReconcileOperations, scheduler.CallMessage, scheduler.CallRequest, scheduler.CallSuppress,
		scheduler.CallUpdateFramework} {
		schedulerCallTypes[t] = true
	}
}

func newServerMetrics(s *Server) *serverMetrics {
	reg := prometheus.NewRegistry()
	f := newFactory(reg)
	m := &serverMetrics{
		reg: reg,
		leaderChanges: f.counter(prometheus.CounterOpts{Name: "mesh_raft_leader_changes_total",
			Help: "Leader changes this server has seen (a new raft leader became known)."}),
		raftCommit: f.histogram(prometheus.HistogramOpts{Name: "mesh_raft_commit_duration_seconds",
			Help:    "Time from handing a command to raft until it was committed and applied on this leader.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)}),
		httpRequests: f.counterVec(prometheus.CounterOpts{Name: "mesh_http_requests_total",
			Help: "HTTP requests by endpoint (the route's pattern) and status code."}, "endpoint", "code"),
		httpDuration: f.histogramVec(prometheus.HistogramOpts{Name: "mesh_http_request_duration_seconds",
			Help:    "Time until a request's response status was written, by endpoint (for a stream: until it started).",
			Buckets: prometheus.DefBuckets}, "endpoint"),
		schedulerCalls: f.counterVec(prometheus.CounterOpts{Name: "mesh_scheduler_calls_total",
			Help: "Scheduler API calls by call type and status code; type is \"unparsed\" when the call was answered before it was decoded."}, "type", "code"),
		streams: f.gaugeVec(prometheus.GaugeOpts{Name: "mesh_open_streams",
			Help: "Event streams this server is serving, by kind (framework, agent, operator)."}, "kind"),
		offersMade: f.counter(prometheus.CounterOpts{Name: "mesh_offers_made_total",
			Help: "Offers committed and sent to frameworks."}),
		offersDeclined: f.counter(prometheus.CounterOpts{Name: "mesh_offers_declined_total",
			Help: "Offers frameworks declined."}),
		offersRescinded: f.counter(prometheus.CounterOpts{Name: "mesh_offers_rescinded_total",
			Help: "Offers rescinded from frameworks."}),
		droppedMessages: f.counterVec(prometheus.CounterOpts{Name: "mesh_framework_messages_dropped_total",
			Help: "Framework messages dropped because the agent, framework or executor could not be reached, by direction."}, "direction"),
		allocPass: f.histogram(prometheus.HistogramOpts{Name: "mesh_allocator_cycle_duration_seconds",
			Help:    "Time the allocator took to compute one allocation pass.",
			Buckets: prometheus.ExponentialBuckets(0.00001, 4, 10)}),
	}
	apply := f.histogramVec(prometheus.HistogramOpts{Name: "mesh_fsm_apply_duration_seconds",
		Help:    "Time to apply one committed log entry to the state machine, by entry type (entries applied together in one batch share its time equally).",
		Buckets: prometheus.ExponentialBuckets(0.000001, 4, 11)}, "type")
	m.fsmApply = map[fsm.MessageType]prometheus.Observer{}
	for t, name := range fsmTypeNames {
		m.fsmApply[t] = apply.WithLabelValues(name)
	}
	m.fsmApplyMisc = apply.WithLabelValues("unknown")
	for _, kind := range []string{"framework", "agent", "operator"} {
		m.streams.WithLabelValues(kind)
	}
	m.res = newResourceMetrics(f)
	reg.MustRegister(&clusterCollector{s: s, res: &m.res})
	reg.MustRegister(collectors.NewGoCollector())
	reg.MustRegister(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.handler = promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	return m
}

// factory registers what it makes with one registry.
type factory struct{ reg *prometheus.Registry }

func newFactory(reg *prometheus.Registry) factory { return factory{reg} }

func (f factory) counter(o prometheus.CounterOpts) prometheus.Counter {
	c := prometheus.NewCounter(o)
	f.reg.MustRegister(c)
	return c
}

func (f factory) counterVec(o prometheus.CounterOpts, labels ...string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(o, labels)
	f.reg.MustRegister(c)
	return c
}

func (f factory) gaugeVec(o prometheus.GaugeOpts, labels ...string) *prometheus.GaugeVec {
	g := prometheus.NewGaugeVec(o, labels)
	f.reg.MustRegister(g)
	return g
}

func (f factory) histogram(o prometheus.HistogramOpts) prometheus.Histogram {
	h := prometheus.NewHistogram(o)
	f.reg.MustRegister(h)
	return h
}

func (f factory) histogramVec(o prometheus.HistogramOpts, labels ...string) *prometheus.HistogramVec {
	h := prometheus.NewHistogramVec(o, labels)
	f.reg.MustRegister(h)
	return h
}

// observeApply records the apply time of one log entry of type byte t.
func (m *serverMetrics) observeApply(t byte, d time.Duration) {
	o, ok := m.fsmApply[fsm.EntryType(t)]
	if !ok {
		o = m.fsmApplyMisc
	}
	o.Observe(d.Seconds())
}

// stream counts one open event stream of kind until the returned
// function is called.
func (m *serverMetrics) stream(kind string) func() {
	g := m.streams.WithLabelValues(kind)
	g.Inc()
	return g.Dec
}

// schedulerCall counts one scheduler call answered with code.
func (m *serverMetrics) schedulerCall(typ string, code int) {
	switch {
	case typ == "":
		typ = "unparsed"
	case !schedulerCallTypes[typ]:
		typ = "other"
	}
	m.schedulerCalls.WithLabelValues(typ, codeLabel(code)).Inc()
}

// handleMetrics serves GET /metrics in Prometheus' text format.
func (s *Server) handleMetrics(w http.ResponseWriter, r *http.Request) {
	if readOnly(w, r) && s.authorizeEndpoint(w, r) {
		s.metrics.handler.ServeHTTP(w, r)
	}
}
