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
	if !d.shouldSend(u, false, t0) {
		t.Fatal("a first update was not sent")
	}
	if d.shouldSend(u, true, t0.Add(10*time.Second)) {
		t.Fatal("a resend within the quiet period was sent again")
	}
	if !d.shouldSend(u, false, t0.Add(11*time.Second)) {
		t.Fatal("an update that is not a resend was held back")
	}
	if !d.shouldSend(u, true, t0.Add(11*time.Second+redeliveryQuiet)) {
		t.Fatal("a resend after the quiet period was held back")
	}
	d.forget(u)
	if !d.shouldSend(u, true, t0.Add(12*time.Second+redeliveryQuiet)) {
		t.Fatal("a resend after its acknowledgement came was held back")
	}
	if !d.shouldSend(nil, true, t0) || !d.shouldSend([]byte("short"), true, t0) {
		t.Fatal("an update without a uuid was held back")
	}
	for i := 0; len(d.sent) < maxTrackedDeliveries; i++ {
		k := make([]byte, 16)
		k[0], k[1], k[2] = byte(i), byte(i>>8), byte(i>>16)
		d.shouldSend(k, false, t0)
	}
	extra := []byte("fedcba9876543210")
	d.shouldSend(extra, false, t0)
	if !d.shouldSend(extra, true, t0) {
		t.Fatal("past the bound, a resend was held back by a sending that was not remembered")
	}
}
