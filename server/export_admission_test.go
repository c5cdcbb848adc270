package server

import (
	"context"
	"fmt"
	"testing"
)

// HoldAdmissionForTest takes every admission slot of the leader's term,
// as writes waiting for their commits do, and returns their release.
func (s *Server) HoldAdmissionForTest(t testing.TB) (release func()) {
	t.Helper()
	s.mu.RLock()
	m := s.leader
	s.mu.RUnlock()
	if m == nil {
		t.Fatal("not the leader")
	}
	var held []func()
	for i := 0; i < m.adm.limits.slots; i++ {
		r, err := m.adm.enter(context.Background(), fmt.Sprintf("holder-%d", i))
		if err != nil {
			t.Fatalf("hold slot %d: %v", i, err)
		}
		held = append(held, r)
	}
	return func() {
		for _, r := range held {
			r()
		}
	}
}
