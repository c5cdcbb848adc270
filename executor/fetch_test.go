package executor

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"mesh/mesos"
	execapi "mesh/mesos/executor"
)

// tarGz builds a gzipped tarball of regular files (name → content);
// names are written as given, escaping ones included.
func tarGz(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for name, content := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o4755, Size: int64(len(content)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(content))
	}
	tw.Close()
	gz.Close()
	return buf.Bytes()
}

func zipOf(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, content := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(content))
	}
	zw.Close()
	return buf.Bytes()
}

func gzOf(t *testing.T, content string) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	gz.Write([]byte(content))
	gz.Close()
	return buf.Bytes()
}

// fileServer serves fixed bodies by path on 127.0.0.1.
func fileServer(t *testing.T, files map[string][]byte) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write(b)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func yes() *bool { b := true; return &b }
func no() *bool  { b := false; return &b }

func TestFetcher_DownloadsExtractsAndMakesExecutable(t *testing.T) {
	srv := fileServer(t, map[string][]byte{
		"/app.tar.gz": tarGz(t, map[string]string{"app/run.sh": "echo app\n", "VERSION": "1\n"}),
		"/bundle.zip": zipOf(t, map[string]string{"lib/a.txt": "a", "b.txt": "b"}),
		"/data.gz":    gzOf(t, "unzipped"),
		"/tool":       []byte("#!/bin/sh\necho tool\n"),
		"/raw.tar.gz": tarGz(t, map[string]string{"inside": "x"}),
	})
	local := filepath.Join(t.TempDir(), "local.txt")
	os.WriteFile(local, []byte("local"), 0o644)
	dir := t.TempDir()
	f := &fetcher{dir: dir, localFiles: true}
	uris := []mesos.CommandURI{
		{Value: srv.URL + "/app.tar.gz"},
		{Value: srv.URL + "/bundle.zip"},
		{Value: srv.URL + "/data.gz"},
		{Value: srv.URL + "/tool", Executable: yes()},
		{Value: srv.URL + "/raw.tar.gz", Extract: no(), OutputFile: "keep/raw.tar.gz"},
		{Value: local, OutputFile: "copy.txt"},
		{Value: "file://" + local, Cache: yes()},
	}
	if err := f.fetchAll(context.Background(), uris); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"app/run.sh": "echo app\n", "VERSION": "1\n", "app.tar.gz": "", "lib/a.txt": "a", "b.txt": "b",
		"data": "unzipped", "copy.txt": "local", "local.txt": "local", "keep/raw.tar.gz": "",
	} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("%s: %v", name, err)
		} else if want != "" && string(b) != want {
			t.Errorf("%s = %q, want %q", name, b, want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "keep", "inside")); !os.IsNotExist(err) {
		t.Errorf("extract=false was extracted: %v", err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "tool")); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("executable: %v, %v", fi.Mode(), err)
	}
	if fi, _ := os.Stat(filepath.Join(dir, "app/run.sh")); fi.Mode()&os.ModeSetuid != 0 {
		t.Errorf("setuid bit kept from the archive: %v", fi.Mode())
	}
}

func TestFetcher_RefusesBadURIsAndEscapes(t *testing.T) {
	srv := fileServer(t, map[string][]byte{
		"/evil.tar.gz": tarGz(t, map[string]string{"../escaped": "x"}),
		"/evil.zip":    zipOf(t, map[string]string{"../escaped": "x"}),
		"/ok":          []byte("ok"),
	})
	local := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(local, []byte("s"), 0o600)
	for _, c := range []struct {
		uri        mesos.CommandURI
		localFiles bool
		want       string
	}{
		{mesos.CommandURI{Value: srv.URL + "/missing"}, true, "404"},
		{mesos.CommandURI{Value: "hdfs://namenode/x"}, true, `scheme "hdfs" is not supported`},
		{mesos.CommandURI{Value: "relative/path"}, true, "not an absolute path or a URI"},
		{mesos.CommandURI{Value: srv.URL + "/ok", OutputFile: "../out"}, true, "'..' component"},
		{mesos.CommandURI{Value: srv.URL + "/ok", OutputFile: "/etc/out"}, true, "absolute name"},
		{mesos.CommandURI{Value: srv.URL + "/"}, true, "no file name"},
		{mesos.CommandURI{Value: srv.URL + "/evil.tar.gz"}, true, "'..' component"},
		{mesos.CommandURI{Value: srv.URL + "/evil.zip"}, true, "'..' component"},
		{mesos.CommandURI{Value: local}, false, "local files cannot be fetched"},
		{mesos.CommandURI{Value: "file://otherhost/x"}, true, "absolute path on this machine"},
		{mesos.CommandURI{Value: "/no/such/file"}, true, "no such file"},
		{mesos.CommandURI{Value: "ftp://user:hunter2@host/x"}, true, `"ftp://user:xxxxx@host/x"`},
		{mesos.CommandURI{Value: strings.Replace(srv.URL, "http://", "http://user:hunter2@", 1) + "/missing"}, true, "user:xxxxx@"},
	} {
		dir := t.TempDir()
		f := &fetcher{dir: dir, localFiles: c.localFiles}
		err := f.fetch(context.Background(), c.uri)
		if err == nil || !errors.Is(err, errFetch) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("fetch %+v: %v, want an error with %q", c.uri, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("fetch error shows the URI's password: %v", err)
		}
		if _, err := os.Stat(filepath.Join(filepath.Dir(dir), "escaped")); err == nil {
			t.Errorf("fetch %+v wrote outside the sandbox", c.uri)
		}
	}
}

func TestCommandExecutor_FetchesURIsBeforeTheTask(t *testing.T) {
	srv := fileServer(t, map[string][]byte{"/hello.tar.gz": tarGz(t, map[string]string{"hello.txt": "hello\n"})})
	task := &mesos.TaskInfo{Name: "t", TaskID: mesos.TaskID{Value: "t1"}, Command: &mesos.CommandInfo{
		Value: "cat hello.txt > out", URIs: []mesos.CommandURI{{Value: srv.URL + "/hello.tar.gz"}}}}
	f := newFakeAgent(t, task)
	dir := t.TempDir()
	done, _ := runExecutor(t, f, dir, nil)
	if err := waitDone(t, done); err != nil {
		t.Fatal(err)
	}
	checkStates(t, f.states(), mesos.TaskStarting, mesos.TaskRunning, mesos.TaskFinished)
	if got := readFile(t, filepath.Join(dir, "out")); got != "hello\n" {
		t.Errorf("task read %q from its fetched file", got)
	}

	// A URI that cannot be fetched fails the task before it starts.
	bad := &mesos.TaskInfo{Name: "t", TaskID: mesos.TaskID{Value: "t2"}, Command: &mesos.CommandInfo{
		Value: "touch ran", URIs: []mesos.CommandURI{{Value: srv.URL + "/missing.tar.gz"}}}}
	g := newFakeAgent(t, bad)
	dir = t.TempDir()
	done, _ = runExecutor(t, g, dir, nil)
	if err := waitDone(t, done); err != nil {
		t.Fatal(err)
	}
	checkStates(t, g.states(), mesos.TaskStarting, mesos.TaskFailed)
	if st := g.last(); st.Reason != mesos.ReasonContainerLaunchFailed || !strings.Contains(st.Message, "Failed to fetch all URIs") || !strings.Contains(st.Message, "404") {
		t.Errorf("TASK_FAILED = %+v", st)
	}
	if _, err := os.Stat(filepath.Join(dir, "ran")); err == nil {
		t.Error("the task ran although its URI could not be fetched")
	}
}

func TestCommandExecutor_KillDuringFetch(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(release); srv.Close() })
	task := &mesos.TaskInfo{Name: "t", TaskID: mesos.TaskID{Value: "t1"}, Command: &mesos.CommandInfo{
		Value: "touch ran", URIs: []mesos.CommandURI{{Value: srv.URL + "/slow"}}}}
	f := newFakeAgent(t, task)
	dir := t.TempDir()
	done, _ := runExecutor(t, f, dir, nil)
	f.waitState(t, mesos.TaskStarting)
	time.Sleep(50 * time.Millisecond)
	f.send(execapi.Event{Type: execapi.EventKill, Kill: &execapi.Kill{TaskID: task.TaskID}})
	if err := waitDone(t, done); err != nil {
		t.Fatal(err)
	}
	checkStates(t, f.states(), mesos.TaskStarting, mesos.TaskKilled)
	if _, err := os.Stat(filepath.Join(dir, "ran")); err == nil {
		t.Error("a task killed while fetching ran")
	}
}

func FuzzParseFetchURI(f *testing.F) {
	for _, s := range []string{"http://h/x.tar.gz", "https://h:1/a?b#c", "file:///tmp/x", "/abs/path", "rel", "hdfs://n/x", "file://h/x", "http://", " /x "} {
		f.Add(s, "out")
	}
	f.Fuzz(func(t *testing.T, value, output string) {
		if u, err := url.Parse(strings.TrimSpace(value)); err == nil && u.User != nil {
			if pw, ok := u.User.Password(); ok && len(pw) > 3 && strings.Contains(redactURI(value), ":"+pw+"@") {
				t.Fatalf("redactURI(%q) keeps the password", value)
			}
		}
		src, local, err := parseFetchURI(value)
		if err != nil {
			return
		}
		if local && !filepath.IsAbs(src) {
			t.Fatalf("local source %q of %q is not absolute", src, value)
		}
		if rel, err := outputName(output); err == nil {
			if filepath.IsAbs(rel) || rel == ".." || strings.HasPrefix(rel, "../") {
				t.Fatalf("output %q escapes as %q", output, rel)
			}
		}
	})
}

func TestFetcher_CacheDownloadsOnce(t *testing.T) {
	var hits atomic.Int32
	body := tarGz(t, map[string]string{"app/run.sh": "echo app\n"})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Write(body)
	}))
	t.Cleanup(srv.Close)
	cache := t.TempDir()
	for i, c := range []struct {
		cache    *bool
		wantHits int32
	}{{yes(), 1}, {yes(), 1}, {nil, 2}, {yes(), 2}} {
		dir := t.TempDir()
		f := &fetcher{dir: dir, cache: cache}
		if err := f.fetchAll(context.Background(), []mesos.CommandURI{{Value: srv.URL + "/app.tar.gz", Cache: c.cache}}); err != nil {
			t.Fatal(err)
		}
		if b, err := os.ReadFile(filepath.Join(dir, "app", "run.sh")); err != nil || string(b) != "echo app\n" {
			t.Errorf("fetch %d: extracted file %q, %v", i, b, err)
		}
		if n := hits.Load(); n != c.wantHits {
			t.Errorf("fetch %d: %d downloads so far, want %d", i, n, c.wantHits)
		}
	}
	entries, _ := os.ReadDir(cache)
	if len(entries) != 1 || len(entries[0].Name()) != 64 {
		t.Errorf("cache holds %v, want one file named by the URI's SHA-256", entries)
	}
	// A failed download leaves nothing in the cache.
	f := &fetcher{dir: t.TempDir(), cache: cache}
	if err := f.fetchAll(context.Background(), []mesos.CommandURI{{Value: srv.URL + "/x", Cache: yes()}}); err != nil {
		t.Fatal(err) // the test server answers every path
	}
	bad := &fetcher{dir: t.TempDir(), cache: cache}
	if err := bad.fetchAll(context.Background(), []mesos.CommandURI{{Value: "http://127.0.0.1:1/none", Cache: yes()}}); err == nil {
		t.Error("a download from a closed port succeeded")
	}
	if entries, _ := os.ReadDir(cache); len(entries) != 2 {
		t.Errorf("cache holds %d entries after a failed download, want 2", len(entries))
	}
}

// The cache belongs to the task's user: a symlink planted there is not
// followed (an executor of an image task reads the cache as root).
func TestFetcher_CacheDoesNotFollowPlantedSymlinks(t *testing.T) {
	srv := fileServer(t, map[string][]byte{"/f.txt": []byte("real\n")})
	cache := t.TempDir()
	secret := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(secret, []byte("secret\n"), 0o600)
	uri := srv.URL + "/f.txt"
	sum := sha256.Sum256([]byte(uri))
	if err := os.Symlink(secret, filepath.Join(cache, hex.EncodeToString(sum[:]))); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	f := &fetcher{dir: dir, cache: cache}
	if err := f.fetchAll(context.Background(), []mesos.CommandURI{{Value: uri, Cache: yes()}}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "f.txt")); string(b) != "real\n" {
		t.Errorf("fetched %q, want the download, not the planted link's target", b)
	}
}
