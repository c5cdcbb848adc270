package execute

import (
	"math/rand/v2"
	"time"

	"mesh/mesos"
	"mesh/mesos/scheduler"
	"mesh/mesos/scheduler/client"
)

// Bounds of the wait between explicit reconciliations of tasks whose
// state is still unknown: the server does not answer for a task whose
// agent has not re-registered yet, so we ask again, less and less often.
const (
	reconcileBackoff    = time.Second
	maxReconcileBackoff = 30 * time.Second
)

// timerFunc starts a timer of d; stop stops it. Tests replace it to drive
// time by hand.
type timerFunc func(d time.Duration) (c <-chan time.Time, stop func() bool)

// realTimer is the timerFunc of the wall clock.
func realTimer(d time.Duration) (<-chan time.Time, func() bool) {
	t := time.NewTimer(d)
	return t.C, t.Stop
}

// reconciler follows Mesos' reconciliation algorithm for the tasks we
// launched: ask explicitly for every task whose state we do not know, ask
// again with backoff for those still unknown, and once all are known ask
// implicitly, so anything else the server knows is reported too. Only the
// run loop touches it.
type reconciler struct {
	newTimer timerFunc
	wait     time.Duration    // base of the next wait, 0 when no round runs
	timer    <-chan time.Time // fires when the next explicit ask is due
	stop     func() bool
	implicit bool // an implicit ask is due once every task is known
}

// jitter spreads d by ±20%, so many frameworks do not ask in step.
func jitter(d time.Duration) time.Duration {
	return d - d/5 + rand.N(2*d/5+1)
}

// markUnknown records that the server may know more than we do of tasks:
// their state must be asked for. A launched task is asked for; one still
// waiting for an offer is not.
func (r *runner) markUnknown(tasks []*task) {
	for _, t := range tasks {
		if t.launched && !t.terminal {
			t.unknown = true
		}
	}
}

// unknownTasks lists the launched tasks whose state we wait to learn.
func (r *runner) unknownTasks() []*task {
	var out []*task
	for _, t := range r.tasks {
		if t.unknown && t.launched && !t.terminal {
			out = append(out, t)
		}
	}
	return out
}

// reconcile asks now for every task whose state is unknown and arms the
// backoff timer for the next ask; when none is unknown it ends the round
// with one implicit reconciliation.
func (r *runner) reconcile() {
	rc := &r.recon
	tasks := r.unknownTasks()
	if len(tasks) == 0 {
		r.stopReconciling()
		if rc.implicit && r.stopping == nil && r.liveTasks() {
			rc.implicit = false
			if err := r.call(client.ReconcileCall()); err != nil {
				r.log.Warn("implicit reconciliation failed", "error", err)
			}
		}
		return
	}
	rc.implicit = true
	var rt []scheduler.ReconcileTask
	for _, t := range tasks {
		x := scheduler.ReconcileTask{TaskID: &mesos.TaskID{Value: t.id}}
		if t.agentID != "" {
			x.AgentID = &mesos.AgentID{Value: t.agentID}
		}
		rt = append(rt, x)
	}
	if err := r.call(client.ReconcileCall(rt...)); err != nil {
		r.log.Warn("explicit reconciliation failed", "error", err)
	}
	if rc.stop != nil {
		rc.stop()
	}
	if rc.wait == 0 {
		rc.wait = reconcileBackoff
	}
	d := jitter(rc.wait)
	r.log.Debug("reconciling tasks of unknown state", "tasks", len(tasks), "next_in", d)
	rc.timer, rc.stop = rc.newTimer(d)
	rc.wait = min(2*rc.wait, maxReconcileBackoff)
}

// known is called when an update tells the state of t; the round ends
// once no task is unknown.
func (r *runner) known(t *task) {
	t.unknown = false
	if r.recon.timer != nil && len(r.unknownTasks()) == 0 {
		r.reconcile()
	}
}

// stopReconciling stops the timer and resets the backoff.
func (r *runner) stopReconciling() {
	rc := &r.recon
	if rc.stop != nil {
		rc.stop()
	}
	rc.timer, rc.stop, rc.wait = nil, nil, 0
}

// liveTasks reports whether some launched task has not ended.
func (r *runner) liveTasks() bool {
	for _, t := range r.tasks {
		if t.launched && !t.terminal {
			return true
		}
	}
	return false
}
