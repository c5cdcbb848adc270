package server

import (
	"net/http"
	"time"

	"mesh/fsm"
	"mesh/mesos"
)

// metricsSnapshot returns Mesos' master metric keys that mesh has a true
// value for, computed from this server's copy of the replicated state.
// Keys Mesos has and mesh cannot compute are left out rather than made up.
//
// The task totals count the tasks the replicated state holds: live ones
// and the completed ones it keeps (-max-completed-tasks-per-framework),
// not every task since the server started as Mesos' counters do.
func (s *Server) metricsSnapshot() map[string]float64 {
	v := s.newStateView()
	out := map[string]float64{}
	put := func(k string, b bool) {
		out[k] = 0
		if b {
			out[k] = 1
		}
	}
	put("master/elected", s.IsLeader())
	out["master/uptime_secs"] = time.Since(s.started).Seconds()

	active, unreachable := v.agentCounts()
	out["master/slaves_active"] = float64(active)
	out["master/slaves_unreachable"] = float64(unreachable)
	if m, err := s.currentMaster(); err == nil {
		connected := m.connectedAgents()
		out["master/slaves_connected"] = float64(connected)
		out["master/slaves_disconnected"] = float64(active - connected)
		out["master/slaves_inactive"] = float64(active - connected)
	}

	var fwConnected, fwDisconnected int
	for _, fw := range v.frameworks {
		switch {
		case fw.Removed:
		case fw.Connected:
			fwConnected++
		default:
			fwDisconnected++
		}
	}
	out["master/frameworks_active"] = float64(fwConnected)
	out["master/frameworks_inactive"] = float64(fwDisconnected)
	out["master/frameworks_connected"] = float64(fwConnected)
	out["master/frameworks_disconnected"] = float64(fwDisconnected)
	out["master/outstanding_offers"] = float64(len(v.offers))
	out["master/operator_event_stream_subscribers"] = float64(s.opHub.subscribers())

	counts := map[mesos.TaskState]int{}
	for _, tasks := range v.tasksByFw {
		for _, t := range tasks {
			counts[t.State]++
		}
	}
	for state, key := range taskStateMetrics {
		out[key] = float64(counts[state])
	}

	var total, used mesos.Resources
	for _, a := range v.registeredAgents() {
		total = total.Add(a.Info.Resources...)
		used = used.Add(v.usedByAgent[a.ID]...)
	}
	for _, name := range []string{"cpus", "gpus", "mem", "disk"} {
		t, u := total.Scalar(name), used.Scalar(name)
		out["master/"+name+"_total"] = t
		out["master/"+name+"_used"] = u
		out["master/"+name+"_percent"] = 0
		if t > 0 {
			out["master/"+name+"_percent"] = u / t
		}
	}

	if cfg := s.raft.GetConfiguration(); cfg.Error() == nil {
		out["registrar/log/ensemble_size"] = float64(len(cfg.Configuration().Servers))
	}
	put("registrar/log/recovered", s.Healthy())
	return out
}

// taskStateMetrics names the metric of each task state.
var taskStateMetrics = map[mesos.TaskState]string{
	mesos.TaskStaging:        "master/tasks_staging",
	mesos.TaskStarting:       "master/tasks_starting",
	mesos.TaskRunning:        "master/tasks_running",
	mesos.TaskKilling:        "master/tasks_killing",
	mesos.TaskFinished:       "master/tasks_finished",
	mesos.TaskFailed:         "master/tasks_failed",
	mesos.TaskKilled:         "master/tasks_killed",
	mesos.TaskLost:           "master/tasks_lost",
	mesos.TaskError:          "master/tasks_error",
	mesos.TaskDropped:        "master/tasks_dropped",
	mesos.TaskUnreachable:    "master/tasks_unreachable",
	mesos.TaskGone:           "master/tasks_gone",
	mesos.TaskGoneByOperator: "master/tasks_gone_by_operator",
}

// connectedAgents counts the active agents whose command stream is open
// to this leader.
func (m *master) connectedAgents() int {
	m.mu.Lock()
	ids := make([]string, 0, len(m.agents))
	for id := range m.agents {
		ids = append(ids, id)
	}
	m.mu.Unlock()
	st := m.s.fsm.State()
	n := 0
	for _, id := range ids {
		if a := st.Agent(id); a != nil && a.State == fsm.AgentActive {
			n++
		}
	}
	return n
}

// handleMetricsSnapshot serves Mesos' /metrics/snapshot.
func (s *Server) handleMetricsSnapshot(w http.ResponseWriter, r *http.Request) {
	if readOnly(w, r) && s.authorizeEndpoint(w, r) {
		writeJSON(w, s.metricsSnapshot())
	}
}
