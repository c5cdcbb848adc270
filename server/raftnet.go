package server

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"

	"mesh/tlsutil"
)

// tcpStreamLayer is raft's network layer. Unlike raft's stock TCP layer
// it dials peers from the raft bind address, so raft traffic leaves a
// multi-homed host on the interface it was told to use (and a test can
// tell servers apart by source address).
type tcpStreamLayer struct {
	ln        net.Listener
	advertise net.Addr
	dialer    net.Dialer
	// With TLS on, both ends present a server certificate of the CA:
	// serverTLS refuses a peer whose certificate is not a server's,
	// clientTLS a dialed peer whose certificate is not.
	serverTLS, clientTLS *tls.Config
	log                  hclog.Logger
}

var _ raft.StreamLayer = (*tcpStreamLayer)(nil)

// newTCPStreamLayer listens on bind and advertises advertise (bind's
// address when empty); with t set, it speaks mutual TLS.
func newTCPStreamLayer(bind, advertise string, t *tlsutil.TLS, log hclog.Logger) (*tcpStreamLayer, error) {
	ln, err := net.Listen("tcp", bind)
	if err != nil {
		return nil, err
	}
	l := &tcpStreamLayer{ln: ln, advertise: ln.Addr(), log: log}
	if t != nil {
		l.serverTLS = t.ServerConfig(true, tlsutil.RoleServer)
		l.clientTLS = t.ClientConfig(tlsutil.RoleServer)
	}
	if advertise != "" {
		a, err := net.ResolveTCPAddr("tcp", advertise)
		if err != nil {
			ln.Close()
			return nil, err
		}
		if a.IP == nil || a.IP.IsUnspecified() || a.Port == 0 {
			ln.Close()
			return nil, errors.New("advertise address must have a specific IP and port")
		}
		l.advertise = a
	} else if tcp := ln.Addr().(*net.TCPAddr); tcp.IP.IsUnspecified() {
		ln.Close()
		return nil, errors.New("raft bind address is unspecified (0.0.0.0); set an advertise address")
	}
	if tcp := ln.Addr().(*net.TCPAddr); !tcp.IP.IsUnspecified() {
		l.dialer.LocalAddr = &net.TCPAddr{IP: tcp.IP}
	}
	return l, nil
}

// Dial connects to a peer.
func (l *tcpStreamLayer) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	d := l.dialer
	d.Timeout = timeout
	if l.clientTLS == nil {
		return d.Dial("tcp", string(address))
	}
	host, _, err := net.SplitHostPort(string(address))
	if err != nil {
		return nil, err
	}
	cfg := l.clientTLS.Clone()
	cfg.ServerName = host
	td := tls.Dialer{NetDialer: &d, Config: cfg}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	c, err := td.DialContext(ctx, "tcp", string(address))
	if err != nil {
		l.log.Warn("raft peer refused over tls", "peer", address, "error", err)
		return nil, err
	}
	return c, nil
}

// Accept waits for a peer's connection.
func (l *tcpStreamLayer) Accept() (net.Conn, error) {
	c, err := l.ln.Accept()
	if err != nil || l.serverTLS == nil {
		return c, err
	}
	// The handshake runs on the connection's first read, in raft's
	// goroutine for it, so a slow peer cannot hold up the next Accept.
	return &raftTLSConn{Conn: tls.Server(c, l.serverTLS), log: l.log}, nil
}

// raftTLSConn is an accepted raft connection that says why its TLS
// handshake failed (raft itself would only log a decode error).
type raftTLSConn struct {
	*tls.Conn
	log  hclog.Logger
	once sync.Once
	err  error
}

// raftHandshakeTimeout bounds a raft peer's TLS handshake.
const raftHandshakeTimeout = 10 * time.Second

func (c *raftTLSConn) Read(b []byte) (int, error) {
	c.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), raftHandshakeTimeout)
		defer cancel()
		if c.err = c.HandshakeContext(ctx); c.err != nil {
			c.log.Warn("refused a raft connection", "remote_addr", c.RemoteAddr().String(), "error", c.err)
		}
	})
	if c.err != nil {
		return 0, c.err
	}
	return c.Conn.Read(b)
}

// Close stops listening.
func (l *tcpStreamLayer) Close() error { return l.ln.Close() }

// Addr is the advertised address.
func (l *tcpStreamLayer) Addr() net.Addr { return l.advertise }
