//go:build linux

package executor

import (
	"errors"
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"

	"mesh/procstat"
)

// procStat is what mesh needs from /proc/<pid>/stat.
type procStat struct {
	state     byte
	session   int
	startTime uint64
}

// readProcStat parses /proc/<pid>/stat (procstat.Read).
func readProcStat(pid int) (procStat, error) {
	// Fields after the name: 3 state, 4 ppid, 5 pgrp, 6 session, ...
	// 22 starttime.
	f, err := procstat.Read(pid)
	if err != nil && !errors.Is(err, procstat.ErrMalformed) {
		return procStat{}, err
	}
	if err != nil || len(f) < 20 {
		return procStat{}, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	var st procStat
	st.state = f[0][0]
	if st.session, err = strconv.Atoi(string(f[3])); err != nil {
		return procStat{}, fmt.Errorf("malformed /proc/%d/stat: %w", pid, err)
	}
	if st.startTime, err = strconv.ParseUint(string(f[19]), 10, 64); err != nil {
		return procStat{}, fmt.Errorf("malformed /proc/%d/stat: %w", pid, err)
	}
	return st, nil
}

// processStartTime returns a process's start time in clock ticks since
// boot.
func processStartTime(pid int) (uint64, error) {
	st, err := readProcStat(pid)
	return st.startTime, err
}

// processAlive reports whether pid is a live (not zombie) process that
// started at startTime.
func processAlive(pid int, startTime uint64) bool {
	st, err := readProcStat(pid)
	if err != nil {
		return false
	}
	return st.state != 'Z' && st.state != 'X' && st.startTime == startTime
}

// sessionMembers lists the live processes of session sid. Processes that
// vanish while the list is built are skipped.
func sessionMembers(sid int) []int {
	d, err := os.Open("/proc")
	if err != nil {
		return nil
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return nil
	}
	var pids []int
	for _, n := range names {
		pid, err := strconv.Atoi(n)
		if err != nil {
			continue
		}
		st, err := readProcStat(pid)
		if err != nil || st.state == 'Z' || st.state == 'X' {
			continue
		}
		if st.session == sid {
			pids = append(pids, pid)
		}
	}
	return pids
}

// HideFromTask makes this process non-dumpable: its /proc files (its
// environment, which holds the executor's token, among them) become
// root's, and processes of the same user cannot trace it. The command
// executor calls it first, since under host-root isolation it runs as its
// task's user. The task it execs is dumpable again (execve resets it).
func HideFromTask() error {
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("make the executor non-dumpable: %w", err)
	}
	return nil
}
