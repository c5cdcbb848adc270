//go:build linux

package server

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"mesh/mesos/codec"
)

// connPair is a TCP connection on 127.0.0.1: the server's end and the
// client's.
func connPair(t *testing.T, ln net.Listener) (srv, cli net.Conn) {
	t.Helper()
	cli, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	srv, err = ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close(); cli.Close() })
	return srv, cli
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// watched watches conn and returns a channel that gets a value per call
// of its function, and the watch's stop.
func watched(t *testing.T, conn net.Conn) (chan struct{}, func()) {
	t.Helper()
	called := make(chan struct{}, 2)
	stop, ok := watchPeerClose(conn, func() { called <- struct{}{} })
	if !ok {
		t.Fatal("a TCP connection could not be watched")
	}
	return called, stop
}

func waitCalled(t *testing.T, called chan struct{}, what string) {
	t.Helper()
	select {
	case <-called:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: not reported", what)
	}
}

// TestWatchPeerClose_ReportsThePeersCloseOnce: the peer closing its end
// is reported once, and so is a peer that sends bytes.
func TestWatchPeerClose_ReportsThePeersCloseOnce(t *testing.T) {
	ln := listen(t)
	srv, cli := connPair(t, ln)
	called, stop := watched(t, srv)
	defer stop()
	cli.Close()
	waitCalled(t, called, "the peer's close")

	srv2, cli2 := connPair(t, ln)
	called2, stop2 := watched(t, srv2)
	defer stop2()
	if _, err := cli2.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	waitCalled(t, called2, "the peer's bytes")
	if _, err := cli2.Write([]byte("y")); err != nil {
		t.Fatal(err)
	}
	srv3, cli3 := connPair(t, ln)
	called3, stop3 := watched(t, srv3)
	defer stop3()
	cli3.Close()
	// The third report shows the watcher went past the others' events.
	waitCalled(t, called3, "the third peer's close")
	if len(called) != 0 || len(called2) != 0 {
		t.Fatal("a close was reported twice")
	}
}

// TestWatchPeerClose_StoppedWatchReportsNothing: a watch stopped before
// the peer closes reports nothing. A second watch reporting its own close
// afterwards shows the watcher has gone past the first socket's.
func TestWatchPeerClose_StoppedWatchReportsNothing(t *testing.T) {
	ln := listen(t)
	srv, cli := connPair(t, ln)
	called, stop := watched(t, srv)
	stop()
	cli.Close()
	srv2, cli2 := connPair(t, ln)
	called2, stop2 := watched(t, srv2)
	defer stop2()
	cli2.Close()
	waitCalled(t, called2, "the second peer's close")
	if len(called) != 0 {
		t.Fatal("a stopped watch reported its peer's close")
	}
}

// TestWatchPeerClose_NoGoroutinePerConnection: watching 300 connections
// starts no goroutine for each, and each close is reported once.
func TestWatchPeerClose_NoGoroutinePerConnection(t *testing.T) {
	const n = 300
	ln := listen(t)
	peerCloses() // the watcher's own goroutine, before counting
	before := runtime.NumGoroutine()
	var reported atomic.Int64
	done := make(chan struct{}, n)
	clis := make([]net.Conn, n)
	for i := range n {
		srv, cli := connPair(t, ln)
		clis[i] = cli
		stop, ok := watchPeerClose(srv, func() { reported.Add(1); done <- struct{}{} })
		if !ok {
			t.Fatal("a TCP connection could not be watched")
		}
		t.Cleanup(stop)
	}
	if g := goroutinesSettle(before, n/10); g > n/10 {
		t.Fatalf("%d goroutines more while watching %d connections", g, n)
	}
	for _, c := range clis {
		c.Close()
	}
	for i := range n {
		waitCalled(t, done, fmt.Sprintf("close %d of %d", i+1, n))
	}
	if r := reported.Load(); r != n {
		t.Fatalf("%d closes reported, want %d", r, n)
	}
}

// TestWatchPeerClose_NotASocket: a connection with no socket under it is
// not watched; the caller falls back.
func TestWatchPeerClose_NotASocket(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if _, ok := watchPeerClose(a, func() {}); ok {
		t.Fatal("a pipe was watched")
	}
}

// goroutinesSettle waits, up to 10 s, for the goroutines beyond before to
// be at most limit (those of earlier tests, or of handlers, may still be
// ending), and returns how many there are beyond before.
func goroutinesSettle(before, limit int) int {
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine()-before > limit && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	return runtime.NumGoroutine() - before
}

// TestDetachedStream_NoGoroutinePerIdleStream: idle detached streams keep
// no goroutine each (on Linux, where epoll watches them) (their clients here are raw connections, which keep
// none either).
func TestDetachedStream_NoGoroutinePerIdleStream(t *testing.T) {
	const n = 100
	var ended atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		if err := writeEvent(newEventWriter(w, codec.JSON), "hello"); err != nil {
			t.Errorf("first event: %v", err)
		}
		o := newOutbox[string]()
		if !detachStream(w, codec.JSON, o, "beat", time.Hour, context.Background(), func() { ended.Add(1) }) {
			t.Error("an HTTP/1.1 stream was not detached")
		}
	}))
	defer srv.Close()
	open := func() net.Conn {
		c, err := net.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Write([]byte("GET / HTTP/1.1\r\nHost: mesh\r\n\r\n")); err != nil {
			t.Fatal(err)
		}
		// The header and the first chunk, "hello", have come once the
		// stream's first record has.
		var got []byte
		buf := make([]byte, 512)
		for !strings.Contains(string(got), `"hello"`) {
			k, err := c.Read(buf)
			if err != nil {
				t.Fatalf("reading the stream's start: %v (read %q)", err, got)
			}
			got = append(got, buf[:k]...)
		}
		return c
	}
	open().Close() // the watcher's own goroutine, if any, starts here
	before := runtime.NumGoroutine()
	conns := make([]net.Conn, n)
	for i := range conns {
		conns[i] = open()
	}
	// The handlers return once their stream is detached; their writers
	// end once the first write is done.
	if g := goroutinesSettle(before, n/10); g > n/10 {
		t.Fatalf("%d goroutines more with %d idle streams", g, n)
	}
	deadline := time.Now().Add(10 * time.Second)
	for _, c := range conns {
		c.Close()
	}
	for ended.Load() < n+1 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if e := ended.Load(); e != n+1 {
		t.Fatalf("%d streams ended after their clients closed, want %d", e, n+1)
	}
}

// TestWatchReadable_ReportsOncePerArming: a readable watch reports once
// per arming; armed again, it reports what is still unread at once and
// what comes next; stopped, it reports nothing more (a second watch's
// report shows the watcher went past it); a closed socket cannot be
// armed.
func TestWatchReadable_ReportsOncePerArming(t *testing.T) {
	ln := listen(t)
	srv, cli := connPair(t, ln)
	ready := make(chan struct{}, 4)
	rearm, stop, ok := watchReadable(srv, func() { ready <- struct{}{} })
	if !ok {
		t.Fatal("a TCP connection could not be watched")
	}
	write := func(s string) {
		t.Helper()
		if _, err := cli.Write([]byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	write("a")
	waitCalled(t, ready, "the first byte")
	write("b") // not armed: not reported yet
	if !rearm() {
		t.Fatal("rearm failed")
	}
	waitCalled(t, ready, "bytes unread when armed again")
	buf := make([]byte, 2)
	if n, err := io.ReadFull(srv, buf); n != 2 || err != nil {
		t.Fatalf("read %d, %v", n, err)
	}
	if !rearm() {
		t.Fatal("rearm failed")
	}
	write("c")
	waitCalled(t, ready, "a byte after arming")
	stop()
	write("d")

	srv2, cli2 := connPair(t, ln)
	ready2 := make(chan struct{}, 1)
	_, stop2, ok := watchReadable(srv2, func() { ready2 <- struct{}{} })
	if !ok {
		t.Fatal("a TCP connection could not be watched")
	}
	defer stop2()
	cli2.Close()
	waitCalled(t, ready2, "the second peer's close")
	if len(ready) != 0 {
		t.Fatal("a stopped watch reported")
	}
	srv.Close()
	if rearm() {
		t.Fatal("a closed socket was armed")
	}
}
