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
	stop, _, ok = w.watch(rc, closed)
	return stop, ok
}

// watchReadable calls ready, once, when conn becomes readable (or its
// peer closes it); rearm arms it again once what was ready has been read
// (false when it cannot be: the caller then ends its use of conn), stop
// ends the watch (before closing conn). ok is false when conn cannot be
// watched this way: the caller reads it otherwise.
func watchReadable(conn net.Conn, ready func()) (rearm func() bool, stop func(), ok bool) {
	rc := rawConn(conn)
	w := peerCloses()
	if rc == nil || w == nil {
		return nil, nil, false
	}
	stop, tok, ok := w.watch(rc, ready)
	if !ok {
		return nil, nil, false
	}
	return func() bool { return w.rearm(rc, tok, ready) }, stop, true
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

// watch arms the socket under rc to call fn once it becomes readable,
// under a new token.
func (w *peerWatcher) watch(rc syscall.RawConn, fn func()) (stop func(), tok uint64, ok bool) {
	w.mu.Lock()
	if w.broken {
		w.mu.Unlock()
		return nil, 0, false
	}
	w.next++
	tok = w.next
	w.fns[tok] = fn
	w.mu.Unlock()
	if err := w.ctl(rc, unix.EPOLL_CTL_ADD, tok); err != nil {
		w.forget(tok)
		return nil, 0, false
	}
	return func() {
		w.forget(tok)
		// Once the socket is closed the kernel has dropped it from the
		// set itself, and Control fails.
		_ = rc.Control(func(fd uintptr) {
			_ = unix.EpollCtl(w.epfd, unix.EPOLL_CTL_DEL, int(fd), nil)
		})
	}, tok, true
}

// rearm arms a socket whose token has fired to call fn again: false when
// it cannot be (it is closed or no longer watched, or epoll failed). A
// socket readable already reports at once.
func (w *peerWatcher) rearm(rc syscall.RawConn, tok uint64, fn func()) bool {
	w.mu.Lock()
	if w.broken {
		w.mu.Unlock()
		return false
	}
	w.fns[tok] = fn
	w.mu.Unlock()
	if err := w.ctl(rc, unix.EPOLL_CTL_MOD, tok); err != nil {
		w.forget(tok)
		return false
	}
	return true
}

// ctl adds (or modifies) the socket under rc to report, once, that it is
// readable or its peer closed it, under tok.
func (w *peerWatcher) ctl(rc syscall.RawConn, op int, tok uint64) error {
	var ctlErr error
	err := rc.Control(func(fd uintptr) {
		ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLONESHOT}
		ev.Fd, ev.Pad = int32(uint32(tok)), int32(uint32(tok>>32))
		ctlErr = unix.EpollCtl(w.epfd, op, int(fd), &ev)
	})
	return errors.Join(err, ctlErr)
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
