//go:build !linux

package server

import "net"

// watchPeerClose has no epoll here: the caller watches conn itself.
func watchPeerClose(net.Conn, func()) (stop func(), ok bool) { return nil, false }
