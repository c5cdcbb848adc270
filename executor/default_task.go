package executor

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"

	"mesh/mesos"
)

// EnvDefaultExecutor, set to 1, makes `mesh executor` run as the default
// executor (task groups) rather than the command executor.
const EnvDefaultExecutor = "MESH_DEFAULT_EXECUTOR"

// TaskSandbox is the sandbox of task tid of a task group, under its
// executor's sandbox dir (where Mesos puts it).
func TaskSandbox(dir, tid string) string {
	return filepath.Join(dir, "tasks", tid)
}

// GroupVolume is a volume of a task of a task group as the default
// executor gives it to the task: Target, relative to the task's sandbox,
// is made a link to Source, a directory of the executor's sandbox
// (Parent) or of the task's own.
type GroupVolume struct {
	Target string
	Source string
	Parent bool
}

// groupVolumeSource is the part of a Mesos Volume.Source the default
// executor understands.
type groupVolumeSource struct {
	Type        string `json:"type"`
	SandboxPath *struct {
		Type string `json:"type"`
		Path string `json:"path"`
	} `json:"sandbox_path"`
}

// GroupTaskVolumes are the volumes the default executor gives a task of
// a task group: every volume of the executor's ContainerInfo with a
// sandbox-relative container path (the executor's container has it in
// its sandbox, and the task sees it at the same path of its own), and the
// task's own SANDBOX_PATH volumes (PARENT: a path of the executor's
// sandbox; SELF: one of its own). Volumes at absolute container paths of
// the executor are mounted in its container, where every task sees them
// already. A task volume the executor cannot give is an error.
func GroupTaskVolumes(exec *mesos.ContainerInfo, task *mesos.ContainerInfo) ([]GroupVolume, error) {
	var out []GroupVolume
	if exec != nil {
		for _, v := range exec.Volumes {
			if filepath.IsLocal(v.ContainerPath) {
				out = append(out, GroupVolume{Target: v.ContainerPath, Source: v.ContainerPath, Parent: true})
			}
		}
	}
	if task == nil {
		return out, nil
	}
	for i, v := range task.Volumes {
		what := fmt.Sprintf("volume %d (container path %q)", i, v.ContainerPath)
		if !filepath.IsLocal(v.ContainerPath) {
			return nil, fmt.Errorf("%s: a task of a task group gets volumes in its sandbox only (a relative container_path); give the executor's ContainerInfo the volumes its tasks share", what)
		}
		var src groupVolumeSource
		if len(v.Source) > 0 && string(v.Source) != "null" {
			if err := json.Unmarshal(v.Source, &src); err != nil {
				return nil, fmt.Errorf("%s: source: %w", what, err)
			}
		}
		if src.Type != "SANDBOX_PATH" || src.SandboxPath == nil {
			return nil, fmt.Errorf("%s: a task of a task group can have SANDBOX_PATH volumes only; give the executor's ContainerInfo the volumes its tasks share", what)
		}
		if !filepath.IsLocal(src.SandboxPath.Path) {
			return nil, fmt.Errorf("%s: sandbox path %q must be relative and stay inside the sandbox", what, src.SandboxPath.Path)
		}
		switch src.SandboxPath.Type {
		case "PARENT":
			out = append(out, GroupVolume{Target: v.ContainerPath, Source: src.SandboxPath.Path, Parent: true})
		case "SELF", "":
			out = append(out, GroupVolume{Target: v.ContainerPath, Source: src.SandboxPath.Path})
		default:
			return nil, fmt.Errorf("%s: sandbox path type %q is neither PARENT nor SELF", what, src.SandboxPath.Type)
		}
	}
	return out, nil
}

// prepareGroupSandbox makes the sandbox of a task of a task group, with
// its volumes linked into it, under the executor's sandbox dir.
func prepareGroupSandbox(dir string, vols []GroupVolume, tid string) (string, error) {
	sb := TaskSandbox(dir, tid)
	if err := os.MkdirAll(sb, 0o755); err != nil {
		return "", fmt.Errorf("create the task's sandbox: %w", err)
	}
	for _, v := range vols {
		base := sb
		if v.Parent {
			base = dir
		}
		src := filepath.Join(base, v.Source)
		if err := os.MkdirAll(src, 0o755); err != nil {
			return "", fmt.Errorf("create volume %s: %w", v.Source, err)
		}
		target := filepath.Join(sb, v.Target)
		if target == src {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return "", fmt.Errorf("volume %s: %w", v.Target, err)
		}
		if err := os.Symlink(src, target); err != nil && !errors.Is(err, os.ErrExist) {
			return "", fmt.Errorf("volume %s: %w", v.Target, err)
		}
	}
	return sb, nil
}

// startGroupTask starts a task of a task group in its sandbox sb, its
// output in the sandbox's stdout and stderr.
func startGroupTask(info *mesos.TaskInfo, sb string) (*taskProcess, error) {
	path, argv, err := taskCommand(info.Command)
	if err != nil {
		return nil, err
	}
	env, err := taskEnv(os.Environ(), info.Command, sb)
	if err != nil {
		return nil, err
	}
	stdout, err := os.OpenFile(filepath.Join(sb, "stdout"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer stdout.Close()
	stderr, err := os.OpenFile(filepath.Join(sb, "stderr"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer stderr.Close()
	cmd := &exec.Cmd{
		Path:        path,
		Args:        argv,
		Env:         env,
		Dir:         sb,
		Stdout:      stdout,
		Stderr:      stderr,
		SysProcAttr: &syscall.SysProcAttr{Setpgid: true},
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return &taskProcess{cmd: cmd, pid: cmd.Process.Pid}, nil
}
