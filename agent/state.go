package agent

import (
	"net/http"
	"sort"
	"strconv"
	"strings"

	"mesh/executor"
	"mesh/httpdebug"
	"mesh/mesos"
	"mesh/version"
)

// routes is the agent's HTTP API.
func (a *Agent) routes() http.Handler {
	mux := http.NewServeMux()
	op := newAgentOperator(a)
	mux.HandleFunc("/api/v1", op.handleAPI)
	mux.HandleFunc("/metrics/snapshot", op.handleMetricsSnapshot)
	mux.HandleFunc("/api/v1/executor", a.handleExecutorAPI)
	mux.HandleFunc("/files/browse", a.handleFilesBrowse)
	mux.HandleFunc("/files/read", a.handleFilesRead)
	mux.HandleFunc("/files/download", a.handleFilesDownload)
	mux.HandleFunc("/health", a.handleHealth)
	mux.HandleFunc("/state", a.handleState)
	mux.HandleFunc("/monitor/statistics", a.handleMonitorStatistics)
	mux.HandleFunc("/metrics", a.handleMetrics)
	if a.cfg.EnableDebug {
		httpdebug.Register(mux)
	}
	return mux
}

func (a *Agent) handleHealth(w http.ResponseWriter, r *http.Request) {
	if !onlyGET(w, r) {
		return
	}
	w.WriteHeader(http.StatusOK)
}

// StateJSON is the body of GET /state.
type StateJSON struct {
	ID         string            `json:"id"`
	Hostname   string            `json:"hostname"`
	Port       int32             `json:"port"`
	Version    string            `json:"version"`
	Isolation  string            `json:"isolation"`
	Resources  mesos.Resources   `json:"resources"`
	Attributes []mesos.Attribute `json:"attributes,omitempty"`
	// PendingStatusUpdates counts updates awaiting acknowledgement.
	PendingStatusUpdates int             `json:"pending_status_updates"`
	Frameworks           []FrameworkJSON `json:"frameworks"`
	// PrestartedContainers are the containers created ahead of launches
	// and not used yet (linux isolation; see -prestart-containers).
	PrestartedContainers []string `json:"prestarted_containers,omitempty"`
	// Flags are the settings the agent runs with, by flag name, as
	// Mesos' agent shows them.
	Flags map[string]string `json:"flags"`
}

// flags are the agent's effective settings, by flag name.
func (a *Agent) flags() map[string]string {
	c := a.cfg
	return map[string]string{
		"work_dir":                       a.workDir,
		"isolation":                      a.containerizer.Name(),
		"allow_root_tasks":               strconv.FormatBool(c.AllowRootTasks),
		"prestart_containers":            strconv.Itoa(c.PrestartContainers),
		"host_volumes":                   strings.Join(c.HostVolumes, ","),
		"task_capabilities":              strings.Join(c.TaskCapabilities, ","),
		"fetcher_cache_dir":              a.fetcherCacheDir(),
		"fetcher_cache_size":             strconv.FormatInt(c.FetcherCacheSize>>20, 10) + "MB",
		"gc_delay":                       c.GCDelay.String(),
		"gc_disk_headroom":               strconv.FormatFloat(c.GCDiskHeadroom, 'g', -1, 64),
		"executor_registration_timeout":  c.ExecutorRegistrationTimeout.String(),
		"executor_shutdown_grace_period": c.ExecutorShutdownGracePeriod.String(),
		"kill_tasks_on_shutdown":         strconv.FormatBool(c.KillTasksOnShutdown),
		"enable_debug":                   strconv.FormatBool(c.EnableDebug),
	}
}

// FrameworkJSON is a framework in /state.
type FrameworkJSON struct {
	ID                 string         `json:"id"`
	Name               string         `json:"name"`
	User               string         `json:"user"`
	Executors          []ExecutorJSON `json:"executors"`
	CompletedExecutors []ExecutorJSON `json:"completed_executors"`
}

// ExecutorJSON is an executor in /state.
type ExecutorJSON struct {
	ID             string     `json:"id"`
	Name           string     `json:"name"`
	Container      string     `json:"container"`
	Directory      string     `json:"directory"`
	State          string     `json:"state"`
	Pid            int        `json:"pid,omitempty"`
	ExitStatus     string     `json:"exit_status,omitempty"`
	Tasks          []TaskJSON `json:"tasks"`
	CompletedTasks []TaskJSON `json:"completed_tasks"`
}

// TaskJSON is a task in /state.
type TaskJSON struct {
	ID          string          `json:"id"`
	Name        string          `json:"name"`
	FrameworkID string          `json:"framework_id"`
	ExecutorID  string          `json:"executor_id"`
	State       mesos.TaskState `json:"state"`
	Resources   mesos.Resources `json:"resources,omitempty"`
	// Directory is the task's sandbox (its executor's).
	Directory string `json:"directory"`
}

// handleState serves GET /state.
func (a *Agent) handleState(w http.ResponseWriter, r *http.Request) {
	if !onlyGET(w, r) {
		return
	}
	writeJSON(w, a.State())
}

// State returns what /state shows.
func (a *Agent) State() StateJSON {
	pending := a.updates.Pending()
	var prestarted []string
	if ps, ok := a.containerizer.(executor.Prestarter); ok {
		prestarted = ps.Prestarted()
		sort.Strings(prestarted)
	}
	type fwRuns struct {
		fj              FrameworkJSON
		live, completed []*runner
	}
	// The registry is copied under a.mu, then each run is read under its
	// own lock: /state never holds the agent's lock while it waits for a
	// run.
	a.mu.Lock()
	s := StateJSON{
		ID:                   a.id,
		Hostname:             a.hostname,
		Port:                 a.port(),
		Version:              version.MeshVersion,
		Isolation:            a.containerizer.Name(),
		Resources:            a.resources.Clone(),
		Attributes:           a.attributes,
		PendingStatusUpdates: pending,
		Frameworks:           []FrameworkJSON{},
		PrestartedContainers: prestarted,
		Flags:                a.flags(),
	}
	fws := make([]fwRuns, 0, len(a.frameworks))
	for _, fw := range a.frameworks {
		f := fwRuns{
			fj:        FrameworkJSON{ID: fw.id, Name: fw.info.Name, User: fw.info.User, Executors: []ExecutorJSON{}, CompletedExecutors: []ExecutorJSON{}},
			completed: append([]*runner(nil), fw.completed...),
		}
		for _, r := range fw.executors {
			f.live = append(f.live, r)
		}
		fws = append(fws, f)
	}
	a.mu.Unlock()
	for _, f := range fws {
		fj := f.fj
		for _, r := range f.live {
			fj.Executors = append(fj.Executors, r.json())
		}
		sort.Slice(fj.Executors, func(i, j int) bool { return fj.Executors[i].ID < fj.Executors[j].ID })
		for _, r := range f.completed {
			fj.CompletedExecutors = append(fj.CompletedExecutors, r.json())
		}
		s.Frameworks = append(s.Frameworks, fj)
	}
	sort.Slice(s.Frameworks, func(i, j int) bool { return s.Frameworks[i].ID < s.Frameworks[j].ID })
	return s
}

// json is the run as /state shows it.
func (r *runner) json() ExecutorJSON {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := ExecutorJSON{
		ID:             r.id,
		Name:           r.info.Name,
		Container:      r.containerID,
		Directory:      r.directory,
		State:          r.state.String(),
		Pid:            r.pid,
		ExitStatus:     r.exitStatus,
		Tasks:          []TaskJSON{},
		CompletedTasks: []TaskJSON{},
	}
	task := func(t *taskEntry) TaskJSON {
		return TaskJSON{
			ID:          t.info.TaskID.Value,
			Name:        t.info.Name,
			FrameworkID: r.fwID,
			ExecutorID:  r.id,
			State:       t.state,
			Resources:   t.info.Resources,
			Directory:   r.directory,
		}
	}
	for _, id := range r.taskOrder {
		e.Tasks = append(e.Tasks, task(r.tasks[id]))
	}
	for _, t := range r.completed {
		e.CompletedTasks = append(e.CompletedTasks, task(t))
	}
	return e
}
