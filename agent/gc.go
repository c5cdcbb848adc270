package agent

import (
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// Sandboxes of ended executors are removed after a delay, as Mesos'
// agent does (--gc_delay, --gc_disk_headroom): the fuller the work
// directory's disk, the sooner.
const (
	DefaultGCDelay        = 7 * 24 * time.Hour
	DefaultGCDiskHeadroom = 0.1
)

// gcAge is how long an ended run's sandbox is kept: delay scaled down by
// the disk's usage, to nothing once usage reaches 1 - headroom.
func gcAge(delay time.Duration, headroom, usage float64) time.Duration {
	return time.Duration(float64(delay) * max(0, 1-headroom-usage))
}

// diskUsage is the used fraction of the filesystem that holds dir, as
// Mesos reckons it: blocks not free over all blocks.
func diskUsage(dir string) (float64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, err
	}
	if st.Blocks == 0 {
		return 0, nil
	}
	return float64(st.Blocks-st.Bfree) / float64(st.Blocks), nil
}

// runGC removes old sandboxes until ctx ends.
func (a *Agent) runGC() {
	every := min(time.Minute, max(a.cfg.GCDelay/2, 100*time.Millisecond))
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-a.ctx.Done():
			return
		case <-t.C:
			a.collectSandboxes(time.Now())
		}
	}
}

// collectSandboxes removes the sandboxes of runs that are not live and
// were last touched (the agent touches a sandbox when its run ends) longer
// ago than gcAge, then the `latest` links and directories left empty. It
// returns how many sandboxes it removed.
func (a *Agent) collectSandboxes(now time.Time) int {
	usage, err := diskUsage(a.workDir)
	if err != nil {
		a.log.Warn("cannot read the work directory's disk usage", "error", err)
	}
	age := gcAge(a.cfg.GCDelay, a.cfg.GCDiskHeadroom, usage)
	// A sandbox no run claims yet is being created: spared a while.
	young := min(a.cfg.GCDelay, time.Minute)
	live := map[string]bool{}
	for _, run := range a.liveRuns() {
		live[run.directory] = true
	}
	runs, _ := filepath.Glob(filepath.Join(a.workDir, sandboxRoot, "*", "executors", "*", "runs", "*"))
	removed := 0
	for _, dir := range runs {
		fi, err := os.Lstat(dir)
		if err != nil || !fi.IsDir() || live[dir] {
			continue
		}
		idle := now.Sub(fi.ModTime())
		if idle < age || idle < young {
			continue
		}
		if err := os.RemoveAll(dir); err != nil {
			a.log.Warn("cannot remove an old sandbox", "path", dir, "error", err)
			continue
		}
		removed++
		a.log.Debug("old sandbox removed", "path", dir, "idle", idle.Round(time.Second))
	}
	if removed > 0 {
		// Links to removed runs, then what is left empty (os.Remove
		// leaves a directory that is not).
		links, _ := filepath.Glob(filepath.Join(a.workDir, sandboxRoot, "*", "executors", "*", "runs", "latest"))
		for _, l := range links {
			if _, err := os.Stat(l); os.IsNotExist(err) {
				os.Remove(l)
			}
		}
		for _, pattern := range []string{"*/executors/*/runs", "*/executors/*", "*/executors", "*"} {
			dirs, _ := filepath.Glob(filepath.Join(a.workDir, sandboxRoot, pattern))
			for _, d := range dirs {
				os.Remove(d)
			}
		}
		a.log.Info("old sandboxes removed", "count", removed, "kept_for", age.Round(time.Second), "disk_usage", usage)
	}
	return removed
}
