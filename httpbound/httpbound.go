// Package httpbound holds the bounds the servers' and agents' HTTP
// servers share beyond net/http's own timeouts: a per-client connection
// limit and per-write deadlines for answers of any length.
package httpbound

import (
	"crypto/tls"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// limitListener refuses a connection from a client IP that already
// holds max of them, with a 429 that says why, so that one client cannot
// take every connection (and file descriptor) of the server. Loopback
// clients are not counted unless limitLoopback: on one machine (mesh dev,
// tests, the scale benchmark's thousands of simulated agents) every
// client has the same address.
type limitListener struct {
	net.Listener
	max           int
	limitLoopback bool
	flag          string
	// refusalTLS, when set, is the TLS the listener's connections speak:
	// the 429 goes over it, or a TLS client would read only a failed
	// handshake.
	refusalTLS *tls.Config

	mu   sync.Mutex
	open map[string]int // by client IP
}

// LimitConnsPerIP wraps ln so that a client IP holding max connections
// has its next ones answered 429 (naming flag, the setting to change)
// and closed. Loopback clients are not counted unless limitLoopback. A
// max of 0 or less returns ln.
func LimitConnsPerIP(ln net.Listener, max int, limitLoopback bool, flag string) net.Listener {
	if max <= 0 {
		return ln
	}
	return &limitListener{Listener: ln, max: max, limitLoopback: limitLoopback, flag: flag, open: map[string]int{}}
}

// RefuseOverTLS makes a listener of LimitConnsPerIP answer its 429 over
// TLS with cfg, for a listener that is wrapped in tls.NewListener with the
// same cfg. Other listeners are returned as they are.
func RefuseOverTLS(ln net.Listener, cfg *tls.Config) net.Listener {
	if l, ok := ln.(*limitListener); ok {
		l.refusalTLS = cfg
	}
	return ln
}

// Accept returns the next connection within its client's limit; the
// others are answered and closed without holding up the accept loop.
func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := clientIP(c.RemoteAddr())
		if !l.limitLoopback && net.ParseIP(ip).IsLoopback() {
			return c, nil
		}
		l.mu.Lock()
		n := l.open[ip]
		if n < l.max {
			l.open[ip] = n + 1
		}
		l.mu.Unlock()
		if n >= l.max {
			if l.refusalTLS != nil {
				c = tls.Server(c, l.refusalTLS)
			}
			go refuseConn(c, fmt.Sprintf("too many connections from %s: %d open, the limit is %d (%s)\n", ip, n, l.max, l.flag))
			continue
		}
		return &limitedConn{Conn: c, release: func() { l.release(ip) }}, nil
	}
}

func (l *limitListener) release(ip string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[ip]--; l.open[ip] <= 0 {
		delete(l.open, ip)
	}
}

// refuseConn answers 429 on a connection the server will not serve and
// closes it.
func refuseConn(c net.Conn, msg string) {
	defer c.Close()
	// A TLS connection reads the client's handshake first: the deadline
	// bounds both.
	_ = c.SetDeadline(time.Now().Add(time.Second))
	fmt.Fprintf(c, "HTTP/1.1 429 Too Many Requests\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", len(msg), msg)
}

// limitedConn gives its client's slot back when closed.
type limitedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitedConn) Close() error {
	c.once.Do(c.release)
	return c.Conn.Close()
}

// NetConn is the connection under the limit, as tls.Conn gives its own:
// a server that watches its sockets (for a peer's close, say) finds them
// through it.
func (c *limitedConn) NetConn() net.Conn { return c.Conn }

func clientIP(a net.Addr) string {
	if tcp, ok := a.(*net.TCPAddr); ok {
		return tcp.IP.String()
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return host
}

// ProgressWrites gives every write of an answer (and every flush) a
// deadline of timeout from then, replacing a whole-answer write timeout:
// an answer of any length or duration (a stream, a large file) is allowed
// as long as its client keeps taking it, and one that stops for timeout
// is cut off.
func ProgressWrites(h http.Handler, timeout time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(&progressWriter{ResponseWriter: w, rc: http.NewResponseController(w), timeout: timeout}, r)
	})
}

type progressWriter struct {
	http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
}

func (p *progressWriter) Write(b []byte) (int, error) {
	_ = p.rc.SetWriteDeadline(time.Now().Add(p.timeout))
	return p.ResponseWriter.Write(b)
}

// Flush flushes with a fresh deadline (http.Flusher).
func (p *progressWriter) Flush() {
	_ = p.rc.SetWriteDeadline(time.Now().Add(p.timeout))
	_ = p.rc.Flush()
}

// Unwrap lets http.ResponseController reach the connection.
func (p *progressWriter) Unwrap() http.ResponseWriter { return p.ResponseWriter }

// LimitBodies bounds every request body to maxBytes (beyond it a read
// fails) and a JSON one (by its Content-Type) to MaxJSONDepth levels of
// nesting (beyond it a read fails saying so), before any handler decodes
// it. Requests for which except is true (a snapshot upload, bounded by
// its own handler) are passed through as they are.
func LimitBodies(h http.Handler, maxBytes int64, except func(*http.Request) bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil && r.Body != http.NoBody && (except == nil || !except(r)) {
			body := http.MaxBytesReader(w, r.Body, maxBytes)
			var rd io.Reader = body
			if isJSON(r.Header.Get("Content-Type")) {
				rd = JSONDepthReader(body, MaxJSONDepth)
			}
			r.Body = &countedBody{r: rd, c: body}
		}
		h.ServeHTTP(w, r)
	})
}

// countedBody is a bounded request body that counts what was read of it.
type countedBody struct {
	r io.Reader
	c io.Closer
	n int64
}

func (b *countedBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.n += int64(n)
	return n, err
}

func (b *countedBody) Close() error { return b.c.Close() }

// BytesRead is how many bytes of r's body its handler has read so far (0
// for a request LimitBodies passed through): what a request that holds
// its decoded body costs, whether or not its client said how long it was.
func BytesRead(r *http.Request) int64 {
	if b, ok := r.Body.(*countedBody); ok {
		return b.n
	}
	return 0
}

// isJSON reports whether a Content-Type names JSON.
func isJSON(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}
