package executor

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"mesh/mesos"
)

// The agent reads the exit status file as root from a sandbox the task's
// user owns: whatever the task leaves there, reading returns promptly,
// stays in the sandbox and reads a bounded, regular file.
func TestReadTaskExitDistrustsTheSandbox(t *testing.T) {
	ok := t.TempDir()
	if err := WriteTaskExit(ok, TaskExit{TaskID: "t1", State: mesos.TaskFinished, Message: "Command exited with status 0"}); err != nil {
		t.Fatal(err)
	}
	if te, err := ReadTaskExit(ok); err != nil || te.TaskID != "t1" || te.State != mesos.TaskFinished {
		t.Fatalf("a good file: %+v, %v", te, err)
	}
	if _, err := ReadTaskExit(t.TempDir()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("no file: %v, want ErrNotExist", err)
	}

	outside := t.TempDir()
	if err := WriteTaskExit(outside, TaskExit{TaskID: "t1", State: mesos.TaskFinished}); err != nil {
		t.Fatal(err)
	}
	fifo, link, big := t.TempDir(), t.TempDir(), t.TempDir()
	for _, d := range []string{fifo, big} {
		if err := os.MkdirAll(filepath.Join(d, ".mesh"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := syscall.Mkfifo(filepath.Join(fifo, ExitStatusFile), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(outside, ".mesh"), filepath.Join(link, ".mesh")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(big, ExitStatusFile), []byte(`{"task_id":"`+strings.Repeat("x", 1<<20)+`"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, dir := range map[string]string{"a FIFO": fifo, "a symlink out of the sandbox": link, "a 1 MB file": big} {
		done := make(chan error, 1)
		go func() {
			_, err := ReadTaskExit(dir)
			done <- err
		}()
		select {
		case err := <-done:
			if err == nil {
				t.Errorf("%s was read", name)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("reading %s blocked", name)
		}
	}
}
