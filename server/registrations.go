package server

import (
	"context"

	"mesh/fsm"
)

// pendingRegistration is an agent's registration waiting for the
// registration batcher; done receives the commit's outcome.
type pendingRegistration struct {
	req  fsm.AgentRegisterRequest
	done chan error
}

// maxRegistrationBatch bounds the registrations of one log entry.
const maxRegistrationBatch = 512

// registerAgent commits an agent's registration. Registrations that come
// together (every agent of a data center re-registers with a new leader
// at once) share log entries: one entry of hundreds costs the log and
// each server's state machine about what one of one does.
func (m *master) registerAgent(ctx context.Context, req *fsm.AgentRegisterRequest) error {
	p := pendingRegistration{req: *req, done: make(chan error, 1)}
	select {
	case m.registrations <- p:
	case <-ctx.Done():
		return ctx.Err()
	case <-m.ctx.Done():
		return ErrNotLeader
	}
	select {
	case err := <-p.done:
		return err
	case <-m.ctx.Done():
		// The batcher stops with the term; what it was committing may or
		// may not be committed, and the agent registers again anyway.
		return ErrNotLeader
	}
}

// runRegistrationBatcher commits queued registrations, many per entry.
func (m *master) runRegistrationBatcher(ctx context.Context) {
	for {
		batch := nextBatch(ctx, m.registrations, maxRegistrationBatch)
		if batch == nil {
			return
		}
		var err error
		if len(batch) == 1 {
			_, err = m.apply(fsm.AgentRegisterRequestType, &batch[0].req)
		} else {
			req := &fsm.AgentRegisterBatchRequest{Agents: make([]fsm.AgentRegisterRequest, len(batch))}
			for i, p := range batch {
				req.Agents[i] = p.req
			}
			_, err = m.apply(fsm.AgentRegisterBatchRequestType, req)
		}
		for _, p := range batch {
			p.done <- err
		}
	}
}

// QueuedRegistrations is how many agent registrations wait for the
// registration batcher of this server's term (0 when it does not lead).
func (s *Server) QueuedRegistrations() int {
	s.mu.RLock()
	m := s.leader
	s.mu.RUnlock()
	if m == nil {
		return 0
	}
	return len(m.registrations)
}
