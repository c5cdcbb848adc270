package checks

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"mesh/mesos"
)

// scripted is a probe that returns the results a test feeds it, one per
// check, and records that a check ran.
type scripted struct {
	results chan probeResult
	ran     chan struct{}
}

type probeResult struct {
	st  mesos.CheckStatusInfo
	err error
}

func newScripted() *scripted {
	return &scripted{results: make(chan probeResult, 16), ran: make(chan struct{}, 16)}
}

func (s *scripted) probe(ctx context.Context, _ *mesos.CheckInfo, _ target) (mesos.CheckStatusInfo, error) {
	s.ran <- struct{}{}
	select {
	case r := <-s.results:
		return r.st, r.err
	case <-ctx.Done():
		return mesos.CheckStatusInfo{}, ctx.Err()
	}
}

func exitCode(c int32) mesos.CheckStatusInfo {
	return mesos.CheckStatusInfo{Type: mesos.CheckTypeCommand, Command: &mesos.CommandCheckStatus{ExitCode: &c}}
}

func secs(f float64) *float64 { return &f }

func testConfig(t *testing.T, clk Clock, p *scripted) Config {
	return Config{TaskID: mesos.TaskID{Value: "t1"}, Clock: clk, probe: p.probe,
		Logger: hclog.New(&hclog.LoggerOptions{Output: hclog.DefaultOutput, Level: hclog.Warn, Name: t.Name()})}
}

func recv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("no %s within 10s", what)
	}
	var zero T
	return zero
}

func none[T any](t *testing.T, ch <-chan T, what string) {
	t.Helper()
	select {
	case v := <-ch:
		t.Fatalf("unexpected %s: %+v", what, v)
	default:
	}
}

func commandCheck() mesos.CheckInfo {
	return mesos.CheckInfo{Type: mesos.CheckTypeCommand, Command: &mesos.CheckCommand{Command: mesos.CommandInfo{Value: "true"}},
		DelaySeconds: secs(5), IntervalSeconds: secs(2), TimeoutSeconds: secs(1)}
}

// TestChecker_ReportsChangesOnly: the first check runs after the delay,
// the next ones an interval after the previous ended; only a result that
// differs from the last reported one (initially: none) is reported, and a
// check that fails to give a result reports an empty one.
func TestChecker_ReportsChangesOnly(t *testing.T) {
	clk, p := newFakeClock(), newScripted()
	updates := make(chan mesos.CheckStatusInfo, 16)
	c, err := NewChecker(testConfig(t, clk, p), commandCheck(), func(s mesos.CheckStatusInfo) { updates <- s })
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	if d := clk.step(t); d != 5*time.Second {
		t.Fatalf("first check after %s, want the delay 5s", d)
	}
	feed := func(r probeResult) {
		recv(t, p.ran, "check")
		p.results <- r
	}
	feed(probeResult{st: exitCode(0)})
	if got := recv(t, updates, "update"); !got.Equal(exitCode(0)) {
		t.Fatalf("update %+v", got)
	}
	if d := clk.step(t); d != 2*time.Second {
		t.Fatalf("next check after %s, want the interval 2s", d)
	}
	feed(probeResult{st: exitCode(0)})
	clk.awaitWaiter(t) // the result has been handled
	none(t, updates, "update for an unchanged result")
	clk.step(t)
	feed(probeResult{st: exitCode(1)})
	if got := recv(t, updates, "update"); !got.Equal(exitCode(1)) {
		t.Fatalf("update %+v", got)
	}
	clk.step(t)
	feed(probeResult{err: errors.New("timed out")})
	if got := recv(t, updates, "update"); !got.Equal(mesos.EmptyCheckStatus(mesos.CheckTypeCommand)) {
		t.Fatalf("a check without a result reports %+v, want an empty one", got)
	}
}

// TestChecker_FirstFailureIsNoChange: a check that never gives a result
// reports nothing, as its status was "no result" to begin with.
func TestChecker_FirstFailureIsNoChange(t *testing.T) {
	clk, p := newFakeClock(), newScripted()
	updates := make(chan mesos.CheckStatusInfo, 16)
	c, err := NewChecker(testConfig(t, clk, p), commandCheck(), func(s mesos.CheckStatusInfo) { updates <- s })
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	for i := 0; i < 3; i++ {
		clk.step(t)
		recv(t, p.ran, "check")
		p.results <- probeResult{err: errors.New("refused")}
	}
	clk.awaitWaiter(t)
	none(t, updates, "update")
}

// TestChecker_PauseDropsResultsAndResumeChecksAtOnce: a result that
// arrives while paused is not reported; a paused checker runs no check;
// Resume runs one at once.
func TestChecker_PauseDropsResultsAndResumeChecksAtOnce(t *testing.T) {
	clk, p := newFakeClock(), newScripted()
	updates := make(chan mesos.CheckStatusInfo, 16)
	c, err := NewChecker(testConfig(t, clk, p), commandCheck(), func(s mesos.CheckStatusInfo) { updates <- s })
	if err != nil {
		t.Fatal(err)
	}
	clk.step(t)
	recv(t, p.ran, "check")
	c.Pause()
	p.results <- probeResult{st: exitCode(0)}
	c.Stop() // waits for the loop: the result has been handled
	none(t, updates, "update of a result that arrived while paused")

	clk, p = newFakeClock(), newScripted()
	c, err = NewChecker(testConfig(t, clk, p), commandCheck(), func(s mesos.CheckStatusInfo) { updates <- s })
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	c.Pause()
	clk.step(t) // the delay ends while paused: no check runs
	none(t, p.ran, "check while paused")
	c.Resume()
	recv(t, p.ran, "check after resume")
	p.results <- probeResult{st: exitCode(3)}
	if got := recv(t, updates, "update"); !got.Equal(exitCode(3)) {
		t.Fatalf("update %+v", got)
	}
	none(t, p.ran, "a second check")
}

// TestChecker_StopEndsACheckInFlight: Stop returns while a check runs
// (the check is cancelled) and nothing is reported after it.
func TestChecker_StopEndsACheckInFlight(t *testing.T) {
	clk, p := newFakeClock(), newScripted()
	updates := make(chan mesos.CheckStatusInfo, 16)
	c, err := NewChecker(testConfig(t, clk, p), commandCheck(), func(s mesos.CheckStatusInfo) { updates <- s })
	if err != nil {
		t.Fatal(err)
	}
	clk.step(t)
	recv(t, p.ran, "check")
	stopped := make(chan struct{})
	go func() { c.Stop(); close(stopped) }()
	recv(t, stopped, "stop")
	none(t, updates, "update after stop")
}

func TestNewChecker_RefusesACheckWithoutItsTarget(t *testing.T) {
	for _, c := range []mesos.CheckInfo{{Type: mesos.CheckTypeHTTP}, {Type: mesos.CheckTypeTCP}, {Type: mesos.CheckTypeCommand}, {Type: "UNKNOWN"}, {}} {
		if _, err := NewChecker(Config{}, c, func(mesos.CheckStatusInfo) {}); err == nil {
			t.Errorf("a %q check without a target was accepted", c.Type)
		}
	}
}
