package server

import (
	"errors"
	"net"
	"time"

	"github.com/hashicorp/raft"
)

// tcpStreamLayer is raft's network layer. Unlike raft's stock TCP layer
// it dials peers from the raft bind address, so raft traffic leaves a
// multi-homed host on the interface it was told to use (and a test can
// tell servers apart by source address).
type tcpStreamLayer struct {
	ln        net.Listener
	advertise net.Addr
	dialer    net.Dialer
}

var _ raft.StreamLayer = (*tcpStreamLayer)(nil)

// newTCPStreamLayer listens on bind and advertises advertise (bind's
// address when empty).
func newTCPStreamLayer(bind, advertise string) (*tcpStreamLayer, error) {
	ln, err := net.Listen("tcp", bind)
	if err != nil {
		return nil, err
	}
	l := &tcpStreamLayer{ln: ln, advertise: ln.Addr()}
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
	return d.Dial("tcp", string(address))
}

// Accept waits for a peer's connection.
func (l *tcpStreamLayer) Accept() (net.Conn, error) { return l.ln.Accept() }

// Close stops listening.
func (l *tcpStreamLayer) Close() error { return l.ln.Close() }

// Addr is the advertised address.
func (l *tcpStreamLayer) Addr() net.Addr { return l.advertise }
