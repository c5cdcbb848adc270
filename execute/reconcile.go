package execute

// Reconciliation follows Mesos' algorithm through client.Reconciler: ask
// explicitly for every launched task whose state we do not know, again
// with backoff while the server does not answer (it does not for a task
// whose agent has not re-registered yet), and implicitly once all are
// known.

// markUnknown records that the server may know more than we do of tasks:
// their state must be asked for. A launched task is asked for; one still
// waiting for an offer is not.
func (r *runner) markUnknown(tasks []*task) {
	for _, t := range tasks {
		if t.launched && !t.terminal {
			r.recon.Unknown(t.id, t.agentID)
		}
	}
}

// reconcile sends the RECONCILE that is due, if any: an explicit one for
// every task still unknown (arming the timer for the next), or, once all
// are known, the implicit one — unless no task is left to learn about.
func (r *runner) reconcile() {
	n := r.recon.Len()
	call := r.recon.Due()
	if call == nil || (n == 0 && (r.stopping != nil || !r.liveTasks())) {
		return
	}
	r.log.Debug("reconciling", "tasks", n)
	if err := r.call(call); err != nil {
		r.log.Warn("reconciliation failed", "explicit_tasks", n, "error", err)
	}
}

// known is called when an update tells the state of t; once the last
// unknown task is known, the round ends with the implicit reconciliation.
func (r *runner) known(t *task) {
	if !r.recon.IsUnknown(t.id) {
		return
	}
	r.recon.Known(t.id)
	if r.recon.Len() == 0 {
		r.reconcile()
	}
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
