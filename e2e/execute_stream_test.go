package e2e

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestExecute_StreamsTheTasksOutputWhileItRuns: the line a task prints
// first is on mesh execute's stdout while the task still runs (it waits
// for a file the test creates only once it has read that line), and the
// next one follows before its final state.
func TestExecute_StreamsTheTasksOutputWhileItRuns(t *testing.T) {
	httpAddr := freePort(t)
	dev := start(t, "dev", "-http-addr", httpAddr, "-agent-http-addr", freePort(t), "-isolation", "posix",
		"-resources", "cpus:2;mem:1024;disk:1000;ports:[31000-31100]")
	waitFor(t, 60*time.Second, "mesh dev to say it is running", func() bool {
		return strings.Contains(dev.out.String(), "mesh execute -master "+httpAddr)
	})
	release := filepath.Join(t.TempDir(), "release")
	cmd := exec.Command(meshBin, "execute", "-master", httpAddr, "-name", "stream", "-command",
		"echo first-line; i=0; while [ ! -e "+release+" ] && [ $i -lt 1200 ]; do sleep 0.1; i=$((i+1)); done; echo second-line")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 100)
	exited := make(chan error, 1)
	go func() {
		for sc := bufio.NewScanner(stdout); sc.Scan(); {
			lines <- sc.Text()
		}
		close(lines)
		exited <- cmd.Wait() // once its stdout is read to the end
	}()
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	})
	var seen []string
	waitLine := func(want string) {
		t.Helper()
		deadline := time.NewTimer(60 * time.Second)
		defer deadline.Stop()
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("mesh execute's stdout ended before %q: %q\nstderr:\n%s", want, seen, stderr.String())
				}
				seen = append(seen, l)
				if strings.HasPrefix(l, want) {
					return
				}
			case <-deadline.C:
				t.Fatalf("no %q on mesh execute's stdout within 60s: %q\nstderr:\n%s", want, seen, stderr.String())
			}
		}
	}
	waitLine("first-line")
	// The task cannot end before the release file exists.
	if err := os.WriteFile(release, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	waitLine("second-line")
	waitLine("task stream-0 TASK_FINISHED")
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("mesh execute: %v; stdout %q\nstderr:\n%s", err, seen, stderr.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("mesh execute did not exit within 60s of its task's end")
	}
	exited <- nil // for the cleanup
}
