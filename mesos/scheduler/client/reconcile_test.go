package client

import (
	"strings"
	"testing"
	"time"

	"mesh/mesos/scheduler"
)

// handTimers records every timer a Reconciler starts; time moves only when
// the test says so.
type handTimers struct {
	waits   []time.Duration
	stopped []bool
}

func (h *handTimers) start(d time.Duration) (<-chan time.Time, func() bool) {
	i := len(h.waits)
	h.waits = append(h.waits, d)
	h.stopped = append(h.stopped, false)
	return make(chan time.Time), func() bool {
		was := !h.stopped[i]
		h.stopped[i] = true
		return was
	}
}

func reconcileIDs(c *scheduler.Call) string {
	var ids []string
	for _, t := range c.Reconcile.Tasks {
		id := t.TaskID.Value
		if t.AgentID != nil {
			id += "@" + t.AgentID.Value
		}
		ids = append(ids, id)
	}
	return strings.Join(ids, ",")
}

func TestReconciler_AsksWithBackoffUntilKnownThenImplicitly(t *testing.T) {
	h := &handTimers{}
	r := NewReconciler(0, 0, h.start)
	if r.Due() != nil || r.C() != nil {
		t.Fatalf("a reconciler with nothing unknown asks")
	}
	r.Unknown("t1", "A1")
	r.Unknown("t0", "")
	base := DefaultReconcileMin
	for i := 0; i < 8; i++ { // unanswered: ask again, less and less often
		c := r.Due()
		if c == nil || reconcileIDs(c) != "t0,t1@A1" {
			t.Fatalf("ask %d: %+v, want an explicit RECONCILE of t0 and t1 on A1", i, c)
		}
		if r.C() == nil {
			t.Fatalf("ask %d: no timer for the next", i)
		}
		if d := h.waits[i]; d < base-base/5 || d > base+base/5 {
			t.Fatalf("wait %d is %s, want %s ±20%%", i, d, base)
		}
		base = min(2*base, DefaultReconcileMax)
	}
	r.Known("t0")
	if c := r.Due(); reconcileIDs(c) != "t1@A1" {
		t.Fatalf("after t0 is known: %s, want t1 alone", reconcileIDs(c))
	}
	r.Known("t1")
	if r.C() != nil || !h.stopped[len(h.stopped)-1] {
		t.Errorf("timer still armed once every task is known")
	}
	if c := r.Due(); c == nil || len(c.Reconcile.Tasks) != 0 {
		t.Fatalf("once every task is known: %+v, want the implicit RECONCILE", c)
	}
	if c := r.Due(); c != nil {
		t.Fatalf("implicit RECONCILE due twice: %+v", c)
	}

	// A new round starts from the shortest wait.
	r.Unknown("t2", "A1")
	r.Due()
	if d := h.waits[len(h.waits)-1]; d > DefaultReconcileMin+DefaultReconcileMin/5 {
		t.Errorf("a new round waits %s first, want about %s", d, DefaultReconcileMin)
	}
	r.Due()
	r.Restart()
	r.Due()
	if d := h.waits[len(h.waits)-1]; d > DefaultReconcileMin+DefaultReconcileMin/5 {
		t.Errorf("a restarted round waits %s first, want about %s", d, DefaultReconcileMin)
	}
}
