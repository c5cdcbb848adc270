package execute

import (
	"context"
	"errors"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"mesh/mesos"
	"mesh/mesos/scheduler"
	"mesh/mesos/scheduler/client"
)

// fakeTimer is one timer the runner started on a fakeClock.
type fakeTimer struct {
	d       time.Duration
	c       chan time.Time
	mu      sync.Mutex
	stopped bool
}

func (ft *fakeTimer) fire() { ft.c <- time.Time{} }

func (ft *fakeTimer) isStopped() bool {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	return ft.stopped
}

// fakeClock hands the test every timer the runner starts; time moves only
// when the test fires one.
type fakeClock struct {
	t      *testing.T
	timers chan *fakeTimer
}

func newFakeClock(t *testing.T) *fakeClock {
	return &fakeClock{t: t, timers: make(chan *fakeTimer, 64)}
}

func (fc *fakeClock) newTimer(d time.Duration) (<-chan time.Time, func() bool) {
	ft := &fakeTimer{d: d, c: make(chan time.Time, 1)}
	fc.timers <- ft
	return ft.c, func() bool {
		ft.mu.Lock()
		defer ft.mu.Unlock()
		was := !ft.stopped
		ft.stopped = true
		return was
	}
}

func (fc *fakeClock) expectTimer() *fakeTimer {
	fc.t.Helper()
	select {
	case ft := <-fc.timers:
		return ft
	case <-time.After(wait):
		fc.t.Fatalf("no timer started within %s", wait)
		return nil
	}
}

// reconciled checks an explicit RECONCILE and returns its task ids, sorted.
func reconciled(t *testing.T, c *scheduler.Call) []string {
	t.Helper()
	var ids []string
	for _, rt := range c.Reconcile.Tasks {
		ids = append(ids, rt.TaskID.Value)
	}
	sort.Strings(ids)
	if len(ids) == 0 {
		t.Fatalf("RECONCILE is implicit, want explicit")
	}
	return ids
}

func TestRun_NotSubscribedAcceptResubscribesWithoutUsingAttempts(t *testing.T) {
	m := newFakeMaster(t)
	var mu sync.Mutex
	stale := maxLaunchAttempts // more than enough to exhaust the attempts
	m.status = func(c *scheduler.Call) (int, string) {
		mu.Lock()
		defer mu.Unlock()
		if c.Type == scheduler.CallAccept && stale > 0 {
			stale--
			return http.StatusForbidden, "Framework is not subscribed"
		}
		return http.StatusAccepted, ""
	}
	done, _ := start(context.Background(), t, Config{Masters: []string{m.addr()}, Name: "ns", Command: "true", Instances: 2})
	fs := m.expectSubscribe()
	fs.send(subscribed())
	for i := 0; i < maxLaunchAttempts; i++ {
		fs.send(offers(offer("O"+string(rune('a'+i)), "A1", nil, 1, 1024)))
		m.expectCall(scheduler.CallAccept) // 403: the stream is stale
		old := fs
		fs = m.expectSubscribe()
		if fs.call.FrameworkID == nil || fs.call.FrameworkID.Value != "F1" {
			t.Fatalf("resubscribe without framework id: %+v", fs.call)
		}
		// The server fails the old stream over; that must not end the run.
		old.send(&scheduler.Event{Type: scheduler.EventError, Error: &scheduler.Error{Message: "Framework failed over"}})
		fs.send(subscribed())
		m.expectCall(scheduler.CallRevive)
	}
	fs.send(offers(offer("Ok", "A1", nil, 1, 1024)))
	if ids := launched(t, m.expectCall(scheduler.CallAccept), "Ok", DefaultCPUs, DefaultMem); strings.Join(ids, ",") != "ns-0,ns-1" {
		t.Fatalf("ACCEPT launches %v, want ns-0,ns-1", ids)
	}
	m.sendAcked(fs,
		update("ns-0", mesos.TaskFinished, "", "", true),
		update("ns-1", mesos.TaskFinished, "", "", true),
	)
	m.expectCall(scheduler.CallTeardown)
	if rr := waitRun(t, done); rr.err != nil || !rr.res.Succeeded() {
		t.Fatalf("Run: %v, result %+v", rr.err, rr.res)
	}
}

func TestRun_ReconcilesWithBackoffUntilAnswered(t *testing.T) {
	m := newFakeMaster(t)
	clock := newFakeClock(t)
	cfg := Config{Masters: []string{m.addr()}, Name: "rb", Command: "sleep 1", FailoverTimeout: time.Minute}
	cfg.newTimer = clock.newTimer
	done, out := start(context.Background(), t, cfg)
	fs := m.expectSubscribe()
	fs.send(subscribed(), offers(offer("O1", "A1", nil, 1, 1024)))
	launched(t, m.expectCall(scheduler.CallAccept), "O1", DefaultCPUs, DefaultMem)
	m.sendAcked(fs, update("rb-0", mesos.TaskRunning, "", "", true))

	close(fs.end) // the stream drops; the agent is not back when we return
	fs = m.expectSubscribe()
	fs.send(subscribed())
	// The server does not answer: ask again, 1 s doubling to 30 s, ±20%.
	base := time.Second
	for i := 0; i < 8; i++ {
		if ids := reconciled(t, m.expectCall(scheduler.CallReconcile)); strings.Join(ids, ",") != "rb-0" {
			t.Fatalf("RECONCILE of %v, want rb-0", ids)
		}
		ft := clock.expectTimer()
		if lo, hi := base-base/5, base+base/5; ft.d < lo || ft.d > hi {
			t.Fatalf("wait %d is %s, want %s ±20%%", i, ft.d, base)
		}
		base = min(2*base, client.DefaultReconcileMax)
		if i < 7 {
			ft.fire()
			continue
		}
		// The answer comes: the round ends with an implicit RECONCILE.
		fs.send(update("rb-0", mesos.TaskRunning, mesos.ReasonReconciliation, "Reconciliation: latest task state", false))
		if c := m.expectCall(scheduler.CallReconcile); len(c.Reconcile.Tasks) != 0 {
			t.Fatalf("RECONCILE after every task is known is not implicit: %+v", c.Reconcile)
		}
		if !ft.isStopped() {
			t.Errorf("reconciliation timer still armed after every task is known")
		}
	}
	m.sendAcked(fs, update("rb-0", mesos.TaskFinished, "", "", true))
	m.expectCall(scheduler.CallTeardown)
	if rr := waitRun(t, done); rr.err != nil {
		t.Fatalf("Run: %v", rr.err)
	}
	if strings.Count(out.String(), "TASK_RUNNING") != 1 {
		t.Errorf("an unchanged state printed twice:\n%s", out)
	}
}

func TestRun_UnavailableAcceptReconcilesAndRelaunchesLostTasks(t *testing.T) {
	m := newFakeMaster(t)
	var mu sync.Mutex
	unavailable := true
	m.status = func(c *scheduler.Call) (int, string) {
		mu.Lock()
		defer mu.Unlock()
		if c.Type == scheduler.CallAccept && unavailable {
			unavailable = false
			return http.StatusServiceUnavailable, "leadership lost; the launch may not have been committed"
		}
		return http.StatusAccepted, ""
	}
	done, out := start(context.Background(), t, Config{Masters: []string{m.addr()}, Name: "u", Command: "true", Instances: 2})
	fs := m.expectSubscribe()
	fs.send(subscribed(), offers(offer("O1", "A1", nil, 1, 1024)))
	launched(t, m.expectCall(scheduler.CallAccept), "O1", DefaultCPUs, DefaultMem)
	// The launch may or may not have been committed: ask about its tasks,
	// and (the leader being gone) on a new stream as well.
	if ids := reconciled(t, m.expectCall(scheduler.CallReconcile)); strings.Join(ids, ",") != "u-0,u-1" {
		t.Fatalf("RECONCILE of %v, want u-0,u-1", ids)
	}
	fs = m.expectSubscribe()
	fs.send(subscribed())
	if ids := reconciled(t, m.expectCall(scheduler.CallReconcile)); strings.Join(ids, ",") != "u-0,u-1" {
		t.Fatalf("RECONCILE after resubscribing of %v, want u-0,u-1", ids)
	}
	fs.send(
		update("u-0", mesos.TaskLost, mesos.ReasonReconciliation, "Reconciliation: Task is unknown", false),
		update("u-1", mesos.TaskUnknown, mesos.ReasonReconciliation, "Reconciliation: Task is unknown", false),
	)
	m.expectCall(scheduler.CallRevive)
	fs.send(offers(offer("O2", "A1", nil, 1, 1024)))
	ids := launched(t, m.expectCall(scheduler.CallAccept), "O2", DefaultCPUs, DefaultMem)
	sort.Strings(ids)
	if strings.Join(ids, ",") != "u-0,u-1" {
		t.Fatalf("relaunch of %v, want u-0,u-1", ids)
	}
	// The answers to the first RECONCILE come late, after the relaunch:
	// they are about the lost launch, not the new one.
	fs.send(
		update("u-0", mesos.TaskLost, mesos.ReasonReconciliation, "Reconciliation: Task is unknown to the agent", false),
		update("u-1", mesos.TaskLost, mesos.ReasonReconciliation, "Reconciliation: Task is unknown to the agent", false),
	)
	m.sendAcked(fs,
		update("u-0", mesos.TaskFinished, "", "", true),
		update("u-1", mesos.TaskFinished, "", "", true),
	)
	m.expectCall(scheduler.CallTeardown)
	if rr := waitRun(t, done); rr.err != nil || !rr.res.Succeeded() {
		t.Fatalf("Run: %v, result %+v\n%s", rr.err, rr.res, out)
	}
}

func TestRun_InterruptTearsDownAndNamesWhatWasKnown(t *testing.T) {
	m := newFakeMaster(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done, out := start(ctx, t, Config{Masters: []string{m.addr()}, Name: "g", Command: "sleep 100", Instances: 2})
	fs := m.expectSubscribe()
	fs.send(subscribed(), offers(offer("O1", "A1", nil, 0.1, 1024))) // room for one
	launched(t, m.expectCall(scheduler.CallAccept), "O1", DefaultCPUs, DefaultMem)
	m.sendAcked(fs, update("g-0", mesos.TaskRunning, "", "", true))

	cancel()
	m.expectCall(scheduler.CallKill)
	// The server lost the task meanwhile.
	fs.send(update("g-0", mesos.TaskLost, mesos.ReasonReconciliation, "Attempted to kill an unknown task", false))
	m.expectCall(scheduler.CallTeardown)
	rr := waitRun(t, done)
	if !errors.Is(rr.err, ErrInterrupted) || !strings.Contains(rr.err.Error(), "g-0 TASK_LOST") ||
		!strings.Contains(rr.err.Error(), "g-1 never launched") {
		t.Fatalf("Run: %v, want ErrInterrupted naming g-0 and g-1", rr.err)
	}
	for _, want := range []string{
		"task g-0 TASK_LOST (REASON_RECONCILIATION): the server no longer knows this task (Attempted to kill an unknown task); last known: TASK_RUNNING on agent A1 (SOURCE_EXECUTOR)\n",
		"giving up: interrupted",
		"  g-1: never launched",
		"framework F1 torn down\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestRun_RefusalsExhaustedTearDownAndSayWhy(t *testing.T) {
	m := newFakeMaster(t)
	const why = "failed to validate scheduler::Call: task 'rf-0' uses more cpus than offered"
	m.status = answerCalls(scheduler.CallAccept, http.StatusBadRequest, why)
	done, out := start(context.Background(), t, Config{Masters: []string{m.addr()}, Name: "rf", Command: "true"})
	fs := m.expectSubscribe()
	fs.send(subscribed())
	for i := 0; i < maxLaunchAttempts-1; i++ {
		fs.send(offers(offer("O"+string(rune('a'+i)), "A1", nil, 1, 1024)))
		m.expectCall(scheduler.CallAccept)
		m.expectCall(scheduler.CallRevive)
	}
	// The last refusal: the next offer of the same event is declined.
	fs.send(offers(offer("Oy", "A1", nil, 1, 1024), offer("Oz", "A1", nil, 1, 1024)))
	launched(t, m.expectCall(scheduler.CallAccept), "Oy", DefaultCPUs, DefaultMem)
	if c := m.expectCall(scheduler.CallDecline); len(c.Decline.OfferIDs) != 1 || c.Decline.OfferIDs[0].Value != "Oz" {
		t.Errorf("DECLINE of %+v, want Oz", c.Decline.OfferIDs)
	}
	m.expectCall(scheduler.CallTeardown)
	rr := waitRun(t, done)
	if !errors.Is(rr.err, ErrRefused) || !strings.Contains(rr.err.Error(), why) {
		t.Fatalf("Run: %v, want ErrRefused with the server's reason", rr.err)
	}
	for _, want := range []string{"  rf-0: never launched: refused 5 times, last: ", "framework F1 torn down\n"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestRun_ServerThatRefusesEveryCallIsResubscribedToWithBackoff(t *testing.T) {
	m := newFakeMaster(t)
	clock := newFakeClock(t)
	var mu sync.Mutex
	refuse := true
	m.status = func(c *scheduler.Call) (int, string) {
		mu.Lock()
		defer mu.Unlock()
		if refuse {
			return http.StatusForbidden, "Framework is not subscribed"
		}
		return http.StatusAccepted, ""
	}
	cfg := Config{Masters: []string{m.addr()}, Name: "sb", Command: "true"}
	cfg.newTimer = clock.newTimer
	done, _ := start(context.Background(), t, cfg)
	fs := m.expectSubscribe()
	fs.send(subscribed(), offers(offer("O1", "A1", nil, 1, 1024)))
	m.expectCall(scheduler.CallAccept)
	fs = m.expectSubscribe() // the first resubscription is at once
	fs.send(subscribed())
	m.expectCall(scheduler.CallRevive)
	// The server takes every stream and refuses every call: the waits
	// before resubscribing grow, SUBSCRIBED or not.
	want := resubscribeBackoff
	for i := 0; i < 4; i++ {
		ft := clock.expectTimer()
		if ft.d != want {
			t.Fatalf("wait %d before resubscribing is %s, want %s", i, ft.d, want)
		}
		want *= 2
		if i == 3 {
			mu.Lock()
			refuse = false
			mu.Unlock()
		}
		ft.fire()
		fs = m.expectSubscribe()
		fs.send(subscribed())
		m.expectCall(scheduler.CallRevive)
	}
	fs.send(offers(offer("O2", "A1", nil, 1, 1024)))
	launched(t, m.expectCall(scheduler.CallAccept), "O2", DefaultCPUs, DefaultMem)
	m.sendAcked(fs, update("sb-0", mesos.TaskFinished, "", "", true))
	m.expectCall(scheduler.CallTeardown)
	if rr := waitRun(t, done); rr.err != nil {
		t.Fatalf("Run: %v", rr.err)
	}
}

func TestRun_TeardownRetriedOnNewStreamsThenReported(t *testing.T) {
	m := newFakeMaster(t)
	m.status = answerCalls(scheduler.CallTeardown, http.StatusServiceUnavailable, "no leader is elected; retry shortly")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done, out := start(ctx, t, Config{Masters: []string{m.addr()}, Name: "td", Command: "true", FailoverTimeout: time.Minute})
	fs := m.expectSubscribe()
	fs.send(subscribed(), offers(offer("O1", "A1", nil, 0.01, 1))) // too small
	m.expectCall(scheduler.CallDecline)
	cancel() // nothing launched: tear down at once
	for i := 0; i < maxTeardownTries; i++ {
		m.expectCall(scheduler.CallTeardown)
		if i < maxTeardownTries-1 {
			fs = m.expectSubscribe()
			fs.send(subscribed())
		}
	}
	rr := waitRun(t, done)
	if !errors.Is(rr.err, ErrInterrupted) {
		t.Fatalf("Run: %v, want ErrInterrupted", rr.err)
	}
	want := "framework F1 not torn down (TEARDOWN call to " + m.addr() + ": scheduler api: 503 Service Unavailable: no leader is elected; retry shortly): the cluster keeps it and its tasks for the failover timeout, 1m0s\n"
	if !strings.Contains(out.String(), want) {
		t.Errorf("output lacks %q:\n%s", want, out)
	}
}

// TestRun_SubscribeRepeatedAfterNoAnswerNamesTheSameFramework: a SUBSCRIBE
// whose answer never came (the server died, perhaps after committing it)
// is repeated with the same framework id, so that the run cannot register
// a second framework beside the first.
func TestRun_SubscribeRepeatedAfterNoAnswerNamesTheSameFramework(t *testing.T) {
	m := newFakeMaster(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done, _ := start(ctx, t, Config{Masters: []string{m.addr()}, Name: "again", Command: "true",
		CPUs: 0.1, Mem: 32, Instances: 1, FailoverTimeout: time.Minute})
	first := m.expectSubscribe()
	close(first.end) // the stream ends before SUBSCRIBED
	second := m.expectSubscribe()
	id1, id2 := first.call.Subscribe.FrameworkInfo.ID, second.call.Subscribe.FrameworkInfo.ID
	if id1 == nil || id2 == nil || id1.Value != id2.Value {
		t.Fatalf("SUBSCRIBE repeated with framework id %+v after %+v, want the same", id2, id1)
	}
	cancel()
	waitRun(t, done)
}

// TestRun_TeardownWhoseAnswerWasLostCountsAsDone: a TEARDOWN that failed
// on its way back may have been committed (the leader died before it
// answered); the stream the run opens to try again then says the
// framework has been removed, which is what the run asked for: it ends
// without error, its tasks' results as they were.
func TestRun_TeardownWhoseAnswerWasLostCountsAsDone(t *testing.T) {
	m := newFakeMaster(t)
	m.status = answerCalls(scheduler.CallTeardown, http.StatusServiceUnavailable, "no leader is elected; retry shortly")
	done, out := start(context.Background(), t, Config{Masters: []string{m.addr()}, Name: "gone", Command: "true", FailoverTimeout: time.Minute})
	fs := m.expectSubscribe()
	fs.send(subscribed(), offers(offer("O1", "A1", nil, 1, 1024)))
	launched(t, m.expectCall(scheduler.CallAccept), "O1", DefaultCPUs, DefaultMem)
	m.sendAcked(fs, update("gone-0", mesos.TaskFinished, "", "", true))
	m.expectCall(scheduler.CallTeardown)
	fs = m.expectSubscribe()
	fs.send(&scheduler.Event{Type: scheduler.EventError, Error: &scheduler.Error{Message: "Framework has been removed"}})
	rr := waitRun(t, done)
	if rr.err != nil {
		t.Fatalf("Run: %v, want success: the framework was removed as asked", rr.err)
	}
	if !rr.res.Succeeded() {
		t.Errorf("result = %+v, want every task finished", rr.res)
	}
	if strings.Contains(out.String(), "not torn down") {
		t.Errorf("output says the framework was not torn down:\n%s", out)
	}
}
