package agent

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/uuid"

	"mesh/mesos"
)

// A run's checkpoint is the directory
// meta/frameworks/<fid>/executors/<eid>/ holding run.json and, once they
// are reached, the launching and subscribed markers. Every change to it is
// one rename: run.json and the markers are replaced through temporary
// files, and the directory is removed by renaming it into meta/trash first.
// So a crash (kill -9 of the agent at any instant) leaves one of these
// states, and recovery knows each:
//
//	crash point                             left on disk                              recovery
//	--------------------------------------  ----------------------------------------  ------------------------------------------
//	first checkpoint, before its rename     empty dir, or only .run.json.tmp*         temp file and dir removed; no task ran (the
//	                                                                                  servers find the task lost on registration)
//	waiting for a launch slot               run.json; no marker; sandbox empty        launched again (same boot of the machine),
//	                                                                                  under a new executor token
//	container being created                 run.json + launching                      container found: adopted; else linux: launched
//	                                                                                  again if never subscribed, under a new executor
//	                                                                                  token; posix: TASK_FAILED REASON_AGENT_RESTARTED
//	executor subscribed                     run.json + launching + subscribed         container found: adopted; else its tasks end
//	                                                                                  as the sandbox records, or TASK_FAILED
//	run.json rewritten (task added/dropped) old or new run.json + .run.json.tmp*      temp file removed; the whole run.json is used
//	marker being written                    .launching.tmp* / .subscribed.tmp*        temp file removed; as without the marker
//	terminal update acknowledged            run.json without the task + the task's    the stream is removed; the task is over
//	                                        update stream ending in its ack
//	every task acknowledged, container gone run.json listing no task                  checkpoint forgotten, nothing launched
//	checkpoint being removed                meta/trash/<uuid>, whole or in part       trash emptied; the run ended before
//
// Anything else is damage (a disk error, a hand edit), and is reported,
// never acted on. A run.json that is missing, empty, truncated, not JSON,
// or not naming its own directory's ids or sandbox: recovery logs what it
// found, kills the executor (its container, now unclaimed, is destroyed),
// reports each task the update checkpoints attribute to the executor
// TASK_LOST with a message naming the file, and removes the checkpoint. A
// run without its launching marker beside signs that its executor started
// (a subscribed marker, the sandbox's stdout or stderr) is never launched
// again: adopted if its container runs, else its tasks fail naming the
// missing file.

// runFile is a run checkpoint's file.
const runFile = "run.json"

// trashDir (under meta/) is where checkpoints go to be deleted.
const trashDir = "trash"

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
	// TaskGroups numbers the task group of each task of a default
	// executor, so that a restarted agent hands the executor whole groups.
	TaskGroups map[string]int `json:"task_groups,omitempty"`

	// launchBegan and subscribed are whether the launching and subscribed
	// markers exist.
	launchBegan, subscribed bool
}

// decodeRunCheckpoint parses the run.json of executor eid of framework
// fid, and checks that it can be acted on: it names the ids of its own
// directory, a usable container id and sandbox, and tasks with usable,
// distinct ids.
func decodeRunCheckpoint(b []byte, fid, eid string) (runCheckpoint, error) {
	var cp runCheckpoint
	if len(bytes.TrimSpace(b)) == 0 {
		return cp, errors.New("the file is empty")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&cp); err != nil {
		return runCheckpoint{}, fmt.Errorf("not a run checkpoint: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return runCheckpoint{}, errors.New("not a run checkpoint: data after its end")
	}
	if err := cp.check(fid, eid); err != nil {
		return runCheckpoint{}, err
	}
	return cp, nil
}

func (cp *runCheckpoint) check(fid, eid string) error {
	switch {
	case cp.FrameworkInfo.ID == nil:
		return errors.New("no framework id")
	case cp.FrameworkInfo.ID.Value != fid:
		return fmt.Errorf("framework id %q is not its directory's %q", cp.FrameworkInfo.ID.Value, fid)
	case cp.ExecutorInfo.ExecutorID.Value != eid:
		return fmt.Errorf("executor id %q is not its directory's %q", cp.ExecutorInfo.ExecutorID.Value, eid)
	case !cp.CommandExecutor && cp.ExecutorInfo.Command == nil && cp.ExecutorInfo.Type != mesos.ExecutorTypeDefault:
		return errors.New("a custom executor without a command")
	case cp.CommandExecutor && len(cp.Tasks) > 1:
		return fmt.Errorf("a command executor with %d tasks", len(cp.Tasks))
	case !filepath.IsAbs(cp.Directory):
		return fmt.Errorf("sandbox %q is not an absolute path", cp.Directory)
	}
	if err := safeID(cp.ContainerID); err != nil {
		return fmt.Errorf("container %w", err)
	}
	seen := map[string]bool{}
	for i, t := range cp.Tasks {
		tid := t.TaskID.Value
		if err := safeID(tid); err != nil {
			return fmt.Errorf("task %d: %w", i, err)
		}
		if seen[tid] {
			return fmt.Errorf("task %s is listed twice", tid)
		}
		seen[tid] = true
		if cp.CommandExecutor && t.Command == nil {
			return fmt.Errorf("task %s of a command executor has no command", tid)
		}
	}
	return nil
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

// mark writes a marker holding the run's container id. It fails if the
// run's checkpoint is gone, rather than leave a marker without run.json.
func (a *Agent) mark(fid, eid, name, cid string) error {
	p := filepath.Join(filepath.Dir(a.runCheckpointPath(fid, eid)), name)
	return replaceFile(p, []byte(cid), 0o600, false)
}

// writeRunCheckpoint replaces a run's run.json with b, synced. The run's
// runner calls it under its checkpoint lock alone (runner.persist).
func (a *Agent) writeRunCheckpoint(fid, eid string, b []byte) error {
	path := a.runCheckpointPath(fid, eid)
	if a.testBeforeCheckpoint != nil {
		a.testBeforeCheckpoint(path)
	}
	return writeFileAtomic(path, b, 0o600)
}

// removeRunCheckpoint forgets a finished run.
func (a *Agent) removeRunCheckpoint(fid, eid string) {
	dir := filepath.Dir(a.runCheckpointPath(fid, eid))
	if err := a.removeCheckpointDir(dir); err != nil {
		a.log.Warn("cannot remove executor checkpoint", "path", dir, "error", err)
	}
}

// removeCheckpointDir removes a checkpoint directory in one step: it is
// renamed into meta/trash, and only then deleted, so that no crash leaves
// a part of it where recovery would take it for a state of its own (a
// run.json whose markers are gone looks like a run never launched). A
// directory that is not there is no error. If the rename fails, the
// directory stays whole.
func (a *Agent) removeCheckpointDir(dir string) error {
	trash := a.metaPath(trashDir)
	if err := os.MkdirAll(trash, 0o700); err != nil {
		return err
	}
	tomb := filepath.Join(trash, uuid.NewString())
	if err := os.Rename(dir, tomb); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return err
	}
	// A checkpoint that came back after a power loss would be a run to
	// recover.
	syncDir(filepath.Dir(dir))
	if a.crashAt("checkpoint_in_trash") {
		return nil
	}
	return os.RemoveAll(tomb)
}

// emptyTrash deletes what a crash left in meta/trash.
func (a *Agent) emptyTrash() {
	trash := a.metaPath(trashDir)
	entries, err := os.ReadDir(trash)
	if err != nil {
		return
	}
	for _, e := range entries {
		p := filepath.Join(trash, e.Name())
		a.log.Info("deleting a checkpoint whose removal a crash interrupted", "path", p)
		if err := os.RemoveAll(p); err != nil {
			a.log.Warn("cannot delete a removed checkpoint", "path", p, "error", err)
		}
	}
}

// crashAt reports whether a test asked the agent to stop at the named
// point of a checkpoint change, as if it had been killed there.
func (a *Agent) crashAt(point string) bool {
	return a.testCrashAt != nil && a.testCrashAt(point)
}

// runDir is one run checkpoint directory found at start.
type runDir struct {
	fid, eid string
	dir      string
	cp       runCheckpoint
	// problem, when set, says why the checkpoint cannot be used, naming
	// the file.
	problem string
	// markerCID is the container id a marker holds, "" if none.
	markerCID string
}

// loadRunCheckpoints reads every run checkpoint directory. It removes the
// temporary files and empty directories crashes left, and returns the
// rest, each with its checkpoint or what is wrong with it.
func (a *Agent) loadRunCheckpoints() ([]runDir, error) {
	root := a.metaPath("frameworks")
	fws, err := os.ReadDir(root)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read executor checkpoints: %w", err)
	}
	var out []runDir
	for _, fw := range fws {
		execs, err := os.ReadDir(filepath.Join(root, fw.Name(), "executors"))
		if err != nil {
			if !errors.Is(err, os.ErrNotExist) {
				a.log.Warn("cannot read executor checkpoints", "framework_id", fw.Name(), "error", err)
			}
			continue
		}
		for _, e := range execs {
			if !e.IsDir() || safeID(fw.Name()) != nil || safeID(e.Name()) != nil {
				a.log.Warn("ignoring a stray entry among executor checkpoints", "framework_id", fw.Name(), "entry", e.Name())
				continue
			}
			if rd, ok := a.loadRunDir(fw.Name(), e.Name()); ok {
				out = append(out, rd)
			}
		}
	}
	return out, nil
}

// loadRunDir reads one run checkpoint directory; ok is false when a crash
// left nothing of it worth recovering (and the directory is removed).
func (a *Agent) loadRunDir(fid, eid string) (rd runDir, ok bool) {
	path := a.runCheckpointPath(fid, eid)
	rd = runDir{fid: fid, eid: eid, dir: filepath.Dir(path)}
	removeTempFiles(rd.dir, a)
	launching, hasLaunching := readMarker(rd.dir, launchingMarker)
	subscribed, hasSubscribed := readMarker(rd.dir, subscribedMarker)
	rd.markerCID = launching
	if rd.markerCID == "" {
		rd.markerCID = subscribed
	}
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist) && !hasLaunching && !hasSubscribed:
		a.log.Info("removing an executor checkpoint that a crash left before its first write", "path", rd.dir)
		if err := a.removeCheckpointDir(rd.dir); err != nil {
			a.log.Warn("cannot remove executor checkpoint", "path", rd.dir, "error", err)
		}
		return rd, false
	case errors.Is(err, os.ErrNotExist):
		rd.problem = path + " is missing"
	case err != nil:
		rd.problem = fmt.Sprintf("cannot read %s: %v", path, err)
	default:
		if rd.cp, err = decodeRunCheckpoint(b, fid, eid); err != nil {
			rd.problem = fmt.Sprintf("%s: %v", path, err)
		} else if want := a.sandboxDir(fid, eid, rd.cp.ContainerID); rd.cp.Directory != want {
			// The agent would create files there, as the task's user.
			rd.problem = fmt.Sprintf("%s: sandbox %q is not the run's %q", path, rd.cp.Directory, want)
		}
	}
	rd.cp.launchBegan, rd.cp.subscribed = hasLaunching, hasSubscribed
	return rd, true
}

// readMarker returns the container id in a marker and whether it exists.
func readMarker(dir, name string) (string, bool) {
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return "", !errors.Is(err, os.ErrNotExist)
	}
	cid := strings.TrimSpace(string(b))
	if safeID(cid) != nil {
		return "", true
	}
	return cid, true
}

// removeTempFiles deletes the temporary files of replaceFile a crash left
// in a checkpoint directory.
func removeTempFiles(dir string, a *Agent) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if n := e.Name(); strings.HasPrefix(n, ".") && strings.Contains(n, tmpInfix) {
			p := filepath.Join(dir, n)
			a.log.Info("removing a temporary file a crash left", "path", p)
			os.Remove(p)
		}
	}
}
