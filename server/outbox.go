package server

import (
	"context"
	"net/http"
	"sync"
	"time"
)

// maxOutbox bounds the events waiting on one stream. A client that falls
// this far behind is disconnected rather than allowed to grow the
// leader's memory without bound.
const maxOutbox = 4096

// outbox holds the events waiting to be written to one stream (a
// framework's or an agent's). Its memory follows its backlog: an idle
// stream holds nothing, where a preallocated channel of maxOutbox slots
// per connection held ~140 MB at 5,000 agents. One writer goroutine
// (serveStream) drains it; any goroutine may push.
type outbox[T any] struct {
	mu    sync.Mutex
	items []T
	// ready has one slot: a push signals it, so the writer wakes at least
	// once after every push (a stale signal only finds nothing to take).
	ready chan struct{}
	done  chan struct{}
	once  sync.Once
	final *T // written just before the stream closes (under mu)
	// abort, while the writer runs, unblocks a write in progress: a stream
	// closed because its client stopped reading must not wait for that
	// client's write to time out (under mu).
	abort func()
	// wake, when set, is called after every push and at the close: a
	// detached stream has no goroutine waiting on ready (under mu).
	wake func()
}

func newOutbox[T any]() *outbox[T] {
	return &outbox[T]{ready: make(chan struct{}, 1), done: make(chan struct{})}
}

// push queues v; false when the stream is closed or, being full, has just
// been closed with overflow as its last event (nil: none).
func (o *outbox[T]) push(v T, overflow *T) bool {
	o.mu.Lock()
	select {
	case <-o.done:
		o.mu.Unlock()
		return false
	default:
	}
	if len(o.items) >= maxOutbox {
		o.mu.Unlock()
		o.shut(overflow, true)
		return false
	}
	o.items = append(o.items, v)
	wake := o.wake
	o.mu.Unlock()
	select {
	case o.ready <- struct{}{}:
	default:
	}
	if wake != nil {
		wake()
	}
	return true
}

// pending reports whether events wait or the outbox has closed.
func (o *outbox[T]) pending() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	select {
	case <-o.done:
		return true
	default:
	}
	return len(o.items) > 0
}

// take returns everything queued and leaves the outbox empty, releasing
// the backing array so that a burst's memory goes with it.
func (o *outbox[T]) take() []T {
	o.mu.Lock()
	defer o.mu.Unlock()
	items := o.items
	o.items = nil
	return items
}

// close ends the stream; final, when given, is its last event.
func (o *outbox[T]) close(final *T) { o.shut(final, final == nil) }

// ended reports whether the stream has been closed.
func (o *outbox[T]) ended() bool {
	select {
	case <-o.done:
		return true
	default:
		return false
	}
}

// shut ends the stream with final as its last event (nil: none); with
// abort, a write in progress is cut short: the client is not taking what
// it is sent, so final is written only if the connection still takes it.
func (o *outbox[T]) shut(final *T, abort bool) {
	o.once.Do(func() {
		o.mu.Lock()
		o.final = final
		o.items = nil
		if abort && o.abort != nil {
			o.abort()
		}
		wake := o.wake
		o.mu.Unlock()
		close(o.done)
		if wake != nil {
			wake()
		}
	})
}

func (o *outbox[T]) setAbort(fn func()) {
	o.mu.Lock()
	o.abort = fn
	o.mu.Unlock()
}

func (o *outbox[T]) setWake(fn func()) {
	o.mu.Lock()
	o.wake = fn
	o.mu.Unlock()
}

func (o *outbox[T]) finalEvent() *T {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.final
}

// streamWriteTimeout bounds one write to a stream: a client that has
// not taken a byte for this long (it stopped reading, or its machine is
// gone without closing the connection) is disconnected instead of holding
// the writer, and its backlog, forever.
const streamWriteTimeout = 15 * time.Second

// maxEventsPerWrite bounds the events of one write (and flush) to a stream.
const maxEventsPerWrite = 256

// serveStream writes the outbox's events, and a heartbeat every interval,
// until the outbox closes (its final event written), the client goes away
// or the term ends. A failed or timed-out write closes the outbox.
func serveStream[T any](client, term context.Context, w http.ResponseWriter, rw *eventWriter, o *outbox[T], heartbeat T, interval time.Duration) {
	hb := time.NewTicker(interval)
	defer hb.Stop()
	rc := http.NewResponseController(w)
	o.setAbort(func() { _ = rc.SetWriteDeadline(time.Now()) })
	defer o.setAbort(nil)
	write := func(evs ...T) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
		if err := writeEvents(rw, evs); err != nil {
			o.close(nil)
			return false
		}
		return true
	}
	for {
		select {
		case <-o.ready:
			// What waits is written as one burst (one flush), a few
			// hundred events at a time so that a backlog's encoding does
			// not sit in memory twice.
			evs := o.take()
			for len(evs) > 0 {
				n := min(len(evs), maxEventsPerWrite)
				if !write(evs[:n]...) {
					return
				}
				evs = evs[n:]
			}
		case <-hb.C:
			if !write(heartbeat) {
				return
			}
		case <-o.done:
			if ev := o.finalEvent(); ev != nil {
				_ = rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
				writeEvent(rw, *ev)
			}
			return
		case <-client.Done():
			o.close(nil)
			return
		case <-term.Done():
			return
		}
	}
}
