package agent

import (
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unicode"

	"github.com/google/uuid"
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
//	<work-dir>/meta/trash/                                    checkpoints being removed
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
	return a.metaPath("frameworks", fid, "executors", eid, runFile)
}

// sandboxDir is a run's sandbox.
func (a *Agent) sandboxDir(fid, eid, cid string) string {
	return filepath.Join(a.workDir, sandboxRoot, fid, "executors", eid, "runs", cid)
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
// rename, creating path's directory if needed.
func writeFileAtomic(path string, b []byte, perm os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return replaceFile(path, b, perm, true)
}

// replaceFile replaces path with a file holding b, through a temporary
// file in the same directory and a rename, so that a crash leaves the old
// file or the new one, never a part of either; a crash may leave the
// temporary file (named "."+base+".tmp*"). With durable, the file and the
// directory are synced as well, so that the new file survives a power
// loss, not only the death of the process.
func replaceFile(path string, b []byte, perm os.FileMode, durable bool) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+tmpInfix+"*")
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
	if durable {
		if err := tmp.Sync(); err != nil {
			return cleanup(err)
		}
	}
	if err := tmp.Close(); err != nil {
		return cleanup(err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if durable {
		syncDir(filepath.Dir(path))
	}
	return nil
}

// tmpInfix marks the temporary files of replaceFile.
const tmpInfix = ".tmp"

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

// uuidString renders an update uuid for logs.
func uuidString(b []byte) string {
	if u, err := uuid.FromBytes(b); err == nil {
		return u.String()
	}
	return hex.EncodeToString(b)
}
