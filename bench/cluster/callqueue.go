package main

import (
	"context"
	"sync"
)

// callQueue is a framework's queue of calls for its call workers: first
// in, first out, and never full, so that queueing a call never blocks the
// event loop that reads the framework's stream.
type callQueue struct {
	mu    sync.Mutex
	jobs  []func(context.Context)
	ready chan struct{} // one slot: signalled when jobs become non-empty
}

func newCallQueue() *callQueue { return &callQueue{ready: make(chan struct{}, 1)} }

func (q *callQueue) push(job func(context.Context)) {
	q.mu.Lock()
	q.jobs = append(q.jobs, job)
	q.mu.Unlock()
	q.signal()
}

func (q *callQueue) signal() {
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// pop waits for the next job; nil once ctx ends.
func (q *callQueue) pop(ctx context.Context) func(context.Context) {
	for {
		q.mu.Lock()
		if len(q.jobs) > 0 {
			job := q.jobs[0]
			q.jobs[0] = nil
			q.jobs = q.jobs[1:]
			more := len(q.jobs) > 0
			q.mu.Unlock()
			if more {
				q.signal() // wake another worker for the rest
			}
			return job
		}
		q.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil
		case <-q.ready:
		}
	}
}
