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
