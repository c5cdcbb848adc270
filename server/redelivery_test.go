package server

import (
	"testing"
	"time"
)

// TestDeliveries_ResendWithinTheQuietPeriodIsNotSentAgain: the first
// sending of an update is always made and remembered; a resend within
// redeliveryQuiet is not made, one after it is; an acknowledgement (or a
// refused one) makes the next resend go; updates without a 16-byte uuid
// always go; past the bound nothing more is remembered.
func TestDeliveries_ResendWithinTheQuietPeriodIsNotSentAgain(t *testing.T) {
	var d deliveries
	u := []byte("0123456789abcdef")
	t0 := time.Unix(1000, 0)
	expect := func(what string, send bool, quiet time.Duration, gotSend bool, gotQuiet time.Duration) {
		t.Helper()
		if gotSend != send || gotQuiet != quiet {
			t.Fatalf("%s: sent %v, resends held back for %s; want %v and %s", what, gotSend, gotQuiet, send, quiet)
		}
	}
	s, q := d.shouldSend(u, false, t0)
	expect("a first update", true, redeliveryQuiet, s, q)
	s, q = d.shouldSend(u, true, t0.Add(10*time.Second))
	expect("a resend within the quiet period", false, redeliveryQuiet-10*time.Second, s, q)
	s, q = d.shouldSend(u, false, t0.Add(11*time.Second))
	expect("an update that is not a resend", true, redeliveryQuiet, s, q)
	s, q = d.shouldSend(u, true, t0.Add(11*time.Second+redeliveryQuiet))
	expect("a resend after the quiet period", true, redeliveryQuiet, s, q)
	d.forget(u)
	s, q = d.shouldSend(u, true, t0.Add(12*time.Second+redeliveryQuiet))
	expect("a resend after its acknowledgement came", true, redeliveryQuiet, s, q)
	s, q = d.shouldSend(nil, true, t0)
	expect("an update without a uuid", true, 0, s, q)
	s, q = d.shouldSend([]byte("short"), true, t0)
	expect("an update with a short uuid", true, 0, s, q)
	for i := 0; len(d.sent) < maxTrackedDeliveries; i++ {
		k := make([]byte, 16)
		k[0], k[1], k[2] = byte(i), byte(i>>8), byte(i>>16)
		d.shouldSend(k, false, t0)
	}
	extra := []byte("fedcba9876543210")
	s, q = d.shouldSend(extra, false, t0)
	expect("past the bound, a first update", true, 0, s, q)
	s, q = d.shouldSend(extra, true, t0)
	expect("past the bound, a resend of a sending that was not remembered", true, 0, s, q)
}

// TestDeliveries_MapIsMadeAnewAsItEmpties: once a burst's updates are
// acknowledged the map that held them goes (a Go map keeps the room of its
// peak); what is left of a large map that has mostly emptied is copied
// into a small one, and still held back.
func TestDeliveries_MapIsMadeAnewAsItEmpties(t *testing.T) {
	var d deliveries
	t0 := time.Unix(1000, 0)
	key := func(i int) []byte {
		k := make([]byte, 16)
		k[0], k[1] = byte(i), byte(i>>8)
		return k
	}
	const burst = 8 * minShrinkDeliveries
	for i := 0; i < burst; i++ {
		d.shouldSend(key(i), false, t0)
	}
	for i := 0; i < burst-burst/8; i++ {
		d.forget(key(i))
	}
	if got := len(d.sent); got != burst/8 {
		t.Fatalf("%d deliveries remembered, want %d", got, burst/8)
	}
	if d.peak != burst/8 {
		t.Fatalf("a map emptied to an eighth of its peak was not made anew (peak %d)", d.peak)
	}
	if s, _ := d.shouldSend(key(burst-1), true, t0.Add(time.Second)); s {
		t.Fatal("a resend within the quiet period went after the map was made anew")
	}
	for i := burst - burst/8; i < burst; i++ {
		d.forget(key(i))
	}
	if d.sent != nil || d.peak != 0 {
		t.Fatalf("an emptied map was kept: %d entries, peak %d", len(d.sent), d.peak)
	}
}
