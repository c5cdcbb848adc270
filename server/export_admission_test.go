package server

import (
	"context"
	"fmt"
	"mesh/allocator"
	"testing"
)

// HoldAdmissionForTest takes every admission slot of the leader's term,
// agents' and frameworks', as writes waiting for their commits do, and
// returns their release.
func (s *Server) HoldAdmissionForTest(t testing.TB) (release func()) {
	t.Helper()
	m := s.leaderForTest(t)
	return holdSlots(t, m.adm, m.regAdm, m.fwAdm)
}

// HoldAgentAdmissionForTest takes every slot of the agents' admission
// lanes (registrations and other writes).
func (s *Server) HoldAgentAdmissionForTest(t testing.TB) (release func()) {
	t.Helper()
	m := s.leaderForTest(t)
	return holdSlots(t, m.adm, m.regAdm)
}

// HoldAgentWritesAdmissionForTest takes every slot of the lane of agents'
// writes other than registrations (their status updates).
func (s *Server) HoldAgentWritesAdmissionForTest(t testing.TB) (release func()) {
	t.Helper()
	return holdSlots(t, s.leaderForTest(t).adm)
}

// BeforeOfferRoundForTest makes fn run with each allocation round at the
// leader before its offers are committed.
func (s *Server) BeforeOfferRoundForTest(t testing.TB, fn func(round []allocator.Allocation)) {
	t.Helper()
	s.leaderForTest(t).beforeOfferRound.Store(&fn)
}

func (s *Server) leaderForTest(t testing.TB) *master {
	t.Helper()
	s.mu.RLock()
	m := s.leader
	s.mu.RUnlock()
	if m == nil {
		t.Fatal("not the leader")
	}
	return m
}

func holdSlots(t testing.TB, lanes ...*admission) (release func()) {
	t.Helper()
	var held []func()
	for l, a := range lanes {
		for i := 0; i < a.limits.slots; i++ {
			r, err := a.enter(context.Background(), fmt.Sprintf("holder-%d-%d", l, i), 0)
			if err != nil {
				t.Fatalf("hold slot %d: %v", i, err)
			}
			held = append(held, r)
		}
	}
	return func() {
		for _, r := range held {
			r()
		}
	}
}

// HoldOfferRoundForTest holds the leader's round lock, as an offer round
// committing its offers does, until the returned release.
func (s *Server) HoldOfferRoundForTest(t testing.TB) (release func()) {
	t.Helper()
	m := s.leaderForTest(t)
	m.roundMu.Lock()
	return m.roundMu.Unlock
}

// BeforeAgentRegisteredForTest makes fn run in each agent registration at
// the leader just before REGISTERED is written; set it before the agent
// subscribes.
func (s *Server) BeforeAgentRegisteredForTest(t testing.TB, fn func(agentID string)) {
	t.Helper()
	s.leaderForTest(t).beforeRegistered = fn
}

// AfterFrameworkSubscribedForTest makes fn run in each framework
// subscription at the leader just after SUBSCRIBED is written; set it
// before the framework subscribes.
func (s *Server) AfterFrameworkSubscribedForTest(t testing.TB, fn func(frameworkID string)) {
	t.Helper()
	s.leaderForTest(t).afterSubscribed = fn
}
