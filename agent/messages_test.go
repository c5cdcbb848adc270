package agent

import (
	"syscall"
	"testing"

	"mesh/executor"
)

// TestWaitStatus_EncodedAsWaitpid: the status a FAILURE event carries is
// the executor's exit as waitpid reports it, as in Mesos.
func TestWaitStatus_EncodedAsWaitpid(t *testing.T) {
	cases := []struct {
		st   executor.ExitStatus
		want int32
	}{
		{executor.ExitStatus{Code: 0}, 0},
		{executor.ExitStatus{Code: 3}, 3 << 8},
		{executor.ExitStatus{Code: 255}, 255 << 8},
		{executor.ExitStatus{Code: -1, Signal: syscall.SIGKILL}, 9},
		{executor.ExitStatus{Code: -1, Signal: syscall.SIGTERM}, 15},
		{executor.ExitStatus{Code: -1}, -1},
		{unknownExit, -1},
	}
	for _, c := range cases {
		if got := waitStatus(c.st); got != c.want {
			t.Errorf("%s: status %d, want %d", c.st, got, c.want)
		}
	}
}
