package agent

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// lockFile, in the meta directory, is locked by the agent process that uses
// the work directory; it holds that process's pid.
const lockFile = "agent.lock"

// workDirLock is an exclusive lock on a work directory. Two agents on one
// work directory (a second agent started by mistake, or -recover cleanup
// run while the agent runs) would destroy each other's containers and
// checkpoints. The kernel drops the lock when the process dies, so a kill -9
// leaves nothing to clean up.
type workDirLock struct{ f *os.File }

// holderGoneWait bounds how long lockWorkDir waits for a lock whose
// recorded holder has died. The kernel drops a flock only when the last
// descriptor of its open file goes; a child the dead agent was starting
// shares that descriptor from fork until its exec closes it, so for a
// moment after a kill -9 the lock can outlive the agent that took it.
const holderGoneWait = 5 * time.Second

// lockWorkDir takes the lock of the work directory whose meta directory is
// meta, or says which process holds it. A lock held on behalf of a process
// that no longer runs is waited for (up to holderGoneWait); one held by a
// live process is refused at once.
func lockWorkDir(meta string) (*workDirLock, error) {
	p := filepath.Join(meta, lockFile)
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open the work directory's lock: %w", err)
	}
	deadline := time.Now().Add(holderGoneWait)
	for {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, unix.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("lock the work directory: %w", err)
		}
		holder := lockHolder(p)
		if processAlive(holder) || time.Now().After(deadline) {
			f.Close()
			return nil, fmt.Errorf("%w: another mesh agent (pid %s) uses work directory %s; stop it first", ErrWorkDirInUse, holder, filepath.Dir(meta))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &workDirLock{f: f}, nil
}

// lockHolder is the pid the lock file at p records, or "unknown".
func lockHolder(p string) string {
	if b, err := os.ReadFile(p); err == nil && len(strings.TrimSpace(string(b))) > 0 {
		return strings.TrimSpace(string(b))
	}
	return "unknown"
}

// processAlive says whether pid names a process that still runs (not a
// zombie). An unreadable pid counts as alive: only a holder known to be
// gone is waited for.
func processAlive(pid string) bool {
	n, err := strconv.Atoi(pid)
	if err != nil || n <= 0 {
		return true
	}
	b, err := os.ReadFile(filepath.Join("/proc", pid, "stat"))
	if err != nil {
		return !errors.Is(err, os.ErrNotExist)
	}
	// The state follows the command name's closing parenthesis.
	if i := strings.LastIndexByte(string(b), ')'); i >= 0 && i+2 < len(b) {
		return b[i+2] != 'Z' && b[i+2] != 'X'
	}
	return unix.Kill(n, 0) == nil
}

// release gives the lock up; nil-safe and idempotent.
func (l *workDirLock) release() {
	if l != nil && l.f != nil {
		l.f.Close()
		l.f = nil
	}
}
