package agentapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"mesh/mesos"
)

// IdleCallTimeout is how long an agent keeps a call connection to the
// leader open with nothing to send: an agent at rest (its PONGs on a pong
// stream) then holds none.
const IdleCallTimeout = 30 * time.Second

// PongStreamAnswerTimeout bounds how long an agent waits for the leader
// to accept a pong stream (as long as it waits for the answer to a call);
// it answers PINGs with calls meanwhile.
const PongStreamAnswerTimeout = 30 * time.Second

// PongStream is an agent's stream of PONG calls to the leader it is
// subscribed to (CapabilityPongStream). Until the stream has failed,
// each Pong queues one record; PINGs that come faster than the records
// go are answered by one.
type PongStream struct {
	body   *pongBody
	cancel context.CancelFunc
	done   chan struct{}
	// accepted is set once the leader has answered 200, failed once the
	// stream has ended.
	accepted, failed atomic.Bool
	err              error // why the stream ended; set before done closes
}

// OpenPongStream opens a pong stream for agentID to url (the leader's
// Path) through hc and queues its first PONG. It returns at once: the
// request runs in the background until ctx ends, Close, or the leader
// ends it.
func OpenPongStream(ctx context.Context, hc *http.Client, url, agentID string) *PongStream {
	ctx, cancel := context.WithCancel(ctx)
	s := &PongStream{body: newPongBody(agentID), cancel: cancel, done: make(chan struct{})}
	// The transport waits for its writer, blocked in the body's Read, even
	// when the request is canceled before an answer: the body ends too.
	context.AfterFunc(ctx, func() { s.body.Close() })
	s.Pong()
	go s.run(ctx, hc, url)
	return s
}

// Pong queues a PONG. It returns false when the stream cannot be counted
// on to carry it, and the caller answers with a PONG call too: before the
// leader has accepted the stream (the PONG still goes on it), and once
// the stream has ended (Err then says why).
func (s *PongStream) Pong() bool {
	if s.failed.Load() {
		return false
	}
	select {
	case s.body.wake <- struct{}{}:
	default: // one is due already: it answers this PING too
	}
	return s.accepted.Load() && !s.failed.Load()
}

// Close ends the stream.
func (s *PongStream) Close() {
	s.cancel()
	s.body.Close()
}

// Done is closed once the stream has ended; Err then says why.
func (s *PongStream) Done() <-chan struct{} { return s.done }

// Err is why the stream ended; nil until Done is closed.
func (s *PongStream) Err() error {
	select {
	case <-s.done:
		return s.err
	default:
		return nil
	}
}

// run sends the stream's request and reads its answer until the stream
// ends.
func (s *PongStream) run(ctx context.Context, hc *http.Client, url string) {
	defer close(s.done)
	defer s.body.Close()
	s.err = s.exchange(ctx, hc, url)
	s.failed.Store(true)
	s.cancel()
}

func (s *PongStream) exchange(ctx context.Context, hc *http.Client, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, s.body)
	if err != nil {
		return err
	}
	req.ContentLength = -1 // chunked: the body lasts as long as the stream
	req.Header.Set("Content-Type", PongStreamContentType)
	req.Header.Set("Message-Content-Type", PongStreamMessageType)
	timer := time.AfterFunc(PongStreamAnswerTimeout, s.cancel)
	resp, err := hc.Do(req)
	timer.Stop()
	if err != nil {
		return fmt.Errorf("pong stream: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		s.accepted.Store(true)
	}
	msg, rerr := io.ReadAll(io.LimitReader(resp.Body, 4096))
	text := strings.TrimSpace(string(msg))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("the leader refused the pong stream: %s: %s", resp.Status, text)
	}
	if text != "" {
		return fmt.Errorf("the leader ended the pong stream: %s", text)
	}
	if rerr != nil {
		return fmt.Errorf("pong stream: %w", rerr)
	}
	return errors.New("the leader ended the pong stream")
}

// pongBody is a pong stream's request body: one PONG record each time
// one is due, until it is closed. Read is called by one goroutine (the
// transport's writer), Close by any.
type pongBody struct {
	rec  []byte        // one PONG call as a RecordIO record
	wake chan struct{} // holds a token while a PONG is due
	done chan struct{} // closed by Close
	once sync.Once
	rest []byte // what Read has not yet returned of the record being sent
}

func newPongBody(agentID string) *pongBody {
	call, _ := json.Marshal(&Call{Type: CallPong, AgentID: &mesos.AgentID{Value: agentID}})
	rec := append(strconv.AppendInt(nil, int64(len(call)), 10), '\n')
	return &pongBody{rec: append(rec, call...), wake: make(chan struct{}, 1), done: make(chan struct{})}
}

func (b *pongBody) Read(p []byte) (int, error) {
	for len(b.rest) == 0 {
		select {
		case <-b.done:
			return 0, io.EOF
		case <-b.wake:
			b.rest = b.rec
		}
	}
	n := copy(p, b.rest)
	b.rest = b.rest[n:]
	return n, nil
}

func (b *pongBody) Close() error {
	b.once.Do(func() { close(b.done) })
	return nil
}

// Answerer answers one registration's PINGs: on a pong stream when the
// leader offered one in REGISTERED, opened at the second PING, with PONG
// calls otherwise, and also while the stream is not yet accepted. A PING
// saying two or more earlier ones went unanswered, or a stream that
// ended, gives the stream up for the rest of the registration.
type Answerer struct {
	hc      *http.Client
	url     string
	agentID string
	offered bool
	pings   int
	stream  *PongStream
}

// pongStreamOpenAt is the PING at which an Answerer opens the stream. The
// leader spreads its first PINGs over a ping interval after agents
// register; after a failover every agent registers within seconds, and a
// quarter of them would have their first PING then. By the second PING,
// a ping interval later, that storm is over.
const pongStreamOpenAt = 2

// pongStreamGiveUpAt is how many PINGs in a row the leader must have
// missed for an Answerer to give its stream up. One can be a PONG that a
// leader saturated for a while read late; the leader marks an agent
// unreachable only after five (-max-agent-ping-timeouts), which leaves
// the calls three pings.
const pongStreamGiveUpAt = 2

// NewAnswerer returns the answerer of a registration with the leader at
// url (its Path), which sent reg.
func NewAnswerer(hc *http.Client, url string, reg *Registered) *Answerer {
	return &Answerer{hc: hc, url: url, agentID: reg.AgentID.Value, offered: reg.HasCapability(CapabilityPongStream)}
}

// Answer answers the PING ev. call says the caller must send a PONG
// call; gaveUp, when set, is why the pong stream was given up now.
func (a *Answerer) Answer(ctx context.Context, ev *Event) (call bool, gaveUp error) {
	if a.pings++; a.offered && a.stream == nil && a.pings >= pongStreamOpenAt {
		a.stream = OpenPongStream(ctx, a.hc, a.url, a.agentID)
		a.offered = false // once per registration
	}
	if a.stream == nil {
		return true, nil
	}
	if ev.Ping != nil && ev.Ping.Unanswered >= pongStreamGiveUpAt {
		gaveUp = fmt.Errorf("the leader missed %d PINGs in a row answered on the pong stream", ev.Ping.Unanswered)
	} else if a.stream.Pong() {
		return false, nil
	} else if err := a.stream.Err(); err != nil {
		gaveUp = err
	} else {
		return true, nil // not yet accepted
	}
	a.stream.Close()
	a.stream = nil
	return true, gaveUp
}

// Close ends the pong stream, if one is open; a nil Answerer has none.
func (a *Answerer) Close() {
	if a != nil && a.stream != nil {
		a.stream.Close()
		a.stream = nil
	}
}
