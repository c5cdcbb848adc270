package client

import (
	"math/rand/v2"
	"sort"
	"time"

	"mesh/mesos"
	"mesh/mesos/scheduler"
)

// Default bounds of a Reconciler's wait between explicit reconciliations.
const (
	DefaultReconcileMin = time.Second
	DefaultReconcileMax = 30 * time.Second
)

// TimerFunc starts a timer of d; stop stops it. Tests pass their own to
// drive time by hand.
type TimerFunc func(d time.Duration) (c <-chan time.Time, stop func() bool)

// WallTimer is the TimerFunc of the wall clock.
func WallTimer(d time.Duration) (<-chan time.Time, func() bool) {
	t := time.NewTimer(d)
	return t.C, t.Stop
}

// Reconciler carries out Mesos' reconciliation algorithm for a scheduler:
// ask explicitly for every task whose state is unknown; ask again, with a
// wait that doubles (±20% jitter) up to a cap, for the tasks still
// unanswered — a leader does not answer for a task whose agent has not
// re-registered yet —; once every task is known, ask implicitly once. It
// sends nothing itself: Due returns the call to send, C fires when the
// next is due. It is not safe for concurrent use: the scheduler's event
// loop owns it.
type Reconciler struct {
	min, max time.Duration
	newTimer TimerFunc

	unknown  map[string]string // task id → agent id ("" if not known)
	wait     time.Duration     // base of the next wait, 0 before a round
	c        <-chan time.Time
	stop     func() bool
	implicit bool // an implicit ask is due once every task is known
}

// NewReconciler returns a Reconciler whose waits run from minWait to maxWait
// (zero: the defaults) on the timers newTimer starts (nil: WallTimer).
func NewReconciler(minWait, maxWait time.Duration, newTimer TimerFunc) *Reconciler {
	if minWait <= 0 {
		minWait = DefaultReconcileMin
	}
	if maxWait <= 0 {
		maxWait = DefaultReconcileMax
	}
	if newTimer == nil {
		newTimer = WallTimer
	}
	return &Reconciler{min: minWait, max: max(maxWait, minWait), newTimer: newTimer, unknown: map[string]string{}}
}

// Unknown records that the state of task, on agent ("" if not known), is
// to be asked for.
func (r *Reconciler) Unknown(task, agent string) { r.unknown[task] = agent }

// IsUnknown reports whether task's state is still to be learned.
func (r *Reconciler) IsUnknown(task string) bool {
	_, ok := r.unknown[task]
	return ok
}

// Len returns how many tasks' states are still to be learned.
func (r *Reconciler) Len() int { return len(r.unknown) }

// Known records that an update told task's state (or that the task is no
// longer ours to ask about). Once no task is unknown the timer stops.
func (r *Reconciler) Known(task string) {
	delete(r.unknown, task)
	if len(r.unknown) == 0 {
		r.stopTimer()
	}
}

// Restart begins a new round from the shortest wait, keeping what is
// unknown: after a re-subscription, say.
func (r *Reconciler) Restart() {
	r.stopTimer()
	r.wait = 0
}

// Due returns the RECONCILE to send now, or nil: while some task is
// unknown, an explicit one for all of them (and the timer is armed for the
// next); once all are known after a round, the implicit one, once.
func (r *Reconciler) Due() *scheduler.Call {
	if len(r.unknown) == 0 {
		r.stopTimer()
		r.wait = 0
		if !r.implicit {
			return nil
		}
		r.implicit = false
		return ReconcileCall()
	}
	r.implicit = true
	ids := make([]string, 0, len(r.unknown))
	for id := range r.unknown {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	tasks := make([]scheduler.ReconcileTask, len(ids))
	for i, id := range ids {
		tasks[i] = scheduler.ReconcileTask{TaskID: &mesos.TaskID{Value: id}}
		if agent := r.unknown[id]; agent != "" {
			tasks[i].AgentID = &mesos.AgentID{Value: agent}
		}
	}
	r.stopTimer()
	if r.wait == 0 {
		r.wait = r.min
	}
	r.c, r.stop = r.newTimer(jitter(r.wait))
	r.wait = min(2*r.wait, r.max)
	return ReconcileCall(tasks...)
}

// C fires when the next explicit RECONCILE is due; it is nil when none is.
func (r *Reconciler) C() <-chan time.Time { return r.c }

// Stop stops the timer; nothing is due any more until Due is called.
func (r *Reconciler) Stop() { r.stopTimer() }

func (r *Reconciler) stopTimer() {
	if r.stop != nil {
		r.stop()
	}
	r.c, r.stop = nil, nil
}

// jitter spreads d by ±20%, so many schedulers do not ask in step.
func jitter(d time.Duration) time.Duration {
	return d - d/5 + rand.N(2*d/5+1)
}
