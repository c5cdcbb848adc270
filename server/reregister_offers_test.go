package server_test

import (
	"testing"
	"time"

	"mesh/mesos"
	"mesh/server/servertest"
)

// TestAgent_ReregistrationOverALiveStreamRescindsItsOffers: an agent that
// registers again while its previous stream is still open (the leader
// has not seen that stream end yet) must not have its resources offered
// a second time beside the offers made before.
func TestAgent_ReregistrationOverALiveStreamRescindsItsOffers(t *testing.T) {
	srv := servertest.NewServer(t, servertest.Options{})
	res := mesos.Resources{mesos.ScalarResource("cpus", 4), mesos.ScalarResource("mem", 1024)}
	first := servertest.NewSimAgent(srv.HTTPAddr(), res)
	first.Start(t)
	f := subscribe(t, srv.HTTPAddr(), subscribeBody("reregister-offers", "", ""))
	f.subscribed()
	w := newExecWatch(f)
	before := map[string]bool{}
	for _, o := range w.offers(4) {
		before[o.ID.Value] = true
	}

	second := servertest.NewSimAgent(srv.HTTPAddr(), res)
	second.ID, second.Hostname = first.ID, first.Hostname
	second.Start(t)
	// The agent is offered again once registered anew, and the offers made
	// before are rescinded: 4 cpus outstanding at most, never 8.
	deadline := time.Now().Add(10 * time.Second)
	for {
		var got float64
		fresh := false
		for _, o := range w.held {
			got += mesos.Resources(o.Resources).Scalar("cpus")
			fresh = fresh || !before[o.ID.Value]
		}
		if got > 4 {
			t.Fatalf("offered %v cpus of an agent that has 4", got)
		}
		if fresh && got == 4 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no new offer of the re-registered agent (outstanding: %v cpus)", got)
		}
		w.step(time.Until(deadline))
	}
}

// TestAgent_RegistrationsOfTheTermDoNotWaitForOfferRounds: an agent this
// leader's allocator never counted (every agent, re-registering with a
// new leader) is in no offer round, so its registration does not wait
// for the round being committed; when thousands did, registrations came
// in waves behind the rounds their own arrivals triggered.
func TestAgent_RegistrationsOfTheTermDoNotWaitForOfferRounds(t *testing.T) {
	srv := servertest.NewServer(t, servertest.Options{})
	release := srv.HoldOfferRoundForTest(t)
	defer release()
	res := mesos.Resources{mesos.ScalarResource("cpus", 4), mesos.ScalarResource("mem", 1024)}
	for i := 0; i < 3; i++ {
		servertest.NewSimAgent(srv.HTTPAddr(), res).Start(t) // fails after 10 s unregistered
	}
}
