package execute

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// poll is the tests' wait between two reads of a file.
const poll = 10 * time.Millisecond

// fakeSandbox serves one growing file through /files/read as an agent
// does: from offset, at most length bytes.
type fakeSandbox struct {
	mu   sync.Mutex
	path string
	data []byte
}

func (f *fakeSandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.URL.Path != "/files/read" || r.URL.Query().Get("path") != f.path {
		http.NotFound(w, r)
		return
	}
	off, _ := strconv.Atoi(r.URL.Query().Get("offset"))
	n, _ := strconv.Atoi(r.URL.Query().Get("length"))
	if off > len(f.data) {
		off = len(f.data)
	}
	end := min(off+n, len(f.data))
	json.NewEncoder(w).Encode(map[string]any{"data": string(f.data[off:end]), "offset": off})
}

func (f *fakeSandbox) write(s string) {
	f.mu.Lock()
	f.data = append(f.data, s...)
	f.mu.Unlock()
}

// TestFollow_PrintsWhatIsWrittenUntilTheTaskEnds: lines written while
// following, and the last ones written just before the task ended, are
// printed once each, in order.
func TestFollow_PrintsWhatIsWrittenUntilTheTaskEnds(t *testing.T) {
	sb := &fakeSandbox{path: "/sandbox/stdout"}
	sb.write("line 0\n")
	srv := httptest.NewServer(sb)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	polls := 0
	done := func() (bool, error) {
		polls++
		sb.write(fmt.Sprintf("line %d\n", polls)) // the task writes between two polls
		return polls == 3, nil
	}
	var out bytes.Buffer
	err := Follow(ctx, srv.Client(), srv.URL, "/sandbox/stdout", poll, true, done, func(b []byte) error {
		out.Write(b)
		return nil
	})
	if err != nil {
		t.Fatalf("Follow: %v", err)
	}
	if want := "line 0\nline 1\nline 2\nline 3\n"; out.String() != want {
		t.Errorf("Follow printed %q, want %q", out.String(), want)
	}
}

// TestFollow_WithoutFollowStopsAtTheEnd: without -f only what is
// written is printed, and the task's state is not asked for.
func TestFollow_WithoutFollowStopsAtTheEnd(t *testing.T) {
	sb := &fakeSandbox{path: "/sandbox/stdout"}
	sb.write(strings.Repeat("x", 3<<20)) // more than one read
	srv := httptest.NewServer(sb)
	defer srv.Close()
	var n int
	err := Follow(context.Background(), srv.Client(), srv.URL, "/sandbox/stdout", poll, false, func() (bool, error) {
		t.Fatal("Follow asked whether the task ended without -f")
		return false, nil
	}, func(b []byte) error { n += len(b); return nil })
	if err != nil || n != 3<<20 {
		t.Errorf("Follow printed %d bytes, %v; want %d", n, err, 3<<20)
	}
	if err := Follow(context.Background(), srv.Client(), srv.URL, "/other", poll, false, nil, nil); err == nil {
		t.Error("Follow of a file the agent does not have gave no error")
	}
}

// TestFollow_RidesOutAFewFailedStateAsks: a few failed asks whether
// the task ended (a leader change) do not end the follow; failing for
// good does, with the cause.
func TestFollow_RidesOutAFewFailedStateAsks(t *testing.T) {
	sb := &fakeSandbox{path: "/sandbox/stdout"}
	srv := httptest.NewServer(sb)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	asks := 0
	done := func() (bool, error) {
		if asks++; asks <= 2 {
			return false, fmt.Errorf("503 Service Unavailable: no leader is elected; retry shortly")
		}
		sb.write("after the election\n")
		return true, nil
	}
	var out bytes.Buffer
	write := func(b []byte) error { out.Write(b); return nil }
	if err := Follow(ctx, srv.Client(), srv.URL, "/sandbox/stdout", poll, true, done, write); err != nil || out.String() != "after the election\n" {
		t.Errorf("Follow through 2 failed asks: %v, printed %q", err, out.String())
	}
	asks = 0
	never := func() (bool, error) { asks++; return false, fmt.Errorf("no leader") }
	err := Follow(ctx, srv.Client(), srv.URL, "/sandbox/stdout", poll, true, never, write)
	if err == nil || !strings.Contains(err.Error(), "no leader") || asks != MaxStateFailures {
		t.Errorf("Follow with a state that never answers: %v after %d asks, want the cause after %d", err, asks, MaxStateFailures)
	}
}
