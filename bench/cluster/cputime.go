package main

import (
	"fmt"
	"os"
	"strconv"
	"time"

	"mesh/procstat"
)

// clockTicks is the unit of the cpu times in /proc/<pid>/stat: Linux
// reports them in USER_HZ, which is 100 on every architecture it exports
// to user space.
const clockTicks = 100

// cpuTime reads how much cpu (user and system) a process has used.
func cpuTime(pid int) (time.Duration, error) {
	f, err := procstat.Read(pid)
	if err != nil {
		return 0, err
	}
	return cpuOfFields(f)
}

// cpuOfFields adds utime and stime from the fields procstat gives.
func cpuOfFields(f [][]byte) (time.Duration, error) {
	// f[0] is the 3rd field (state): utime and stime are f[11], f[12].
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc stat has %d fields after the command, want at least 13", len(f))
	}
	var ticks int64
	for _, b := range f[11:13] {
		n, err := strconv.ParseInt(string(b), 10, 64)
		if err != nil || n < 0 || n > 1<<50 {
			return 0, fmt.Errorf("bad cpu time %q in /proc stat", b)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}

// cpuMeter measures the cpu processes use from a moment on.
type cpuMeter struct {
	pids  []int
	start []time.Duration // -1: could not be read
}

// startCPUMeter reads the cpu used so far by each of pids (0: this
// process).
func startCPUMeter(pids ...int) *cpuMeter {
	m := &cpuMeter{pids: pids, start: make([]time.Duration, len(pids))}
	for i, p := range pids {
		d, err := cpuTime(m.pid(p))
		if err != nil {
			d = -1
		}
		m.start[i] = d
	}
	return m
}

func (m *cpuMeter) pid(p int) int {
	if p == 0 {
		return os.Getpid()
	}
	return p
}

// used returns the cpu each process used since the meter started, in
// seconds; -1 for one that could not be read.
func (m *cpuMeter) used() []float64 {
	out := make([]float64, len(m.pids))
	for i, p := range m.pids {
		now, err := cpuTime(m.pid(p))
		if err != nil || m.start[i] < 0 {
			out[i] = -1
			continue
		}
		out[i] = (now - m.start[i]).Seconds()
	}
	return out
}
