package server

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"sync"
	"time"

	"mesh/mesos/agentapi"
	"mesh/mesos/codec"
)

// A pong stream carries an agent's answers to PINGs (see
// agentapi.CapabilityPongStream) on a connection taken over from net/http
// as soon as its request's header is read: the body is read from the
// socket as it becomes readable (the process' epoll set tells when), by a
// goroutine started then and gone once it has read what came. An idle
// agent thus costs the leader its two sockets and their records, not the
// goroutine and 8 KiB of buffers of a kept-alive call connection. Answers
// are written by hand: an error before the stream is accepted as a whole
// response, then a 200 with a chunked body that stays empty unless the
// leader ends the stream, when it says why.

const (
	// pongStreamFirstTimeout bounds the wait for a stream's first record,
	// which names the agent.
	pongStreamFirstTimeout = 10 * time.Second
	// maxPongRecord bounds one record: a PONG call is under 100 bytes.
	maxPongRecord = 1024
	// maxPongsPerSecond bounds the records a stream may send in a second
	// (an agent sends one per PING, every AgentPingTimeout).
	maxPongsPerSecond = 16
)

// pongStream is one agent's stream of PONG calls.
type pongStream struct {
	m    *master
	conn net.Conn
	dec  chunkedRecords

	// rearm and stop are the epoll watch's (nil when a goroutine reads).
	rearm func() bool
	stop  func()
	first *time.Timer

	mu       sync.Mutex
	ac       *agentConn // the agent the first record named
	ended    bool
	window   int64 // start of the second records are counted in (unix ns)
	inWindow int
}

// handlePongStream takes an agent's pong stream over from net/http.
func (s *Server) handlePongStream(w http.ResponseWriter, r *http.Request) {
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		// Not HTTP/1 (or a writer that reaches no connection): the agent
		// answers with calls.
		writeError(w, httpErrorf(http.StatusNotImplemented, "a pong stream needs an HTTP/1.1 connection of its own: %v", err))
		return
	}
	_ = conn.SetDeadline(time.Time{})
	p := &pongStream{conn: conn, dec: chunkedRecords{maxRecord: maxPongRecord}}
	if code, msg := pongStreamRefusal(r); code != 0 {
		p.answer(code, msg)
		return
	}
	m, err := s.currentMaster()
	if err != nil {
		p.answer(http.StatusServiceUnavailable, "this server is not the leader; answer PINGs with calls")
		return
	}
	p.m = m
	p.mu.Lock()
	defer p.mu.Unlock()
	p.first = time.AfterFunc(pongStreamFirstTimeout, func() {
		p.end(http.StatusRequestTimeout, fmt.Sprintf("no record came within %s", pongStreamFirstTimeout))
	})
	if buffered, _ := brw.Reader.Peek(brw.Reader.Buffered()); !p.take(buffered) {
		return
	}
	if rearm, stop, ok := watchReadable(conn, p.readable); ok {
		p.rearm, p.stop = rearm, stop
	} else {
		go p.readAll()
	}
}

// pongStreamRefusal says what is wrong with a pong stream's request:
// code 0 when nothing is.
func pongStreamRefusal(r *http.Request) (code int, msg string) {
	if r.Method != http.MethodPost {
		return http.StatusMethodNotAllowed, fmt.Sprintf("expecting a 'POST' request, received '%s'", r.Method)
	}
	if mt := r.Header.Get("Message-Content-Type"); mt != agentapi.PongStreamMessageType {
		return http.StatusUnsupportedMediaType, fmt.Sprintf("expecting 'Message-Content-Type' of %s, got %q", agentapi.PongStreamMessageType, mt)
	}
	if !slices.Equal(r.TransferEncoding, []string{"chunked"}) {
		return http.StatusBadRequest, "a pong stream's body must be sent in chunked transfer coding"
	}
	return 0, ""
}

// readable reads what the socket has (started by the epoll watch).
func (p *pongStream) readable() { go p.drain() }

// drain reads what came, then arms the watch again. Through TLS a read
// returns one record's worth: the reads after the first take what TLS
// has buffered, without waiting (their deadline has passed).
func (p *pongStream) drain() {
	var buf [1024]byte
	_ = p.conn.SetReadDeadline(time.Now().Add(time.Second))
	for {
		n, err := p.conn.Read(buf[:])
		if n > 0 && !p.takeLocked(buf[:n]) {
			return
		}
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				break
			}
			p.end(0, "")
			return
		}
		_ = p.conn.SetReadDeadline(time.Now())
	}
	_ = p.conn.SetReadDeadline(time.Time{})
	if !p.rearm() {
		p.end(0, "")
	}
}

// readAll reads the stream until it ends, where no epoll watch can be had.
func (p *pongStream) readAll() {
	var buf [1024]byte
	for {
		n, err := p.conn.Read(buf[:])
		if n > 0 && !p.takeLocked(buf[:n]) {
			return
		}
		if err != nil {
			p.end(0, "")
			return
		}
	}
}

func (p *pongStream) takeLocked(b []byte) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.take(b)
}

// take decodes what came (under mu); false once the stream has ended.
func (p *pongStream) take(b []byte) bool {
	if p.ended {
		return false
	}
	err := p.dec.feed(b, p.record)
	switch {
	case err == nil:
		return true
	case errors.Is(err, io.EOF): // the agent ended its body
		p.endLocked(0, "")
	default:
		var coded *codedError
		if errors.As(err, &coded) {
			p.endLocked(coded.code, coded.msg)
		} else {
			p.endLocked(http.StatusBadRequest, err.Error())
		}
	}
	return false
}

// record acts on one record: the first binds the stream to its agent,
// each counts as that agent's answer to a PING.
func (p *pongStream) record(rec []byte) error {
	var call agentapi.Call
	if err := codec.UnmarshalJSON(rec, &call); err != nil {
		return httpErrorf(http.StatusBadRequest, "failed to parse a record as JSON: %v", err)
	}
	if call.Type != agentapi.CallPong {
		return httpErrorf(http.StatusBadRequest, "expecting PONG calls on a pong stream, got %q", call.Type)
	}
	if call.AgentID == nil || call.AgentID.Value == "" {
		return httpErrorf(http.StatusBadRequest, "expecting 'agent_id' to be present")
	}
	if p.ac == nil {
		return p.bind(call.AgentID.Value)
	}
	if call.AgentID.Value != p.ac.id {
		return httpErrorf(http.StatusBadRequest, "a record names agent %s on agent %s's pong stream", call.AgentID.Value, p.ac.id)
	}
	if now := time.Now().UnixNano(); now-p.window >= int64(time.Second) {
		p.window, p.inWindow = now, 0
	}
	if p.inWindow++; p.inWindow > maxPongsPerSecond {
		return httpErrorf(http.StatusTooManyRequests, "more than %d PONGs in a second", maxPongsPerSecond)
	}
	p.ac.answered.Store(true)
	return nil
}

// bind accepts the stream for the agent its first record names, which
// must be subscribed to this leader; a stream it had before ends.
func (p *pongStream) bind(agentID string) error {
	p.m.mu.Lock()
	ac := p.m.agents[agentID]
	p.m.mu.Unlock()
	if ac == nil {
		return httpErrorf(http.StatusForbidden, "agent %s is not subscribed to this leader", agentID)
	}
	p.first.Stop()
	p.first = nil
	_ = p.conn.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
	if _, err := io.WriteString(p.conn, "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nTransfer-Encoding: chunked\r\n\r\n"); err != nil {
		return err
	}
	p.ac = ac
	ac.answered.Store(true)
	if old := ac.pongs.Swap(p); old != nil {
		old.end(0, "a newer pong stream of the agent replaced this one")
	}
	if ac.out.ended() { // its command stream ended before the swap: none will end this one
		ac.pongs.CompareAndSwap(p, nil)
		return errors.New("the agent's command stream ended")
	}
	return nil
}

// end ends the stream, saying why when msg is set: as a response with
// code before the stream was accepted, as the body's only chunk after.
func (p *pongStream) end(code int, msg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.endLocked(code, msg)
}

func (p *pongStream) endLocked(code int, msg string) {
	if p.ended {
		return
	}
	p.ended = true
	if p.stop != nil {
		p.stop()
	}
	if p.first != nil {
		p.first.Stop()
	}
	if p.ac == nil {
		if code == 0 {
			p.conn.Close()
			return
		}
		p.answer(code, msg)
		return
	}
	p.ac.pongs.CompareAndSwap(p, nil)
	if msg != "" && p.m != nil {
		p.m.logger.Warn("ending an agent's pong stream; it answers PINGs with calls", "agent_id", p.ac.id, "reason", msg)
	}
	var b []byte
	if msg != "" {
		b = fmt.Appendf(b, "%x\r\n%s\r\n", len(msg), msg)
	}
	_ = p.conn.SetWriteDeadline(time.Now().Add(streamEndTimeout))
	_, _ = p.conn.Write(append(b, lastChunk...))
	p.conn.Close()
}

// answer writes a whole response with code and msg and closes the
// connection.
func (p *pongStream) answer(code int, msg string) {
	_ = p.conn.SetWriteDeadline(time.Now().Add(streamEndTimeout))
	_, _ = p.conn.Write(fmt.Appendf(nil, "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
		code, http.StatusText(code), len(msg), msg))
	p.conn.Close()
}
