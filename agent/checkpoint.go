package agent

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unicode"

	"github.com/google/uuid"

	"mesh/mesos"
)

// The agent's work directory:
//
//	<work-dir>/frameworks/<fid>/executors/<eid>/runs/<cid>/   sandboxes (+ runs/latest)
//	<work-dir>/meta/agent_id                                  the id the servers gave it
//	<work-dir>/meta/containers/                               containerizer state
//	<work-dir>/meta/frameworks/<fid>/executors/<eid>/run.json what runs in a container
//	<work-dir>/meta/frameworks/<fid>/executors/<eid>/launching once its container is being created
//	<work-dir>/meta/frameworks/<fid>/executors/<eid>/subscribed once its executor has subscribed
//	<work-dir>/meta/frameworks/<fid>/tasks/<tid>/updates      status update checkpoints
//
// Only frameworks/ is visible through the files API.
const (
	sandboxRoot = "frameworks"
	metaDir     = "meta"
)

func (a *Agent) metaPath(elem ...string) string {
	return filepath.Join(append([]string{a.workDir, metaDir}, elem...)...)
}

func (a *Agent) runCheckpointPath(fid, eid string) string {
	return a.metaPath("frameworks", fid, "executors", eid, "run.json")
}

// sandboxDir is a run's sandbox.
func (a *Agent) sandboxDir(fid, eid, cid string) string {
	return filepath.Join(a.workDir, sandboxRoot, fid, "executors", eid, "runs", cid)
}

// runCheckpoint is what the agent records about each executor it runs, so
// that a restarted agent can find its containers and tasks again.
type runCheckpoint struct {
	FrameworkInfo   mesos.FrameworkInfo `json:"framework_info"`
	ExecutorInfo    mesos.ExecutorInfo  `json:"executor_info"`
	CommandExecutor bool                `json:"command_executor,omitempty"`
	ContainerID     string              `json:"container_id"`
	Directory       string              `json:"directory"`
	User            string              `json:"user,omitempty"`
	Tasks           []mesos.TaskInfo    `json:"tasks,omitempty"`
	// BootID is the machine's boot id when the run was checkpointed: a
	// run never launched is launched again only within the same boot.
	BootID string `json:"boot_id,omitempty"`
	// Token is the executor's authentication token, so that a restarted
	// agent knows its executors again (the file is readable by root only).
	Token string `json:"token,omitempty"`

	// launchBegan and subscribed are whether the launching and subscribed
	// markers exist.
	launchBegan, subscribed bool
}

// launchingMarker is the file whose existence says a run's container was
// being created: its executor may have started.
const launchingMarker = "launching"

// subscribedMarker is the file whose existence says a run's executor
// subscribed, so it may have received its tasks.
const subscribedMarker = "subscribed"

// markLaunching records that run's container is about to be created, and
// markSubscribed that its executor subscribed, before it gets its tasks.
// They need no fsync: they matter after an agent crash within the same
// boot, when the page cache keeps them.
func (a *Agent) markLaunching(fid, eid, cid string) error {
	return a.mark(fid, eid, launchingMarker, cid)
}

func (a *Agent) markSubscribed(fid, eid, cid string) error {
	return a.mark(fid, eid, subscribedMarker, cid)
}

func (a *Agent) mark(fid, eid, name, cid string) error {
	p := filepath.Join(filepath.Dir(a.runCheckpointPath(fid, eid)), name)
	return os.WriteFile(p, []byte(cid), 0o600)
}

// marked reports whether the marker name lies beside the run checkpoint
// at path.
func marked(path, name string) bool {
	_, err := os.Stat(filepath.Join(filepath.Dir(path), name))
	return err == nil
}

// bootID is the kernel's id of the current boot, "" if unknown.
func bootID() string {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// safeID reports whether an id can be used as a path component: not
// empty, not "." or "..", no separators or control characters.
func safeID(id string) error {
	if id == "" {
		return errors.New("id is empty")
	}
	if id == "." || id == ".." {
		return fmt.Errorf("id %q is not allowed", id)
	}
	if len(id) > 255 {
		return fmt.Errorf("id of %d bytes is too long", len(id))
	}
	if strings.ContainsAny(id, `/\`) {
		return fmt.Errorf("id %q contains a path separator", id)
	}
	for _, r := range id {
		if unicode.IsControl(r) {
			return fmt.Errorf("id %q contains a control character", id)
		}
	}
	return nil
}

// writeFileAtomic writes b to path through a synced temporary file and a
// rename.
func writeFileAtomic(path string, b []byte, perm os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	cleanup := func(err error) error {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		return cleanup(err)
	}
	if err := tmp.Chmod(perm); err != nil {
		return cleanup(err)
	}
	if err := tmp.Sync(); err != nil {
		return cleanup(err)
	}
	if err := tmp.Close(); err != nil {
		return cleanup(err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	syncDir(filepath.Dir(path))
	return nil
}

// loadAgentID reads the persisted agent id, "" if there is none.
func (a *Agent) loadAgentID() (string, error) {
	b, err := os.ReadFile(a.metaPath("agent_id"))
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read agent id: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

func (a *Agent) saveAgentID(id string) error {
	if err := writeFileAtomic(a.metaPath("agent_id"), []byte(id+"\n"), 0o600); err != nil {
		return fmt.Errorf("persist agent id: %w", err)
	}
	return nil
}

// checkpointRun records a run; caller holds a.mu.
func (a *Agent) checkpointRun(r *executorRun) {
	cp := runCheckpoint{
		FrameworkInfo:   r.fw.info,
		ExecutorInfo:    r.info,
		CommandExecutor: r.commandExecutor,
		ContainerID:     r.containerID,
		Directory:       r.directory,
		User:            r.user,
		BootID:          a.bootID,
		Token:           r.token,
	}
	for _, id := range r.taskOrder {
		cp.Tasks = append(cp.Tasks, r.tasks[id].info)
	}
	b, err := json.Marshal(cp)
	if err == nil {
		err = writeFileAtomic(a.runCheckpointPath(r.fw.id, r.id), b, 0o600)
	}
	if err != nil {
		a.log.Error("cannot checkpoint executor; it will not be recovered after an agent restart",
			"framework_id", r.fw.id, "executor_id", r.id, "error", err)
	}
}

// removeRunCheckpoint forgets a finished run.
func (a *Agent) removeRunCheckpoint(fid, eid string) {
	dir := filepath.Dir(a.runCheckpointPath(fid, eid))
	if err := os.RemoveAll(dir); err != nil {
		a.log.Warn("cannot remove executor checkpoint", "path", dir, "error", err)
	}
}

// loadRunCheckpoints reads every run checkpoint.
func (a *Agent) loadRunCheckpoints() ([]runCheckpoint, error) {
	matches, err := filepath.Glob(a.metaPath("frameworks", "*", "executors", "*", "run.json"))
	if err != nil {
		return nil, err
	}
	var out []runCheckpoint
	for _, p := range matches {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("read executor checkpoint: %w", err)
		}
		var cp runCheckpoint
		if err := json.Unmarshal(b, &cp); err != nil || cp.FrameworkInfo.ID == nil || cp.ContainerID == "" {
			a.log.Warn("ignoring unreadable executor checkpoint", "path", p, "error", err)
			continue
		}
		cp.launchBegan = marked(p, launchingMarker)
		cp.subscribed = marked(p, subscribedMarker)
		out = append(out, cp)
	}
	return out, nil
}

// uuidString renders an update uuid for logs.
func uuidString(b []byte) string {
	if u, err := uuid.FromBytes(b); err == nil {
		return u.String()
	}
	return hex.EncodeToString(b)
}
