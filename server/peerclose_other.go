//go:build !linux

package server

import "net"

// watchPeerClose has no epoll here: the caller watches conn itself.
func watchPeerClose(net.Conn, func()) (stop func(), ok bool) { return nil, false }

// watchReadable has no epoll here: the caller reads conn itself.
func watchReadable(net.Conn, func()) (rearm func() bool, stop func(), ok bool) {
	return nil, nil, false
}
