package agent

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"mesh/mesos"
)

// taskCounters count, since the agent process started, the status
// updates it accepted and the tasks that reached each terminal state,
// for Mesos' slave/valid_status_updates and slave/tasks_<state>.
type taskCounters struct {
	mu       sync.Mutex
	updates  uint64
	terminal map[mesos.TaskState]uint64
}

// accepted counts one update the status update manager checkpointed;
// a task counts once, when its first terminal update arrives.
func (c *taskCounters) accepted(prev mesos.TaskState, st mesos.TaskStatus) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.updates++
	if st.State.IsTerminal() && !prev.IsTerminal() {
		c.terminal[st.State]++
	}
}

func (c *taskCounters) read() (updates uint64, terminal map[mesos.TaskState]uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	terminal = make(map[mesos.TaskState]uint64, len(c.terminal))
	for k, v := range c.terminal {
		terminal[k] = v
	}
	return c.updates, terminal
}

// countedStates are the terminal states Mesos' agent has a counter of.
var countedStates = map[mesos.TaskState]string{
	mesos.TaskFinished: "slave/tasks_finished",
	mesos.TaskFailed:   "slave/tasks_failed",
	mesos.TaskKilled:   "slave/tasks_killed",
	mesos.TaskLost:     "slave/tasks_lost",
	mesos.TaskGone:     "slave/tasks_gone",
}

// liveStates are the states of live tasks Mesos' agent has a gauge of.
var liveStates = map[mesos.TaskState]string{
	mesos.TaskStaging:  "slave/tasks_staging",
	mesos.TaskStarting: "slave/tasks_starting",
	mesos.TaskRunning:  "slave/tasks_running",
	mesos.TaskKilling:  "slave/tasks_killing",
}

// metricsSnapshot is /metrics/snapshot: the metrics of Mesos' agent that
// mesh can compute, under Mesos' keys (the fetcher cache's among the
// containerizer's). Keys of what mesh does not have (resource providers,
// revocable resources, containerizer internals) are left out rather
// than made up.
func (op *agentOperator) metricsSnapshot() map[string]float64 {
	a := op.a
	v := a.view()
	out := map[string]float64{
		"slave/uptime_secs":           time.Since(op.started).Seconds(),
		"slave/registered":            boolMetric(a.conn.registeredTo() != ""),
		"slave/frameworks_active":     float64(len(v.frameworks)),
		"slave/executors_registering": 0,
		"slave/executors_running":     0,
		"slave/executors_terminating": 0,
	}
	for _, key := range liveStates {
		out[key] = 0
	}
	updates, terminal := op.counters.read()
	out["slave/valid_status_updates"] = float64(updates)
	for state, key := range countedStates {
		out[key] = float64(terminal[state])
	}
	var used mesos.Resources
	for _, fw := range v.frameworks {
		for _, r := range fw.live {
			switch r.state {
			case runLaunching:
				out["slave/executors_registering"]++
			case runRunning, runRecovered:
				out["slave/executors_running"]++
			case runKilling:
				out["slave/executors_terminating"]++
			}
			used = used.Add(r.usedResources()...)
			for _, t := range r.tasks {
				if key, ok := liveStates[t.state]; ok {
					out[key]++
				}
			}
		}
	}
	out["containerizer/fetcher/cache_size_total_bytes"] = float64(a.cfg.FetcherCacheSize)
	out["containerizer/fetcher/cache_size_used_bytes"] = float64(fetcherCacheUsed(a.fetcherCacheDir()))
	a.mu.Lock()
	total := a.resources.Clone()
	a.mu.Unlock()
	for _, name := range []string{"cpus", "mem", "disk", "gpus"} {
		t, ok := scalarOf(total, name)
		if !ok {
			continue
		}
		u, _ := scalarOf(used, name)
		out["slave/"+name+"_total"] = t
		out["slave/"+name+"_used"] = u
		if t > 0 {
			out["slave/"+name+"_percent"] = u / t
		}
	}
	return out
}

// fetcherCacheUsed is the bytes of the downloads the fetcher cache
// under root holds (root/<user>/<file>; partial downloads not counted).
func fetcherCacheUsed(root string) int64 {
	var total int64
	users, _ := os.ReadDir(root)
	for _, u := range users {
		if !u.IsDir() {
			continue
		}
		files, _ := os.ReadDir(filepath.Join(root, u.Name()))
		for _, f := range files {
			if fi, err := f.Info(); err == nil && fi.Mode().IsRegular() && !strings.Contains(f.Name(), ".part-") {
				total += fi.Size()
			}
		}
	}
	return total
}

// usedResources are what the run holds: its live tasks' resources and,
// for a custom executor, the executor's own.
func (r runView) usedResources() mesos.Resources {
	var out mesos.Resources
	for _, t := range r.tasks {
		if !t.state.IsTerminal() {
			out = out.Add(t.info.Resources...)
		}
	}
	if r.kind != kindCommand {
		out = out.Add(r.info.Resources...)
	}
	return out
}

// scalarOf sums the scalar resource name; ok is false when rs has none.
func scalarOf(rs mesos.Resources, name string) (sum float64, ok bool) {
	for _, r := range rs {
		if r.Name == name && r.Scalar != nil {
			sum += r.Scalar.Value
			ok = true
		}
	}
	return sum, ok
}

func boolMetric(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// registeredTo is the server the agent is registered through, "" while
// it is not registered.
func (c *serverConn) registeredTo() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.leader
}

// handleMetricsSnapshot serves GET /metrics/snapshot.
func (op *agentOperator) handleMetricsSnapshot(w http.ResponseWriter, r *http.Request) {
	if onlyGET(w, r) && op.a.authorizeEndpoint(w, r) {
		writeJSON(w, op.metricsSnapshot())
	}
}
