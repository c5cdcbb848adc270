package httpdebug

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRegisterServesProfiles(t *testing.T) {
	mux := http.NewServeMux()
	Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	for path, want := range map[string]string{
		Prefix:                       "goroutine",
		Prefix + "goroutine?debug=1": "goroutine profile: total",
		Prefix + "cmdline":           "httpdebug.test",
		Prefix + "mutex?debug=1":     "sampling period=100",
	} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), want) {
			t.Errorf("GET %s: %d, body without %q", path, resp.StatusCode, want)
		}
	}
}

// TestRegisterServesAHeapDump: GET /debug/heapdump answers a Go heap
// dump, and leaves no file behind; another method is refused.
func TestRegisterServesAHeapDump(t *testing.T) {
	mux := http.NewServeMux()
	Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	before, _ := filepath.Glob(filepath.Join(os.TempDir(), "mesh-heapdump-*"))
	resp, err := http.Get(srv.URL + HeapDumpPath)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(string(body), "go1.7 heap dump\n") || len(body) < 1<<16 {
		t.Fatalf("GET %s: %d, %d bytes starting %q", HeapDumpPath, resp.StatusCode, len(body), body[:min(len(body), 20)])
	}
	if after, _ := filepath.Glob(filepath.Join(os.TempDir(), "mesh-heapdump-*")); len(after) != len(before) {
		t.Fatalf("the dump's file stayed: %v", after)
	}
	resp, err = http.Post(srv.URL+HeapDumpPath, "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("POST %s: %d, want 405", HeapDumpPath, resp.StatusCode)
	}
}
