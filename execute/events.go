package execute

import (
	"fmt"
	"strings"
	"time"

	"mesh/mesos"
	"mesh/mesos/scheduler"
	"mesh/mesos/scheduler/client"
)

// handle reacts to one event; an error ends the run.
func (r *runner) handle(ev *scheduler.Event) error {
	switch ev.Type {
	case scheduler.EventSubscribed:
		if ev.Subscribed != nil {
			r.onSubscribed(ev.Subscribed)
		}
	case scheduler.EventOffers:
		if ev.Offers != nil {
			r.onOffers(ev.Offers.Offers)
		}
	case scheduler.EventUpdate:
		if ev.Update != nil {
			r.onUpdate(&ev.Update.Status)
		}
	case scheduler.EventError:
		msg := "no message"
		if ev.Error != nil {
			msg = ev.Error.Message
		}
		return fmt.Errorf("%w: %s", ErrFramework, msg)
	case scheduler.EventFailure:
		if f := ev.Failure; f != nil {
			args := []any{}
			if f.AgentID != nil {
				args = append(args, "agent_id", f.AgentID.Value)
			}
			if f.ExecutorID != nil {
				args = append(args, "executor_id", f.ExecutorID.Value)
			}
			if f.Status != nil {
				args = append(args, "status", *f.Status)
			}
			r.log.Warn("failure reported", args...)
		}
	case scheduler.EventHeartbeat:
	default:
		r.log.Debug("ignoring event", "type", ev.Type)
	}
	return nil
}

// onSubscribed handles SUBSCRIBED. After a resubscription the server may
// know more than we do (updates sent while we were away are redelivered,
// but master-generated ones are not, and a launch may have been lost with
// a leader), so every launched task is reconciled until its state is known.
func (r *runner) onSubscribed(s *scheduler.Subscribed) {
	again := r.subscribed
	r.subscribed = true
	r.log.Info("subscribed", "framework_id", r.c.FrameworkID(), "master", r.c.Master(), "resubscribed", again)
	if again {
		r.recon.Restart() // a new round, from the shortest wait
		r.markUnknown(r.tasks)
		r.reconcile()
		if len(r.pending) > 0 && r.stopping == nil {
			r.revive()
		}
	}
	if r.stopping != nil {
		r.killAll()
	}
}

// revive asks for offers again after declining them for long.
func (r *runner) revive() {
	if err := r.call(client.ReviveCall(r.cfg.Role)); err != nil {
		r.log.Warn("revive failed", "error", err)
	}
}

// onOffers launches as many waiting tasks as fit into each offer and
// declines the rest.
func (r *runner) onOffers(offers []mesos.Offer) {
	var idle, unfit []mesos.OfferID
	for i := range offers {
		o := &offers[i]
		if u := agentURL(o, r.cfg.Scheme); u != "" {
			r.agents[o.AgentID.Value] = u
		}
		if r.stopping != nil || r.stopReq != nil || len(r.pending) == 0 {
			idle = append(idle, o.ID)
			continue
		}
		fits := pack(o, len(r.pending), r.cfg.CPUs, r.cfg.Mem)
		if len(fits) == 0 {
			r.log.Debug("offer too small for a task", "offer_id", o.ID.Value, "resources", mesos.Resources(o.Resources).String())
			unfit = append(unfit, o.ID)
			continue
		}
		r.launch(o, fits)
		if r.resub {
			// The subscription is stale: these offers are void, and calls
			// fail until we resubscribe.
			return
		}
	}
	if len(unfit) > 0 {
		if err := r.call(client.DeclineCall(nil, unfit...)); err != nil {
			r.log.Warn("decline failed", "error", err)
		}
	}
	if len(idle) > 0 {
		if err := r.call(client.DeclineCall(client.Filters(declineSeconds), idle...)); err != nil {
			r.log.Warn("decline failed", "error", err)
		}
	}
}

// commandInfo is each task's command: the shell command, its environment
// and the URIs to fetch.
func (cfg Config) commandInfo() *mesos.CommandInfo {
	shell, extract := true, true
	c := &mesos.CommandInfo{Shell: &shell, Value: cfg.Command}
	for _, u := range cfg.URIs {
		c.URIs = append(c.URIs, mesos.CommandURI{Value: u, Extract: &extract})
	}
	if len(cfg.Env) > 0 {
		c.Environment = &mesos.Environment{}
		for _, e := range cfg.Env {
			name, value, _ := strings.Cut(e, "=")
			c.Environment.Variables = append(c.Environment.Variables, mesos.EnvironmentVariable{Name: name, Type: "VALUE", Value: value})
		}
	}
	return c
}

// containerInfo is each task's container: a MESOS container with the
// image and the volumes, or none.
func (cfg Config) containerInfo() *mesos.ContainerInfo {
	if cfg.Image == "" && len(cfg.Volumes) == 0 {
		return nil
	}
	c := &mesos.ContainerInfo{Type: mesos.ContainerTypeMesos}
	if cfg.Image != "" {
		c.Mesos = &struct {
			Image *mesos.Image `json:"image,omitempty"`
		}{Image: &mesos.Image{Type: mesos.ImageTypeDocker, Docker: &struct {
			Name string `json:"name"`
		}{Name: cfg.Image}}}
	}
	for _, s := range cfg.Volumes {
		v, _ := parseVolume(s) // checked by withDefaults
		c.Volumes = append(c.Volumes, v)
	}
	return c
}

// parseVolume reads HOST_PATH:CONTAINER_PATH[:ro|:rw].
func parseVolume(s string) (mesos.Volume, error) {
	parts := strings.Split(s, ":")
	v := mesos.Volume{Mode: "RW"}
	switch {
	case len(parts) == 3 && (parts[2] == "ro" || parts[2] == "rw"):
		v.Mode = strings.ToUpper(parts[2])
	case len(parts) != 2:
		return v, fmt.Errorf("volume %q: want HOST_PATH:CONTAINER_PATH[:ro]", s)
	}
	if parts[0] == "" || parts[1] == "" {
		return v, fmt.Errorf("volume %q: want HOST_PATH:CONTAINER_PATH[:ro]", s)
	}
	v.HostPath, v.ContainerPath = parts[0], parts[1]
	return v, nil
}

// launch ACCEPTs offer with one task per entry of fits, taken from the
// head of the pending queue. What happens to the tasks depends on the
// answer: accepted, they wait for updates; certainly not carried out (a
// stale subscription), they wait for another offer; maybe carried out (no
// leader, no answer), their state is asked for; refused as wrong, they
// wait for another offer and the refusal counts against their attempts.
func (r *runner) launch(o *mesos.Offer, fits []mesos.Resources) {
	batch := append([]*task(nil), r.pending[:len(fits)]...)
	r.pending = append([]*task(nil), r.pending[len(fits):]...)
	infos := make([]mesos.TaskInfo, len(batch))
	ids := make([]string, len(batch))
	for i, t := range batch {
		t.agentID = o.AgentID.Value
		t.launched = true
		ids[i] = t.id
		infos[i] = mesos.TaskInfo{
			Name:      r.cfg.Name,
			TaskID:    mesos.TaskID{Value: t.id},
			AgentID:   o.AgentID,
			Resources: fits[i],
			Command:   r.cfg.commandInfo(),
			Container: r.cfg.containerInfo(),
		}
	}
	var filters *mesos.Filters
	if len(r.pending) == 0 {
		filters = client.Filters(declineSeconds)
	}
	err := r.call(client.AcceptCall([]mesos.OfferID{o.ID}, []mesos.OfferOperation{client.LaunchOp(infos...)}, filters))
	switch {
	case err == nil:
		r.log.Info("launching tasks", "task_ids", strings.Join(ids, ","), "agent_id", o.AgentID.Value, "hostname", o.Hostname)
	case client.NotCarriedOut(err):
		r.log.Warn("accept not carried out, launching again after resubscribing", "offer_id", o.ID.Value, "error", err)
		r.unlaunch(batch)
	case client.Transient(err):
		// The leader may have committed the launch before failing: ask.
		r.log.Warn("accept may not have been carried out, reconciling its tasks", "offer_id", o.ID.Value, "error", err)
		r.markUnknown(batch)
		r.reconcile()
	default:
		r.log.Warn("accept refused", "offer_id", o.ID.Value, "error", err)
		for _, t := range batch {
			r.refused(t, err.Error())
		}
		r.unlaunch(batch)
	}
}

// unlaunch puts tasks that were never started back at the head of the
// queue, asking for offers if the queue was empty.
func (r *runner) unlaunch(tasks []*task) {
	wasIdle := len(r.pending) == 0
	for _, t := range tasks {
		t.launched, t.agentID = false, ""
		r.recon.Known(t.id) // nothing to ask about until launched again
	}
	r.pending = append(append([]*task(nil), tasks...), r.pending...)
	if wasIdle && r.stopping == nil && r.stopReq == nil && !r.resub {
		r.revive()
	}
}

// refused counts a refused launch of t, and gives the run up once t has
// been refused maxLaunchAttempts times.
func (r *runner) refused(t *task, why string) {
	t.attempts++
	t.refusal = why
	if t.attempts >= maxLaunchAttempts && r.stopReq == nil {
		r.stopReq = fmt.Errorf("%w: launch of %s refused %d times, last: %s", ErrRefused, t.id, t.attempts, why)
	}
}

// onUpdate prints a task's new state, acknowledges the update if it is a
// reliable one, and fetches the task's output once it is over.
func (r *runner) onUpdate(st *mesos.TaskStatus) {
	t := r.byID[st.TaskID.Value]
	if t == nil {
		r.log.Warn("update for an unknown task", "task_id", st.TaskID.Value, "state", st.State)
		r.ack(st, "")
		return
	}
	if st.AgentID != nil && st.AgentID.Value != "" && !t.terminal {
		t.agentID = st.AgentID.Value
	}
	wasUnknown := r.recon.IsUnknown(t.id)
	if r.staleAnswer(t, st, wasUnknown) {
		r.log.Debug("ignoring a late reconciliation answer about a launch made again since", "task_id", t.id, "state", st.State)
		return
	}
	if st.ExecutorID != nil && st.ExecutorID.Value != "" && !t.terminal {
		t.executor = st.ExecutorID.Value
	}
	if !t.terminal && st.State.IsTerminal() {
		r.endFollow(t) // its last output before its end
	}
	if !t.terminal && (st.State != t.state || r.forgotten(t, st)) {
		if r.forgotten(t, st) {
			cp := *st
			cp.Message = fmt.Sprintf("the server no longer knows this task (%s); last known: %s",
				strings.TrimSpace(st.Message), t.lastKnown())
			st = &cp
		}
		r.printState(t.id, st)
	}
	r.ack(st, t.agentID)
	if t.terminal {
		return // a redelivered or late update
	}
	defer r.known(t)
	if r.relaunchable(t, st, wasUnknown) {
		r.log.Info("task was never started, launching it again", "task_id", t.id, "refusals", t.attempts)
		r.unlaunch([]*task{t})
		return
	}
	t.state, t.source, t.reason, t.message = st.State, st.Source, st.Reason, st.Message
	if st.State == mesos.TaskRunning {
		r.startFollow(t)
	}
	if st.State == mesos.TaskRunning && r.cfg.KillAfter > 0 && t.timer == nil {
		id := t.id
		t.timer = time.AfterFunc(r.cfg.KillAfter, func() {
			select {
			case r.killC <- id:
			case <-r.done:
			}
		})
	}
	if st.State.IsTerminal() {
		t.terminal = true
		if t.timer != nil {
			t.timer.Stop()
		}
		r.printOutput(t, st)
	}
}

// staleAnswer reports whether st is the server saying it does not know a
// task that never came alive, when we are not asking about it: a late
// answer to an earlier question, about a launch that has been made again
// (or is about to be) since. Taking it for the task's end would abandon
// the new launch. While the run stops, such an answer (to a KILL) is the
// task's end.
func (r *runner) staleAnswer(t *task, st *mesos.TaskStatus, asked bool) bool {
	return !asked && !t.terminal && t.state == "" && unknownToServer(st) && r.stopping == nil && r.stopReq == nil
}

// forgotten reports whether st is the server saying it does not know a
// task we saw alive (as its answer to a KILL or a reconciliation).
func (r *runner) forgotten(t *task, st *mesos.TaskStatus) bool {
	return t.state != "" && !t.state.IsTerminal() && unknownToServer(st)
}

// unknownToServer reports whether st is the server's answer for a task
// it does not know.
func unknownToServer(st *mesos.TaskStatus) bool {
	if st.Source != mesos.SourceMaster || st.Reason != mesos.ReasonReconciliation {
		return false
	}
	switch st.State {
	case mesos.TaskLost, mesos.TaskUnknown, mesos.TaskGone, mesos.TaskDropped:
		return true
	}
	return false
}

// relaunchable reports whether the server says a task it was asked to
// launch never started, so it can be launched again from a fresh offer:
// the offer was invalid (a refusal, counted), or the server does not know
// the task we asked it about (a launch lost with a leader, not counted).
func (r *runner) relaunchable(t *task, st *mesos.TaskStatus, asked bool) bool {
	if r.stopping != nil || r.stopReq != nil || t.state != "" || st.Source != mesos.SourceMaster {
		return false
	}
	if st.Reason == mesos.ReasonInvalidOffers {
		switch st.State {
		case mesos.TaskLost, mesos.TaskDropped, mesos.TaskError:
			r.refused(t, st.Message)
			return t.attempts < maxLaunchAttempts
		}
		return false
	}
	// Only an answer to our own question: a late answer to an earlier one
	// must not launch a task twice.
	return asked && unknownToServer(st)
}

// lastKnown describes what we last knew of t.
func (t *task) lastKnown() string {
	if t.state == "" {
		if t.agentID != "" {
			return "launched on agent " + t.agentID + ", no update yet"
		}
		return "no update yet"
	}
	s := string(t.state)
	if t.agentID != "" {
		s += " on agent " + t.agentID
	}
	var from []string
	if t.source != "" {
		from = append(from, t.source)
	}
	if t.reason != "" {
		from = append(from, t.reason)
	}
	if len(from) > 0 {
		s += " (" + strings.Join(from, ", ") + ")"
	}
	if msg := strings.TrimSpace(t.message); msg != "" {
		s += ": " + msg
	}
	return s
}

// printState prints one state line, e.g.
// "task hello-1 TASK_FAILED (REASON_COMMAND_EXECUTOR_FAILED): Command exited with status 1".
func (r *runner) printState(id string, st *mesos.TaskStatus) {
	line := "task " + id + " " + string(st.State)
	if st.Reason != "" {
		line += " (" + st.Reason + ")"
	}
	if msg := strings.TrimSpace(st.Message); msg != "" {
		line += ": " + msg
	}
	fmt.Fprintln(r.out, line)
}

// ack acknowledges st if, and only if, it carries a uuid: updates without
// one come from the server itself and must not be acknowledged.
func (r *runner) ack(st *mesos.TaskStatus, agentID string) {
	call := client.AcknowledgeCall(st)
	if call == nil {
		return
	}
	if call.Acknowledge.AgentID == nil {
		if agentID == "" {
			r.log.Warn("cannot acknowledge an update without an agent id", "task_id", st.TaskID.Value)
			return
		}
		call.Acknowledge.AgentID = &mesos.AgentID{Value: agentID}
	}
	if err := r.call(call); err != nil {
		// The update will be redelivered and acknowledged then.
		r.log.Warn("acknowledge failed", "task_id", st.TaskID.Value, "error", err)
	}
}

// kill asks the server to kill t.
func (r *runner) kill(t *task) {
	if err := r.call(client.KillCall(t.id, t.agentID)); err != nil {
		r.log.Warn("kill failed", "task_id", t.id, "error", err)
	}
}

// killAll kills every launched task that has not ended and forgets the
// ones still waiting for an offer.
func (r *runner) killAll() {
	r.pending = nil
	for _, t := range r.tasks {
		if t.launched && !t.terminal {
			r.kill(t)
		}
	}
}

// printOutput prints the stdout (and a non-empty stderr) of a task that
// ended, unless it was streamed while it ran or the run prints only the
// output of failed tasks, at its end.
func (r *runner) printOutput(t *task, st *mesos.TaskStatus) {
	if st.State == mesos.TaskError || st.Reason == mesos.ReasonInvalidOffers {
		return // never ran
	}
	if t.follow != nil || (r.cfg.Output == OutputAuto && r.cfg.Instances > 1) {
		return
	}
	r.printFiles(t)
}
