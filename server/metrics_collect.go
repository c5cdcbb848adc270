package server

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/hashicorp/raft"
	"github.com/prometheus/client_golang/prometheus"

	"mesh/fsm"
	"mesh/mesos"
)

// clusterCollector computes the raft and state gauges when /metrics is
// scraped, from raft's counters and this server's copy of the replicated
// state, rather than keeping them up to date on every change.
type clusterCollector struct {
	s   *Server
	res *resourceMetrics
}

var (
	descIsLeader = prometheus.NewDesc("mesh_raft_is_leader",
		"1 when this server is the raft leader, else 0.", nil, nil)
	descTerm = prometheus.NewDesc("mesh_raft_term",
		"The raft term this server is in.", nil, nil)
	descLastLogIndex = prometheus.NewDesc("mesh_raft_last_log_index",
		"Index of the last entry in this server's raft log.", nil, nil)
	descCommitIndex = prometheus.NewDesc("mesh_raft_commit_index",
		"Index of the last entry this server knows to be committed.", nil, nil)
	descAppliedIndex = prometheus.NewDesc("mesh_raft_applied_index",
		"Index of the last entry applied to this server's state machine.", nil, nil)
	descSnapshotBytes = prometheus.NewDesc("mesh_raft_last_snapshot_size_bytes",
		"Size of this server's newest raft snapshot (absent before the first).", nil, nil)
	descSnapshotIndex = prometheus.NewDesc("mesh_raft_last_snapshot_index",
		"Raft index of this server's newest snapshot (absent before the first).", nil, nil)
	descLogBytes = prometheus.NewDesc("mesh_raft_log_bytes_since_snapshot",
		"Bytes of raft log entries this server stored since its last snapshot began (absent with -raft-snapshot-log-bytes 0).", nil, nil)
	descAgents = prometheus.NewDesc("mesh_agents",
		"Agents in the replicated state by state (active, unreachable, gone).", []string{"state"}, nil)
	descFrameworks = prometheus.NewDesc("mesh_frameworks",
		"Frameworks not removed, by whether their stream to the leader is connected.", []string{"state"}, nil)
	descTasks = prometheus.NewDesc("mesh_tasks",
		"Tasks the replicated state holds (live and the completed ones it keeps), by state.", []string{"state"}, nil)
	descOffers = prometheus.NewDesc("mesh_offers_outstanding",
		"Offers made and not yet accepted, declined or rescinded.", nil, nil)
)

func (c *clusterCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descIsLeader, descTerm, descLastLogIndex, descCommitIndex,
		descAppliedIndex, descSnapshotBytes, descSnapshotIndex, descLogBytes, descAgents, descFrameworks, descTasks, descOffers} {
		ch <- d
	}
	c.res.describe(ch)
}

func (c *clusterCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.s
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	leader := 0.0
	if s.raft.State() == raft.Leader {
		leader = 1
	}
	gauge(descIsLeader, leader)
	stats := s.raft.Stats()
	gauge(descTerm, statFloat(stats, "term"))
	gauge(descLastLogIndex, float64(s.raft.LastIndex()))
	gauge(descCommitIndex, statFloat(stats, "commit_index"))
	gauge(descAppliedIndex, float64(s.raft.AppliedIndex()))
	if s.snaps != nil {
		if list, err := s.snaps.List(); err == nil && len(list) > 0 {
			gauge(descSnapshotBytes, float64(list[0].Size))
			gauge(descSnapshotIndex, float64(list[0].Index))
		}
	}

	if s.logGrowth != nil {
		gauge(descLogBytes, float64(s.logGrowth.logBytes()))
	}

	st := s.fsm.State()
	agents := map[string]int{fsm.AgentActive: 0, fsm.AgentUnreachable: 0, fsm.AgentGone: 0}
	for _, a := range st.Agents() {
		agents[a.State]++
	}
	for state, n := range agents {
		gauge(descAgents, float64(n), state)
	}
	var connected, disconnected int
	for _, f := range st.Frameworks() {
		switch {
		case f.Removed:
		case f.Connected:
			connected++
		default:
			disconnected++
		}
	}
	gauge(descFrameworks, float64(connected), "connected")
	gauge(descFrameworks, float64(disconnected), "disconnected")
	tasks := map[mesos.TaskState]int{}
	for state := range taskStateMetrics {
		tasks[state] = 0
	}
	c.res.collect(ch, st, func(t *fsm.Task) { tasks[t.State]++ })
	for state, n := range tasks {
		gauge(descTasks, float64(n), string(state))
	}
	gauge(descOffers, float64(len(st.Offers())))
}

// statFloat reads one number of raft's Stats, 0 when absent.
func statFloat(stats map[string]string, key string) float64 {
	v, _ := strconv.ParseFloat(stats[key], 64)
	return v
}

// timedFSM times every Apply for mesh_fsm_apply_duration_seconds; raft
// applies through it, everything else reads the FSM itself.
type timedFSM struct {
	*fsm.FSM
	metrics *serverMetrics
	growth  *logGrowth // nil: the log is not bounded by its bytes
}

// Snapshot begins a snapshot of the state, and tells the log's growth.
func (f timedFSM) Snapshot() (raft.FSMSnapshot, error) {
	if f.growth != nil {
		f.growth.snapshotBegins()
	}
	return f.FSM.Snapshot()
}

func (f timedFSM) Apply(l *raft.Log) any { return f.ApplyBatch([]*raft.Log{l})[0] }

// ApplyBatch applies a batch as the fsm does (raft.BatchingFSM); its
// entries share the batch's time equally.
func (f timedFSM) ApplyBatch(logs []*raft.Log) []any {
	start := time.Now()
	res := f.FSM.ApplyBatch(logs)
	per := time.Since(start) / time.Duration(max(len(logs), 1))
	for _, l := range logs {
		f.observe(l, per)
	}
	return res
}

func (f timedFSM) observe(l *raft.Log, d time.Duration) {
	if l.Type == raft.LogCommand && len(l.Data) > 0 {
		f.metrics.observeApply(l.Data[0], d)
	}
}

// leaderObservations registers with raft for leader changes; the channel
// buffers those seen before Run starts counting them.
func (s *Server) leaderObservations() {
	s.leaderObsCh = make(chan raft.Observation, 64)
	s.leaderObs = raft.NewObserver(s.leaderObsCh, false, func(o *raft.Observation) bool {
		_, ok := o.Data.(raft.LeaderObservation)
		return ok
	})
	s.raft.RegisterObserver(s.leaderObs)
}

// countLeaderChanges counts every new leader raft reports until ctx ends.
func (s *Server) countLeaderChanges(ctx context.Context) {
	defer s.raft.DeregisterObserver(s.leaderObs)
	var last raft.ServerID
	for {
		select {
		case <-ctx.Done():
			return
		case o := <-s.leaderObsCh:
			lo, ok := o.Data.(raft.LeaderObservation)
			if ok && lo.LeaderID != "" && lo.LeaderID != last {
				last = lo.LeaderID
				s.metrics.leaderChanges.Inc()
			}
		}
	}
}

// instrument counts every request and its latency by the pattern of the
// route that served it (bounded: unknown paths count as "unmatched").
func (s *Server) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w}
		start := time.Now()
		sw.onStatus = func(code int) {
			endpoint := r.Pattern
			if endpoint == "" {
				endpoint = "unmatched"
			}
			s.metrics.httpRequests.WithLabelValues(endpoint, codeLabel(code)).Inc()
			s.metrics.httpDuration.WithLabelValues(endpoint).Observe(time.Since(start).Seconds())
			if sw.onCall != nil {
				sw.onCall(code)
			}
		}
		next.ServeHTTP(sw, r)
		sw.status(http.StatusOK)
	})
}

// statusWriter reports a response's status once, when it is written (or
// when the handler returns without writing one): a stream is counted as
// it starts, not when it ends.
type statusWriter struct {
	http.ResponseWriter
	code     int
	onStatus func(code int)
	// onCall, when a handler sets it, is told the status too.
	onCall func(code int)
}

func (w *statusWriter) status(code int) {
	if w.code == 0 {
		w.code = code
		w.onStatus(code)
	}
}

func (w *statusWriter) WriteHeader(code int) {
	if code >= 200 {
		w.status(code)
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.status(http.StatusOK)
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Flush() {
	w.status(http.StatusOK)
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// onCallStatus has fn told the status of the response w writes, when w
// is instrumented.
func onCallStatus(w http.ResponseWriter, fn func(code int)) {
	if sw, ok := w.(*statusWriter); ok {
		sw.onCall = fn
	}
}

// codeLabel is a status code as a label value.
func codeLabel(code int) string { return strconv.Itoa(code) }
