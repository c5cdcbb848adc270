package server

import "testing"

// TestOutbox_BoundedAndReleased: an outbox takes up to maxOutbox events,
// then closes with the overflow event as its last; take empties it.
func TestOutbox_BoundedAndReleased(t *testing.T) {
	o := newOutbox[int]()
	for i := 0; i < maxOutbox; i++ {
		if !o.push(i, nil) {
			t.Fatalf("push %d refused below the bound", i)
		}
	}
	if got := len(o.take()); got != maxOutbox {
		t.Fatalf("took %d events, want %d", got, maxOutbox)
	}
	if got := len(o.take()); got != 0 {
		t.Fatalf("a second take found %d events", got)
	}
	for i := 0; i < maxOutbox; i++ {
		o.push(i, nil)
	}
	overflow := -1
	if o.push(maxOutbox, &overflow) {
		t.Fatal("push beyond the bound accepted")
	}
	select {
	case <-o.done:
	default:
		t.Fatal("outbox still open after overflowing")
	}
	if f := o.finalEvent(); f == nil || *f != -1 {
		t.Fatalf("final event %v, want the overflow event", f)
	}
	if o.push(1, nil) || len(o.take()) != 0 {
		t.Fatal("a closed outbox took an event")
	}
}
