package checks

import (
	"sync"
	"testing"
	"time"
)

// fakeClock is a Clock whose time moves only when the test says so.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []fakeWaiter
	changed chan struct{} // signalled when a waiter is added
}

type fakeWaiter struct {
	at time.Time
	ch chan time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Unix(1_700_000_000, 0), changed: make(chan struct{}, 1)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	c.waiters = append(c.waiters, fakeWaiter{at: c.now.Add(d), ch: ch})
	select {
	case c.changed <- struct{}{}:
	default:
	}
	return ch
}

// pending is the number of waiters and the earliest one's time.
func (c *fakeClock) pending() (int, time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var first time.Time
	for i, w := range c.waiters {
		if i == 0 || w.at.Before(first) {
			first = w.at
		}
	}
	return len(c.waiters), first
}

// awaitWaiter waits (bounded) until the checker waits on the clock and
// returns how far in the future it waits.
func (c *fakeClock) awaitWaiter(t *testing.T) time.Duration {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		if n, at := c.pending(); n > 0 {
			return at.Sub(c.Now())
		}
		select {
		case <-c.changed:
		case <-deadline:
			t.Fatal("the checker never waited on the clock")
		}
	}
}

// advance moves the time by d and fires the waiters that are due.
func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if !w.at.After(c.now) {
			w.ch <- c.now
		} else {
			kept = append(kept, w)
		}
	}
	c.waiters = kept
}

// step waits for the checker's next wait and lets it end.
func (c *fakeClock) step(t *testing.T) time.Duration {
	t.Helper()
	d := c.awaitWaiter(t)
	c.advance(d)
	return d
}
