package server

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Every agent keeps a keep-alive connection to the leader for its calls
// (UPDATE, PONG), idle between them, and a framework one or more. net/http
// keeps, for each idle connection, a goroutine blocked in a read and its
// 4 KiB read and write buffers: about 17 KiB an agent, nearly the whole of
// what an agent may cost the leader. A connParker takes an idle
// connection off net/http instead: once a call's answer is complete and
// small, it is written with its length, the connection is taken over
// (hijacked) and parked in the process' epoll set (peerclose_linux.go).
// When the client sends its next request (or closes), the connection is
// handed back to the HTTP server through its listener, which serves it as
// a new one: a goroutine and buffers again, for as long as the call.
// A parked connection costs a timer and a few words; one idle for the
// idle timeout is closed, as net/http would.
//
// Only plain HTTP/1.1 calls (POST) are parked: a TLS connection may hold
// decrypted bytes of a next request the socket no longer shows, and
// streams (SUBSCRIBE) and large answers go through untouched.

// maxParkedAnswer is the longest answer held back to be written with its
// length; a longer one is written as it comes.
const maxParkedAnswer = 64 << 10

// maxParkedDrain is how much of a request body a handler left unread is
// read to park its connection; with more left, it is not parked.
const maxParkedDrain = 4 << 10

// connParker parks idle connections of calls and hands them back to the
// HTTP server (through listener) when they have a request.
type connParker struct {
	idle time.Duration
	// canWatch says whether connections can be watched here (epoll);
	// without, none is parked.
	canWatch func() bool
	back     chan net.Conn
	done     chan struct{}

	mu     sync.Mutex
	parked map[*parkedConn]struct{}
	closed bool

	// parkedNow counts the connections parked now, for tests and metrics.
	parkedNow atomic.Int64
}

// parkedConn is one parked connection.
type parkedConn struct {
	conn net.Conn
	// claimed is set by whichever ends the parking first: a request (or
	// the peer's close), the idle timeout, or the server's close.
	claimed atomic.Bool
	// mu is held while the watch and the timer are set up.
	mu    sync.Mutex
	stop  func()
	timer *time.Timer
}

// newConnParker parks connections for at most idle (none when not
// positive), as the HTTP server's own idle timeout would.
func newConnParker(idle time.Duration) *connParker {
	return &connParker{idle: idle, canWatch: peerCloseWatchable, back: make(chan net.Conn, 64),
		done: make(chan struct{}), parked: map[*parkedConn]struct{}{}}
}

// handler parks the connections of next's calls when their answers allow.
func (p *connParker) handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !p.parkable(r) {
			next.ServeHTTP(w, r)
			return
		}
		b := &heldAnswer{w: w, rc: http.NewResponseController(w)}
		next.ServeHTTP(b, r)
		if b.direct {
			return
		}
		p.answerAndPark(b, r)
	})
}

// parkable tells whether r's connection may be parked after its answer.
func (p *connParker) parkable(r *http.Request) bool {
	return r.Method == http.MethodPost && r.TLS == nil && r.ProtoMajor == 1 && r.ProtoMinor == 1 && !r.Close &&
		p.canWatch()
}

// answerAndPark writes b's answer with its length and parks the
// connection, or, when it may not be parked, writes it as net/http would.
func (p *connParker) answerAndPark(b *heldAnswer, r *http.Request) {
	code := b.code
	if code == 0 {
		code = http.StatusOK
	}
	h := b.w.Header()
	if code < 200 || code == http.StatusNoContent || code == http.StatusNotModified ||
		h.Get("Connection") == "close" || !drained(r.Body) {
		b.passThrough()
		return
	}
	h.Set("Content-Length", strconv.Itoa(len(b.buf)))
	b.passThrough()
	if err := b.rc.Flush(); err != nil {
		return
	}
	conn, rw, err := b.rc.Hijack()
	if err != nil {
		return
	}
	p.park(conn, rw.Reader)
}

// drained reads what is left of a request body, up to maxParkedDrain,
// and tells whether it reached its end.
func drained(body io.Reader) bool {
	n, err := io.Copy(io.Discard, io.LimitReader(body, maxParkedDrain+1))
	return err == nil && n <= maxParkedDrain
}

// park parks conn, taken over with rd (net/http's reader of it); when
// rd holds bytes of a next request already, the connection goes back to
// the server at once, those bytes first.
func (p *connParker) park(conn net.Conn, rd *bufio.Reader) {
	if n := rd.Buffered(); n > 0 {
		head, _ := rd.Peek(n)
		p.deliver(&prefixedConn{Conn: conn, prefix: append([]byte(nil), head...)})
		return
	}
	for {
		pc, ok := conn.(*prefixedConn)
		if !ok || len(pc.prefix) > 0 {
			break
		}
		conn = pc.Conn // its first bytes all read: the connection itself
	}
	pc := &parkedConn{conn: conn}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		conn.Close()
		return
	}
	p.parked[pc] = struct{}{}
	p.mu.Unlock()
	p.parkedNow.Add(1)
	pc.mu.Lock()
	stop, ok := watchPeerClose(conn, func() { p.wake(pc) })
	if !ok {
		pc.mu.Unlock()
		if p.claim(pc) {
			p.deliver(conn)
		}
		return
	}
	pc.stop = stop
	if p.idle > 0 {
		pc.timer = time.AfterFunc(p.idle, func() { p.expire(pc) })
	}
	pc.mu.Unlock()
}

// claim ends pc's parking, once: it reports whether this call did.
func (p *connParker) claim(pc *parkedConn) bool {
	if !pc.claimed.CompareAndSwap(false, true) {
		return false
	}
	p.mu.Lock()
	delete(p.parked, pc)
	p.mu.Unlock()
	p.parkedNow.Add(-1)
	pc.mu.Lock() // the watch and timer are set up
	if pc.stop != nil {
		pc.stop()
	}
	if pc.timer != nil {
		pc.timer.Stop()
	}
	pc.mu.Unlock()
	return true
}

// wake hands a parked connection with a request (or closed by its peer)
// back to the server.
func (p *connParker) wake(pc *parkedConn) {
	if p.claim(pc) {
		p.deliver(pc.conn)
	}
}

// expire closes a connection parked for the idle timeout.
func (p *connParker) expire(pc *parkedConn) {
	if p.claim(pc) {
		pc.conn.Close()
	}
}

// deliver hands conn to the server's listener without waiting for it.
func (p *connParker) deliver(conn net.Conn) {
	select {
	case p.back <- conn:
		return
	default:
	}
	go func() {
		select {
		case p.back <- conn:
		case <-p.done:
			conn.Close()
		}
	}()
}

// close closes every parked connection and those on their way back, and
// parks none from now on.
func (p *connParker) close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	all := make([]*parkedConn, 0, len(p.parked))
	for pc := range p.parked {
		all = append(all, pc)
	}
	p.mu.Unlock()
	close(p.done)
	for _, pc := range all {
		if p.claim(pc) {
			pc.conn.Close()
		}
	}
	for {
		select {
		case c := <-p.back:
			c.Close()
		default:
			return
		}
	}
}

// listener is ln with the parked connections that have a request among
// the accepted ones. Closing it closes the parked connections.
func (p *connParker) listener(ln net.Listener) net.Listener {
	return &parkingListener{Listener: ln, p: p, accepted: make(chan accepted)}
}

type parkingListener struct {
	net.Listener
	p         *connParker
	startOnce sync.Once
	accepted  chan accepted
}

type accepted struct {
	conn net.Conn
	err  error
}

// Accept returns the next connection: a new one or one back from parking.
func (l *parkingListener) Accept() (net.Conn, error) {
	l.startOnce.Do(func() { go l.acceptLoop() })
	select {
	case c := <-l.p.back:
		return c, nil
	case a := <-l.accepted:
		return a.conn, a.err
	case <-l.p.done:
		return nil, net.ErrClosed
	}
}

// acceptLoop accepts new connections for Accept until the listener
// fails for good.
func (l *parkingListener) acceptLoop() {
	for {
		c, err := l.Listener.Accept()
		select {
		case l.accepted <- accepted{c, err}:
		case <-l.p.done:
			if c != nil {
				c.Close()
			}
			return
		}
		if err != nil {
			if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
				return
			}
		}
	}
}

func (l *parkingListener) Close() error {
	err := l.Listener.Close()
	l.p.close()
	return err
}

// prefixedConn is a connection whose first bytes were read already.
type prefixedConn struct {
	net.Conn
	prefix []byte
}

func (c *prefixedConn) Read(b []byte) (int, error) {
	if len(c.prefix) > 0 {
		n := copy(b, c.prefix)
		c.prefix = c.prefix[n:]
		return n, nil
	}
	return c.Conn.Read(b)
}

// heldAnswer holds an answer back, while it is small and not flushed,
// to write it with its length; otherwise it writes through.
type heldAnswer struct {
	w    http.ResponseWriter
	rc   *http.ResponseController
	code int
	buf  []byte
	// direct is set once the answer goes straight to w.
	direct bool
}

func (b *heldAnswer) Header() http.Header { return b.w.Header() }

func (b *heldAnswer) WriteHeader(code int) {
	switch {
	case b.direct || code < 200:
		b.w.WriteHeader(code)
	case b.code == 0:
		b.code = code
	}
}

func (b *heldAnswer) Write(p []byte) (int, error) {
	if !b.direct {
		if b.code == 0 {
			b.code = http.StatusOK
		}
		if len(b.buf)+len(p) <= maxParkedAnswer {
			b.buf = append(b.buf, p...)
			return len(p), nil
		}
		b.passThrough()
	}
	return b.w.Write(p)
}

// passThrough writes what is held and everything after straight to w.
func (b *heldAnswer) passThrough() {
	if b.direct {
		return
	}
	b.direct = true
	if b.code != 0 {
		b.w.WriteHeader(b.code)
	}
	if len(b.buf) > 0 {
		_, _ = b.w.Write(b.buf)
		b.buf = nil
	}
}

// FlushError, Flush and Hijack end the holding back: a stream or a
// taken-over connection is the handler's.
func (b *heldAnswer) FlushError() error {
	b.passThrough()
	return b.rc.Flush()
}

func (b *heldAnswer) Flush() { _ = b.FlushError() }

func (b *heldAnswer) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	b.passThrough()
	return b.rc.Hijack()
}

// Unwrap gives http.ResponseController the writer under, for deadlines.
func (b *heldAnswer) Unwrap() http.ResponseWriter { return b.w }
