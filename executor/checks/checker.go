// Package checks runs a task's checks and health checks for its executor,
// as Mesos' built-in executors do: a Checker runs a CheckInfo and reports
// each change of its result (TaskStatus.check_status); a HealthChecker
// runs a HealthCheck, interprets each result as healthy or not, and says
// when the task is to be killed. Any executor can use them: it creates one
// per task when the task starts, turns each report into a status update,
// and stops them when the task is being killed or has ended.
//
// COMMAND checks run a process (through a hook the executor gives, so
// that the check sees what the task sees: its root filesystem, its
// sandbox, its user); HTTP and TCP checks connect to 127.0.0.1 (::1 for
// IPv6) from the executor, which shares the task's network.
package checks

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"mesh/mesos"
)

// Clock is the time source of the checking loop; tests give a fake one.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Config is what a Checker or HealthChecker needs beside the check
// itself and the callback.
type Config struct {
	// TaskID is the task checked; it names the task in reports and logs.
	TaskID mesos.TaskID
	// Command builds the process of a COMMAND check (nil: DefaultCommand).
	// The checker adds a process group, stdin, output and the timeout.
	Command CommandFunc
	// Clock is the time source (nil: the real clock).
	Clock  Clock
	Logger hclog.Logger

	// probe replaces the real probes in this package's tests.
	probe probeFunc
}

// probeFunc runs one check. An error is a check that could not give a
// result (it timed out, its process could not be started...).
type probeFunc func(ctx context.Context, c *mesos.CheckInfo, t target) (mesos.CheckStatusInfo, error)

// target is how HTTP and TCP checks reach the task.
type target struct {
	scheme string // HTTP only: "http" or "https"
	ipv6   bool
}

// validType refuses a check the loop cannot run. The master validates
// checks fully; this keeps a check that got past it (from an agent of
// another make, say) from running as something else.
func validType(c *mesos.CheckInfo) error {
	switch {
	case c.Type == mesos.CheckTypeCommand && c.Command != nil,
		c.Type == mesos.CheckTypeHTTP && c.HTTP != nil,
		c.Type == mesos.CheckTypeTCP && c.TCP != nil:
		return nil
	}
	return fmt.Errorf("cannot run a check of type %q with no %s target", c.Type, c.Type)
}

// loop runs a check every interval, after an initial delay, until it is
// stopped, handing each result to report. It is Mesos' CheckerProcess:
// the next check is scheduled once the previous one has ended, a paused
// loop runs no checks and drops the result of one in flight, and resuming
// runs a check at once.
type loop struct {
	check  mesos.CheckInfo
	target target
	name   string // e.g. "HTTP health check", for logs
	cfg    Config
	probe  probeFunc
	report func(mesos.CheckStatusInfo, error)
	log    hclog.Logger

	mu     sync.Mutex
	paused bool
	resume chan struct{} // closed by Resume while paused

	cancel context.CancelFunc
	done   chan struct{}
}

func newLoop(cfg Config, check mesos.CheckInfo, tgt target, name string, report func(mesos.CheckStatusInfo, error)) (*loop, error) {
	if err := validType(&check); err != nil {
		return nil, err
	}
	if cfg.Clock == nil {
		cfg.Clock = realClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	if cfg.Command == nil {
		cfg.Command = DefaultCommand
	}
	l := &loop{check: check, target: tgt, name: name, cfg: cfg, probe: cfg.probe, report: report,
		log: cfg.Logger.Named("checks").With("task_id", cfg.TaskID.Value, "check", name), done: make(chan struct{})}
	if l.probe == nil {
		l.probe = realProbe(cfg.Command, cfg.Logger)
	}
	return l, nil
}

// start runs the loop in its own goroutine.
func (l *loop) start() {
	ctx, cancel := context.WithCancel(context.Background())
	l.cancel = cancel
	go func() {
		defer close(l.done)
		l.run(ctx)
	}()
}

func (l *loop) run(ctx context.Context) {
	if !l.wait(ctx, l.check.Delay()) {
		return
	}
	for {
		if !l.waitResumed(ctx) {
			return
		}
		st, err := l.once(ctx)
		if ctx.Err() != nil {
			return
		}
		if l.isPaused() {
			l.log.Debug("dropping the result of a check run while paused")
			continue
		}
		if err != nil {
			l.log.Warn("check failed", "error", err)
		} else {
			l.log.Debug("check performed", "result", describe(st))
		}
		l.report(st, err)
		if !l.wait(ctx, l.check.Interval()) {
			return
		}
	}
}

// once runs one check within the check's timeout (none when zero).
func (l *loop) once(ctx context.Context) (mesos.CheckStatusInfo, error) {
	timeout := l.check.Timeout()
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	st, err := l.probe(ctx, &l.check, l.target)
	if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return st, fmt.Errorf("%s timed out after %s", l.check.Type, timeout)
	}
	return st, err
}

// wait waits d on the loop's clock; false when the loop is stopped.
func (l *loop) wait(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	select {
	case <-l.cfg.Clock.After(d):
		return true
	case <-ctx.Done():
		return false
	}
}

// waitResumed waits while the loop is paused; false when it is stopped.
func (l *loop) waitResumed(ctx context.Context) bool {
	l.mu.Lock()
	paused, resume := l.paused, l.resume
	l.mu.Unlock()
	if !paused {
		return true
	}
	select {
	case <-resume:
		return true
	case <-ctx.Done():
		return false
	}
}

func (l *loop) isPaused() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.paused
}

func (l *loop) pause() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.paused {
		l.paused = true
		l.resume = make(chan struct{})
	}
}

func (l *loop) resumeChecks() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.paused {
		l.paused = false
		close(l.resume)
	}
}

// stop ends the loop, killing a check in flight, and waits for it: no
// report comes after stop returns. It must not be called from report.
func (l *loop) stop() {
	l.cancel()
	<-l.done
}

// Checker runs a task's CheckInfo and reports every change of its
// result, as Mesos' built-in executors do: the first report is the
// first result that differs from "no result yet"; a check that fails to
// give a result (it timed out) counts as no result.
type Checker struct {
	l        *loop
	onUpdate func(mesos.CheckStatusInfo)
	previous mesos.CheckStatusInfo // touched by the loop's goroutine only
}

// NewChecker starts checking the task with check; onUpdate gets each new
// result. onUpdate is called from the checker's goroutine, one call at a
// time; it must not block for long and must not call Stop.
func NewChecker(cfg Config, check mesos.CheckInfo, onUpdate func(mesos.CheckStatusInfo)) (*Checker, error) {
	c := &Checker{onUpdate: onUpdate, previous: mesos.EmptyCheckStatus(check.Type)}
	l, err := newLoop(cfg, check, target{scheme: "http"}, check.Type+" check", c.result)
	if err != nil {
		return nil, err
	}
	c.l = l
	l.start()
	return c, nil
}

func (c *Checker) result(st mesos.CheckStatusInfo, err error) {
	if err != nil {
		st = mesos.EmptyCheckStatus(c.l.check.Type)
	}
	if st.Equal(c.previous) {
		return
	}
	c.previous = st
	c.onUpdate(st)
}

// Pause stops running checks until Resume; a result that arrives while
// paused is dropped.
func (c *Checker) Pause() { c.l.pause() }

// Resume runs a check at once and goes on checking.
func (c *Checker) Resume() { c.l.resumeChecks() }

// Stop ends checking; no update comes after it returns.
func (c *Checker) Stop() { c.l.stop() }

// describe renders a result for logs.
func describe(st mesos.CheckStatusInfo) string {
	switch {
	case st.Command != nil && st.Command.ExitCode != nil:
		return fmt.Sprintf("exit code %d", *st.Command.ExitCode)
	case st.HTTP != nil && st.HTTP.StatusCode != nil:
		return fmt.Sprintf("HTTP status %d", *st.HTTP.StatusCode)
	case st.TCP != nil && st.TCP.Succeeded != nil:
		return fmt.Sprintf("TCP connected: %v", *st.TCP.Succeeded)
	}
	return "no result"
}
