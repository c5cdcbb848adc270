//go:build linux

package server

import (
	"fmt"
	"net"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
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
	// Goroutines of earlier tests may still be ending: wait for them, up
	// to a bound.
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine()-before > n/10 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if g := runtime.NumGoroutine() - before; g > n/10 {
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
