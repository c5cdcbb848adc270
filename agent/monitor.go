package agent

import (
	"net/http"
	"sort"
	"sync"
	"time"

	"mesh/executor"
)

// StatisticsJSON is one entry of GET /monitor/statistics: a running
// executor's container usage and limits, as Mesos reports them.
type StatisticsJSON struct {
	ExecutorID   string                  `json:"executor_id"`
	ExecutorName string                  `json:"executor_name"`
	FrameworkID  string                  `json:"framework_id"`
	Source       string                  `json:"source"`
	Statistics   executor.ContainerStats `json:"statistics"`
}

// statsReaders bounds the containers measured at once.
const statsReaders = 8

// handleMonitorStatistics serves GET /monitor/statistics.
func (a *Agent) handleMonitorStatistics(w http.ResponseWriter, r *http.Request) {
	if !onlyGET(w, r) || !a.authorizeEndpoint(w, r) {
		return
	}
	writeJSON(w, a.Statistics())
}

// Statistics measures every running executor's container. Under an
// isolation without cgroups (posix) only the timestamp is filled in.
func (a *Agent) Statistics() []StatisticsJSON {
	type target struct {
		entry StatisticsJSON
		cid   string
	}
	var targets []target
	for _, run := range a.liveRuns() {
		targets = append(targets, target{cid: run.containerID, entry: StatisticsJSON{
			ExecutorID:   run.id,
			ExecutorName: run.info.Name,
			FrameworkID:  run.fwID,
			Source:       run.source(),
		}})
	}

	// Reading cgroups takes a while (~1 ms a container): not under the
	// agent's lock, and a few containers at a time.
	sr, _ := a.containerizer.(executor.StatsReporter)
	measured := make([]bool, len(targets))
	var wg sync.WaitGroup
	sem := make(chan struct{}, statsReaders)
	for i := range targets {
		e := &targets[i].entry
		if sr == nil {
			e.Statistics.Timestamp = float64(time.Now().UnixNano()) / 1e9
			measured[i] = true
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			st, err := sr.Stats(targets[i].cid)
			if err != nil {
				a.log.Debug("cannot measure container", "container_id", targets[i].cid, "error", err)
				return
			}
			e.Statistics, measured[i] = st, true
		}()
	}
	wg.Wait()
	out := make([]StatisticsJSON, 0, len(targets))
	for i, t := range targets {
		if measured[i] {
			out = append(out, t.entry)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].FrameworkID != out[j].FrameworkID {
			return out[i].FrameworkID < out[j].FrameworkID
		}
		return out[i].ExecutorID < out[j].ExecutorID
	})
	return out
}

// source is the executor's source as Mesos reports it: for a command
// executor, its task's id (which is also the executor id); mesh keeps no
// ExecutorInfo.source, so a custom executor reports its id too.
func (r *runner) source() string { return r.id }
