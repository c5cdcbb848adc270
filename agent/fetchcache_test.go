package agent

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"mesh/mesos"
)

func TestEvictFetcherCache(t *testing.T) {
	root := t.TempDir()
	now := time.Now()
	write := func(user, name string, size int, age time.Duration) string {
		t.Helper()
		p := filepath.Join(root, user, name)
		os.MkdirAll(filepath.Dir(p), 0o700)
		if err := os.WriteFile(p, make([]byte, size), 0o644); err != nil {
			t.Fatal(err)
		}
		os.Chtimes(p, now.Add(-age), now.Add(-age))
		return p
	}
	oldest := write("alice", "a1", 400, 3*time.Hour)
	middle := write("bob", "b1", 400, 2*time.Hour)
	newest := write("alice", "a2", 400, time.Minute)
	stalePart := write("bob", "b2.part-1-2", 100, 2*time.Hour)
	freshPart := write("bob", "b3.part-1-3", 100, time.Minute)
	kept, err := evictFetcherCache(root, 900)
	if err != nil {
		t.Fatal(err)
	}
	if kept != 800 {
		t.Errorf("kept %d bytes, want 800", kept)
	}
	for p, want := range map[string]bool{oldest: false, middle: true, newest: true, stalePart: false, freshPart: true} {
		if _, err := os.Stat(p); (err == nil) != want {
			t.Errorf("%s: present %v, want %v", filepath.Base(p), err == nil, want)
		}
	}
	if kept, err := evictFetcherCache(filepath.Join(root, "absent"), 1); err != nil || kept != 0 {
		t.Errorf("absent cache: %d, %v", kept, err)
	}
}

// Tasks of the same user fetch a URI marked cache once; one not marked
// is fetched each time.
func TestAgent_FetcherCacheDownloadsOnce(t *testing.T) {
	srv, got := countingServer(t, "payload\n")
	f := newFakeServer(t)
	a := startAgent(t, testConfig(t, f))
	a.waitRegistered(t)
	yes := true
	for i, tid := range []string{"t1", "t2", "t3"} {
		task := commandTask(tid, "cat cached.txt plain.txt")
		task.Command.URIs = []mesos.CommandURI{{Value: srv.URL + "/cached.txt", Cache: &yes}, {Value: srv.URL + "/plain.txt"}}
		f.launch(testFramework("fw-1"), task)
		f.waitState(t, tid, mesos.TaskFinished)
		out, _ := os.ReadFile(filepath.Join(sandboxOf(t, a, tid), "stdout"))
		if string(out) != "payload\npayload\n" {
			t.Errorf("%s: output %q", tid, out)
		}
		if c, p := got.of("/cached.txt"), got.of("/plain.txt"); c != 1 || p != i+1 {
			t.Errorf("after %s: %d downloads of the cached URI (want 1), %d of the other (want %d)", tid, c, p, i+1)
		}
	}
	if m, _ := filepath.Glob(filepath.Join(a.workDir, "fetcher-cache", "*", "*")); len(m) != 1 {
		t.Errorf("fetcher cache holds %v, want one download", m)
	}
}
