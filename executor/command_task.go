package executor

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	"mesh/mesos"
)

// taskProcess is the command executor's running task: the leader of its
// own process group, so that a kill reaches everything it started.
type taskProcess struct {
	cmd *exec.Cmd
	pid int
}

// taskCommand turns a CommandInfo into a command line: /bin/sh -c value
// for a shell command, else value run with arguments as its full argv.
func taskCommand(c *mesos.CommandInfo) (path string, argv []string, err error) {
	if c == nil {
		return "", nil, errors.New("task has no command (the command executor runs only command tasks)")
	}
	if c.IsShell() {
		if strings.TrimSpace(c.Value) == "" {
			return "", nil, errors.New("shell command is empty")
		}
		return "/bin/sh", []string{"/bin/sh", "-c", c.Value}, nil
	}
	if c.Value == "" {
		return "", nil, errors.New("command value is empty")
	}
	argv = c.Arguments
	if len(argv) == 0 {
		argv = []string{c.Value}
	}
	path = c.Value
	if !strings.Contains(path, "/") {
		if path, err = exec.LookPath(c.Value); err != nil {
			return "", nil, fmt.Errorf("find %q: %w", c.Value, err)
		}
	}
	return path, argv, nil
}

// taskCommandIn is taskCommand for a task chrooted into root: a program
// named without a slash is looked up in root's /bin directories, and the
// path returned is root-relative.
func taskCommandIn(c *mesos.CommandInfo, root string) (string, []string, error) {
	if c == nil || c.IsShell() || c.Value == "" || strings.Contains(c.Value, "/") {
		if c != nil && !c.IsShell() && strings.Contains(c.Value, "/") {
			argv := c.Arguments
			if len(argv) == 0 {
				argv = []string{c.Value}
			}
			return c.Value, argv, nil
		}
		return taskCommand(c)
	}
	argv := c.Arguments
	if len(argv) == 0 {
		argv = []string{c.Value}
	}
	for _, d := range []string{"/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"} {
		// Lstat: a symlink (to busybox, say) resolves inside the root.
		if _, err := os.Lstat(filepath.Join(root, d, c.Value)); err == nil {
			return d + "/" + c.Value, argv, nil
		}
	}
	return "", nil, fmt.Errorf("find %q in the task's root filesystem: not found", c.Value)
}

// taskEnv is the task's environment: the executor's own (which carries
// the MESOS_* variables) overridden by the command's variables, secrets
// given by value included. A variable that cannot be resolved (a secret
// given by reference) fails the task rather than leave it out.
func taskEnv(base []string, c *mesos.CommandInfo, sandbox string) ([]string, error) {
	env := map[string]string{}
	var order []string
	set := func(k, v string) {
		if _, ok := env[k]; !ok {
			order = append(order, k)
		}
		env[k] = v
	}
	for _, kv := range base {
		// The executor's token stays with the executor: a task that had
		// it could speak for its executor.
		if k, v, ok := strings.Cut(kv, "="); ok && k != EnvExecutorToken {
			set(k, v)
		}
	}
	set(EnvSandbox, sandbox)
	if c != nil && c.Environment != nil {
		for _, v := range c.Environment.Variables {
			if v.Name == "" {
				continue
			}
			val, err := v.Resolve()
			if err != nil {
				return nil, err
			}
			set(v.Name, val)
		}
	}
	out := make([]string, 0, len(order))
	for _, k := range order {
		out = append(out, k+"="+env[k])
	}
	return out, nil
}

// taskRoot is the root filesystem a task runs in when it is not the
// executor's: the task is chrooted into dir and runs as user.
type taskRoot struct {
	dir  string
	user string
	// caps are kept for the task as ambient capabilities (EnvTaskCaps).
	caps string
}

// startTask starts the task's command in dir with its output going to
// the executor's own (the sandbox's stdout and stderr files). With a
// root, the task runs chrooted in it, in sandbox (a path inside it).
func startTask(info *mesos.TaskInfo, dir, sandbox string, root *taskRoot) (*taskProcess, error) {
	cmd, err := taskCmd(info.Command, dir, sandbox, root)
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return &taskProcess{cmd: cmd, pid: cmd.Process.Pid}, nil
}

// taskCmd builds the process of command c as the task's is built: the
// same environment, root filesystem, user and working directory. The
// command executor runs its task and the task's command checks with it.
func taskCmd(c *mesos.CommandInfo, dir, sandbox string, root *taskRoot) (*exec.Cmd, error) {
	var path string
	var argv []string
	var err error
	if root != nil {
		path, argv, err = taskCommandIn(c, root.dir)
	} else {
		path, argv, err = taskCommand(c)
	}
	if err != nil {
		return nil, err
	}
	env, err := taskEnv(os.Environ(), c, sandbox)
	if err != nil {
		return nil, err
	}
	attr := &syscall.SysProcAttr{Setpgid: true}
	if root != nil {
		cred, _, err := credential(root.user)
		if err != nil {
			return nil, err
		}
		attr.Chroot, attr.Credential, dir = root.dir, cred, sandbox
		if attr.AmbientCaps, err = taskCaps(root.caps); err != nil {
			return nil, err
		}
	}
	return &exec.Cmd{
		Path:        path,
		Args:        argv,
		Env:         env,
		Dir:         dir,
		Stdout:      os.Stdout,
		Stderr:      os.Stderr,
		SysProcAttr: attr,
	}, nil
}

// signal sends sig to the task's process group.
func (t *taskProcess) signal(sig syscall.Signal) error {
	if err := syscall.Kill(-t.pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return err
	}
	return nil
}

// wait reaps the task and says how it ended.
func (t *taskProcess) wait() ExitStatus {
	err := t.cmd.Wait()
	return exitStatusOf(t.cmd.ProcessState, err)
}
