package e2e

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestHA_StoppedLeaderDuringLaunchBurst: the leader is stopped (SIGSTOP)
// for longer than its lease while mesh execute launches 100 tasks. The
// others elect a new leader that takes over; when the old one resumes it
// steps down and follows; the framework gets no ERROR event, loses no
// update, and every task finishes exactly once.
func TestHA_StoppedLeaderDuringLaunchBurst(t *testing.T) {
	c := newCluster(t, 3)
	c.startAll()
	workDir := t.TempDir()
	startAgent(t, c, workDir)

	const n = 100
	exec := start(t, "execute", "-master", c.addrs(), "-name", "stopped", "-command", "sleep 1",
		"-instances", fmt.Sprint(n), "-cpus", "0.1", "-mem", "32", "-failover-timeout", "2m")
	old := c.waitStable(10 * time.Second)
	waitFor(t, 60*time.Second, "the first tasks of the burst", func() bool {
		return countTasks(old.httpAddr, "stopped") >= 15
	})
	if err := old.p.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	resumed := false
	resume := func() {
		if !resumed {
			resumed = true
			if err := old.p.cmd.Process.Signal(syscall.SIGCONT); err != nil {
				t.Errorf("SIGCONT: %v", err)
			}
		}
	}
	defer resume()
	waitFor(t, 30*time.Second, "a new leader while the old one is stopped", func() bool {
		return establishedLeader(c.others(old)) != nil
	})
	// The old leader stays stopped a while longer, as in a long pause: the
	// fault's length, not a wait for something to happen.
	time.Sleep(time.Second)
	resume()

	if code := exec.wait(t, 180*time.Second); code != 0 {
		t.Fatalf("mesh execute exited %d after the leader was stopped:\n%s", code, exec.out.String())
	}
	out := exec.out.String()
	if strings.Contains(out, "ERROR") {
		t.Errorf("the framework saw an ERROR event:\n%s", out)
	}
	l := c.waitStable(30 * time.Second)
	if l == old {
		t.Logf("the resumed server %s won a later election", old.name)
	}
	st := c.waitOneHistory(30 * time.Second)
	checkExactlyOnce(t, "stopped", n, out, st, workDir)
}
