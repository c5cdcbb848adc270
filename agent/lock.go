package agent

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

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

// lockWorkDir takes the lock of the work directory whose meta directory is
// meta, or says which process holds it.
func lockWorkDir(meta string) (*workDirLock, error) {
	p := filepath.Join(meta, lockFile)
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open the work directory's lock: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			holder := "unknown"
			if b, err := os.ReadFile(p); err == nil && len(strings.TrimSpace(string(b))) > 0 {
				holder = strings.TrimSpace(string(b))
			}
			return nil, fmt.Errorf("%w: another mesh agent (pid %s) uses work directory %s; stop it first", ErrWorkDirInUse, holder, filepath.Dir(meta))
		}
		return nil, fmt.Errorf("lock the work directory: %w", err)
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &workDirLock{f: f}, nil
}

// release gives the lock up; nil-safe and idempotent.
func (l *workDirLock) release() {
	if l != nil && l.f != nil {
		l.f.Close()
		l.f = nil
	}
}
