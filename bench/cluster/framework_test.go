package main

import (
	"testing"

	"github.com/google/uuid"
	"github.com/hashicorp/go-hclog"

	"mesh/mesos"
)

// TestFramework_ReconciliationAnswerIsNotASecondRun: a RECONCILE's
// answer (no uuid) that says RUNNING before or after the task's RUNNING
// update is not the task running twice; a second RUNNING update (another
// uuid) is.
func TestFramework_ReconciliationAnswerIsNotASecondRun(t *testing.T) {
	var stats fwStats
	f := newFramework("fw", []string{"127.0.0.1:1"}, 0, nil, &stats, hclog.NewNullLogger())
	running := func(tid string, id []byte) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.record(tid, &mesos.TaskStatus{TaskID: mesos.TaskID{Value: tid}, State: mesos.TaskRunning, UUID: id})
	}
	newID := func() []byte { u := uuid.New(); return u[:] }

	running("a", nil) // answered by a reconciliation first
	running("a", newID())
	running("b", newID())
	running("b", nil) // and after
	if n := stats.dupRunning.Load(); n != 0 {
		t.Fatalf("%d tasks counted running twice for a reconciliation's answer", n)
	}
	running("b", newID())
	if n := stats.dupRunning.Load(); n != 1 {
		t.Fatalf("a second RUNNING update counted %d times, want 1", n)
	}
	if len(f.running()) != 2 {
		t.Fatalf("running tasks %d, want 2", len(f.running()))
	}
}

// TestFramework_ChurnReplacesEachFinishedTaskOnce: while churning, a task
// that ran and finished is replaced by one new task, once, however often
// its end is heard (a reconciliation's answer repeats it); a task that
// finishes when the churn is over is not replaced.
func TestFramework_ChurnReplacesEachFinishedTaskOnce(t *testing.T) {
	var stats fwStats
	f := newFramework("fw", []string{"127.0.0.1:1"}, 0, nil, &stats, hclog.NewNullLogger())
	f.finishOK = true
	status := func(tid string, state mesos.TaskState, id []byte) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.record(tid, &mesos.TaskStatus{TaskID: mesos.TaskID{Value: tid}, State: state, UUID: id})
	}
	newID := func() []byte { u := uuid.New(); return u[:] }
	for _, tid := range []string{"a", "b"} {
		f.launched[tid] = true
	}
	status("a", mesos.TaskRunning, newID())
	status("b", mesos.TaskRunning, newID())
	f.replacing.Store(true)
	status("a", mesos.TaskFinished, newID())
	status("a", mesos.TaskFinished, nil) // a reconciliation's answer
	f.replacing.Store(false)
	status("b", mesos.TaskFinished, newID())
	if n := stats.replaced.Load(); n != 1 || len(f.queue) != 1 || f.queue[0] != "fw-churn-000001" {
		t.Fatalf("%d replaced, queue %q; want one, fw-churn-000001", n, f.queue)
	}
	if n := f.live(); n != 1 {
		t.Fatalf("%d tasks live, want the one queued", n)
	}
}
