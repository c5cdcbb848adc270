package agent

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// After a kill -9 the agent's lock can stay held for a moment by a child
// it was starting (between fork and exec the child shares the lock's
// descriptor). The next agent waits for such a lock rather than refusing
// the work directory of an agent that is gone.
func TestLockWorkDir_WaitsForALockWhoseHolderIsGone(t *testing.T) {
	meta := t.TempDir()
	p := filepath.Join(meta, lockFile)

	// A pid that no longer runs: a child that has exited and been reaped.
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(strconv.Itoa(dead.Process.Pid)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// The lock, held through another open file (as the stray child holds
	// it), released a moment later.
	held, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	if err := unix.Flock(int(held.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	release := time.AfterFunc(200*time.Millisecond, func() { held.Close() })
	defer release.Stop()

	l, err := lockWorkDir(meta)
	if err != nil {
		t.Fatalf("lock held for a gone holder: %v", err)
	}
	defer l.release()
	b, _ := os.ReadFile(p)
	if string(b) != strconv.Itoa(os.Getpid())+"\n" {
		t.Errorf("lock file records %q, want this process's pid", b)
	}
}

func TestProcessAlive(t *testing.T) {
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	for pid, want := range map[string]bool{
		strconv.Itoa(os.Getpid()):      true,
		strconv.Itoa(dead.Process.Pid): false,
		"unknown":                      true,
		"-3":                           true,
	} {
		if got := processAlive(pid); got != want {
			t.Errorf("processAlive(%s) = %v, want %v", pid, got, want)
		}
	}
}
