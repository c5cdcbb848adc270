package server

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"mesh/mesos/codec"
	"mesh/mesos/recordio"
)

// detachedFixture serves one stream of strings from an httptest server:
// the handler writes "hello" through net/http, then detaches.
type detachedFixture struct {
	o     *outbox[string]
	term  context.CancelFunc
	ended chan struct{}
	recs  *recordio.Reader
	resp  *http.Response
}

func newDetachedFixture(t *testing.T, interval time.Duration) *detachedFixture {
	t.Helper()
	return newDetachedFixtureOver(t, interval, false)
}

// newDetachedFixtureOver is newDetachedFixture, over TLS (HTTP/1.1) with
// withTLS.
func newDetachedFixtureOver(t *testing.T, interval time.Duration, withTLS bool) *detachedFixture {
	t.Helper()
	f := &detachedFixture{o: newOutbox[string](), ended: make(chan struct{})}
	termCtx, cancel := context.WithCancel(context.Background())
	f.term = cancel
	detached := make(chan bool, 1)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		rw := newEventWriter(w, codec.JSON)
		if err := writeEvent(rw, "hello"); err != nil {
			t.Errorf("first event: %v", err)
		}
		detached <- detachStream(w, codec.JSON, f.o, "beat", interval, termCtx, func() { close(f.ended) })
	}))
	if withTLS {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(func() {
		cancel()
		srv.Close()
	})
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if !<-detached {
		t.Fatal("an HTTP/1.1 stream was not detached")
	}
	f.resp = resp
	f.recs = recordio.NewReader(resp.Body)
	f.next(t, `"hello"`)
	return f
}

// next reads the next record and checks it is want.
func (f *detachedFixture) next(t *testing.T, want string) {
	t.Helper()
	rec, err := f.recs.ReadRecord()
	if err != nil {
		t.Fatalf("reading the record %s: %v", want, err)
	}
	if string(rec) != want {
		t.Fatalf("record %s, want %s", rec, want)
	}
}

func (f *detachedFixture) waitEnded(t *testing.T) {
	t.Helper()
	select {
	case <-f.ended:
	case <-time.After(10 * time.Second):
		t.Fatal("the stream did not end")
	}
}

// TestDetachedStream_WritesEventsInOrderThenItsFinalEvent: events pushed
// after the connection is taken over reach the client as records of the
// same chunked response, in order; closing the outbox writes its final
// event and ends the response cleanly, and onEnd runs.
func TestDetachedStream_WritesEventsInOrderThenItsFinalEvent(t *testing.T) {
	f := newDetachedFixture(t, time.Hour)
	if te := f.resp.TransferEncoding; len(te) != 1 || te[0] != "chunked" {
		t.Fatalf("transfer encoding %v, want chunked", te)
	}
	for i := 0; i < 600; i++ { // more than maxEventsPerWrite
		if !f.o.push("e"+strconv.Itoa(i), nil) {
			t.Fatalf("push %d refused", i)
		}
	}
	for i := 0; i < 600; i++ {
		f.next(t, `"e`+strconv.Itoa(i)+`"`)
	}
	bye := "bye"
	f.o.close(&bye)
	f.next(t, `"bye"`)
	if rec, err := f.recs.ReadRecord(); err == nil {
		t.Fatalf("a record %s after the final event", rec)
	}
	f.waitEnded(t)
}

// TestDetachedStream_Heartbeats: an idle stream gets a heartbeat every
// interval.
func TestDetachedStream_Heartbeats(t *testing.T) {
	f := newDetachedFixture(t, 20*time.Millisecond)
	for i := 0; i < 3; i++ {
		f.next(t, `"beat"`)
	}
}

// TestDetachedStream_EndsWhenTheClientCloses: the stream ends (and onEnd
// runs) as soon as the client closes its connection, with nothing to
// write.
func TestDetachedStream_EndsWhenTheClientCloses(t *testing.T) {
	f := newDetachedFixture(t, time.Hour)
	f.resp.Body.Close()
	f.waitEnded(t)
	if f.o.push("late", nil) {
		t.Fatal("the outbox took an event after its client went away")
	}
}

// TestDetachedStream_EndsWhenATLSClientCloses: the client's close is
// seen under TLS too.
func TestDetachedStream_EndsWhenATLSClientCloses(t *testing.T) {
	f := newDetachedFixtureOver(t, time.Hour, true)
	if f.resp.TLS == nil {
		t.Fatal("the stream is not over TLS")
	}
	f.o.push("more", nil)
	f.next(t, `"more"`)
	f.resp.Body.Close()
	f.waitEnded(t)
}

// TestDetachedStream_EndsWithTheTerm: the end of the leader's term ends
// the stream cleanly.
func TestDetachedStream_EndsWithTheTerm(t *testing.T) {
	f := newDetachedFixture(t, time.Hour)
	f.term()
	f.waitEnded(t)
	if rec, err := f.recs.ReadRecord(); err == nil {
		t.Fatalf("a record %s after the term ended", rec)
	}
}

// TestDetachedStream_HTTP2IsServedInPlace: a stream over HTTP/2, whose
// connection cannot be taken over, is left to its handler.
func TestDetachedStream_HTTP2IsServedInPlace(t *testing.T) {
	detached := make(chan bool, 1)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		detached <- detachStream(w, codec.JSON, newOutbox[string](), "beat", time.Hour, context.Background(), func() {})
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.ProtoMajor != 2 {
		t.Fatalf("protocol %s, want HTTP/2", resp.Proto)
	}
	if <-detached {
		t.Fatal("an HTTP/2 stream was detached")
	}
}

// TestDetachedStream_ClientThatStopsReadingIsCutOff: a client that takes
// nothing more fills the connection; the events queued behind overflow
// the outbox, which ends the stream at once instead of waiting for the
// blocked write to time out.
func TestDetachedStream_ClientThatStopsReadingIsCutOff(t *testing.T) {
	f := newDetachedFixture(t, time.Hour)
	big := strings.Repeat("x", 64<<10)
	pushed := 0
	for ; pushed < 4*maxOutbox && f.o.push(big, nil); pushed++ {
	}
	if pushed == 4*maxOutbox {
		t.Fatalf("the outbox took %d events of a client that reads nothing", pushed)
	}
	f.waitEnded(t) // well within streamWriteTimeout
}
