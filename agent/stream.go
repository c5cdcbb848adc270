package agent

import (
	"sync"

	execapi "mesh/mesos/executor"
)

// eventStream is one executor subscription: an unbounded queue of events
// that its HTTP handler drains onto the wire. Senders never block, so the
// agent can send while holding its lock.
type eventStream struct {
	mu     sync.Mutex
	queue  []execapi.Event
	closed bool
	wake   chan struct{} // poked when events arrive
	done   chan struct{} // closed by close
}

func newEventStream(initial ...execapi.Event) *eventStream {
	return &eventStream{
		queue: initial,
		wake:  make(chan struct{}, 1),
		done:  make(chan struct{}),
	}
}

// send queues ev; false if the stream is closed.
func (s *eventStream) send(ev execapi.Event) bool {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return false
	}
	s.queue = append(s.queue, ev)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return true
}

// take returns and clears the queued events.
func (s *eventStream) take() []execapi.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.queue
	s.queue = nil
	return q
}

// close ends the stream; its handler writes what is queued and returns.
func (s *eventStream) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.closed = true
		close(s.done)
	}
}
