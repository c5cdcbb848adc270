package agentapi

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"mesh/mesos"
	"mesh/mesos/recordio"
)

// pongRecord is the record a stream for agent a1 sends.
const pongRecord = `{"type":"PONG","agent_id":{"value":"a1"}}`

// waitTimeout bounds every wait for something a test expects.
const waitTimeout = 5 * time.Second

// pongServer is a leader's end of pong streams: it reads a stream's
// records and reports them, and answers as a test says once the first
// has come.
type pongServer struct {
	*httptest.Server
	records chan string // every record read, in order
	bodyEnd chan error  // why a stream's body ended (io.EOF or another error)
	// quit is closed when the test ends: an answer still waiting then
	// goes on.
	quit chan struct{}
}

// newPongServer starts a server whose handler reads the first record,
// calls answer (which writes the response, or part of it), and, if
// answer returns true, reads records until the body ends. Cleanup stops
// it once the test has closed its streams.
func newPongServer(t *testing.T, answer func(w http.ResponseWriter, quit <-chan struct{}) (keepReading bool)) *pongServer {
	t.Helper()
	s := &pongServer{
		records: make(chan string, 1000),
		bodyEnd: make(chan error, 10),
		quit:    make(chan struct{}),
	}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := http.NewResponseController(w).EnableFullDuplex(); err != nil {
			t.Errorf("EnableFullDuplex: %v", err)
			return
		}
		if r.Method != http.MethodPost || r.URL.Path != Path {
			t.Errorf("request %s %s, want POST %s", r.Method, r.URL.Path, Path)
		}
		if got := r.Header.Get("Content-Type"); got != PongStreamContentType {
			t.Errorf("Content-Type %q, want %q", got, PongStreamContentType)
		}
		if got := r.Header.Get("Message-Content-Type"); got != PongStreamMessageType {
			t.Errorf("Message-Content-Type %q, want %q", got, PongStreamMessageType)
		}
		if !slices.Equal(r.TransferEncoding, []string{"chunked"}) {
			t.Errorf("Transfer-Encoding %q, want [chunked]", r.TransferEncoding)
		}
		rr := recordio.NewReader(r.Body)
		first, err := rr.ReadRecord()
		if err != nil {
			s.bodyEnd <- err
			return
		}
		s.records <- string(first)
		if !answer(w, s.quit) {
			return
		}
		for {
			rec, err := rr.ReadRecord()
			if err != nil {
				s.bodyEnd <- err
				return
			}
			s.records <- string(rec)
		}
	}))
	// Cleanups run last first: the test's stream Close (registered
	// later) before these.
	t.Cleanup(s.Close)
	t.Cleanup(func() { close(s.quit) })
	return s
}

// open opens a stream for agent a1 to s, closed when the test ends.
func (s *pongServer) open(t *testing.T, ctx context.Context) *PongStream {
	t.Helper()
	ps := OpenPongStream(ctx, s.Client(), s.URL+Path, "a1")
	t.Cleanup(ps.Close)
	return ps
}

// accept answers 200 at once and flushes.
func accept(w http.ResponseWriter, _ <-chan struct{}) bool {
	w.WriteHeader(http.StatusOK)
	http.NewResponseController(w).Flush()
	return true
}

// receive waits for a value from ch, failing the test after waitTimeout.
func receive[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitTimeout):
		t.Fatalf("timed out after %v waiting for %s", waitTimeout, what)
		panic("unreachable")
	}
}

// waitRecord waits for the next record and checks it is a PONG for a1.
func waitRecord(t *testing.T, s *pongServer, what string) {
	t.Helper()
	if got := receive(t, s.records, what); got != pongRecord {
		t.Fatalf("%s: record %s, want %s", what, got, pongRecord)
	}
}

// waitAccepted waits until Pong returns true: once the client has read
// the leader's 200, which it does in the background. Each Pong until
// then still sends a record, waited for in turn.
func waitAccepted(t *testing.T, s *pongServer, ps *PongStream) {
	t.Helper()
	deadline := time.After(waitTimeout)
	for {
		ok := ps.Pong()
		waitRecord(t, s, "the PONG of a Pong() call")
		if ok {
			return
		}
		select {
		case <-deadline:
			t.Fatalf("Pong() still false %v after the leader answered 200", waitTimeout)
		case <-ps.Done():
			t.Fatalf("the stream ended: %v", ps.Err())
		default:
		}
	}
}

// waitDone waits for the stream to end.
func waitDone(t *testing.T, ps *PongStream) {
	t.Helper()
	select {
	case <-ps.Done():
	case <-time.After(waitTimeout):
		t.Fatalf("timed out after %v waiting for the stream to end", waitTimeout)
	}
}

// notDone fails the test if the stream has ended.
func notDone(t *testing.T, ps *PongStream) {
	t.Helper()
	select {
	case <-ps.Done():
		t.Fatalf("the stream ended: %v", ps.Err())
	default:
	}
	if err := ps.Err(); err != nil {
		t.Fatalf("Err() = %v before the stream ended", err)
	}
}

// heldServer is a pongServer that accepts a stream once answer is
// closed.
func heldServer(t *testing.T) (s *pongServer, answer chan struct{}) {
	answer = make(chan struct{})
	return newPongServer(t, func(w http.ResponseWriter, quit <-chan struct{}) bool {
		select {
		case <-answer:
		case <-quit:
		}
		return accept(w, quit)
	}), answer
}

func TestPongStream_FirstPongAtOnceThenOnePerPong(t *testing.T) {
	s, answer := heldServer(t)
	ps := s.open(t, context.Background())

	// The handler has written nothing: the first PONG came unasked.
	waitRecord(t, s, "the first PONG, before any response")
	notDone(t, ps)
	// Until the leader accepts the stream, Pong says the caller must
	// answer with a call too, but the PONG still goes on the stream.
	// (The handler reads it once it has answered.)
	if ps.Pong() {
		t.Fatal("Pong() = true before the leader accepted the stream")
	}
	close(answer)
	waitRecord(t, s, "the PONG of a Pong() call before the answer")
	waitAccepted(t, s, ps)

	for i := range 5 {
		if !ps.Pong() {
			t.Fatalf("Pong() #%d = false on a live stream", i+1)
		}
		waitRecord(t, s, "the PONG of a Pong() call")
	}
	notDone(t, ps)
	noRecord(t, s, "a record more than the Pong calls")
}

// noRecord fails the test if a record has come that was not waited for.
func noRecord(t *testing.T, s *pongServer, what string) {
	t.Helper()
	select {
	case rec := <-s.records:
		t.Fatalf("%s: %s", what, rec)
	default:
	}
}

func TestPongStream_PongsCoalesceWhileOneIsDue(t *testing.T) {
	s := newPongServer(t, accept)
	ps := s.open(t, context.Background())
	waitRecord(t, s, "the first PONG")
	waitAccepted(t, s, ps)

	const pongs = 20
	for i := range pongs {
		if !ps.Pong() {
			t.Fatalf("Pong() #%d = false on a live stream", i+1)
		}
	}
	waitRecord(t, s, "a PONG for the burst of Pong calls")
	// Count every record the server reads until the body ends.
	ps.Close()
	receive(t, s.bodyEnd, "the end of the body")
	n := 1 + len(s.records)
	for range len(s.records) {
		if got := <-s.records; got != pongRecord {
			t.Fatalf("record %s, want %s", got, pongRecord)
		}
	}
	if n > pongs {
		t.Fatalf("%d records for %d Pong calls", n, pongs)
	}
	t.Logf("%d Pong calls sent %d records", pongs, n)
}

// TestPongStream_BodyCoalesces checks the body itself, without a
// transport's timing: Pong calls made while a PONG is due queue no more.
func TestPongStream_BodyCoalesces(t *testing.T) {
	ps := &PongStream{body: newPongBody("a1"), done: make(chan struct{})}
	ps.accepted.Store(true)
	for range 5 {
		if !ps.Pong() {
			t.Fatal("Pong() = false on an accepted stream not failed")
		}
	}
	r := recordio.NewReader(ps.body)
	got, err := r.ReadRecord()
	if err != nil || string(got) != pongRecord {
		t.Fatalf("ReadRecord() = %s, %v; want %s", got, err, pongRecord)
	}
	if n := len(ps.body.wake); n != 0 {
		t.Fatalf("%d PONGs still due after one was read", n)
	}
	ps.body.Close()
	if got, err := r.ReadRecord(); err != io.EOF {
		t.Fatalf("ReadRecord() after Close = %q, %v; want io.EOF", got, err)
	}
}

func TestPongStream_CloseEndsTheRequest(t *testing.T) {
	s := newPongServer(t, accept)
	ps := s.open(t, context.Background())
	waitRecord(t, s, "the first PONG")
	waitAccepted(t, s, ps)

	ps.Close()
	err := receive(t, s.bodyEnd, "the handler to see the body end")
	t.Logf("the handler saw the body end with %v", err)
	waitDone(t, ps)
	if ps.Err() == nil {
		t.Fatal("Err() = nil once the stream ended")
	}
	if ps.Pong() {
		t.Fatal("Pong() = true after the stream ended")
	}
}

func TestPongStream_Refused(t *testing.T) {
	const msg = "agent a1 is not subscribed to this leader"
	s := newPongServer(t, func(w http.ResponseWriter, _ <-chan struct{}) bool {
		http.Error(w, msg, http.StatusForbidden)
		return false
	})
	ps := s.open(t, context.Background())
	waitRecord(t, s, "the first PONG")
	waitDone(t, ps)
	err := ps.Err()
	if err == nil {
		t.Fatal("Err() = nil after a 403")
	}
	for _, want := range []string{"403", msg} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Err() = %q, want it to say %q", err, want)
		}
	}
	if ps.Pong() {
		t.Fatal("Pong() = true after a refusal")
	}
}

func TestPongStream_EndedByTheLeader(t *testing.T) {
	const msg = "this server is no longer the leader"
	s := newPongServer(t, func(w http.ResponseWriter, quit <-chan struct{}) bool {
		accept(w, quit)
		io.WriteString(w, msg+"\n")
		return false
	})
	ps := s.open(t, context.Background())
	waitRecord(t, s, "the first PONG")
	waitDone(t, ps)
	err := ps.Err()
	if err == nil || !strings.Contains(err.Error(), msg) {
		t.Fatalf("Err() = %v, want it to say %q", err, msg)
	}
	if ps.Pong() {
		t.Fatal("Pong() = true after the leader ended the stream")
	}
}

func TestPongStream_ContextCanceled(t *testing.T) {
	for _, tc := range []struct {
		name     string
		answered bool // the leader has answered 200 before the cancel
	}{
		{"before the leader answers", false},
		{"after the leader answers", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, answer := heldServer(t)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			ps := s.open(t, ctx)
			waitRecord(t, s, "the first PONG")
			if tc.answered {
				close(answer)
				waitAccepted(t, s, ps)
			}
			notDone(t, ps)

			cancel()
			waitDone(t, ps)
			err := ps.Err()
			if err == nil {
				t.Fatal("Err() = nil once the stream ended")
			}
			if !errors.Is(err, context.Canceled) {
				t.Logf("Err() = %v (not context.Canceled)", err)
			}
			if ps.Pong() {
				t.Fatal("Pong() = true after the stream ended")
			}
			if tc.answered {
				receive(t, s.bodyEnd, "the handler to see the body end")
			}
		})
	}
}

// registered is the REGISTERED of agent a1, offering a pong stream or not.
func registered(offer bool) *Registered {
	r := &Registered{AgentID: mesos.AgentID{Value: "a1"}}
	if offer {
		r.Capabilities = []string{CapabilityPongStream}
	}
	return r
}

var ping = &Event{Type: EventPing}

// TestAnswerer_StreamFromTheSecondPing: the answerer answers the first
// PING with a call, opens the stream at the second, answering that one
// with a call too (not yet accepted); once the leader has accepted it,
// PINGs go on the stream.
func TestAnswerer_StreamFromTheSecondPing(t *testing.T) {
	s := newPongServer(t, accept)
	a := NewAnswerer(s.Client(), s.URL+Path, registered(true))
	t.Cleanup(a.Close)
	if call, gaveUp := a.Answer(context.Background(), ping); !call || gaveUp != nil {
		t.Fatalf("first PING: call %v, gave up %v; want a call", call, gaveUp)
	}
	noRecord(t, s, "a stream opened at the first PING")
	if call, gaveUp := a.Answer(context.Background(), ping); !call || gaveUp != nil {
		t.Fatalf("second PING: call %v, gave up %v; want a call, the stream not yet accepted", call, gaveUp)
	}
	waitRecord(t, s, "the stream's first PONG")
	deadline := time.After(waitTimeout)
	for {
		call, gaveUp := a.Answer(context.Background(), ping)
		if gaveUp != nil {
			t.Fatalf("gave up: %v", gaveUp)
		}
		waitRecord(t, s, "a PONG on the stream")
		if !call {
			break
		}
		select {
		case <-deadline:
			t.Fatal("PINGs still answered with calls after the leader accepted the stream")
		default:
		}
	}
	if call, _ := a.Answer(context.Background(), ping); call {
		t.Fatal("a PING answered with a call on an accepted stream")
	}
	waitRecord(t, s, "a PONG on the stream")
}

// TestAnswerer_CallsWithoutAnOffer: a leader that offers no stream gets
// calls, and no stream is opened.
func TestAnswerer_CallsWithoutAnOffer(t *testing.T) {
	s := newPongServer(t, accept)
	a := NewAnswerer(s.Client(), s.URL+Path, registered(false))
	t.Cleanup(a.Close)
	for i := 0; i < 3; i++ {
		if call, gaveUp := a.Answer(context.Background(), ping); !call || gaveUp != nil {
			t.Fatalf("call %v, gave up %v; want a call", call, gaveUp)
		}
	}
	noRecord(t, s, "a stream was opened")
}

// TestAnswerer_GivesUpTheStream: a PING saying earlier ones went
// unanswered (two in a row; one may be a PONG a busy leader read late)
// gives the stream up, and so does a stream the leader refused; every
// PING after that is answered with a call, and no stream is opened
// again.
func TestAnswerer_GivesUpTheStream(t *testing.T) {
	s := newPongServer(t, accept)
	a := NewAnswerer(s.Client(), s.URL+Path, registered(true))
	t.Cleanup(a.Close)
	a.Answer(context.Background(), ping)
	a.Answer(context.Background(), ping)
	waitRecord(t, s, "the stream's first PONG")
	if _, gaveUp := a.Answer(context.Background(), &Event{Type: EventPing, Ping: &Ping{Unanswered: 1}}); gaveUp != nil {
		t.Fatalf("one PING unanswered gave the stream up: %v", gaveUp)
	}
	waitRecord(t, s, "the PONG of a PING after one unanswered")
	call, gaveUp := a.Answer(context.Background(), &Event{Type: EventPing, Ping: &Ping{Unanswered: 2}})
	if !call || gaveUp == nil || !strings.Contains(gaveUp.Error(), "missed 2 PINGs") {
		t.Fatalf("call %v, gave up %v; want a call and the stream given up", call, gaveUp)
	}
	receive(t, s.bodyEnd, "the given-up stream's body to end")
	if call, gaveUp := a.Answer(context.Background(), ping); !call || gaveUp != nil {
		t.Fatalf("after giving up: call %v, gave up %v", call, gaveUp)
	}

	refusing := newPongServer(t, func(w http.ResponseWriter, _ <-chan struct{}) bool {
		http.Error(w, "not now", http.StatusServiceUnavailable)
		return false
	})
	b := NewAnswerer(refusing.Client(), refusing.URL+Path, registered(true))
	t.Cleanup(b.Close)
	b.Answer(context.Background(), ping)
	b.Answer(context.Background(), ping)
	deadline := time.After(waitTimeout)
	for {
		call, gaveUp := b.Answer(context.Background(), ping)
		if !call {
			t.Fatal("a PING answered on a refused stream")
		}
		if gaveUp != nil {
			if !strings.Contains(gaveUp.Error(), "not now") {
				t.Fatalf("gave up with %v, want the leader's reason", gaveUp)
			}
			break
		}
		select {
		case <-deadline:
			t.Fatal("a refused stream was not given up")
		case <-time.After(10 * time.Millisecond): // the next PING
		}
	}
}

// A registration with no Answerer yet closes it all the same.
func TestAnswerer_NilCloses(t *testing.T) {
	var a *Answerer
	a.Close()
}
