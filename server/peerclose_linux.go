//go:build linux

package server

import (
	"errors"
	"net"
	"os"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// The peers of detached streams are watched for closing by one epoll set
// of the process, waited on by one goroutine, instead of a goroutine per
// connection blocked in a read. At 5,000 agents those goroutines were
// most of the leader's, each with a stack of a few KiB.

// peerCloses is the process' watcher, made on first use; nil when epoll
// cannot be had (watchPeerClose then reports ok false).
var peerCloses = sync.OnceValue(func() *peerWatcher {
	fd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil
	}
	// The set is itself waited on through Go's poller (an epoll fd is
	// readable while any of its sockets is ready), so that the waiting
	// goroutine parks as a blocked read does: one blocked in epoll_wait
	// would hold its P, and the goroutines a report starts (the stream's
	// writer, which ends it) would wait for the runtime to take it back.
	f := os.NewFile(uintptr(fd), "peer-close epoll")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil
	}
	w := &peerWatcher{epfd: fd, file: f, rc: rc, fns: map[uint64]func(){}}
	go w.loop()
	return w
})

// peerWatcher calls, for each watched connection, its function once when
// the connection becomes readable: its peer closed it, reset it or sent
// something (a stream's client only reads).
type peerWatcher struct {
	epfd int
	file *os.File // keeps epfd open
	rc   syscall.RawConn
	mu   sync.Mutex
	next uint64
	fns  map[uint64]func() // token → function, until called or stopped
	// broken is set when epoll_wait failed for good: nothing more is
	// watched, and what was has been told.
	broken bool
}

// watchPeerClose calls closed, once, when conn's peer closes it (or sends
// anything on it). stop ends the watch; call it before closing conn, after
// which closed may still be running but will not start. ok is false when
// conn cannot be watched this way (it is not a socket, or epoll failed):
// the caller watches it otherwise.
func watchPeerClose(conn net.Conn, closed func()) (stop func(), ok bool) {
	rc := rawConn(conn)
	w := peerCloses()
	if rc == nil || w == nil {
		return nil, false
	}
	return w.add(rc, closed)
}

// rawConn is the socket under conn (through TLS), or nil.
func rawConn(conn net.Conn) syscall.RawConn {
	for {
		switch c := conn.(type) {
		case syscall.Conn:
			rc, err := c.SyscallConn()
			if err != nil {
				return nil
			}
			return rc
		case interface{ NetConn() net.Conn }:
			conn = c.NetConn()
		default:
			return nil
		}
	}
}

func (w *peerWatcher) add(rc syscall.RawConn, closed func()) (func(), bool) {
	w.mu.Lock()
	if w.broken {
		w.mu.Unlock()
		return nil, false
	}
	w.next++
	tok := w.next
	w.fns[tok] = closed
	w.mu.Unlock()
	var ctlErr error
	err := rc.Control(func(fd uintptr) {
		ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLONESHOT}
		ev.Fd, ev.Pad = int32(uint32(tok)), int32(uint32(tok>>32))
		ctlErr = unix.EpollCtl(w.epfd, unix.EPOLL_CTL_ADD, int(fd), &ev)
	})
	if err = errors.Join(err, ctlErr); err != nil {
		w.forget(tok)
		return nil, false
	}
	return func() {
		w.forget(tok)
		// Once the socket is closed the kernel has dropped it from the
		// set itself, and Control fails.
		_ = rc.Control(func(fd uintptr) {
			_ = unix.EpollCtl(w.epfd, unix.EPOLL_CTL_DEL, int(fd), nil)
		})
	}, true
}

// forget drops a token's function and returns it (nil if it was gone).
func (w *peerWatcher) forget(tok uint64) func() {
	w.mu.Lock()
	defer w.mu.Unlock()
	fn := w.fns[tok]
	delete(w.fns, tok)
	return fn
}

// loop waits for the watched sockets and calls the function of each one
// that became readable. Each was added with EPOLLONESHOT: it reports once.
// A token already forgotten (its watch stopped) is skipped.
func (w *peerWatcher) loop() {
	events := make([]unix.EpollEvent, 256)
	for {
		var n int
		var werr error
		err := w.rc.Read(func(fd uintptr) bool {
			n, werr = unix.EpollWait(int(fd), events, 0)
			// Nothing ready: park until the set is readable.
			return n > 0 || (werr != nil && !errors.Is(werr, unix.EINTR))
		})
		if err = errors.Join(err, werr); err != nil {
			w.fail()
			return
		}
		for _, ev := range events[:n] {
			tok := uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32
			if fn := w.forget(tok); fn != nil {
				fn()
			}
		}
	}
}

// fail stops watching: every connection watched is reported closed, so
// that none is left unwatched, and later ones are watched otherwise.
func (w *peerWatcher) fail() {
	w.mu.Lock()
	w.broken = true
	fns := w.fns
	w.fns = nil
	w.mu.Unlock()
	for _, fn := range fns {
		fn()
	}
}
