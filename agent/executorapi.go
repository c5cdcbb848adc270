package agent

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"mesh/executor"
	"mesh/mesos"
	"mesh/mesos/codec"
	execapi "mesh/mesos/executor"
	"mesh/mesos/recordio"
)

const (
	// maxCallBody bounds an executor call's body.
	maxCallBody = 16 << 20
	// executorHeartbeatInterval spaces HEARTBEAT events on executor
	// streams; they only keep idle connections alive.
	executorHeartbeatInterval = 30 * time.Second
)

// httpError answers with a plain-text error, as Mesos does.
func httpError(w http.ResponseWriter, code int, format string, args ...any) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	fmt.Fprintf(w, format+"\n", args...)
}

// handleExecutorAPI serves POST /api/v1/executor (Mesos executor API, in
// JSON or protobuf). The checks come in Mesos' order.
func (a *Agent) handleExecutorAPI(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		httpError(w, http.StatusMethodNotAllowed, "Expecting a 'POST' request, received '%s'", r.Method)
		return
	}
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		httpError(w, http.StatusBadRequest, "Expecting 'Content-Type' to be present")
		return
	}
	mt, ok := codec.RequestEncoding(ct)
	if !ok {
		httpError(w, http.StatusUnsupportedMediaType, "Expecting 'Content-Type' of %s or %s, got '%s'", codec.JSON, codec.Protobuf, ct)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxCallBody+1))
	if err != nil {
		httpError(w, http.StatusBadRequest, "Failed to read the request body: %v", err)
		return
	}
	if len(body) > maxCallBody {
		httpError(w, http.StatusRequestEntityTooLarge, "Request body exceeds %d bytes", maxCallBody)
		return
	}
	var call execapi.Call
	if err := codec.Unmarshal(mt, body, &call); err != nil {
		httpError(w, http.StatusBadRequest, "Failed to parse the body into a %s call: %v", mt, err)
		return
	}
	if err := call.Validate(); err != nil {
		httpError(w, http.StatusBadRequest, "Failed to validate executor::Call: %v", err)
		return
	}
	if call.Type == execapi.CallHeartbeat {
		w.WriteHeader(http.StatusAccepted)
		return
	}

	fid, eid := call.FrameworkID.Value, call.ExecutorID.Value
	run, fwKnown := a.lookupRun(fid, eid)
	if !fwKnown {
		httpError(w, http.StatusBadRequest, "Framework %s cannot be found", fid)
		return
	}
	if run == nil {
		httpError(w, http.StatusBadRequest, "Executor %s of framework %s cannot be found", eid, fid)
		return
	}
	if !run.authenticated(r.Header.Get("Authorization")) {
		a.log.Warn("refused an executor API call without the executor's token", "framework_id", fid, "executor_id", eid, "call", call.Type, "remote", r.RemoteAddr)
		w.Header().Set("WWW-Authenticate", `Bearer realm="mesos-agent-executor"`)
		httpError(w, http.StatusUnauthorized, "Executor %s of framework %s: the call does not carry the executor's token (Authorization: Bearer, from %s)", eid, fid, executor.EnvExecutorToken)
		return
	}
	if call.Type != execapi.CallSubscribe && run.notSubscribed() {
		httpError(w, http.StatusForbidden, "Executor is not subscribed")
		return
	}
	switch call.Type {
	case execapi.CallSubscribe:
		_, present := r.Header["Accept"]
		accept, ok := codec.ResponseEncoding(r.Header.Get("Accept"), present)
		if !ok {
			httpError(w, http.StatusNotAcceptable, "Expecting 'Accept' to allow '%s' or '%s'", codec.Protobuf, codec.JSON)
			return
		}
		s, err := run.subscribe(call.Subscribe)
		if err != nil {
			a.log.Error("cannot record an executor's subscription", "framework_id", fid, "executor_id", eid, "error", err)
			httpError(w, http.StatusServiceUnavailable, "The agent cannot record the subscription: %v", err)
			return
		}
		a.serveExecutorStream(w, r, run, s, accept)
	case execapi.CallUpdate:
		run.mu.Lock()
		ack, err := run.executorUpdate(*call.Update.Status)
		run.mu.Unlock()
		if err != nil {
			var bad badRequest
			if errors.As(err, &bad) {
				httpError(w, http.StatusBadRequest, "%v", err)
			} else {
				httpError(w, http.StatusInternalServerError, "%v", err)
			}
			return
		}
		w.WriteHeader(http.StatusAccepted)
		// The acknowledgement follows the 202 on the stream. Without a
		// stream it is dropped: the executor resends the update when it
		// resubscribes and is acknowledged then.
		run.mu.Lock()
		if run.stream != nil {
			run.stream.send(ack)
		}
		run.mu.Unlock()
	case execapi.CallMessage:
		a.relayExecutorMessage(run, call.Message.Data)
		w.WriteHeader(http.StatusAccepted)
	default: // UNKNOWN
		httpError(w, http.StatusNotImplemented, "Call type %s is not implemented", call.Type)
	}
}

// badRequest marks an error caused by the caller.
type badRequest struct{ error }

// notSubscribed reports whether the run's executor may call only
// SUBSCRIBE yet.
func (r *runner) notSubscribed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.awaitingExecutor()
}

// subscribe accepts an executor's subscription and returns its new
// stream, primed with SUBSCRIBED and whatever the executor missed. The
// first subscription of this agent process is recorded first: a
// restarted agent launches again only runs whose executors never
// subscribed.
func (r *runner) subscribe(sub *execapi.Subscribe) (*eventStream, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.subscribed {
		if err := r.a.markSubscribed(r.fwID, r.id, r.containerID); err != nil {
			return nil, err
		}
	}
	return r.subscribeLocked(sub), nil
}

// subscribeLocked is subscribe once the subscription is recorded. Caller
// holds r.mu.
func (run *runner) subscribeLocked(sub *execapi.Subscribe) *eventStream {
	a := run.a
	log := run.log
	if run.stream != nil {
		run.stream.close() // a new subscription replaces the old one
		run.stream = nil
	}
	if run.state >= runKilling {
		log.Info("terminating executor subscribed; telling it to shut down")
		return newEventStream(execapi.Event{Type: execapi.EventShutdown})
	}

	run.releaseStartSlot()
	// The executor is up: from now on its tasks may run, under the
	// container's full limits.
	run.enforceCPUQuota()
	var acks []execapi.Event
	known := map[string]bool{}
	for _, t := range sub.UnacknowledgedTasks {
		known[t.TaskID.Value] = true
	}
	for _, u := range sub.UnacknowledgedUpdates {
		known[u.Status.TaskID.Value] = true
		if err := validateExecutorStatus(u.Status, &mesos.ExecutorID{Value: run.id}); err != nil {
			log.Warn("dropping an invalid update the executor resent", "task_id", u.Status.TaskID.Value, "error", err)
			continue
		}
		ack, err := run.executorUpdate(*u.Status)
		if err != nil {
			log.Warn("dropping an unacknowledged update the executor resent", "task_id", u.Status.TaskID.Value, "error", err)
			continue
		}
		acks = append(acks, ack)
	}
	for _, t := range run.liveTasks() {
		if t.launched && t.state == mesos.TaskStaging && !known[t.info.TaskID.Value] {
			run.agentUpdate(t.info.TaskID, mesos.TaskLost, mesos.ReasonTaskUnknown,
				"Task was launched but its executor does not know it")
		}
	}

	agentInfo := a.currentAgentInfo()
	fwInfo := a.frameworkInfo(run.fwID)
	fwInfo.ID = &mesos.FrameworkID{Value: run.fwID}
	initial := []execapi.Event{{
		Type: execapi.EventSubscribed,
		Subscribed: &execapi.Subscribed{
			ExecutorInfo:  run.info,
			FrameworkInfo: fwInfo,
			AgentInfo:     agentInfo,
			ContainerID:   &mesos.ContainerID{Value: run.containerID},
		},
	}}
	initial = append(initial, acks...)
	for _, ev := range run.outbox {
		run.markDelivered(ev)
		initial = append(initial, ev)
	}
	run.outbox = nil
	if run.state == runLaunching {
		a.metrics.executorSubscribed(run.launchedAt)
	}
	run.state = runRunning
	run.subscribed = true
	if run.regTimer != nil {
		run.regTimer.Stop()
		run.regTimer = nil
	}
	run.stream = newEventStream(initial...)
	log.Info("executor subscribed", "resent_updates", len(sub.UnacknowledgedUpdates), "queued_events", len(initial)-1-len(acks))
	return run.stream
}

// serveExecutorStream writes a subscription's events, encoded as media
// type mt, until the stream is replaced or closed, the executor goes away,
// or the agent stops.
func (a *Agent) serveExecutorStream(w http.ResponseWriter, r *http.Request, run *runner, s *eventStream, mt string) {
	defer func() {
		run.mu.Lock()
		if run.stream == s {
			run.stream = nil
		}
		run.mu.Unlock()
		s.close()
	}()
	w.Header().Set("Content-Type", mt)
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	rw := recordio.NewWriter(w)
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	hb := time.NewTicker(executorHeartbeatInterval)
	defer hb.Stop()
	write := func(ev execapi.Event) bool {
		b, err := codec.Marshal(mt, &ev)
		if err != nil {
			a.log.Error("cannot encode executor event", "type", ev.Type, "error", err)
			return true
		}
		return rw.WriteRecord(b) == nil
	}
	for {
		for _, ev := range s.take() {
			if !write(ev) {
				return
			}
		}
		select {
		case <-s.wake:
		case <-s.done:
			for _, ev := range s.take() {
				if !write(ev) {
					return
				}
			}
			return
		case <-r.Context().Done():
			return
		case <-hb.C:
			if !write(execapi.Event{Type: execapi.EventHeartbeat}) {
				return
			}
		}
	}
}

// executorUpdate checkpoints a status update from an executor and returns
// the ACKNOWLEDGED event for it. Caller holds run.mu (not a.mu): the
// update is synced to disk under the run's lock alone.
func (run *runner) executorUpdate(st mesos.TaskStatus) (execapi.Event, error) {
	a := run.a
	tid := st.TaskID.Value
	ack := execapi.Event{Type: execapi.EventAcknowledged, Acknowledged: &execapi.Acknowledged{TaskID: st.TaskID, UUID: st.UUID}}
	task := run.tasks[tid]
	if task == nil {
		for _, done := range run.completed {
			if done.info.TaskID.Value == tid {
				// Over and acknowledged by the framework: the executor
				// missed our acknowledgement.
				return ack, nil
			}
		}
		return execapi.Event{}, badRequest{fmt.Errorf("task %s is not a task of executor %s", tid, run.id)}
	}
	if st.ExecutorID == nil {
		st.ExecutorID = &mesos.ExecutorID{Value: run.id}
	}
	if id := a.knownID(); st.AgentID == nil && id != "" {
		st.AgentID = &mesos.AgentID{Value: id}
	}
	if st.ContainerStatus == nil {
		cs := &mesos.ContainerStatus{ContainerID: &mesos.ContainerID{Value: run.containerID}}
		if run.pid > 0 {
			pid := uint32(run.pid)
			cs.ExecutorPID = &pid
		}
		st.ContainerStatus = cs
	}
	if task.state.IsTerminal() {
		// Accept a resend of what was stored, drop anything newer: a
		// task does not come back from a terminal state.
		dup, err := a.updates.IsDuplicate(run.fwID, tid, st.UUID)
		if err == nil && !dup {
			a.log.Warn("dropping an update for a task that already ended", "framework_id", run.fwID, "task_id", tid, "state", st.State, "ended_in", task.state)
		}
		return ack, nil
	}
	if st.State == mesos.TaskFailed {
		// A task the kernel killed for exceeding the container's memory
		// ends with SIGKILL as far as its executor can tell; the cgroup's
		// OOM counter says why.
		if lim := a.limitation(run.containerID); lim != nil {
			st.Reason = limitationReason(lim)
			st.Message = lim.Message
		}
	}
	dup, err := a.updates.Update(run.fwID, st)
	if err != nil {
		return execapi.Event{}, fmt.Errorf("cannot checkpoint the status update: %w", err)
	}
	if !dup {
		task.state = st.State
		task.launched = true
		a.log.Info("task status", "framework_id", run.fwID, "task_id", tid, "state", st.State, "source", st.Source, "message", st.Message)
	}
	return ack, nil
}

// validateExecutorStatus checks a status update an executor sends.
func validateExecutorStatus(st *mesos.TaskStatus, eid *mesos.ExecutorID) error {
	if st.TaskID.Value == "" {
		return errors.New("expecting 'status.task_id' to be present")
	}
	if st.State == "" {
		return errors.New("expecting 'status.state' to be present")
	}
	if !st.State.Valid() {
		return fmt.Errorf("'status.state' %q is not a task state", st.State)
	}
	if len(st.UUID) == 0 {
		return errors.New("expecting 'uuid' to be present")
	}
	if len(st.UUID) != 16 {
		return fmt.Errorf("'uuid' must be 16 bytes, got %d", len(st.UUID))
	}
	if st.Source != mesos.SourceExecutor {
		return fmt.Errorf("received a status update with source %q; expecting 'SOURCE_EXECUTOR'", st.Source)
	}
	if st.State == mesos.TaskStaging {
		return errors.New("received a TASK_STAGING status update; executors may not send TASK_STAGING")
	}
	if st.ExecutorID != nil && st.ExecutorID.Value != eid.Value {
		return fmt.Errorf("status update's executor_id %q does not match the call's %q", st.ExecutorID.Value, eid.Value)
	}
	return nil
}

// newExecutorToken is a fresh secret for an executor's calls.
func newExecutorToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("agent: no randomness for an executor token: " + err.Error())
	}
	return hex.EncodeToString(b)
}

// authenticated reports whether an executor API call's Authorization
// header carries the run's token. Runs checkpointed before executors had
// tokens accept calls without one.
func (r *runner) authenticated(header string) bool {
	if r.token == "" {
		return true
	}
	got, ok := strings.CutPrefix(header, "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(got), []byte(r.token)) == 1
}
