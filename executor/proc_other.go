//go:build !linux

package executor

import "syscall"

// processStartTime is not known without /proc; 0 matches any process.
func processStartTime(pid int) (uint64, error) { return 0, nil }

// processAlive reports whether pid exists.
func processAlive(pid int, _ uint64) bool {
	return syscall.Kill(pid, 0) == nil
}

// sessionMembers cannot be listed without /proc; only the session
// leader's process group is reachable.
func sessionMembers(sid int) []int { return nil }

// HideFromTask does nothing without Linux's prctl.
func HideFromTask() error { return nil }
