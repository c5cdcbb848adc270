package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/hashicorp/go-hclog"

	"mesh/mesos"
	"mesh/mesos/scheduler"
	"mesh/mesos/scheduler/client"
)

// refuseSeconds is the decline filter for resources a framework does not
// use: long, so that offers do not circle while the benchmark measures.
const refuseSeconds = 3600

// staleAfter is how long a launched task may go without any update before
// the framework asks the server about it (RECONCILE), as frameworks do
// after a failover.
const staleAfter = 5 * time.Second

// callWorkers is how many calls one framework has in flight at once.
const callWorkers = 4

// fwStats are the frameworks' counters, shared by all of them.
type fwStats struct {
	errorEvents   atomic.Int64 // ERROR events
	callFailures  atomic.Int64 // calls not answered 2xx (or not answered)
	subscribed    atomic.Int64 // SUBSCRIBED events
	offers        atomic.Int64 // offers received
	updates       atomic.Int64 // UPDATE events
	noUUID        atomic.Int64 // updates without a uuid (from the master)
	redelivered   atomic.Int64 // updates whose uuid was seen before
	dupRunning    atomic.Int64 // a second TASK_RUNNING (new uuid) for a task
	unexpected    atomic.Int64 // terminal updates for tasks that ran and nobody killed
	launchFailed  atomic.Int64 // terminal updates for launches that never ran
	lostSilently  atomic.Int64 // launches found lost only by asking (RECONCILE), no update came
	relaunched    atomic.Int64 // tasks launched again after a failed launch
	replaced      atomic.Int64 // finished tasks replaced by new ones while churning
	revives       atomic.Int64 // REVIVE calls sent for tasks queued
	reconciles    atomic.Int64 // RECONCILE calls for launches in doubt
	acknowledged  atomic.Int64 // ACKNOWLEDGE calls answered 202
	unexpectedLog atomic.Int64 // how many unexpected updates were logged
	pipe          *pipeline    // where updates wait (nil: not timed)
}

// framework is a simulated framework on the real scheduler API: it
// launches its tasks on the offers it gets (as many per offer as fit),
// acknowledges every update that carries a uuid, declines what it does
// not use, and records when each task reached RUNNING.
type framework struct {
	name  string
	c     *client.Client
	log   hclog.Logger
	stats *fwStats
	task  mesos.Resources // one task's resources
	calls *callQueue
	// logged is when a failed call was last logged (unix nanoseconds):
	// failures are counted, and logged at most once a second.
	logged atomic.Int64
	// revive makes a framework that waits for resources REVIVE after it
	// re-subscribes, so that it is offered everything again.
	revive bool
	// finishOK says tasks end by themselves (TASK_FINISHED is expected).
	finishOK bool
	// replacing makes each task that finishes queue a new task in its
	// place (the benchmark's churn).
	replacing atomic.Bool
	churned   int // replacement tasks queued so far, for their ids

	mu          sync.Mutex
	queue       []string // task ids to launch
	launched    map[string]bool
	runningAt   map[string]time.Time // when a task was first heard RUNNING
	runUpdate   map[string]bool      // a RUNNING status update (with a uuid) came
	state       map[string]mesos.TaskState
	agentOf     map[string]string
	killed      map[string]bool
	uncertain   map[string]bool // launched by an ACCEPT whose answer never came
	reconciling bool            // a RECONCILE of the uncertain tasks is queued or in flight
	reviving    bool            // a REVIVE is queued or in flight
	launchedAt  map[string]time.Time
	answered    map[string]bool // launched by an ACCEPT answered 202
	asked       map[string]bool // reconciled because no update came for long
	seen        map[uuid.UUID]bool
	offerAt     []time.Time // when each OFFERS event arrived
	subAt       []time.Time // when each SUBSCRIBED event arrived
	endAt       []time.Time // when each subscription's stream ended
	watch       string      // agent whose next offer is awaited
	watchCh     chan time.Time
	subs        int
}

func newFramework(name string, servers []string, tasks int, task mesos.Resources, stats *fwStats, log hclog.Logger) *framework {
	tr := &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 2 * callWorkers, IdleConnTimeout: 90 * time.Second,
		DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext, DisableCompression: true}
	f := &framework{name: name, log: log, stats: stats, task: task,
		c:        client.New(client.Config{Masters: servers, HTTPClient: &http.Client{Transport: tr, Timeout: 60 * time.Second}}),
		calls:    newCallQueue(),
		launched: map[string]bool{}, runningAt: map[string]time.Time{}, runUpdate: map[string]bool{}, state: map[string]mesos.TaskState{},
		agentOf: map[string]string{}, killed: map[string]bool{}, uncertain: map[string]bool{}, launchedAt: map[string]time.Time{}, answered: map[string]bool{}, asked: map[string]bool{}, seen: map[uuid.UUID]bool{}}
	for i := 0; i < tasks; i++ {
		f.queue = append(f.queue, fmt.Sprintf("%s-task-%05d", name, i))
	}
	return f
}

// run subscribes, re-subscribing whenever the stream ends, until ctx ends.
func (f *framework) run(ctx context.Context) {
	var wg sync.WaitGroup
	for i := 0; i < callWorkers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				call := f.calls.pop(ctx)
				if call == nil {
					return
				}
				call(ctx)
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for pause(ctx, staleAfter) == nil {
			f.reconcileStale(ctx)
		}
	}()
	defer wg.Wait()
	_ = subscribeLoop(ctx, f.c, f.name, func(ev *scheduler.Event) error {
		f.event(ctx, ev)
		return nil
	}, func() {
		f.mu.Lock()
		f.endAt = append(f.endAt, time.Now())
		f.mu.Unlock()
	}, func(err error) {
		f.stats.callFailures.Add(1)
		f.log.Warn("subscribe refused", "framework", f.name, "error", err)
	})
}

// subscribeLoop subscribes as framework name, and again with the id it
// was given whenever its stream ends, until ctx ends. handle gets every
// event; an error from it ends the loop with that error. ended follows
// the end of each stream, refused each subscription that failed.
func subscribeLoop(ctx context.Context, c *client.Client, name string, handle func(*scheduler.Event) error,
	ended func(), refused func(error)) error {
	failover := 600.0
	info := mesos.FrameworkInfo{User: "root", Name: name, FailoverTimeout: &failover, Roles: []string{"*"},
		Capabilities: []mesos.FrameworkCapability{{Type: mesos.CapabilityMultiRole}}}
	for ctx.Err() == nil {
		if id := c.FrameworkID(); id != "" {
			info.ID = &mesos.FrameworkID{Value: id}
		}
		sub, err := c.Subscribe(ctx, client.SubscribeCall(&info))
		if err != nil {
			if ctx.Err() == nil {
				refused(err)
				_ = pause(ctx, 100*time.Millisecond)
			}
			continue
		}
		var handled error
		for handled == nil {
			ev, err := sub.Next()
			if err != nil {
				break
			}
			handled = handle(ev)
		}
		sub.Close()
		if handled != nil {
			return handled
		}
		ended()
	}
	return nil
}

// send queues a call for the framework's call workers and returns at once,
// as the asynchronous send of a v1 scheduler library does: the framework
// keeps reading its event stream (and sees it end) however slowly the
// server answers calls.
func (f *framework) send(ctx context.Context, call *scheduler.Call, onFail func(error)) {
	queued := time.Now()
	job := func(ctx context.Context) {
		start := time.Now()
		err := f.c.Call(ctx, call)
		if p := f.stats.pipe; p != nil && err == nil && call.Type == scheduler.CallAcknowledge {
			p.ackWait.add(start.Sub(queued))
			p.ackCall.add(time.Since(start))
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			f.stats.callFailures.Add(1)
			if now, last := time.Now().UnixNano(), f.logged.Load(); now-last > int64(time.Second) && f.logged.CompareAndSwap(last, now) {
				f.log.Warn("call failed (further failures within a second are counted, not logged)", "framework", f.name, "type", call.Type, "error", err)
			}
			if onFail != nil {
				onFail(err)
			}
		} else if call.Type == scheduler.CallAcknowledge {
			f.stats.acknowledged.Add(1)
		}
	}
	f.calls.push(job)
}

func (f *framework) event(ctx context.Context, ev *scheduler.Event) {
	switch ev.Type {
	case scheduler.EventSubscribed:
		f.stats.subscribed.Add(1)
		f.mu.Lock()
		f.subs++
		now := time.Now()
		f.subAt = append(f.subAt, now)
		again := f.subs > 1
		if again {
			// As a Mesos framework does after a failover, it asks about
			// every launch it has not heard of: an update the old leader
			// sent as it went down (a launch refused for an offer it no
			// longer had, say) was lost with its stream.
			for id := range f.launched {
				if _, heard := f.state[id]; !heard {
					f.uncertain[id] = true
				}
			}
		}
		f.mu.Unlock()
		if again && f.revive {
			f.send(ctx, client.ReviveCall(), nil)
		}
		if again {
			f.reconcile(ctx)
			f.wantRevive(ctx)
		}
	case scheduler.EventOffers:
		if ev.Offers != nil {
			f.offers(ctx, ev.Offers.Offers)
		}
	case scheduler.EventUpdate:
		if ev.Update != nil {
			f.update(ctx, &ev.Update.Status)
		}
	case scheduler.EventError:
		f.stats.errorEvents.Add(1)
		msg := ""
		if ev.Error != nil {
			msg = ev.Error.Message
		}
		f.log.Error("error event", "framework", f.name, "message", msg)
	}
}

// fit returns how many tasks of res fit in offered.
func fit(offered, res mesos.Resources) int {
	n := math.MaxInt
	for _, name := range res.Names() {
		need := res.Scalar(name)
		if need <= 0 {
			continue
		}
		n = min(n, int(math.Floor(offered.Scalar(name)/need+1e-9)))
	}
	if n == math.MaxInt {
		return 0
	}
	return n
}

// offers launches queued tasks on the offers, as many per offer as fit,
// and declines the offers it has no use for.
func (f *framework) offers(ctx context.Context, offers []mesos.Offer) {
	now := time.Now()
	f.stats.offers.Add(int64(len(offers)))
	var decline []mesos.OfferID
	type accept struct {
		call *scheduler.Call
		ids  []string
	}
	var accepts []accept
	f.mu.Lock()
	f.offerAt = append(f.offerAt, now)
	for _, o := range offers {
		if f.watch != "" && o.AgentID.Value == f.watch {
			f.watch = ""
			f.watchCh <- now
		}
		n := min(fit(mesos.Resources(o.Resources), f.task), len(f.queue))
		if n == 0 {
			decline = append(decline, o.ID)
			continue
		}
		ids := f.queue[:n]
		f.queue = f.queue[n:]
		tasks := make([]mesos.TaskInfo, 0, n)
		for _, id := range ids {
			f.launched[id] = true
			f.launchedAt[id] = now
			f.agentOf[id] = o.AgentID.Value
			tasks = append(tasks, mesos.TaskInfo{Name: id, TaskID: mesos.TaskID{Value: id}, AgentID: o.AgentID,
				Resources: f.task.Clone(), Command: &mesos.CommandInfo{Value: "sleep 3600"}})
		}
		accepts = append(accepts, accept{ids: ids, call: client.AcceptCall([]mesos.OfferID{o.ID},
			[]mesos.OfferOperation{client.LaunchOp(tasks...)}, client.Filters(refuseSeconds))})
	}
	f.mu.Unlock()
	for _, a := range accepts {
		f.sendAccept(ctx, a.call, a.ids)
	}
	if len(decline) > 0 {
		f.send(ctx, client.DeclineCall(client.Filters(refuseSeconds), decline...), nil)
	}
}

// sendAccept sends an ACCEPT; once it is answered 202 its tasks count as
// launched by the server, and only then does reconcileStale ask about them
// when no update comes: a real scheduler does not reconcile a launch whose
// call is still queued or in flight (the server would rightly answer that
// it does not know the task, and the launch could still come afterwards).
func (f *framework) sendAccept(ctx context.Context, call *scheduler.Call, ids []string) {
	f.calls.push(func(ctx context.Context) {
		start := time.Now()
		err := f.c.Call(ctx, call)
		if ctx.Err() != nil {
			return
		}
		if p := f.stats.pipe; p != nil && err == nil {
			p.acceptCall.add(time.Since(start))
		}
		if err != nil {
			f.stats.callFailures.Add(1)
			if now, last := time.Now().UnixNano(), f.logged.Load(); now-last > int64(time.Second) && f.logged.CompareAndSwap(last, now) {
				f.log.Warn("call failed (further failures within a second are counted, not logged)", "framework", f.name, "type", call.Type, "error", err)
			}
			f.acceptFailed(ctx, ids, err)
			return
		}
		now := time.Now()
		f.mu.Lock()
		for _, id := range ids {
			if f.launched[id] {
				f.answered[id] = true
				f.launchedAt[id] = now
			}
		}
		f.mu.Unlock()
	})
}

// acceptFailed handles an ACCEPT that was not answered 202. A server that
// answered 4xx refused it: the tasks go back to the queue. Without an
// answer, or with a 5xx (a leader that lost its leadership while
// committing says the launch "may not have been committed"), the launch
// may or may not have been committed: the framework asks the server
// (RECONCILE) and launches again only the tasks it says are gone.
func (f *framework) acceptFailed(ctx context.Context, ids []string, err error) {
	var serr *client.StatusError
	refused := errors.As(err, &serr) && serr.Code < 500
	f.mu.Lock()
	for _, id := range ids {
		if _, heard := f.state[id]; heard {
			continue
		}
		if refused {
			delete(f.launched, id)
			f.queue = append(f.queue, id)
		} else {
			f.uncertain[id] = true
		}
	}
	f.mu.Unlock()
	if refused {
		f.wantRevive(ctx)
	} else {
		f.reconcile(ctx)
	}
}

// reconcile asks for the state of the tasks in doubt; one call at a time,
// and again a moment later if it fails.
func (f *framework) reconcile(ctx context.Context) {
	f.mu.Lock()
	if f.reconciling {
		f.mu.Unlock()
		return
	}
	var tasks []scheduler.ReconcileTask
	for id := range f.uncertain {
		tasks = append(tasks, scheduler.ReconcileTask{TaskID: &mesos.TaskID{Value: id}, AgentID: &mesos.AgentID{Value: f.agentOf[id]}})
	}
	f.reconciling = len(tasks) > 0
	f.mu.Unlock()
	if len(tasks) == 0 || ctx.Err() != nil {
		return
	}
	f.stats.reconciles.Add(1)
	f.queueCall(ctx, func(ctx context.Context) {
		err := f.c.Call(ctx, client.ReconcileCall(tasks...))
		f.mu.Lock()
		f.reconciling = false
		f.mu.Unlock()
		if err != nil && ctx.Err() == nil {
			f.stats.callFailures.Add(1)
			time.AfterFunc(time.Second, func() { f.reconcile(ctx) })
		}
	})
}

// reconcileStale asks about launched tasks that have had no update for
// staleAfter: a launch whose loss nobody reported would otherwise wait
// forever. Only a launch made on the current subscription and lost
// without a word counts as lost silently; one made before the framework
// subscribed again is covered by the reconciliation that follows every
// failover, as Mesos frameworks are told to do.
func (f *framework) reconcileStale(ctx context.Context) {
	now := time.Now()
	f.mu.Lock()
	var lastSub time.Time
	if n := len(f.subAt); n > 0 {
		lastSub = f.subAt[n-1]
	}
	n := 0
	for id := range f.launched {
		if _, heard := f.state[id]; heard || now.Sub(f.launchedAt[id]) < staleAfter {
			continue
		}
		switch {
		case f.answered[id]:
			// Launched (202), and no update since: a loss nobody
			// reported, if the server does not know the task and the
			// launch was answered on this subscription (one answered
			// before a failover is covered by the reconciliation that
			// follows it).
			f.uncertain[id] = true
			if f.launchedAt[id].After(lastSub) {
				f.asked[id] = true
			}
			n++
		case f.uncertain[id]:
			// A launch in doubt whose RECONCILE got no answer (its
			// agent was re-registering): ask again.
			n++
		}
	}
	f.mu.Unlock()
	if n > 0 {
		f.reconcile(ctx)
	}
}

// queueCall hands job to the call workers without waiting: it may be
// called by a worker itself.
func (f *framework) queueCall(_ context.Context, job func(context.Context)) { f.calls.push(job) }

// wantRevive asks for offers again, once at a time: tasks came back to the
// queue after their agents' offers were declined with a long filter.
func (f *framework) wantRevive(ctx context.Context) {
	f.mu.Lock()
	if f.reviving || len(f.queue) == 0 {
		f.mu.Unlock()
		return
	}
	f.reviving = true
	f.mu.Unlock()
	f.queueCall(ctx, func(ctx context.Context) {
		f.stats.revives.Add(1)
		err := f.c.Call(ctx, client.ReviveCall())
		f.mu.Lock()
		f.reviving = false
		f.mu.Unlock()
		if err != nil && ctx.Err() == nil {
			f.stats.callFailures.Add(1)
			time.AfterFunc(time.Second, func() { f.wantRevive(ctx) })
		}
	})
}

// relaunch puts a task whose launch failed back in the queue under a new
// id; the caller asks for offers again (wantRevive) once f.mu is released.
// Called with f.mu held.
func (f *framework) relaunch(id string) {
	f.stats.relaunched.Add(1)
	delete(f.launched, id)
	delete(f.uncertain, id)
	delete(f.answered, id)
	f.queue = append(f.queue, id+"-r")
}

func (f *framework) update(ctx context.Context, st *mesos.TaskStatus) {
	f.stats.updates.Add(1)
	tid := st.TaskID.Value
	f.mu.Lock()
	if len(st.UUID) == 16 {
		u := uuid.UUID(st.UUID)
		if f.seen[u] {
			f.stats.redelivered.Add(1)
		} else {
			f.seen[u] = true
			f.record(tid, st)
		}
	} else {
		f.stats.noUUID.Add(1)
		f.record(tid, st)
	}
	f.mu.Unlock()
	f.wantRevive(ctx)
	if ack := client.AcknowledgeCall(st); ack != nil {
		f.send(ctx, ack, nil)
	}
}

// record notes a first delivery of an update. Called with f.mu held.
func (f *framework) record(tid string, st *mesos.TaskStatus) {
	_, wasRunning := f.runningAt[tid]
	if st.State == mesos.TaskFinished && wasRunning && f.state[tid] != mesos.TaskFinished && f.replacing.Load() {
		f.churned++
		f.queue = append(f.queue, fmt.Sprintf("%s-churn-%06d", f.name, f.churned))
		f.stats.replaced.Add(1)
	}
	if f.uncertain[tid] {
		delete(f.uncertain, tid)
	}
	f.state[tid] = st.State
	switch {
	case st.State.IsTerminal() && !wasRunning && f.launched[tid] && !f.killed[tid]:
		// The launch failed (an offer of an earlier leader, say): launch
		// the task again, as a framework does.
		f.stats.launchFailed.Add(1)
		if f.asked[tid] && st.Reason == mesos.ReasonReconciliation {
			f.stats.lostSilently.Add(1)
			f.log.Warn("launch lost without an update; found by reconciliation", "framework", f.name, "task_id", tid,
				"state", st.State, "message", st.Message)
		}
		f.log.Debug("launch failed", "framework", f.name, "task_id", tid, "state", st.State, "reason", st.Reason, "message", st.Message)
		f.relaunch(tid)
	case st.State == mesos.TaskRunning:
		// A reconciliation's answer (no uuid) may come before or after
		// the task's RUNNING update: only a second update says the task
		// was started twice.
		if len(st.UUID) > 0 {
			if f.runUpdate[tid] {
				f.stats.dupRunning.Add(1)
				f.log.Error("task running twice", "framework", f.name, "task_id", tid)
				return
			}
			f.runUpdate[tid] = true
		}
		if !wasRunning {
			f.runningAt[tid] = time.Now()
		}
	case st.State.IsTerminal() && !wasRunning:
		// An answer about a launch already given up on: nothing to do.
	case st.State.IsTerminal() && !(st.State == mesos.TaskKilled && f.killed[tid]) && !(st.State == mesos.TaskFinished && f.finishOK):
		f.stats.unexpected.Add(1)
		if f.stats.unexpectedLog.Add(1) <= 20 {
			f.log.Error("unexpected task update", "framework", f.name, "task_id", tid, "state", st.State,
				"reason", st.Reason, "message", st.Message, "uuid", len(st.UUID) > 0)
		}
	}
}

// running returns when each task first reached RUNNING.
func (f *framework) running() []time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]time.Time, 0, len(f.runningAt))
	for _, t := range f.runningAt {
		out = append(out, t)
	}
	return out
}

// runningTask returns a task that is RUNNING, not killed, and its agent.
func (f *framework) runningTask(skip int) (tid, agent string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for id := range f.runningAt {
		if f.killed[id] || f.state[id] != mesos.TaskRunning {
			continue
		}
		if skip--; skip < 0 {
			return id, f.agentOf[id]
		}
	}
	return "", ""
}

// kill asks the server to kill a task.
func (f *framework) kill(ctx context.Context, tid, agent string) {
	f.mu.Lock()
	f.killed[tid] = true
	f.mu.Unlock()
	f.send(ctx, client.KillCall(tid, agent), nil)
}

// watchAgent arms the channel that receives the time of the next offer
// for agent.
func (f *framework) watchAgent(agent string) <-chan time.Time {
	ch := make(chan time.Time, 1)
	f.mu.Lock()
	f.watch, f.watchCh = agent, ch
	f.mu.Unlock()
	return ch
}

// firstAfter returns the first of ts after t, zero if none.
func firstAfter(ts []time.Time, t time.Time) time.Time {
	for _, at := range ts {
		if at.After(t) {
			return at
		}
	}
	return time.Time{}
}

// failoverTimes returns when, after t, the framework's stream first ended
// and it was first subscribed again (zero for what did not happen).
func (f *framework) failoverTimes(t time.Time) (ended, subscribed time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return firstAfter(f.endAt, t), firstAfter(f.subAt, t)
}

// firstOfferAfter returns the time of the first OFFERS event of a
// subscription made after t, zero if none: an offer the old leader sent
// just before it was killed, read after t, is not a fresh one.
func (f *framework) firstOfferAfter(t time.Time) time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	sub := firstAfter(f.subAt, t)
	if sub.IsZero() {
		return time.Time{}
	}
	for _, at := range f.offerAt {
		if !at.Before(sub) {
			return at
		}
	}
	return time.Time{}
}

// check counts tasks not RUNNING at the framework (killed ones aside) and
// launched tasks never heard of.
func (f *framework) check() (notRunning int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for id := range f.launched {
		if f.killed[id] {
			continue
		}
		if f.state[id] != mesos.TaskRunning && !(f.finishOK && f.state[id] == mesos.TaskFinished) {
			notRunning++
		}
	}
	return notRunning + len(f.queue)
}

// live counts the tasks queued, launching or running: not yet finished
// (nor killed, nor given up on).
func (f *framework) live() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := len(f.queue)
	for id := range f.launched {
		if st, heard := f.state[id]; !heard || !st.IsTerminal() {
			n++
		}
	}
	return n
}

// stuckStates describes the launched tasks not RUNNING: how many are in
// each last known state, and one example task and agent for each state.
// Called with f.mu held.
func (f *framework) stuckStates() string {
	count := map[string]int{}
	example := map[string]string{}
	for id := range f.launched {
		if f.killed[id] || f.state[id] == mesos.TaskRunning {
			continue
		}
		st := "none"
		if s, ok := f.state[id]; ok {
			st = string(s)
		}
		count[st]++
		if _, ok := example[st]; !ok {
			example[st] = id + "@" + f.agentOf[id]
		}
	}
	out := ""
	for st, n := range count {
		out += fmt.Sprintf("%s=%d (e.g. %s) ", st, n, example[st])
	}
	return out
}
