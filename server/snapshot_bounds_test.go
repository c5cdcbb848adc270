package server_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"mesh/server"
	"mesh/server/servertest"
)

// TestServer_SnapshotRestoreIsBounded: a snapshot upload larger than
// -max-snapshot-restore-bytes is refused with 413 and a message, whatever
// its metadata claims and before the data is read; one whose data is
// longer or shorter than its metadata says is refused with 400; no upload
// leaves a file behind, and the server keeps serving.
func TestServer_SnapshotRestoreIsBounded(t *testing.T) {
	dir := t.TempDir()
	const limit = 64 << 10
	srv := servertest.NewServer(t, servertest.Options{DataDir: dir, Tweak: func(c *server.Config) { c.MaxSnapshotRestoreBytes = limit }})
	f := subscribe(t, srv.HTTPAddr(), subscribeBody("fw", "", `"failover_timeout":600`))
	f.subscribed()
	resp, err := http.Get("http://" + srv.HTTPAddr() + "/internal/v1/snapshot")
	if err != nil {
		t.Fatal(err)
	}
	snap, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	line, data, ok := bytes.Cut(snap, []byte("\n"))
	if resp.StatusCode != 200 || !ok {
		t.Fatalf("snapshot save: %d, %d bytes", resp.StatusCode, len(snap))
	}
	var meta raft.SnapshotMeta
	if err := json.Unmarshal(line, &meta); err != nil {
		t.Fatal(err)
	}
	upload := func(size int64, data []byte) (int, string) {
		t.Helper()
		m := meta
		m.Size = size
		head, _ := json.Marshal(m)
		resp, err := http.Post("http://"+srv.HTTPAddr()+"/internal/v1/snapshot", "application/octet-stream",
			io.MultiReader(bytes.NewReader(head), strings.NewReader("\n"), bytes.NewReader(data)))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		msg, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(msg)
	}
	for _, tc := range []struct {
		name string
		size int64
		data []byte
		code int
		msg  string
	}{
		{"claims 3 GiB", 3 << 30, data, 413, "-max-snapshot-restore-bytes"},
		{"claims one byte over the limit", limit + 1, bytes.Repeat([]byte("x"), limit+1), 413, "exceeds the limit"},
		{"shorter than its metadata", int64(len(data)) + 10, data, 400, "truncated"},
		{"longer than its metadata", int64(len(data)) - 1, data, 400, "longer than its metadata"},
	} {
		if code, msg := upload(tc.size, tc.data); code != tc.code || !strings.Contains(msg, tc.msg) {
			t.Errorf("%s: %d %q, want %d saying %q", tc.name, code, msg, tc.code, tc.msg)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "restore-*")); len(left) > 0 {
		t.Errorf("uploads left files behind: %v", left)
	}
	if code, msg := upload(meta.Size, data); code != 200 {
		t.Fatalf("a good snapshot within the limit: %d %s", code, msg)
	}
	servertest.WaitFor(t, 10*time.Second, "leadership re-established", srv.IsLeader)
}
