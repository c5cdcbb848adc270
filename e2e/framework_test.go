package e2e

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"mesh/mesos"
	"mesh/mesos/scheduler"
	"mesh/mesos/scheduler/client"
)

// testFramework is a minimal scheduler built on mesh/mesos/scheduler/client:
// it subscribes, keeps (never answers) the offers it gets, and whenever its
// stream drops it re-subscribes with its framework id at once.
type testFramework struct {
	c      *client.Client
	cancel context.CancelFunc
	done   chan struct{}

	mu         sync.Mutex
	lastOffer  time.Time // when the latest OFFERS event arrived
	lastSub    time.Time // when the latest SUBSCRIBED event arrived
	subscribes int       // SUBSCRIBED events seen
	changed    chan struct{}
}

// newTestFramework subscribes a framework named name to masters (a
// comma-separated list); it is stopped when the test ends.
func newTestFramework(t testing.TB, masters, name string) *testFramework {
	return newTestFrameworkWith(t, client.Config{Masters: strings.Split(masters, ",")}, name)
}

// newTestFrameworkWith is newTestFramework with a client configuration.
func newTestFrameworkWith(t testing.TB, cfg client.Config, name string) *testFramework {
	ctx, cancel := context.WithCancel(context.Background())
	f := &testFramework{
		c:       client.New(cfg),
		cancel:  cancel,
		done:    make(chan struct{}),
		changed: make(chan struct{}),
	}
	failover := 600.0
	info := mesos.FrameworkInfo{User: "root", Name: name, FailoverTimeout: &failover, Roles: []string{"*"},
		Capabilities: []mesos.FrameworkCapability{{Type: mesos.CapabilityMultiRole}}}
	go f.loop(ctx, info)
	t.Cleanup(func() {
		cancel()
		<-f.done
	})
	return f
}

func (f *testFramework) loop(ctx context.Context, info mesos.FrameworkInfo) {
	defer close(f.done)
	resubscribeLoop(ctx, f.c, info, func(ev *scheduler.Event) {
		switch ev.Type {
		case scheduler.EventOffers:
			f.note(func() { f.lastOffer = time.Now() })
		case scheduler.EventSubscribed:
			f.note(func() { f.subscribes++; f.lastSub = time.Now() })
		}
	})
}

// resubscribeLoop subscribes as info with c, hands every event to handle,
// and subscribes again (with the framework id it was given) whenever the
// stream ends, until ctx ends.
func resubscribeLoop(ctx context.Context, c *client.Client, info mesos.FrameworkInfo, handle func(*scheduler.Event)) {
	for ctx.Err() == nil {
		if id := c.FrameworkID(); id != "" {
			info.ID = &mesos.FrameworkID{Value: id}
		}
		sub, err := c.Subscribe(ctx, client.SubscribeCall(&info))
		if err != nil {
			// Refused (not retryable by the client): try again shortly.
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
			continue
		}
		for {
			ev, err := sub.Next()
			if err != nil {
				break
			}
			handle(ev)
		}
		sub.Close()
	}
}

// note records an event and wakes waiters.
func (f *testFramework) note(update func()) {
	f.mu.Lock()
	update()
	close(f.changed)
	f.changed = make(chan struct{})
	f.mu.Unlock()
}

// waitOffer waits until an OFFERS event arrives after since and returns
// when it arrived.
func (f *testFramework) waitOffer(t testing.TB, since time.Time, timeout time.Duration) time.Time {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		f.mu.Lock()
		at, ch := f.lastOffer, f.changed
		f.mu.Unlock()
		if at.After(since) {
			return at
		}
		select {
		case <-ch:
		case <-deadline.C:
			t.Fatalf("no OFFERS event after %s within %s", since.Format(time.StampMilli), timeout)
		}
	}
}

// lastSubscribed returns when the latest SUBSCRIBED event arrived.
func (f *testFramework) lastSubscribed() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lastSub
}
