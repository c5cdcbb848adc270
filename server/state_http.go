package server

import (
	"net/http"
	"sort"
	"strconv"
)

// defaultTaskLimit is how many tasks /master/tasks lists when the request
// sets no limit (Mesos' TASK_LIMIT).
const defaultTaskLimit = 100

// routeReadOnly registers the Mesos-shaped read-only endpoints. Every
// server answers them from its own copy of the replicated state.
func (s *Server) routeReadOnly(mux *http.ServeMux) {
	for _, prefix := range []string{"", "/master"} {
		mux.HandleFunc(prefix+"/state", s.handleState)
		mux.HandleFunc(prefix+"/state.json", s.handleState)
		mux.HandleFunc(prefix+"/state-summary", s.handleStateSummary)
		mux.HandleFunc(prefix+"/frameworks", s.handleFrameworks)
		mux.HandleFunc(prefix+"/slaves", s.handleSlaves)
		mux.HandleFunc(prefix+"/tasks", s.handleTasks)
		mux.HandleFunc(prefix+"/flags", s.handleFlags)
	}
	mux.HandleFunc("/metrics/snapshot", s.handleMetricsSnapshot)
}

// readOnly answers a GET (or HEAD) of one of these endpoints; any other
// method is a 405.
func readOnly(w http.ResponseWriter, r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", http.MethodGet)
		writeError(w, httpErrorf(http.StatusMethodNotAllowed, "expecting a 'GET' request, received '%s'", r.Method))
		return false
	}
	return true
}

// handleState serves Mesos' master /state.
func (s *Server) handleState(w http.ResponseWriter, r *http.Request) {
	if readOnly(w, r) {
		writeJSON(w, s.viewFor(r.Context()).state())
	}
}

// handleFlags serves Mesos' /flags: this server's settings.
func (s *Server) handleFlags(w http.ResponseWriter, r *http.Request) {
	if readOnly(w, r) && s.authorizeFlags(w, r) {
		writeJSON(w, map[string]any{"flags": s.flags()})
	}
}

// handleStateSummary serves Mesos' master /state-summary.
func (s *Server) handleStateSummary(w http.ResponseWriter, r *http.Request) {
	if readOnly(w, r) {
		writeJSON(w, s.viewFor(r.Context()).stateSummary())
	}
}

// handleFrameworks serves Mesos' /master/frameworks, optionally for one
// framework_id.
func (s *Server) handleFrameworks(w http.ResponseWriter, r *http.Request) {
	if !readOnly(w, r) {
		return
	}
	v := s.viewFor(r.Context())
	want := r.URL.Query().Get("framework_id")
	out := struct {
		Frameworks             []frameworkJSON `json:"frameworks"`
		CompletedFrameworks    []frameworkJSON `json:"completed_frameworks"`
		UnregisteredFrameworks []string        `json:"unregistered_frameworks"`
	}{[]frameworkJSON{}, []frameworkJSON{}, []string{}}
	for _, fw := range v.frameworks {
		if want != "" && fw.ID != want {
			continue
		}
		if fw.Removed {
			out.CompletedFrameworks = append(out.CompletedFrameworks, v.framework(fw))
		} else {
			out.Frameworks = append(out.Frameworks, v.framework(fw))
		}
	}
	writeJSON(w, out)
}

// handleSlaves serves Mesos' /master/slaves, optionally for one slave_id.
func (s *Server) handleSlaves(w http.ResponseWriter, r *http.Request) {
	if !readOnly(w, r) {
		return
	}
	v := s.viewFor(r.Context())
	want := r.URL.Query().Get("slave_id")
	out := struct {
		Slaves          []agentFullJSON `json:"slaves"`
		RecoveredSlaves []agentJSON     `json:"recovered_slaves"`
	}{[]agentFullJSON{}, []agentJSON{}}
	for _, a := range v.registeredAgents() {
		if want == "" || a.ID == want {
			out.Slaves = append(out.Slaves, v.agentFull(a))
		}
	}
	writeJSON(w, out)
}

// handleTasks serves Mesos' /master/tasks: the tasks of every framework
// (live, unreachable and completed), ordered by their first status's
// time ("order=asc", else newest first), from "offset", at most "limit";
// "framework_id" and "task_id" select.
func (s *Server) handleTasks(w http.ResponseWriter, r *http.Request) {
	if !readOnly(w, r) {
		return
	}
	q := r.URL.Query()
	limit, err := queryCount(q.Get("limit"), "limit", defaultTaskLimit)
	if err != nil {
		writeError(w, err)
		return
	}
	offset, err := queryCount(q.Get("offset"), "offset", 0)
	if err != nil {
		writeError(w, err)
		return
	}
	v := s.viewFor(r.Context())
	fid, tid := q.Get("framework_id"), q.Get("task_id")
	tasks := []taskJSON{}
	for _, fw := range v.frameworks {
		if fid != "" && fw.ID != fid {
			continue
		}
		for _, t := range v.tasksByFw[fw.ID] {
			if tid == "" || t.TaskID == tid {
				tasks = append(tasks, v.task(t))
			}
		}
	}
	asc := q.Get("order") == "asc"
	sort.SliceStable(tasks, func(i, j int) bool {
		a, b := firstStatusTime(tasks[i]), firstStatusTime(tasks[j])
		if asc {
			return a < b
		}
		return a > b
	})
	if offset > len(tasks) {
		offset = len(tasks)
	}
	end := len(tasks)
	if limit < end-offset {
		end = offset + limit
	}
	writeJSON(w, map[string]any{"tasks": tasks[offset:end]})
}

// firstStatusTime is the time of a task's first status, 0 without one.
func firstStatusTime(t taskJSON) float64 {
	if len(t.Statuses) == 0 {
		return 0
	}
	return t.Statuses[0].Timestamp
}

// queryCount parses a non-negative count from a query parameter.
func queryCount(raw, name string, def int) (int, error) {
	if raw == "" {
		return def, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 0 {
		return 0, httpErrorf(http.StatusBadRequest, "query parameter %q must be a non-negative integer, got %q", name, raw)
	}
	return n, nil
}
