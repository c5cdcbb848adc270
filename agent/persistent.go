package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"mesh/executor"
	"mesh/mesos"
)

// Persistent volumes, as Mesos keeps them: each is a directory
//
//	<work-dir>/volumes/roles/<role>/<persistence id>
//
// (a role's '/' written as ' ' so that "a/b" and "a" never share a
// directory) that outlives the tasks using it and the agent's restarts,
// and is removed when the leader no longer lists it (DESTROY). The
// agent's dynamic reservations and volumes, as the leader last sent them
// (CHECKPOINT_RESOURCES), are checkpointed in meta/resources.json and
// reported when the agent registers again.

// resourcesFile is the checkpoint of the agent's reservations and volumes.
const resourcesFile = "resources.json"

// persistentVolumes keeps the agent's checkpointed resources and their
// directories. Its lock serializes checkpoints, which arrive on the
// leader's stream, with launches reading them.
type persistentVolumes struct {
	mu      sync.Mutex
	workDir string
	meta    string // the checkpoint file
}

func newPersistentVolumes(workDir, meta string) *persistentVolumes {
	return &persistentVolumes{workDir: workDir, meta: meta}
}

// path is a volume's directory.
func (p *persistentVolumes) path(role, id string) string {
	return filepath.Join(p.workDir, "volumes", "roles", strings.ReplaceAll(role, "/", " "), id)
}

// load returns the checkpointed resources; nil when none were ever sent.
func (p *persistentVolumes) load() (mesos.Resources, error) {
	b, err := os.ReadFile(p.meta)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var rs mesos.Resources
	if err := json.Unmarshal(b, &rs); err != nil {
		return nil, fmt.Errorf("checkpointed resources %s: %w", p.meta, err)
	}
	return rs, nil
}

// Checkpointed returns what load returns, the error logged by the caller.
func (p *persistentVolumes) Checkpointed() (mesos.Resources, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.load()
}

// Checkpoint makes rs the agent's reservations and volumes: the directory
// of each volume is created, then the list is written, then the
// directories of volumes no longer listed are removed. A crash in between
// leaves at worst a directory the next checkpoint removes.
func (p *persistentVolumes) Checkpoint(rs mesos.Resources) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	old, err := p.load()
	if err != nil {
		return err
	}
	keep := map[string]bool{}
	for i := range rs {
		id := rs[i].PersistenceID()
		if id == "" {
			continue
		}
		if err := safeID(id); err != nil {
			return fmt.Errorf("persistent volume %q: %w", id, err)
		}
		dir := p.path(rs[i].ReservationRole(), id)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("persistent volume %s: %w", id, err)
		}
		keep[dir] = true
	}
	b, err := json.Marshal(rs)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p.meta), 0o755); err != nil {
		return err
	}
	if err := writeFileAtomic(p.meta, b, 0o600); err != nil {
		return err
	}
	for i := range old {
		id := old[i].PersistenceID()
		if id == "" || safeID(id) != nil {
			continue
		}
		if dir := p.path(old[i].ReservationRole(), id); !keep[dir] {
			if err := os.RemoveAll(dir); err != nil {
				return fmt.Errorf("removing destroyed volume %s: %w", id, err)
			}
		}
	}
	return nil
}

// Mounts returns the persistent volumes in res as container volumes: each
// volume's directory at its container_path. Under an isolation that
// mounts nothing (posix) a volume must have a relative container_path,
// which links into the sandbox (link, below).
func (p *persistentVolumes) Mounts(res mesos.Resources, canMount bool) ([]executor.Volume, error) {
	var out []executor.Volume
	for i := range res {
		r := &res[i]
		id := r.PersistenceID()
		if id == "" {
			continue
		}
		if r.Disk.Volume == nil || r.Disk.Volume.ContainerPath == "" {
			return nil, fmt.Errorf("persistent volume %s has no container_path", id)
		}
		target := r.Disk.Volume.ContainerPath
		if err := safeID(id); err != nil {
			return nil, fmt.Errorf("persistent volume %q: %w", id, err)
		}
		if !filepath.IsLocal(target) && (!canMount || !filepath.IsAbs(target)) {
			if !canMount {
				return nil, fmt.Errorf("persistent volume %s: container path %q must be relative to the sandbox under an isolation that mounts nothing", id, target)
			}
			return nil, fmt.Errorf("persistent volume %s: container path %q must be absolute or stay inside the sandbox", id, target)
		}
		dir := p.path(r.ReservationRole(), id)
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			return nil, fmt.Errorf("persistent volume %s is not on this agent (no %s): the leader has not checkpointed it here", id, dir)
		}
		out = append(out, executor.Volume{Source: dir, Target: target, ReadOnly: r.Disk.Volume.Mode == mesos.VolumeModeRO})
	}
	return out, nil
}

// linkVolumes makes each volume a symlink in the sandbox, as Mesos' posix
// filesystem isolator does where nothing can be mounted.
func linkVolumes(sandbox string, vols []executor.Volume) error {
	for _, v := range vols {
		link := filepath.Join(sandbox, v.Target)
		if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
			return err
		}
		if cur, err := os.Readlink(link); err == nil && cur == v.Source {
			continue
		}
		if err := os.Symlink(v.Source, link); err != nil {
			return fmt.Errorf("linking persistent volume into the sandbox at %s: %w", v.Target, err)
		}
	}
	return nil
}

// handVolumes gives each empty persistent volume to the task's user, as
// Mesos does the first time a volume is used, so that a task that does not
// run as root can write to it. A volume with data keeps its owner.
func handVolumes(vols []executor.Volume, user string) error {
	if user == "" {
		return nil
	}
	for _, v := range vols {
		entries, err := os.ReadDir(v.Source)
		if err != nil {
			return fmt.Errorf("persistent volume %s: %w", v.Source, err)
		}
		if len(entries) > 0 {
			continue
		}
		if err := prepareSandboxFor(v.Source, user); err != nil {
			return fmt.Errorf("persistent volume %s: %w", v.Source, err)
		}
	}
	return nil
}
