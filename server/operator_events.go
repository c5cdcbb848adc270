package server

import (
	"net/http"
	"sync"

	"mesh/fsm"
	"mesh/mesos"
	mapi "mesh/mesos/master"
)

// operatorHub fans committed state changes out to the operator API's
// event streams (SUBSCRIBE). The fsm tells it of every command it
// commits, in log order, on raft's apply goroutine; the hub turns each
// into events and pushes them to every subscriber's bounded outbox, which
// never blocks: a subscriber that falls too far behind is cut off.
type operatorHub struct {
	mu sync.Mutex
	// state is the state as of the last command published (nil before
	// the first): a new subscriber's SUBSCRIBED carries exactly the state
	// its first event follows.
	state *fsm.State
	// subs are the subscribers, each with what it may see (nil: all).
	subs map[*outbox[*mapi.Event]]func(*mapi.Event, *fsm.State) bool
}

func newOperatorHub(f *fsm.FSM) *operatorHub {
	h := &operatorHub{subs: map[*outbox[*mapi.Event]]func(*mapi.Event, *fsm.State) bool{}}
	f.SetObserver(h)
	return h
}

// Begin starts a batch of commands (fsm.Observer). The hub stays locked
// until End, so that no subscriber joins in the middle of a batch: one
// that did would have missed the events of the batch's commands before
// it. Each command is wanted only while someone subscribes.
func (h *operatorHub) Begin() bool {
	h.mu.Lock()
	return len(h.subs) > 0
}

// Command publishes the events of one committed command (fsm.Observer).
func (h *operatorHub) Command(t fsm.MessageType, req any, before, after *fsm.State) {
	if len(h.subs) > 0 {
		h.publishLocked(operatorEvents(req, before, after), after)
	}
}

// End ends a batch (fsm.Observer): its state is what a new subscriber's
// SUBSCRIBED carries.
func (h *operatorHub) End(after *fsm.State) {
	h.state = after
	h.mu.Unlock()
}

// publishLocked pushes events, made from state st, to every subscriber
// that may see them; one whose outbox is full is closed and dropped.
func (h *operatorHub) publishLocked(events []*mapi.Event, st *fsm.State) {
	for o, keep := range h.subs {
		for _, ev := range events {
			if keep != nil && !keep(ev, st) {
				continue
			}
			if !o.push(ev, nil) {
				delete(h.subs, o)
				break
			}
		}
	}
}

// subscribe registers a subscriber that sees the events keep lets
// through (nil: all). It returns its outbox and the state its SUBSCRIBED
// event must carry (nil: read the current state, no command having been
// published yet).
func (h *operatorHub) subscribe(keep func(*mapi.Event, *fsm.State) bool) (*outbox[*mapi.Event], *fsm.State) {
	o := newOutbox[*mapi.Event]()
	h.mu.Lock()
	defer h.mu.Unlock()
	h.subs[o] = keep
	return o, h.state
}

// unsubscribe drops a subscriber whose stream ended.
func (h *operatorHub) unsubscribe(o *outbox[*mapi.Event]) {
	h.mu.Lock()
	delete(h.subs, o)
	h.mu.Unlock()
	o.close(nil)
}

// subscribers counts the open event streams.
func (h *operatorHub) subscribers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}

// operatorEvents turns one committed command into the events Mesos'
// master sends its operator subscribers.
func operatorEvents(req any, before, after *fsm.State) []*mapi.Event {
	var out []*mapi.Event
	switch r := req.(type) {
	case *fsm.TaskLaunchRequest:
		for _, t := range r.Tasks {
			if a := after.Task(t.FrameworkID, t.TaskID); a != nil && before.Task(t.FrameworkID, t.TaskID) == nil {
				out = append(out, &mapi.Event{Type: mapi.EventTaskAdded, TaskAdded: &mapi.TaskAdded{Task: v1Task(a)}})
			}
		}
	case *fsm.StatusUpdateRequest:
		var tasks []*fsm.Task
		seen := map[string]bool{}
		for _, u := range r.Updates {
			if a := after.Task(u.FrameworkID, u.Status.TaskID.Value); a != nil && !seen[a.Key()] {
				seen[a.Key()] = true
				tasks = append(tasks, a)
			}
		}
		out = taskUpdates(before, tasks)
	case *fsm.FrameworkRegisterRequest:
		if fw := after.Framework(r.Framework.ID); fw != nil {
			ev := &mapi.FrameworkEvent{Framework: v1Framework(after, fw, nil)}
			if before.Framework(fw.ID) == nil {
				out = append(out, &mapi.Event{Type: mapi.EventFrameworkAdded, FrameworkAdded: ev})
			} else {
				out = append(out, &mapi.Event{Type: mapi.EventFrameworkUpdated, FrameworkUpdated: ev})
			}
		}
	case *fsm.FrameworkDisconnectRequest:
		if fw := after.Framework(r.FrameworkID); fw != nil {
			out = append(out, &mapi.Event{Type: mapi.EventFrameworkUpdated,
				FrameworkUpdated: &mapi.FrameworkEvent{Framework: v1Framework(after, fw, nil)}})
		}
	case *fsm.FrameworkRemoveRequest:
		if fw := after.Framework(r.FrameworkID); fw != nil {
			out = append(taskUpdates(before, after.TasksByFramework(fw.ID)), &mapi.Event{Type: mapi.EventFrameworkRemoved,
				FrameworkRemoved: &mapi.FrameworkRemoved{FrameworkInfo: v1FrameworkInfo(fw)}})
		}
	case *fsm.AgentRegisterRequest:
		out = agentChange(before, after, r.Agent.ID)
	case *fsm.AgentRegisterBatchRequest:
		for _, a := range r.Agents {
			out = append(out, agentChange(before, after, a.Agent.ID)...)
		}
	case *fsm.AgentStateRequest:
		out = append(agentChange(before, after, r.AgentID), taskUpdates(before, after.TasksByAgent(r.AgentID))...)
	}
	return out
}

// taskUpdates is a TASK_UPDATED for each task whose status changed.
func taskUpdates(before *fsm.State, tasks []*fsm.Task) []*mapi.Event {
	var out []*mapi.Event
	for _, a := range tasks {
		b := before.Task(a.FrameworkID, a.TaskID)
		as := a.Status()
		if b != nil && b.State == a.State && sameStatus(b.Status(), as) {
			continue
		}
		st := mesos.TaskStatus{TaskID: mesos.TaskID{Value: a.TaskID}, State: a.State}
		if as != nil {
			st = *as
		}
		out = append(out, &mapi.Event{Type: mapi.EventTaskUpdated, TaskUpdated: &mapi.TaskUpdated{
			FrameworkID: mesos.FrameworkID{Value: a.FrameworkID}, Status: st, State: a.State}})
	}
	return out
}

func sameStatus(a, b *mesos.TaskStatus) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.State == b.State && string(a.UUID) == string(b.UUID) && a.Timestamp == b.Timestamp
}

// agentChange is AGENT_ADDED when an agent became active and
// AGENT_REMOVED when it stopped being so.
func agentChange(before, after *fsm.State, id string) []*mapi.Event {
	a, b := after.Agent(id), before.Agent(id)
	wasActive := b != nil && b.State == fsm.AgentActive
	switch {
	case a != nil && a.State == fsm.AgentActive && !wasActive:
		return []*mapi.Event{{Type: mapi.EventAgentAdded, AgentAdded: &mapi.AgentAdded{Agent: v1Agent(after, a)}}}
	case wasActive && (a == nil || a.State != fsm.AgentActive):
		return []*mapi.Event{{Type: mapi.EventAgentRemoved, AgentRemoved: &mapi.AgentRemoved{AgentID: mesos.AgentID{Value: id}}}}
	}
	return nil
}

// operatorSubscribe serves SUBSCRIBE: SUBSCRIBED with the whole state,
// then every change committed after it, and a HEARTBEAT every heartbeat
// interval, until the client leaves, falls behind or the term ends. The
// records are RecordIO in the encoding the call accepted (mediaType).
func (s *Server) operatorSubscribe(m *master, w http.ResponseWriter, r *http.Request, mediaType string) {
	o, st := s.opHub.subscribe(s.eventFilter(r.Context()))
	defer s.opHub.unsubscribe(o)
	if st == nil {
		st = s.fsm.State()
	}
	v := s.stateViewOf(st).only(s.authzOf(r.Context()))
	interval := s.cfg.HeartbeatInterval
	w.Header().Set("Content-Type", mediaType)
	w.WriteHeader(http.StatusOK)
	rw := newEventWriter(w, mediaType)
	if err := writeEvent(rw, &mapi.Event{Type: mapi.EventSubscribed, Subscribed: &mapi.Subscribed{
		GetState: &mapi.GetState{GetTasks: v.getTasks(), GetExecutors: v.getExecutors(),
			GetFrameworks: v.getFrameworks(m), GetAgents: v.getAgents()},
		HeartbeatIntervalSeconds: interval.Seconds()}}); err != nil {
		return
	}
	heartbeat := &mapi.Event{Type: mapi.EventHeartbeat}
	if writeEvent(rw, heartbeat) != nil {
		return
	}
	m.logger.Info("operator subscribed", "remote", r.RemoteAddr)
	defer m.s.metrics.stream("operator")()
	serveStream(r.Context(), m.ctx, w, rw, o, heartbeat, interval)
}
