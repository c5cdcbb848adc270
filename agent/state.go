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

// routes is the agent's HTTP API, every request authenticated first.
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
	mux.HandleFunc("/state", op.handleState)
	mux.HandleFunc("/containers", op.handleContainers)
	mux.HandleFunc("/monitor/statistics", a.handleMonitorStatistics)
	mux.HandleFunc("/metrics", a.handleMetrics)
	if a.cfg.EnableDebug {
		httpdebug.Register(mux)
	}
	return a.authenticate(mux)
}

func (a *Agent) handleHealth(w http.ResponseWriter, r *http.Request) {
	if !onlyGET(w, r) {
		return
	}
	w.WriteHeader(http.StatusOK)
}

// StateJSON is the agent in mesh's own shape, as State returns it.
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
	f := map[string]string{
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
		"authenticate_http_readonly":     strconv.FormatBool(c.AuthenticateHTTPReadOnly),
		"authenticate_http_readwrite":    strconv.FormatBool(c.AuthenticateHTTPReadWrite),
	}
	if c.Credentials != nil && c.Credentials.Path() != "" {
		// The file's path, as Mesos' agent shows --http_credentials.
		f["http_credentials"] = c.Credentials.Path()
	}
	return f
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

// State returns the agent in mesh's own shape (GET /state shows Mesos'
// shape, MesosStateJSON).
func (a *Agent) State() StateJSON {
	pending := a.updates.Pending()
	var prestarted []string
	if ps, ok := a.containerizer.(executor.Prestarter); ok {
		prestarted = ps.Prestarted()
		sort.Strings(prestarted)
	}
	info := a.currentAgentInfo()
	v := a.view()
	s := StateJSON{
		ID:                   v.agentID,
		Hostname:             info.Hostname,
		Port:                 info.Port,
		Version:              version.MeshVersion,
		Isolation:            a.containerizer.Name(),
		Resources:            info.Resources,
		Attributes:           info.Attributes,
		PendingStatusUpdates: pending,
		Frameworks:           []FrameworkJSON{},
		PrestartedContainers: prestarted,
		Flags:                a.flags(),
	}
	for _, fw := range v.frameworks {
		fj := FrameworkJSON{ID: fw.id, Name: fw.info.Name, User: fw.info.User, Executors: []ExecutorJSON{}, CompletedExecutors: []ExecutorJSON{}}
		for _, r := range fw.live {
			fj.Executors = append(fj.Executors, r.json())
		}
		for _, r := range fw.completed {
			fj.CompletedExecutors = append(fj.CompletedExecutors, r.json())
		}
		s.Frameworks = append(s.Frameworks, fj)
	}
	return s
}

// json is the run in mesh's own shape.
func (r runView) json() ExecutorJSON {
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
	task := func(t taskView) TaskJSON {
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
	for _, t := range r.tasks {
		e.Tasks = append(e.Tasks, task(t))
	}
	for _, t := range r.completed {
		e.CompletedTasks = append(e.CompletedTasks, task(t))
	}
	return e
}
