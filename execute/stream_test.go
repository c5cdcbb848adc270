package execute

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"mesh/mesos"
	"mesh/mesos/scheduler"
)

// withoutProgress drops the progress lines of a run's output.
func withoutProgress(s string) string {
	var keep []string
	for _, l := range strings.SplitAfter(s, "\n") {
		if !strings.HasPrefix(l, "progress: ") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "")
}

// lockedBuffer is an output that a test reads while Run writes it.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// growingAgent serves sandbox files that the test appends to, through
// /files/read as an agent does; while failing is set it answers 503.
type growingAgent struct {
	*fakeAgent
	mu      sync.Mutex
	files   map[string]string
	failing bool
	failed  chan struct{} // a read was answered 503
}

func newGrowingAgent(t *testing.T) *growingAgent {
	g := &growingAgent{fakeAgent: &fakeAgent{}, files: map[string]string{}, failed: make(chan struct{}, 1)}
	g.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		data, ok := g.files[r.URL.Query().Get("path")]
		failing := g.failing
		g.mu.Unlock()
		if failing {
			select {
			case g.failed <- struct{}{}:
			default:
			}
		}
		switch {
		case failing:
			http.Error(w, "agent restarting", http.StatusServiceUnavailable)
			return
		case r.URL.Path != "/files/read" || !ok:
			http.NotFound(w, r)
			return
		}
		off, _ := strconv.Atoi(r.URL.Query().Get("offset"))
		n, _ := strconv.Atoi(r.URL.Query().Get("length"))
		off = min(off, len(data))
		json.NewEncoder(w).Encode(map[string]any{"data": data[off:min(off+n, len(data))], "offset": off})
	}))
	t.Cleanup(g.srv.Close)
	return g
}

func (g *growingAgent) write(path, s string) {
	g.mu.Lock()
	g.files[path] += s
	g.mu.Unlock()
}

func (g *growingAgent) setFailing(on bool) {
	g.mu.Lock()
	g.failing = on
	g.mu.Unlock()
}

// waitFailedReads waits until n reads were refused.
func (g *growingAgent) waitFailedReads(t *testing.T, n int) {
	t.Helper()
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for i := 0; i < n; i++ {
		select {
		case <-g.failed:
		case <-deadline.C:
			t.Fatalf("%d of %d reads refused within %s", i, n, wait)
		}
	}
}

// startLocked is start with an output the test may read while Run runs.
func startLocked(t *testing.T, cfg Config) (<-chan runResult, *lockedBuffer) {
	out := &lockedBuffer{}
	cfg.Out, cfg.Logger, cfg.User = out, testLogger(t), "tester"
	done := make(chan runResult, 1)
	returned := make(chan struct{})
	go func() {
		defer close(returned)
		res, err := Run(context.Background(), cfg)
		done <- runResult{res, err}
	}()
	t.Cleanup(func() {
		select {
		case <-returned:
		case <-time.After(wait):
			t.Errorf("Run still running at the end of the test")
		}
	})
	return done, out
}

// waitOutput waits until out holds want.
func waitOutput(t *testing.T, out *lockedBuffer, want string) {
	t.Helper()
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !strings.Contains(out.String(), want) {
		select {
		case <-deadline.C:
			t.Fatalf("output lacks %q after %s:\n%s", want, wait, out.String())
		case <-tick.C:
		}
	}
}

// TestRun_StreamsOneTasksOutputWhileItRuns: what a single task writes is
// printed while it runs, whole lines at a time, stdout and stderr each to
// their own writer, and what it wrote last before its end comes before
// its final state.
func TestRun_StreamsOneTasksOutputWhileItRuns(t *testing.T) {
	m := newFakeMaster(t)
	agent := newGrowingAgent(t)
	write := agent.write
	const dir = "/frameworks/F1/executors/s-0/runs/latest/"
	write(dir+"stdout", "")
	write(dir+"stderr", "")
	errOut := &lockedBuffer{}
	done, out := startLocked(t, Config{Masters: []string{m.addr()}, Name: "s", Command: "x", ErrOut: errOut, followPoll: 5 * time.Millisecond})
	fs := m.expectSubscribe()
	fs.send(subscribed(), offers(offer("O1", "A1", agent.fakeAgent, 1, 1024)))
	launched(t, m.expectCall(scheduler.CallAccept), "O1", DefaultCPUs, DefaultMem)
	m.sendAcked(fs, update("s-0", mesos.TaskRunning, "", "", true))

	write(dir+"stdout", "first line\nhalf a ")
	write(dir+"stderr", "a warning\n")
	waitOutput(t, out, "first line\n")
	waitOutput(t, errOut, "a warning\n")
	if strings.Contains(out.String(), "half a") {
		t.Errorf("a line was printed before its end:\n%s", out)
	}
	write(dir+"stdout", "line\nlast words")
	m.sendAcked(fs, update("s-0", mesos.TaskFinished, "", "", true))
	m.expectCall(scheduler.CallTeardown)
	if rr := waitRun(t, done); rr.err != nil {
		t.Fatalf("Run: %v", rr.err)
	}
	want := "task s-0 TASK_RUNNING\nfirst line\nhalf a line\nlast words\ntask s-0 TASK_FINISHED\n"
	if out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out, want)
	}
}

// TestRun_StreamGoesOnWhereItStoppedAfterFailedReads: reads that fail
// for a while (the agent restarting) do not end the stream: it goes on
// from where it was, nothing printed twice or lost.
func TestRun_StreamGoesOnWhereItStoppedAfterFailedReads(t *testing.T) {
	m := newFakeMaster(t)
	agent := newGrowingAgent(t)
	const stdout = "/frameworks/F1/executors/r-0/runs/latest/stdout"
	agent.write(stdout, "one\n")
	done, out := startLocked(t, Config{Masters: []string{m.addr()}, Name: "r", Command: "x", followPoll: 5 * time.Millisecond})
	fs := m.expectSubscribe()
	fs.send(subscribed(), offers(offer("O1", "A1", agent.fakeAgent, 1, 1024)))
	launched(t, m.expectCall(scheduler.CallAccept), "O1", DefaultCPUs, DefaultMem)
	m.sendAcked(fs, update("r-0", mesos.TaskRunning, "", "", true))
	waitOutput(t, out, "one\n")

	agent.setFailing(true)
	agent.write(stdout, "two\n")
	agent.waitFailedReads(t, 3)
	agent.setFailing(false)
	waitOutput(t, out, "two\n")
	agent.write(stdout, "three\n")
	m.sendAcked(fs, update("r-0", mesos.TaskFinished, "", "", true))
	m.expectCall(scheduler.CallTeardown)
	waitRun(t, done)
	if want := "task r-0 TASK_RUNNING\none\ntwo\nthree\ntask r-0 TASK_FINISHED\n"; out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out, want)
	}
}

// TestRun_ManyInstancesShowProgressAndTheOutputOfFailedOnesAtTheEnd: with
// several instances only the failed task's output is printed, after every
// state, and a last progress line gives the counts.
func TestRun_ManyInstancesShowProgressAndTheOutputOfFailedOnesAtTheEnd(t *testing.T) {
	m := newFakeMaster(t)
	agent := newFakeAgent(t, map[string]string{
		"/frameworks/F1/executors/p-0/runs/latest/stdout": "fine\n",
		"/frameworks/F1/executors/p-1/runs/latest/stdout": "about to fail\n",
		"/frameworks/F1/executors/p-1/runs/latest/stderr": "the error\n",
	})
	done, out := startLocked(t, Config{Masters: []string{m.addr()}, Name: "p", Command: "x", Instances: 2})
	fs := m.expectSubscribe()
	fs.send(subscribed(), offers(offer("O1", "A1", agent, 1, 1024)))
	launched(t, m.expectCall(scheduler.CallAccept), "O1", DefaultCPUs, DefaultMem)
	m.sendAcked(fs,
		update("p-0", mesos.TaskRunning, "", "", true),
		update("p-1", mesos.TaskRunning, "", "", true),
		update("p-0", mesos.TaskFinished, "", "", true),
		update("p-1", mesos.TaskFailed, mesos.ReasonCommandExecutorFailed, "Command exited with status 1", true),
	)
	m.expectCall(scheduler.CallTeardown)
	waitRun(t, done)
	got := out.String()
	want := "task p-0 TASK_RUNNING\ntask p-1 TASK_RUNNING\ntask p-0 TASK_FINISHED\n" +
		"task p-1 TASK_FAILED (REASON_COMMAND_EXECUTOR_FAILED): Command exited with status 1\n" +
		"--- p-1 stdout ---\nabout to fail\n--- p-1 stderr ---\nthe error\n"
	if withoutProgress(got) != want {
		t.Errorf("output without progress:\n%s\nwant:\n%s", withoutProgress(got), want)
	}
	last := "progress: 1/2 finished, 1 failed, 0 running, 0 staged, 0 waiting\n--- p-1 stdout ---"
	if !strings.Contains(got, last) || strings.Contains(got, "fine") {
		t.Errorf("output lacks the final counts before the failed output, or shows a finished task's:\n%s", got)
	}
}

// consoleClock is a console clock the test moves.
type consoleClock struct{ now time.Time }

func (c *consoleClock) Now() time.Time { return c.now }

// TestConsole_ProgressOffATerminalIsOneLinePerChangeAtMostOncePerInterval:
// counts that change within the interval are printed once, when it ends;
// unchanged counts are not printed again; the last counts are printed at
// close.
func TestConsole_ProgressOffATerminalIsOneLinePerChangeAtMostOncePerInterval(t *testing.T) {
	out := &lockedBuffer{}
	clock := &consoleClock{now: time.Unix(1000, 0)}
	c := newConsole(out, false)
	c.now = clock.Now
	c.setProgress("a")
	c.setProgress("a")
	clock.now = clock.now.Add(progressInterval / 2)
	c.setProgress("b") // too soon: due at the end of the interval
	c.setProgress("c") // replaces b before it is printed
	c.Write([]byte("task x TASK_RUNNING\n"))
	waitOutput(t, out, "c\n")
	clock.now = clock.now.Add(2 * progressInterval)
	c.setProgress("d")
	c.setProgress("e") // within the interval after d
	c.close()
	if want := "a\ntask x TASK_RUNNING\nc\nd\ne\n"; out.String() != want {
		t.Errorf("output %q, want %q", out.String(), want)
	}
}

// TestConsole_ProgressOnATerminalIsRedrawnInPlaceUnderOtherLines.
func TestConsole_ProgressOnATerminalIsRedrawnInPlaceUnderOtherLines(t *testing.T) {
	out := &lockedBuffer{}
	c := newConsole(out, true)
	c.setProgress("1 running")
	c.Write([]byte("task x TASK_FINISHED\n"))
	c.setProgress("1 finished")
	c.close()
	want := "1 running\r\033[Ktask x TASK_FINISHED\n1 running\r\033[K1 finished\n"
	if out.String() != want {
		t.Errorf("output %q, want %q", out.String(), want)
	}
}
