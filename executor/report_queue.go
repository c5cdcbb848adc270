package executor

import "sync"

// reportQueue carries reports from goroutines (an executor's checkers) to
// its run loop: post queues one and never blocks, so that stopping a
// checker from the run loop cannot wait on the run loop; notify holds one
// pending signal while the queue is not empty; take empties it.
type reportQueue[T any] struct {
	mu     sync.Mutex
	items  []T
	notify chan struct{}
}

func newReportQueue[T any]() *reportQueue[T] { return &reportQueue[T]{notify: make(chan struct{}, 1)} }

func (q *reportQueue[T]) post(r T) {
	q.mu.Lock()
	q.items = append(q.items, r)
	q.mu.Unlock()
	select {
	case q.notify <- struct{}{}:
	default:
	}
}

func (q *reportQueue[T]) take() []T {
	q.mu.Lock()
	defer q.mu.Unlock()
	items := q.items
	q.items = nil
	return items
}
