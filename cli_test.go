package main

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

	"mesh/mesos"
	mapi "mesh/mesos/master"
)

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

// TestFollowFile_PrintsWhatIsWrittenUntilTheTaskEnds: lines written while
// following, and the last ones written just before the task ended, are
// printed once each, in order.
func TestFollowFile_PrintsWhatIsWrittenUntilTheTaskEnds(t *testing.T) {
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
	err := followFile(ctx, srv.Client(), srv.URL, "/sandbox/stdout", true, done, func(b []byte) error {
		out.Write(b)
		return nil
	})
	if err != nil {
		t.Fatalf("followFile: %v", err)
	}
	if want := "line 0\nline 1\nline 2\nline 3\n"; out.String() != want {
		t.Errorf("followFile printed %q, want %q", out.String(), want)
	}
}

// TestFollowFile_WithoutFollowStopsAtTheEnd: without -f only what is
// written is printed, and the task's state is not asked for.
func TestFollowFile_WithoutFollowStopsAtTheEnd(t *testing.T) {
	sb := &fakeSandbox{path: "/sandbox/stdout"}
	sb.write(strings.Repeat("x", 3<<20)) // more than one read
	srv := httptest.NewServer(sb)
	defer srv.Close()
	var n int
	err := followFile(context.Background(), srv.Client(), srv.URL, "/sandbox/stdout", false, func() (bool, error) {
		t.Fatal("followFile asked whether the task ended without -f")
		return false, nil
	}, func(b []byte) error { n += len(b); return nil })
	if err != nil || n != 3<<20 {
		t.Errorf("followFile printed %d bytes, %v; want %d", n, err, 3<<20)
	}
	if err := followFile(context.Background(), srv.Client(), srv.URL, "/other", false, nil, nil); err == nil {
		t.Error("followFile of a file the agent does not have gave no error")
	}
}

// TestFindTask_NamesTheFrameworksOfAnAmbiguousID: a task id two
// frameworks use needs -framework; an unknown one is named.
func TestFindTask_NamesTheFrameworksOfAnAmbiguousID(t *testing.T) {
	task := func(fw, id string, s mesos.TaskState) mapi.Task {
		return mapi.Task{TaskID: mesos.TaskID{Value: id}, FrameworkID: mesos.FrameworkID{Value: fw}, State: s}
	}
	st := &mapi.GetState{GetTasks: mapi.GetTasks{Tasks: []mapi.Task{task("fw1", "web", mesos.TaskRunning)},
		CompletedTasks: []mapi.Task{task("fw2", "web", mesos.TaskFinished)}}}
	if _, err := findTask(st, "web", ""); err == nil || !strings.Contains(err.Error(), "fw1, fw2") {
		t.Errorf("findTask of an ambiguous id: %v, want an error naming fw1 and fw2", err)
	}
	if tk, err := findTask(st, "web", "fw2"); err != nil || tk.State != mesos.TaskFinished {
		t.Errorf("findTask with -framework fw2 = %+v, %v", tk, err)
	}
	if _, err := findTask(st, "db", ""); err == nil || !strings.Contains(err.Error(), `"db"`) {
		t.Errorf("findTask of an unknown id: %v", err)
	}
}

// TestFollowFile_RidesOutAFewFailedStateAsks: a few failed asks whether
// the task ended (a leader change) do not end the follow; failing for
// good does, with the cause.
func TestFollowFile_RidesOutAFewFailedStateAsks(t *testing.T) {
	sb := &fakeSandbox{path: "/sandbox/stdout"}
	srv := httptest.NewServer(sb)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	defer func(d time.Duration) { followPoll = d }(followPoll)
	followPoll = 10 * time.Millisecond
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
	if err := followFile(ctx, srv.Client(), srv.URL, "/sandbox/stdout", true, done, write); err != nil || out.String() != "after the election\n" {
		t.Errorf("followFile through 2 failed asks: %v, printed %q", err, out.String())
	}
	asks = 0
	never := func() (bool, error) { asks++; return false, fmt.Errorf("no leader") }
	err := followFile(ctx, srv.Client(), srv.URL, "/sandbox/stdout", true, never, write)
	if err == nil || !strings.Contains(err.Error(), "no leader") || asks != maxStateFailures {
		t.Errorf("followFile with a state that never answers: %v after %d asks, want the cause after %d", err, asks, maxStateFailures)
	}
}
