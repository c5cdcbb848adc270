package server

import (
	"sync"
	"time"

	"mesh/mesos/scheduler"
)

// redeliveryQuiet is how long an update sent on a framework's stream is
// not sent on that same stream again when its agent resends it.
//
// An agent resends an update until it is acknowledged (every 10 s, then
// backing off), and Mesos passes every resend on to the framework. While
// the framework's stream stays open it has every update sent on it (the
// stream is one TCP connection), so a resend that reaches the same stream
// within this period is not passed on again: under load, when
// acknowledgements come back slower than agents resend, those repeats and
// the acknowledgement each one draws were most of the traffic. A new
// stream (the framework re-subscribed) gets every resend; so does one
// whose acknowledgement was refused, and any stream once the period has
// passed, so that a framework that lost an acknowledgement on its way
// still hears of the update again.
const redeliveryQuiet = 60 * time.Second

// maxTrackedDeliveries bounds the updates one stream remembers; beyond it
// every resend is passed on, as Mesos does.
const maxTrackedDeliveries = 1 << 16

// deliveries remembers when each unacknowledged update was sent on one
// framework stream, by uuid.
type deliveries struct {
	mu   sync.Mutex
	sent map[[16]byte]time.Time
	// peak is the most entries sent has held since it was made: a Go map
	// keeps the room of its peak, so one that has emptied is made anew (a
	// placement burst leaves ~140 KB per framework otherwise).
	peak int
}

// shouldSend tells whether status update uuid is to be sent on the
// stream now: it is not when resent (duplicate) within redeliveryQuiet of
// its last sending here. It records the sending, and says how long from
// now a resend would still not be sent (quiet; 0 when one would be).
func (d *deliveries) shouldSend(uuid []byte, duplicate bool, now time.Time) (send bool, quiet time.Duration) {
	if len(uuid) != 16 {
		return true, 0
	}
	k := [16]byte(uuid)
	d.mu.Lock()
	defer d.mu.Unlock()
	if last, ok := d.sent[k]; ok && duplicate && now.Sub(last) < redeliveryQuiet {
		return false, redeliveryQuiet - now.Sub(last)
	}
	if d.sent == nil {
		d.sent = map[[16]byte]time.Time{}
	}
	if len(d.sent) >= maxTrackedDeliveries {
		return true, 0
	}
	d.sent[k] = now
	d.peak = max(d.peak, len(d.sent))
	return true, redeliveryQuiet
}

// forget drops uuid: it was acknowledged, or its acknowledgement was
// refused and the next resend must reach the framework.
func (d *deliveries) forget(uuid []byte) {
	if len(uuid) != 16 {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.sent, [16]byte(uuid))
	switch n := len(d.sent); {
	case n == 0:
		d.sent, d.peak = nil, 0
	case d.peak >= minShrinkDeliveries && n <= d.peak/8:
		// Copying what is left costs less than the deletes that emptied
		// the map this far.
		kept := make(map[[16]byte]time.Time, n)
		for k, v := range d.sent {
			kept[k] = v
		}
		d.sent, d.peak = kept, n
	}
}

// minShrinkDeliveries is the smallest peak for which a map of deliveries
// that has mostly emptied is made anew.
const minShrinkDeliveries = 1024

// forwardUpdate sends a status update to its framework's current stream,
// unless a resend (duplicate) of it went there within redeliveryQuiet. It
// says how long from now a resend of the update by its agent would not
// reach the framework again: a framework without a stream is sent every
// unacknowledged update when it subscribes, not when agents resend.
func (m *master) forwardUpdate(fid string, up *scheduler.Update, duplicate bool) (quiet time.Duration) {
	fc := m.streamOf(fid)
	if fc == nil {
		if len(up.Status.UUID) == 0 {
			return 0
		}
		return redeliveryQuiet
	}
	send, quiet := fc.delivered.shouldSend(up.Status.UUID, duplicate, time.Now())
	if send {
		fc.send(&scheduler.Event{Type: scheduler.EventUpdate, Update: up})
	}
	return quiet
}

// ackQueued tells fid's stream that an acknowledgement of uuid came,
// queued or refused: either way a later resend of that update is the
// framework's to receive again.
func (m *master) ackQueued(fid string, uuid []byte) {
	fc := m.streamOf(fid)
	if fc != nil {
		fc.delivered.forget(uuid)
	}
}
