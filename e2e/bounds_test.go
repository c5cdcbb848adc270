package e2e

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"mesh/mesos"
	"mesh/mesos/scheduler"
	"mesh/mesos/scheduler/client"
)

// startBoundedServer starts one server with extra flags and waits for it
// to lead.
func startBoundedServer(t *testing.T, extra ...string) string {
	t.Helper()
	addr := freePort(t)
	args := append([]string{"server", "-data-dir", t.TempDir(), "-http-addr", addr, "-raft-addr", freePort(t),
		"-bootstrap-expect", "1"}, extra...)
	start(t, args...)
	waitFor(t, 30*time.Second, "the server to lead", func() bool {
		var h health
		return getJSON(addr, "/health", &h) == nil && h.IsLeader
	})
	return addr
}

// TestHTTP_SlowlorisClientCutOffWhileOthersServed: a client that sends its
// request one byte a second — its headers, or its body after complete
// headers — is cut off by the read timeouts, while other clients are
// served throughout.
func TestHTTP_SlowlorisClientCutOffWhileOthersServed(t *testing.T) {
	addr := startBoundedServer(t, "-http-read-header-timeout", "1s", "-http-read-timeout", "2s")
	for _, tc := range []struct{ name, head string }{
		{"headers", "GET /health HTTP/1.1\r\nHost: mesh\r\nX-Slow: "},
		{"body", "POST /api/v1/scheduler HTTP/1.1\r\nHost: mesh\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := io.WriteString(c, tc.head); err != nil {
				t.Fatal(err)
			}
			closed := make(chan struct{})
			go func() {
				defer close(closed)
				_, _ = io.Copy(io.Discard, c) // until the server closes the connection
			}()
			began := time.Now()
			tick := time.NewTicker(time.Second)
			defer tick.Stop()
			for sent := 0; ; sent++ {
				if sent == 30 {
					t.Fatalf("the server still reads a request sent one byte a second after %s", time.Since(began).Round(time.Second))
				}
				select {
				case <-closed:
					t.Logf("cut off after %s", time.Since(began).Round(100*time.Millisecond))
					return
				case <-tick.C:
				}
				if _, err := c.Write([]byte("x")); err != nil {
					t.Logf("cut off after %s (write: %v)", time.Since(began).Round(100*time.Millisecond), err)
					return
				}
				// Others are served meanwhile.
				var h health
				if err := getJSON(addr, "/health", &h); err != nil {
					t.Fatalf("another client was not served while the slow one sent: %v", err)
				}
			}
		})
	}
}

// TestHTTP_IdleConnectionsDoNotStopSubscribe: 1,000 connections that send
// nothing do not stop a framework's SUBSCRIBE from being served. They come
// from one address (127.0.0.2) and the per-IP limit is applied on
// loopback here and set to 100: the connections beyond it are answered
// 429 with a message, and the framework, from another address, is served.
func TestHTTP_IdleConnectionsDoNotStopSubscribe(t *testing.T) {
	addr := startBoundedServer(t, "-http-max-conns-per-ip", "100", "-http-limit-loopback")
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}, Timeout: 5 * time.Second}
	var idle []net.Conn
	defer func() {
		for _, c := range idle {
			c.Close()
		}
	}()
	for i := 0; i < 1000; i++ {
		c, err := d.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		idle = append(idle, c)
	}
	// The 101st and later are refused, saying why.
	last := idle[len(idle)-1]
	last.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(last), nil)
	if err != nil {
		t.Fatalf("a connection beyond the per-IP limit: %v, want a 429", err)
	}
	msg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(string(msg), "-http-max-conns-per-ip") {
		t.Fatalf("a connection beyond the per-IP limit: %d %q", resp.StatusCode, msg)
	}

	subscribeOnce(t, addr)
}

// TestHTTP_IdleConnectionsDoNotStopSubscribeOnOneIP: the same from one
// address with the defaults, as on a machine running mesh dev: loopback
// clients are not limited per IP, and 1,000 idle connections still leave
// room for a SUBSCRIBE.
func TestHTTP_IdleConnectionsDoNotStopSubscribeOnOneIP(t *testing.T) {
	addr := startBoundedServer(t)
	var idle []net.Conn
	defer func() {
		for _, c := range idle {
			c.Close()
		}
	}()
	for i := 0; i < 1000; i++ {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		idle = append(idle, c)
	}
	subscribeOnce(t, addr)
}

// subscribeOnce subscribes a framework to addr and waits for SUBSCRIBED.
func subscribeOnce(t *testing.T, addr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := client.New(client.Config{Masters: []string{addr}})
	info := mesos.FrameworkInfo{User: "root", Name: "past-idle-connections", Roles: []string{"*"},
		Capabilities: []mesos.FrameworkCapability{{Type: mesos.CapabilityMultiRole}}}
	sub, err := c.Subscribe(ctx, client.SubscribeCall(&info))
	if err != nil {
		t.Fatalf("SUBSCRIBE: %v", err)
	}
	defer sub.Close()
	ev, err := sub.Next()
	if err != nil || ev.Type != scheduler.EventSubscribed {
		t.Fatalf("first event: %v, %v; want SUBSCRIBED", ev, err)
	}
}

// TestHTTP_StreamsOutliveTheReadAndWriteTimeouts: a framework's event
// stream lasts far longer than the read and write timeouts of a request:
// it keeps receiving its heartbeats.
func TestHTTP_StreamsOutliveTheReadAndWriteTimeouts(t *testing.T) {
	addr := startBoundedServer(t, "-http-read-timeout", "1s", "-http-write-timeout", "1s", "-heartbeat-interval", "200ms")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := client.New(client.Config{Masters: []string{addr}})
	info := mesos.FrameworkInfo{User: "root", Name: "long-stream", Roles: []string{"*"},
		Capabilities: []mesos.FrameworkCapability{{Type: mesos.CapabilityMultiRole}}}
	sub, err := c.Subscribe(ctx, client.SubscribeCall(&info))
	if err != nil {
		t.Fatalf("SUBSCRIBE: %v", err)
	}
	defer sub.Close()
	began := time.Now()
	for heartbeats := 0; heartbeats < 20; {
		ev, err := sub.Next()
		if err != nil {
			t.Fatalf("the stream ended after %s and %d heartbeats: %v", time.Since(began).Round(100*time.Millisecond), heartbeats, err)
		}
		if ev.Type == scheduler.EventHeartbeat {
			heartbeats++
		}
	}
	if d := time.Since(began); d < 3*time.Second {
		t.Fatalf("20 heartbeats of 200 ms in %s", d)
	}
}
