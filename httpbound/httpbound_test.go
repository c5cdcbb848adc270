package httpbound

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestLimitConnsPerIP_RefusesBeyondTheLimitAndReleases: a client IP gets
// max connections; the next is answered 429 naming the setting; closing
// one makes room again. Loopback clients count only when asked.
func TestLimitConnsPerIP_RefusesBeyondTheLimitAndReleases(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := LimitConnsPerIP(raw, 2, true, "-the-flag")
	defer ln.Close()
	accepted := make(chan net.Conn, 10)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				close(accepted)
				return
			}
			accepted <- c
		}
	}()
	dial := func() net.Conn {
		t.Helper()
		c, err := net.Dial("tcp", raw.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	take := func() net.Conn {
		t.Helper()
		select {
		case c := <-accepted:
			return c
		case <-time.After(10 * time.Second):
			t.Fatal("a connection within the limit was not accepted")
			return nil
		}
	}
	dial()
	first := take()
	dial()
	take()
	over := dial()
	over.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(over), nil)
	if err != nil {
		t.Fatalf("the connection beyond the limit: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(string(body), "the limit is 2 (-the-flag)") {
		t.Fatalf("beyond the limit: %d %q", resp.StatusCode, body)
	}
	first.Close()
	dial()
	take()
}

// TestLimitConnsPerIP_LoopbackExemptByDefault: without limitLoopback a
// loopback client is never refused.
func TestLimitConnsPerIP_LoopbackExemptByDefault(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := LimitConnsPerIP(raw, 1, false, "-the-flag")
	defer ln.Close()
	for i := 0; i < 3; i++ {
		dialAccepted(t, raw, ln)
	}
}

// dialAccepted dials raw and returns the connection ln accepted for it;
// both are closed when the test ends.
func dialAccepted(t *testing.T, raw, ln net.Listener) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", raw.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	s, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestProgressWrites_LongAnswerServedStalledClientCut: an answer that
// lasts several timeouts is served while its client reads; a client that
// stops reading is cut off once the connection's buffers are full.
func TestProgressWrites_LongAnswerServedStalledClientCut(t *testing.T) {
	const timeout = 300 * time.Millisecond
	writeErr := make(chan error, 1)
	mux := http.NewServeMux()
	mux.HandleFunc("/long", func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i < 10; i++ {
			io.WriteString(w, "tick\n")
			w.(http.Flusher).Flush()
			time.Sleep(timeout / 3) // the answer's own pace, well within the timeout
		}
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		chunk := make([]byte, 1<<20)
		for i := 0; i < 1024; i++ {
			if _, err := w.Write(chunk); err != nil {
				writeErr <- err
				return
			}
		}
		writeErr <- nil
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: ProgressWrites(mux, timeout)}
	go srv.Serve(ln)
	defer srv.Close()

	resp, err := http.Get("http://" + ln.Addr().String() + "/long")
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || strings.Count(string(b), "tick") != 10 {
		t.Fatalf("a long answer read at its pace: %d ticks, %v", strings.Count(string(b), "tick"), err)
	}

	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n") // and never read
	select {
	case err := <-writeErr:
		if err == nil {
			t.Fatal("1 GiB was written to a client that reads nothing")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("a write to a client that reads nothing did not time out")
	}
}

// TestLimitConnsPerIP_TheSocketIsReachable: a limited connection gives
// the TCP connection under it, as a TLS one does, for a server that
// watches its sockets.
func TestLimitConnsPerIP_TheSocketIsReachable(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := LimitConnsPerIP(raw, 2, true, "-the-flag")
	defer ln.Close()
	got := dialAccepted(t, raw, ln)
	nc, ok := got.(interface{ NetConn() net.Conn })
	if !ok {
		t.Fatalf("a limited connection (%T) does not give its socket", got)
	}
	if _, ok := nc.NetConn().(*net.TCPConn); !ok {
		t.Fatalf("under a limited connection: %T, want the TCP connection", nc.NetConn())
	}
}
