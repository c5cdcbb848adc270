package server

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// parkingServer serves h through a connParker parking for idle.
func parkingServer(t *testing.T, idle time.Duration, h http.Handler) (addr string, p *connParker) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p = newConnParker(idle)
	srv := &http.Server{Handler: p.handler(h), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(p.listener(ln))
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String(), p
}

// callConn is a raw keep-alive connection making HTTP/1.1 calls (a
// client of its own would add goroutines of its own).
type callConn struct {
	t  *testing.T
	c  net.Conn
	rd *bufio.Reader
}

func dialCalls(t *testing.T, addr string) *callConn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &callConn{t: t, c: c, rd: bufio.NewReader(c)}
}

// request is an HTTP/1.1 request's bytes.
func request(method, path, body string, header ...string) string {
	return fmt.Sprintf("%s %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n%s\r\n%s", method, path, len(body),
		strings.Join(append(header, ""), "\r\n"), body)
}

func (c *callConn) send(req string) {
	c.t.Helper()
	if _, err := io.WriteString(c.c, req); err != nil {
		c.t.Fatal(err)
	}
}

// answer reads one response and returns its status and body.
func (c *callConn) answer() (int, string) {
	c.t.Helper()
	_ = c.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(c.rd, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		c.t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func (c *callConn) call(req string) (int, string) {
	c.t.Helper()
	c.send(req)
	return c.answer()
}

// waitParked waits until p has n connections parked.
func waitParked(t *testing.T, p *connParker, n int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for p.parkedNow.Load() != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d connections parked, want %d", p.parkedNow.Load(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// callHandler answers POST /call 202, POST /json a small JSON body, and
// echoes the body it was sent at POST /echo.
var callHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/call":
		w.WriteHeader(http.StatusAccepted)
	case "/json":
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"ok":true}`)
	case "/echo":
		b, _ := io.ReadAll(r.Body)
		w.Write(b)
	default:
		http.Error(w, "no such call", http.StatusNotFound)
	}
})

// TestConnParker_IdleCallConnectionsHoldNoGoroutine: 100 keep-alive
// connections idle after a call hold no goroutine each, and each serves
// its next calls as before.
func TestConnParker_IdleCallConnectionsHoldNoGoroutine(t *testing.T) {
	if !peerCloseWatchable() {
		t.Skip("no epoll set here")
	}
	const n = 100
	addr, p := parkingServer(t, time.Hour, callHandler)
	warm := dialCalls(t, addr)
	warm.call(request("POST", "/call", ""))
	waitParked(t, p, 1)
	before := goroutinesSettle(0, 1<<30)
	conns := make([]*callConn, n)
	for i := range conns {
		conns[i] = dialCalls(t, addr)
		if code, _ := conns[i].call(request("POST", "/call", "{}")); code != http.StatusAccepted {
			t.Fatalf("call %d: %d", i, code)
		}
	}
	waitParked(t, p, n+1)
	if extra := goroutinesSettle(before, 10); extra > 10 {
		t.Fatalf("%d idle call connections hold %d more goroutines", n, extra)
	}
	for i, c := range conns {
		for _, path := range []string{"/json", "/call", "/echo"} {
			code, body := c.call(request("POST", path, "hello"))
			want := map[string]string{"/json": `{"ok":true}`, "/call": "", "/echo": "hello"}[path]
			if code/100 != 2 || body != want {
				t.Fatalf("connection %d, %s again: %d %q, want %q", i, path, code, body, want)
			}
		}
	}
	waitParked(t, p, n+1)
}

// TestConnParker_PipelinedAndClosed: a request sent before the answer to
// the one before is served (from the bytes already read), a client's
// close of a parked connection unparks it, and the idle timeout closes
// one.
func TestConnParker_PipelinedAndClosed(t *testing.T) {
	if !peerCloseWatchable() {
		t.Skip("no epoll set here")
	}
	addr, p := parkingServer(t, 200*time.Millisecond, callHandler)
	c := dialCalls(t, addr)
	c.send(request("POST", "/echo", "one") + request("POST", "/echo", "two") + request("POST", "/json", ""))
	for _, want := range []string{"one", "two", `{"ok":true}`} {
		if code, body := c.answer(); code != http.StatusOK || body != want {
			t.Fatalf("pipelined: %d %q, want %q", code, body, want)
		}
	}
	waitParked(t, p, 1)
	c.c.Close()
	waitParked(t, p, 0)

	idle := dialCalls(t, addr)
	idle.call(request("POST", "/call", ""))
	waitParked(t, p, 1)
	_ = idle.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := idle.rd.ReadByte(); err != io.EOF {
		t.Fatalf("a connection idle past the timeout: read %v, want it closed", err)
	}
	waitParked(t, p, 0)
}

// TestConnParker_WhatIsNotParked: a request that closes its connection,
// a GET, a long answer, a stream, and a request whose handler left much
// of its body unread are served as net/http serves them, their
// connections not parked.
func TestConnParker_WhatIsNotParked(t *testing.T) {
	if !peerCloseWatchable() {
		t.Skip("no epoll set here")
	}
	long := strings.Repeat("x", maxParkedAnswer+1)
	addr, p := parkingServer(t, time.Hour, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/long":
			io.WriteString(w, long)
		case "/stream":
			io.WriteString(w, "first ")
			http.NewResponseController(w).Flush()
			io.WriteString(w, "second")
		case "/unread":
			w.WriteHeader(http.StatusAccepted)
		default:
			callHandler(w, r)
		}
	}))
	for _, c := range []struct {
		req, want string
		open      bool // the connection stays open (net/http's keep-alive)
	}{
		{request("POST", "/json", "", "Connection: close"), `{"ok":true}`, false},
		{request("GET", "/json", ""), `{"ok":true}`, true},
		{request("POST", "/long", ""), long, true},
		{request("POST", "/stream", ""), "first second", true},
		{request("POST", "/unread", strings.Repeat("b", maxParkedDrain+100)), "", true},
	} {
		conn := dialCalls(t, addr)
		code, body := conn.call(c.req)
		if code/100 != 2 || body != c.want {
			t.Fatalf("%q: %d, %d bytes, want %d", c.req[:20], code, len(body), len(c.want))
		}
		if n := p.parkedNow.Load(); n != 0 {
			t.Fatalf("%q: %d connections parked", c.req[:20], n)
		}
		if c.open {
			if code, _ := conn.call(request("POST", "/call", "")); code != http.StatusAccepted {
				t.Fatalf("%q, then a call on the same connection: %d", c.req[:20], code)
			}
			waitParked(t, p, 1)
			conn.c.Close()
			waitParked(t, p, 0)
		}
	}
}

// TestConnParker_CloseEndsParkedConnections: closing the listener (as
// the server's shutdown does) closes the parked connections.
func TestConnParker_CloseEndsParkedConnections(t *testing.T) {
	if !peerCloseWatchable() {
		t.Skip("no epoll set here")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := newConnParker(time.Hour)
	pl := p.listener(ln)
	srv := &http.Server{Handler: p.handler(callHandler)}
	go srv.Serve(pl)
	c := dialCalls(t, ln.Addr().String())
	c.call(request("POST", "/call", ""))
	waitParked(t, p, 1)
	srv.Close()
	_ = c.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.rd.ReadByte(); err != io.EOF {
		t.Fatalf("a parked connection after the server closed: read %v, want EOF", err)
	}
	waitParked(t, p, 0)
}
