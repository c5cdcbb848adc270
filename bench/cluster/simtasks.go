package main

import (
	"bytes"
	"context"
	"time"

	"github.com/google/uuid"

	"mesh/mesos"
	"mesh/mesos/agentapi"
)

// resendSweep is how often the simulator looks for updates due again.
const resendSweep = 250 * time.Millisecond

// simTask is a task of the fake containerizer: it goes STARTING then
// RUNNING, each update sent only once the previous one is acknowledged,
// and runs until killed (or for the simulator's task duration).
type simTask struct {
	fid, tid string
	state    mesos.TaskState    // the latest acknowledged state
	pending  []mesos.TaskStatus // updates to send; the head is outstanding
	sent     bool               // the head is sent and awaits its acknowledgement
	due      time.Time          // when a sent head goes again
	sentAt   time.Time          // when the head was first sent
	interval time.Duration
}

func taskKey(fid, tid string) string { return fid + "/" + tid }

func newStatus(tid string, s mesos.TaskState) mesos.TaskStatus {
	u := uuid.New()
	return mesos.TaskStatus{TaskID: mesos.TaskID{Value: tid}, State: s, Source: mesos.SourceExecutor, UUID: u[:],
		ExecutorID: &mesos.ExecutorID{Value: tid}, Timestamp: float64(time.Now().UnixNano()) / 1e9}
}

// command carries out a command from the leader.
func (a *simAgent) command(ev *agentapi.Event) {
	a.mu.Lock()
	defer a.mu.Unlock()
	switch ev.Type {
	case agentapi.EventLaunch:
		if ev.Launch == nil || ev.Launch.FrameworkInfo.ID == nil {
			return
		}
		fid := ev.Launch.FrameworkInfo.ID.Value
		for _, ti := range ev.Launch.Tasks {
			k := taskKey(fid, ti.TaskID.Value)
			a.sim.stats.launches.Add(1)
			if a.launched[k]++; a.launched[k] > 1 {
				a.sim.stats.dupLaunches.Add(1)
				a.sim.log.Error("task launched again", "agent", a.hostname, "framework_id", fid, "task_id", ti.TaskID.Value)
				continue
			}
			a.tasks[k] = &simTask{fid: fid, tid: ti.TaskID.Value, state: mesos.TaskStaging, interval: agentapi.StatusRetryInterval,
				pending: []mesos.TaskStatus{newStatus(ti.TaskID.Value, mesos.TaskStarting), newStatus(ti.TaskID.Value, mesos.TaskRunning)}}
		}
	case agentapi.EventKill:
		if ev.Kill == nil {
			return
		}
		if t := a.tasks[taskKey(ev.Kill.FrameworkID.Value, ev.Kill.TaskID.Value)]; t != nil {
			a.end(t, mesos.TaskKilled)
		}
	case agentapi.EventAcknowledge:
		if ev.Acknowledge != nil {
			a.acknowledged(ev.Acknowledge)
		}
	case agentapi.EventShutdownFramework:
		if ev.ShutdownFramework == nil {
			return
		}
		for _, t := range a.tasks {
			if t.fid == ev.ShutdownFramework.FrameworkID.Value {
				a.end(t, mesos.TaskKilled)
			}
		}
	}
}

// end queues a terminal update for t unless it has one already. Called
// with a.mu held.
func (a *simAgent) end(t *simTask, s mesos.TaskState) {
	if t.state.IsTerminal() {
		return
	}
	for _, p := range t.pending {
		if p.State.IsTerminal() {
			return
		}
	}
	t.pending = append(t.pending, newStatus(t.tid, s))
}

// acknowledged pops the head update an acknowledgement names. Called with
// a.mu held.
func (a *simAgent) acknowledged(ack *agentapi.Acknowledge) {
	k := taskKey(ack.FrameworkID.Value, ack.TaskID.Value)
	t := a.tasks[k]
	if t == nil || len(t.pending) == 0 || !bytes.Equal(t.pending[0].UUID, ack.UUID) {
		return
	}
	if p := a.sim.pipe; p != nil && !t.sentAt.IsZero() {
		p.roundTrip.add(time.Since(t.sentAt))
	}
	t.sentAt = time.Time{}
	t.state = t.pending[0].State
	t.pending = t.pending[1:]
	t.sent = false
	t.interval = agentapi.StatusRetryInterval
	if t.state.IsTerminal() && len(t.pending) == 0 {
		delete(a.tasks, k)
		return
	}
	if t.state == mesos.TaskRunning && len(t.pending) == 0 && a.sim.taskDuration > 0 {
		time.AfterFunc(a.sim.taskDuration, func() {
			a.mu.Lock()
			if a.tasks[k] == t {
				a.end(t, mesos.TaskFinished)
			}
			a.mu.Unlock()
			a.flush(context.Background())
		})
	}
}

// flush starts sending the heads not yet sent, unless a call is in flight
// (its sender picks them up when it returns): one UPDATE call at a time
// per agent, as the real agent's status update manager does.
func (a *simAgent) flush(ctx context.Context) {
	a.mu.Lock()
	if a.posting || a.leader == "" {
		a.mu.Unlock()
		return
	}
	a.posting = true
	a.mu.Unlock()
	go a.sendLoop(ctx)
}

// sendLoop sends batches until nothing is left to send.
func (a *simAgent) sendLoop(ctx context.Context) {
	for {
		addr, batch := a.nextBatch()
		if len(batch) == 0 {
			return
		}
		start := time.Now()
		resendAfter, err := a.postUpdates(ctx, addr, batch)
		a.mu.Lock()
		now := time.Now()
		if p := a.sim.pipe; p != nil && err == nil {
			p.updateCall.add(now.Sub(start))
		}
		if err != nil {
			a.sim.stats.updateFailures.Add(1)
			a.failWait = min(max(2*a.failWait, agentapi.MinSendFailureBackoff), agentapi.StatusRetryInterval)
		} else {
			a.failWait = 0
		}
		for _, u := range batch {
			t := a.tasks[taskKey(u.FrameworkID.Value, u.Status.TaskID.Value)]
			if t == nil || len(t.pending) == 0 || !bytes.Equal(t.pending[0].UUID, u.Status.UUID) {
				continue
			}
			if err != nil {
				t.due = now.Add(a.failWait)
				continue
			}
			// as the agent's status update manager does
			t.due = now.Add(agentapi.ResendWait(t.interval, resendAfter))
			t.interval = min(2*t.interval, agentapi.MaxStatusRetryInterval)
		}
		a.mu.Unlock()
		if err != nil {
			a.sim.log.Debug("cannot send status updates; will retry", "agent", a.hostname, "error", err)
		}
	}
}

// nextBatch marks up to agentapi.MaxUpdatesPerCall unsent heads sent and returns
// them with the server to send them to; with none, it ends the sender.
func (a *simAgent) nextBatch() (string, []agentapi.StatusUpdate) {
	a.mu.Lock()
	defer a.mu.Unlock()
	var batch []agentapi.StatusUpdate
	if a.leader != "" {
		now := time.Now()
		for _, t := range a.tasks {
			if len(t.pending) == 0 || t.sent {
				continue
			}
			if len(batch) == agentapi.MaxUpdatesPerCall {
				break
			}
			t.sent = true
			if t.sentAt.IsZero() {
				t.sentAt = now
			}
			t.due = now.Add(agentapi.UpdateCallTimeout) // until the call returns
			st := t.pending[0]
			st.AgentID = &mesos.AgentID{Value: a.id}
			if st.State.IsTerminal() {
				a.sim.freedAt.LoadOrStore(taskKey(t.fid, t.tid), now)
			}
			batch = append(batch, agentapi.StatusUpdate{FrameworkID: mesos.FrameworkID{Value: t.fid}, Status: st})
		}
	}
	if len(batch) == 0 {
		a.posting = false
	}
	return a.leader, batch
}

func (a *simAgent) postUpdates(ctx context.Context, addr string, batch []agentapi.StatusUpdate) (resendAfter time.Duration, err error) {
	a.sim.stats.updatesSent.Add(int64(len(batch)))
	a.mu.Lock()
	id := a.id
	a.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, agentapi.UpdateCallTimeout)
	defer cancel()
	_, resp, err := a.post(ctx, addr, &agentapi.Call{Type: agentapi.CallUpdate, AgentID: &mesos.AgentID{Value: id},
		Update: &agentapi.Update{Updates: batch}})
	if err != nil {
		return 0, err
	}
	defer drain(resp)
	return agentapi.ResendAfter(resp.Body), nil
}

// resendLoop marks heads whose acknowledgement is overdue unsent again and
// flushes their agents, until ctx ends.
func (s *simulator) resendLoop(ctx context.Context) {
	for pause(ctx, resendSweep) == nil {
		now := time.Now()
		for _, a := range s.agents {
			due := 0
			a.mu.Lock()
			for _, t := range a.tasks {
				if t.sent && len(t.pending) > 0 && now.After(t.due) {
					t.sent = false
					due++
				}
			}
			a.mu.Unlock()
			if due > 0 {
				s.stats.resends.Add(int64(due))
				a.flush(ctx)
			}
		}
	}
}

// outstanding counts status updates not yet acknowledged, and tasks, over
// every agent.
func (s *simulator) outstanding() (updates, tasks int) {
	for _, a := range s.agents {
		a.mu.Lock()
		for _, t := range a.tasks {
			updates += len(t.pending)
			tasks++
		}
		a.mu.Unlock()
	}
	return updates, tasks
}
