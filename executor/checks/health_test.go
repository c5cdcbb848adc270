package checks

import (
	"errors"
	"testing"
	"time"

	"mesh/mesos"
)

func tcpResult(ok bool) mesos.CheckStatusInfo {
	return mesos.CheckStatusInfo{Type: mesos.CheckTypeTCP, TCP: &mesos.TCPCheckStatus{Succeeded: &ok}}
}

func httpResult(code uint32) mesos.CheckStatusInfo {
	return mesos.CheckStatusInfo{Type: mesos.CheckTypeHTTP, HTTP: &mesos.HTTPCheckStatus{StatusCode: &code}}
}

type healthRig struct {
	t       *testing.T
	clk     *fakeClock
	p       *scripted
	updates chan HealthStatus
	hc      *HealthChecker
}

func newHealthRig(t *testing.T, hc mesos.HealthCheck) *healthRig {
	r := &healthRig{t: t, clk: newFakeClock(), p: newScripted(), updates: make(chan HealthStatus, 16)}
	h, err := NewHealthChecker(testConfig(t, r.clk, r.p), hc, func(s HealthStatus) { r.updates <- s })
	if err != nil {
		t.Fatal(err)
	}
	r.hc = h
	t.Cleanup(h.Stop)
	return r
}

// check lets the next check run and gives it result r; it returns once
// the result is handled (the checker waits for the next one).
func (r *healthRig) check(res probeResult) {
	r.t.Helper()
	r.clk.step(r.t)
	recv(r.t, r.p.ran, "check")
	r.p.results <- res
	r.clk.awaitWaiter(r.t)
}

func tcpHealth(failures uint32, grace float64) mesos.HealthCheck {
	return mesos.HealthCheck{Type: mesos.CheckTypeTCP, TCP: &mesos.TCPCheckInfo{Port: 1}, ConsecutiveFailures: &failures,
		DelaySeconds: secs(1), IntervalSeconds: secs(1), TimeoutSeconds: secs(1), GracePeriodSeconds: &grace}
}

// TestHealthChecker_ReportsEveryFailureAndTheFirstSuccess follows Mesos:
// the first success is reported, further successes are not, every failure
// is, with its count; the one that reaches consecutive_failures asks for
// the kill; a success after failures is reported and resets the count.
func TestHealthChecker_ReportsEveryFailureAndTheFirstSuccess(t *testing.T) {
	r := newHealthRig(t, tcpHealth(3, 0))
	r.check(probeResult{st: tcpResult(true)})
	if s := recv(t, r.updates, "health"); !s.Healthy || s.TaskID.Value != "t1" {
		t.Fatalf("first success: %+v", s)
	}
	r.check(probeResult{st: tcpResult(true)})
	none(t, r.updates, "report of a second success")
	r.check(probeResult{st: tcpResult(false)})
	if s := recv(t, r.updates, "health"); s.Healthy || s.ConsecutiveFailures != 1 || s.KillTask {
		t.Fatalf("first failure: %+v", s)
	}
	r.check(probeResult{st: tcpResult(true)})
	if s := recv(t, r.updates, "health"); !s.Healthy {
		t.Fatalf("success after a failure: %+v", s)
	}
	for i := uint32(1); i <= 3; i++ {
		r.check(probeResult{err: errors.New("timed out")})
		s := recv(t, r.updates, "health")
		if s.Healthy || s.ConsecutiveFailures != i || s.KillTask != (i == 3) {
			t.Fatalf("failure %d: %+v", i, s)
		}
	}
}

// TestHealthChecker_GracePeriodIgnoresFailuresUntilTheFirstSuccess: in the
// grace period (from the checker's start) failures are not reported or
// counted; after it they are; and after a first success the grace period
// no longer applies.
func TestHealthChecker_GracePeriodIgnoresFailuresUntilTheFirstSuccess(t *testing.T) {
	// Checks at 1s, 2s, 3s...; grace 2.5s.
	r := newHealthRig(t, tcpHealth(2, 2.5))
	r.check(probeResult{st: tcpResult(false)}) // 1s
	r.check(probeResult{st: tcpResult(false)}) // 2s
	none(t, r.updates, "report in the grace period")
	r.check(probeResult{st: tcpResult(false)}) // 3s
	if s := recv(t, r.updates, "health"); s.Healthy || s.ConsecutiveFailures != 1 || s.KillTask {
		t.Fatalf("first failure after the grace period: %+v", s)
	}

	g := newHealthRig(t, tcpHealth(1, 100))
	g.check(probeResult{st: tcpResult(true)}) // 1s
	if s := recv(t, g.updates, "health"); !s.Healthy {
		t.Fatalf("first success: %+v", s)
	}
	g.check(probeResult{st: tcpResult(false)}) // 2s: still "in" the grace period, which no longer applies
	if s := recv(t, g.updates, "health"); s.Healthy || !s.KillTask {
		t.Fatalf("a failure after the first success must count: %+v", s)
	}
}

// TestHealthChecker_InterpretsResultsAsMesos: HTTP 200-399 is healthy,
// others not; a command is healthy on exit code 0.
func TestHealthChecker_InterpretsResultsAsMesos(t *testing.T) {
	cases := []struct {
		st      mesos.CheckStatusInfo
		healthy bool
	}{
		{httpResult(200), true}, {httpResult(302), true}, {httpResult(399), true},
		{httpResult(199), false}, {httpResult(400), false}, {httpResult(503), false},
		{exitCode(0), true}, {exitCode(1), false},
		{tcpResult(true), true}, {tcpResult(false), false},
		{mesos.EmptyCheckStatus(mesos.CheckTypeHTTP), false},
	}
	for _, c := range cases {
		if got := interpret(c.st) == nil; got != c.healthy {
			t.Errorf("%s: healthy %v, want %v", describe(c.st), got, c.healthy)
		}
	}
}

func TestHealthChecker_DelayThenInterval(t *testing.T) {
	hc := tcpHealth(3, 0)
	hc.DelaySeconds, hc.IntervalSeconds = secs(7), secs(3)
	r := newHealthRig(t, hc)
	if d := r.clk.step(t); d != 7*time.Second {
		t.Fatalf("first check after %s, want 7s", d)
	}
	recv(t, r.p.ran, "check")
	r.p.results <- probeResult{st: tcpResult(true)}
	if d := r.clk.step(t); d != 3*time.Second {
		t.Fatalf("second check after %s, want 3s", d)
	}
}

func TestNewHealthChecker_RefusesAnUnknownScheme(t *testing.T) {
	hc := mesos.HealthCheck{Type: mesos.CheckTypeHTTP, HTTP: &mesos.HTTPCheckInfo{Port: 1, Scheme: "ftp"}}
	if _, err := NewHealthChecker(Config{}, hc, func(HealthStatus) {}); err == nil {
		t.Fatal("an ftp health check was accepted")
	}
}
