package e2e

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"time"
)

// faultProxy is a TCP proxy in front of one server's raft address. Raft
// dials its peers from its own -raft-addr IP, and each test server has its
// own loopback IP, so the proxy knows which server every connection comes
// from and can refuse or cut connections from chosen servers, or from
// everyone. It can also stall: hold every byte, in both directions, of
// existing and new connections without closing any, as a network that
// drops packets does (TCP keeps retransmitting, so what was held flows
// once the proxy heals).
type faultProxy struct {
	ln     net.Listener
	target string

	mu       sync.Mutex
	blockAll bool
	stalled  bool
	unstall  *sync.Cond      // on mu: signalled when stalled ends or the proxy closes
	blocked  map[string]bool // source IPs
	conns    map[*proxiedConn]struct{}
	closed   bool
	wg       sync.WaitGroup
}

// proxiedConn is one accepted connection and its upstream.
type proxiedConn struct {
	srcIP            string
	client, upstream net.Conn
	once             sync.Once
}

func (c *proxiedConn) close() {
	c.once.Do(func() {
		c.client.Close()
		c.upstream.Close()
	})
}

// newFaultProxy listens on a free 127.0.0.1 port and forwards to target;
// it is closed when the test ends.
func newFaultProxy(t testing.TB, target string) *faultProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &faultProxy{ln: ln, target: target, blocked: map[string]bool{}, conns: map[*proxiedConn]struct{}{}}
	p.unstall = sync.NewCond(&p.mu)
	p.wg.Add(1)
	go p.acceptLoop()
	t.Cleanup(p.close)
	return p
}

// Addr is the address peers should dial (the server's -raft-advertise).
func (p *faultProxy) Addr() string { return p.ln.Addr().String() }

func (p *faultProxy) acceptLoop() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		src := c.RemoteAddr().(*net.TCPAddr).IP.String()
		p.mu.Lock()
		refuse := p.closed || p.blockAll || p.blocked[src]
		p.mu.Unlock()
		if refuse {
			c.Close()
			continue
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		pc := &proxiedConn{srcIP: src, client: c, upstream: up}
		p.mu.Lock()
		if p.closed || p.blockAll || p.blocked[src] {
			// Blocked while we dialed.
			p.mu.Unlock()
			pc.close()
			continue
		}
		p.conns[pc] = struct{}{}
		p.wg.Add(2)
		p.mu.Unlock()
		go p.pipe(pc, up, c)
		go p.pipe(pc, c, up)
	}
}

// pipe copies one direction, holding what it read while the proxy is
// stalled; when either direction ends, both do.
func (p *faultProxy) pipe(pc *proxiedConn, dst, src net.Conn) {
	defer p.wg.Done()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.waitUnstalled()
			if _, werr := dst.Write(buf[:n]); werr != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	pc.close()
	p.mu.Lock()
	delete(p.conns, pc)
	p.mu.Unlock()
}

// Block refuses new connections from the given source IPs (from everyone
// when all is set) and cuts the existing ones.
func (p *faultProxy) Block(all bool, ips ...string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.blockAll = p.blockAll || all
	for _, ip := range ips {
		p.blocked[ip] = true
	}
	for pc := range p.conns {
		if p.blockAll || p.blocked[pc.srcIP] {
			pc.close()
		}
	}
}

// Heal lets every connection through again, and what a stall held.
func (p *faultProxy) Heal() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.blockAll = false
	p.blocked = map[string]bool{}
	p.stalled = false
	p.unstall.Broadcast()
}

// Stall holds every byte of every connection, existing and new, until
// Heal: nothing is closed, nothing gets through.
func (p *faultProxy) Stall() {
	p.mu.Lock()
	p.stalled = true
	p.mu.Unlock()
}

// waitUnstalled returns once the proxy is not stalled (or is closed).
func (p *faultProxy) waitUnstalled() {
	p.mu.Lock()
	for p.stalled && !p.closed {
		p.unstall.Wait()
	}
	p.mu.Unlock()
}

// close stops the proxy and cuts every connection.
func (p *faultProxy) close() {
	p.mu.Lock()
	p.closed = true
	p.unstall.Broadcast()
	for pc := range p.conns {
		pc.close()
	}
	p.mu.Unlock()
	p.ln.Close()
	p.wg.Wait()
}

// TestFaultProxy_BlocksBySourceIP checks the proxy itself: it forwards,
// refuses and cuts by source IP, and heals.
func TestFaultProxy_BlocksBySourceIP(t *testing.T) {
	echo, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer echo.Close()
	go func() {
		for {
			c, err := echo.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(c, c); c.Close() }()
		}
	}()
	p := newFaultProxy(t, echo.Addr().String())
	dialFrom := func(ip string) (net.Conn, error) {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
		return d.Dial("tcp", p.Addr())
	}
	// roundTrip reports whether a byte sent through c comes back.
	roundTrip := func(c net.Conn) bool {
		if _, err := c.Write([]byte{'x'}); err != nil {
			return false
		}
		b := make([]byte, 1)
		_, err := io.ReadFull(c, b)
		return err == nil && b[0] == 'x'
	}
	a, err := dialFrom("127.0.0.21")
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if !roundTrip(a) {
		t.Fatal("proxy does not forward")
	}
	p.Block(false, "127.0.0.21")
	if roundTrip(a) {
		t.Error("an existing connection from a blocked IP was not cut")
	}
	if c, err := dialFrom("127.0.0.21"); err == nil {
		if roundTrip(c) {
			t.Error("a new connection from a blocked IP was let through")
		}
		c.Close()
	}
	b, err := dialFrom("127.0.0.22")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if !roundTrip(b) {
		t.Error("a connection from an unblocked IP was refused")
	}
	p.Block(true)
	if roundTrip(b) {
		t.Error("block-all did not cut an existing connection")
	}
	p.Heal()
	c, err := dialFrom("127.0.0.21")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if !roundTrip(c) {
		t.Error("after Heal a connection was refused")
	}
}

// TestFaultProxy_StallHoldsThenDelivers checks the proxy's stall: a byte
// sent while it is stalled neither arrives nor closes the connection, and
// arrives once the proxy heals.
func TestFaultProxy_StallHoldsThenDelivers(t *testing.T) {
	echo, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer echo.Close()
	go func() {
		for {
			c, err := echo.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(c, c); c.Close() }()
		}
	}()
	p := newFaultProxy(t, echo.Addr().String())
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	p.Stall()
	if _, err := c.Write([]byte{'x'}); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 1)
	c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if _, err := c.Read(b); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read through a stalled proxy: %v, want a timeout (nothing through, nothing closed)", err)
	}
	p.Heal()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(c, b); err != nil || b[0] != 'x' {
		t.Fatalf("after Heal: %q, %v; want the held byte", b, err)
	}
}
