package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"mesh/mesos"
	"mesh/mesos/agentapi"
)

// sendRecorder is a sendFunc that records what it is given and fails
// while failing is set.
type sendRecorder struct {
	mu      sync.Mutex
	calls   [][]agentapi.StatusUpdate
	failing bool
}

func (r *sendRecorder) send(_ context.Context, ups []agentapi.StatusUpdate) (time.Duration, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, append([]agentapi.StatusUpdate(nil), ups...))
	if r.failing {
		return 0, errors.New("server unavailable")
	}
	return 0, nil
}

// sent lists every delivered update's (task, state) in order.
func (r *sendRecorder) sent() []agentapi.StatusUpdate {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []agentapi.StatusUpdate
	for _, c := range r.calls {
		out = append(out, c...)
	}
	return out
}

func (r *sendRecorder) count(id mesos.Bytes) int {
	n := 0
	for _, u := range r.sent() {
		if string(u.Status.UUID) == string(id) {
			n++
		}
	}
	return n
}

func testStatus(tid string, state mesos.TaskState) mesos.TaskStatus {
	return mesos.TaskStatus{TaskID: mesos.TaskID{Value: tid}, State: state, Source: mesos.SourceExecutor, UUID: newUUID()}
}

func newTestUpdates(t *testing.T, dir string, rec *sendRecorder, onAck func(ackedUpdate)) *statusUpdates {
	m := newStatusUpdates(dir, hclog.NewNullLogger(), 50*time.Millisecond, rec.send, func() string { return "agent-1" }, onAck)
	t.Cleanup(m.Close)
	return m
}

func runUpdates(t *testing.T, m *statusUpdates) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { m.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

func TestStatusUpdates_OneOutstandingPerTaskResentUntilAcknowledged(t *testing.T) {
	dir := t.TempDir()
	rec := &sendRecorder{}
	var acked []ackedUpdate
	var amu sync.Mutex
	m := newTestUpdates(t, dir, rec, func(a ackedUpdate) { amu.Lock(); acked = append(acked, a); amu.Unlock() })
	r1, f1 := testStatus("t1", mesos.TaskRunning), testStatus("t1", mesos.TaskFinished)
	r2 := testStatus("t2", mesos.TaskRunning)
	for _, u := range []struct {
		fid string
		st  mesos.TaskStatus
	}{{"fw", r1}, {"fw", f1}, {"fw", r2}} {
		if dup, err := m.Update(u.fid, u.st); err != nil || dup {
			t.Fatalf("update: %v %v", dup, err)
		}
	}
	if dup, err := m.Update("fw", r1); err != nil || !dup {
		t.Fatalf("resent update not seen as a duplicate: %v %v", dup, err)
	}
	// Nothing is due before registration.
	if batch, _ := m.due(time.Now()); len(batch) != 0 {
		t.Fatalf("%d updates due before registration", len(batch))
	}
	m.SetRegistered(true)
	runUpdates(t, m)
	waitFor(t, 5*time.Second, "the heads to be resent", func() bool { return rec.count(r1.UUID) >= 3 && rec.count(r2.UUID) >= 2 })
	if rec.count(f1.UUID) != 0 {
		t.Fatal("the second update of t1 went out before the first was acknowledged")
	}
	// Both heads went out in one call.
	rec.mu.Lock()
	if first := rec.calls[0]; len(first) != 2 {
		t.Errorf("first call carried %d updates, want both heads", len(first))
	}
	rec.mu.Unlock()
	for _, u := range rec.sent() {
		if u.Status.AgentID == nil || u.Status.AgentID.Value != "agent-1" || u.FrameworkID.Value != "fw" {
			t.Fatalf("sent update %+v lacks the agent or framework id", u)
		}
	}
	// A stale acknowledgement changes nothing; the right one releases the
	// next update.
	if ok, _ := m.Acknowledge("fw", "t1", f1.UUID); ok {
		t.Fatal("acknowledgement of a queued, unsent update accepted")
	}
	if ok, err := m.Acknowledge("fw", "t1", r1.UUID); !ok || err != nil {
		t.Fatalf("acknowledge: %v %v", ok, err)
	}
	waitFor(t, 5*time.Second, "the next update of t1", func() bool { return rec.count(f1.UUID) >= 1 })
	if ok, _ := m.Acknowledge("fw", "t1", f1.UUID); !ok {
		t.Fatal("acknowledgement of the terminal update refused")
	}
	if _, err := os.Stat(filepath.Join(dir, "fw", "tasks", "t1")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("checkpoint of a finished task kept: %v", err)
	}
	if _, ok := m.Latest("fw", "t1"); ok {
		t.Error("finished task still has a stream")
	}
	amu.Lock()
	if len(acked) != 2 || acked[1].Status.State != mesos.TaskFinished {
		t.Errorf("acknowledgements reported: %+v", acked)
	}
	amu.Unlock()
	if n := m.Pending(); n != 1 {
		t.Errorf("pending = %d, want t2's", n)
	}
}

func TestStatusUpdates_RetriesFailedCalls(t *testing.T) {
	rec := &sendRecorder{failing: true}
	m := newTestUpdates(t, t.TempDir(), rec, nil)
	st := testStatus("t1", mesos.TaskRunning)
	if _, err := m.Update("fw", st); err != nil {
		t.Fatal(err)
	}
	m.SetRegistered(true)
	runUpdates(t, m)
	waitFor(t, 5*time.Second, "retries of a failed call", func() bool { return rec.count(st.UUID) >= 3 })
	rec.mu.Lock()
	rec.failing = false
	rec.mu.Unlock()
	n := rec.count(st.UUID)
	waitFor(t, 5*time.Second, "a successful call", func() bool { return rec.count(st.UUID) > n })
}

func TestStatusUpdates_RecoverAfterCrash(t *testing.T) {
	dir := t.TempDir()
	rec := &sendRecorder{}
	m1 := newTestUpdates(t, dir, rec, nil)
	s1, r1, f1 := testStatus("t1", mesos.TaskStarting), testStatus("t1", mesos.TaskRunning), testStatus("t1", mesos.TaskFinished)
	done := testStatus("t2", mesos.TaskFailed)
	for _, st := range []mesos.TaskStatus{s1, r1, f1, done} {
		if _, err := m1.Update("fw", st); err != nil {
			t.Fatal(err)
		}
	}
	for _, ack := range []struct {
		tid string
		id  mesos.Bytes
	}{{"t1", s1.UUID}, {"t2", done.UUID}} {
		if ok, err := m1.Acknowledge("fw", ack.tid, ack.id); !ok || err != nil {
			t.Fatal(ok, err)
		}
	}
	m1.Close()
	// A crash in the middle of a write leaves a torn record.
	path := filepath.Join(dir, "fw", "tasks", "t1", updatesFile)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"type":"update","status":{"task_id":`)
	f.Close()
	sizeBefore := fileSize(t, path)

	m2 := newTestUpdates(t, dir, rec, nil)
	if err := m2.Recover(); err != nil {
		t.Fatal(err)
	}
	if st, ok := m2.Latest("fw", "t1"); !ok || st != mesos.TaskFinished {
		t.Errorf("latest of t1 = %v %v", st, ok)
	}
	if _, ok := m2.Latest("fw", "t2"); ok {
		t.Error("acknowledged terminal task came back")
	}
	if n := m2.Pending(); n != 2 {
		t.Errorf("pending = %d, want RUNNING and FINISHED", n)
	}
	if dup, _ := m2.Update("fw", r1); !dup {
		t.Error("update accepted before the crash not seen as a duplicate")
	}
	if fileSize(t, path) >= sizeBefore {
		t.Error("torn record not cut off")
	}
	// The recovered head is what goes out first.
	m2.SetRegistered(true)
	runUpdates(t, m2)
	waitFor(t, 5*time.Second, "the recovered head", func() bool { return rec.count(r1.UUID) >= 1 })
	if rec.count(f1.UUID) != 0 {
		t.Error("sent out of order after recovery")
	}
	if ok, _ := m2.Acknowledge("fw", "t1", r1.UUID); !ok {
		t.Fatal("acknowledge after recovery refused")
	}
	m2.CleanupFramework("fw")
	if _, err := os.Stat(filepath.Join(dir, "fw", "tasks")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("framework cleanup left %v", err)
	}
	if m2.Pending() != 0 {
		t.Error("framework cleanup left updates")
	}
}

func fileSize(t *testing.T, p string) int64 {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

func TestAfterReserve(t *testing.T) {
	for _, tc := range []struct{ total, threshold, reserve, want uint64 }{
		{16 * gib, memReserveThreshold, memReserve, 15 * gib},
		{2 * gib, memReserveThreshold, memReserve, 1 * gib},
		{1 * gib, memReserveThreshold, memReserve, gib / 2},
		{100 * gib, diskReserveThreshold, diskReserve, 95 * gib},
		{8 * gib, diskReserveThreshold, diskReserve, 4 * gib},
	} {
		if got := afterReserve(tc.total, tc.threshold, tc.reserve); got != tc.want {
			t.Errorf("afterReserve(%d, %d, %d) = %d, want %d", tc.total, tc.threshold, tc.reserve, got, tc.want)
		}
	}
}

// FuzzRecoverStatusUpdates: whatever a crash (or a disk) leaves in a status
// update checkpoint, recovery neither fails nor panics, keeps a sequence of
// whole records, and the stream takes new updates that survive the next
// recovery.
func FuzzRecoverStatusUpdates(f *testing.F) {
	running := `{"type":"update","status":{"task_id":{"value":"t1"},"state":"TASK_RUNNING","source":"SOURCE_EXECUTOR","uuid":"AAECAwQFBgcICQoLDA0ODw=="}}` + "\n"
	f.Add([]byte(running))
	f.Add([]byte(running + `{"type":"ack","uuid":"AAECAwQFBgcICQoLDA0ODw=="}` + "\n"))
	f.Add([]byte(running + `{"type":"update","status":{"task_id":`))
	f.Add([]byte(`{"type":"update"}` + "\n" + `{"type":"ack"}` + "\n\n"))
	f.Add([]byte("\x00\xff\n{}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		path := filepath.Join(dir, "fw", "tasks", "t1", updatesFile)
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		m := newTestUpdates(t, dir, &sendRecorder{}, nil)
		if err := m.Recover(); err != nil {
			t.Fatalf("recover: %v", err)
		}
		if b, err := os.ReadFile(path); err == nil {
			for _, line := range bytes.SplitAfter(b, []byte("\n")) {
				var rec updateRecord
				if len(line) > 0 && (line[len(line)-1] != '\n' || json.Unmarshal(line, &rec) != nil) {
					t.Fatalf("recovery kept a broken record %q", line)
				}
			}
		}
		st := testStatus("t1", mesos.TaskFinished)
		if _, err := m.Update("fw", st); err != nil {
			t.Fatalf("update after recovery: %v", err)
		}
		m.Close()
		m2 := newTestUpdates(t, dir, &sendRecorder{}, nil)
		if err := m2.Recover(); err != nil {
			t.Fatalf("second recover: %v", err)
		}
		if got, ok := m2.Latest("fw", "t1"); !ok || got != mesos.TaskFinished {
			t.Fatalf("latest after the second recovery = %v %v, want TASK_FINISHED", got, ok)
		}
	})
}

// TestStatusUpdates_SyncOfOneTaskHoldsUpNoOther stops the sync of one
// task's update and checks that another task's update is checkpointed,
// and the manager answers, meanwhile.
func TestStatusUpdates_SyncOfOneTaskHoldsUpNoOther(t *testing.T) {
	m := newTestUpdates(t, t.TempDir(), &sendRecorder{}, nil)
	release := make(chan struct{})
	blocked := make(chan struct{})
	var once sync.Once
	m.beforeSync = func(path string) {
		if filepath.Base(filepath.Dir(path)) != "slow" {
			return
		}
		first := false
		once.Do(func() { first = true; close(blocked) })
		if first {
			select {
			case <-release:
			case <-time.After(time.Minute):
			}
		}
	}
	update := func(tid string) <-chan error {
		done := make(chan error, 1)
		go func() {
			_, err := m.Update("fw", testStatus(tid, mesos.TaskRunning))
			done <- err
		}()
		return done
	}
	slow := update("slow")
	select {
	case <-blocked:
	case <-time.After(10 * time.Second):
		t.Fatal("the update of slow was never synced")
	}
	select {
	case err := <-update("fast"):
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		close(release)
		t.Fatal("the update of fast waited for the sync of slow's")
	}
	if st, ok := m.Latest("fw", "fast"); !ok || st != mesos.TaskRunning {
		t.Errorf("fast's latest state = %q, %v", st, ok)
	}
	if n := m.Pending(); n != 1 {
		t.Errorf("%d updates pending while slow's is being synced, want fast's alone", n)
	}
	close(release)
	select {
	case err := <-slow:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the update of slow did not end once its sync went on")
	}
	if n := m.Pending(); n != 2 {
		t.Errorf("%d updates pending, want 2", n)
	}
}

// TestStatusUpdates_ResendWaitsAsLongAsTheServerAsked: a head the server
// committed and said it would not pass on again for a minute is not due
// before that minute, although its own retry interval is shorter; one the
// server said nothing about is due after its interval.
func TestStatusUpdates_ResendWaitsAsLongAsTheServerAsked(t *testing.T) {
	m := newTestUpdates(t, t.TempDir(), &sendRecorder{}, nil)
	asked, plain := testStatus("t1", mesos.TaskRunning), testStatus("t2", mesos.TaskRunning)
	for _, st := range []mesos.TaskStatus{asked, plain} {
		if _, err := m.Update("fw", st); err != nil {
			t.Fatal(err)
		}
	}
	m.SetRegistered(true)
	now := time.Now()
	batch, _ := m.due(now)
	if len(batch) != 2 {
		t.Fatalf("%d heads due, want 2", len(batch))
	}
	// the heads come in no particular order
	for _, u := range batch {
		if u.Status.TaskID == asked.TaskID {
			m.sent([]agentapi.StatusUpdate{u}, time.Minute, nil)
		} else {
			m.sent([]agentapi.StatusUpdate{u}, 0, nil)
		}
	}
	for _, at := range []time.Duration{time.Second, 30 * time.Second} {
		// the heads' interval (50 ms) has passed
		if due, _ := m.due(now.Add(at)); len(due) != 1 || due[0].Status.TaskID != plain.TaskID {
			t.Fatalf("due %s after the sending: %+v, want only the head the server asked nothing about", at, due)
		}
	}
	if due, _ := m.due(now.Add(61 * time.Second)); len(due) != 2 {
		t.Fatalf("%d heads due after the minute, want 2", len(due))
	}
}
