package agent

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"mesh/mesos"
)

func TestGCAge(t *testing.T) {
	week := 7 * 24 * time.Hour
	for _, c := range []struct {
		headroom, usage float64
		want            time.Duration
	}{
		{0.1, 0, time.Duration(float64(week) * 0.9)},
		{0.1, 0.4, week / 2},
		{0.1, 0.9, 0},
		{0.1, 0.97, 0},
		{0, 0, week},
	} {
		if got := gcAge(week, c.headroom, c.usage); got.Round(time.Second) != c.want.Round(time.Second) {
			t.Errorf("headroom %g, usage %g: %v, want %v", c.headroom, c.usage, got, c.want)
		}
	}
}

// The sandbox of an ended executor goes after the delay, with the links
// and directories it leaves empty; a running task's stays.
func TestAgent_OldSandboxesAreRemoved(t *testing.T) {
	f := newFakeServer(t)
	cfg := testConfig(t, f)
	cfg.GCDelay = 300 * time.Millisecond
	cfg.GCDiskHeadroom = 0
	a := startAgent(t, cfg)
	a.waitRegistered(t)
	f.launch(testFramework("fw-1"), commandTask("done", "true"), commandTask("running", "sleep 30"))
	f.waitState(t, "done", mesos.TaskFinished)
	f.waitState(t, "running", mesos.TaskRunning)
	done, running := sandboxOf(t, a, "done"), sandboxOf(t, a, "running")
	// The sandbox goes first, then the executor's directory left empty.
	waitFor(t, 20*time.Second, "the ended executor's sandbox and directory to go", func() bool {
		_, err := os.Stat(filepath.Dir(filepath.Dir(done)))
		return os.IsNotExist(err)
	})
	if _, err := os.Stat(filepath.Join(running, "stdout")); err != nil {
		t.Errorf("the running task's sandbox: %v", err)
	}
}

func TestAgent_StateShowsFlags(t *testing.T) {
	f := newFakeServer(t)
	cfg := testConfig(t, f)
	cfg.HostVolumes = []string{"/srv/data", "/mnt"}
	cfg.GCDelay = 48 * time.Hour
	a := startAgent(t, cfg)
	a.waitRegistered(t)
	resp, err := http.Get("http://" + a.endpoint + "/state")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st MesosStateJSON
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	for flag, want := range map[string]string{"host_volumes": "/srv/data,/mnt", "gc_delay": "48h0m0s", "gc_disk_headroom": "0.1", "work_dir": a.workDir} {
		if got := st.Flags[flag]; got != want {
			t.Errorf("flags[%s] = %q, want %q", flag, got, want)
		}
	}
}

func TestDiskUsage(t *testing.T) {
	u, err := diskUsage(t.TempDir())
	if err != nil || u < 0 || u > 1 {
		t.Errorf("disk usage %g, %v", u, err)
	}
}
