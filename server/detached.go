package server

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
)

// A detached stream serves an outbox on a connection taken over from
// net/http once the stream's response has begun (its header and first
// events written and flushed, in chunked transfer coding). An agent's
// command stream is idle nearly all of its life, and net/http keeps for
// each open response a goroutine (the handler's, its stack grown by the
// middleware), a second one reading in the background, 4 KiB read and
// 4 KiB write buffers and the request. A detached stream keeps the
// connection and a timer; the process' epoll set tells it when its client
// closes the connection (elsewhere, one small goroutine blocked in a read
// does). Events are
// written by a goroutine started when some wait and gone once they are
// written. The bytes on the wire are the same: each burst of records is
// one chunk, and the stream ends with the last chunk.
type detachedStream[T any] struct {
	conn      net.Conn
	o         *outbox[T]
	mediaType string
	heartbeat T
	interval  time.Duration
	onEnd     func()

	// writing is set while a goroutine writes; it stays set once the
	// stream has ended.
	writing atomic.Bool
	// broken is set once a write has failed (by the writer only).
	broken bool
	// aborted is set when the outbox cuts the stream short: its client is
	// not taking what it is sent.
	aborted  atomic.Bool
	beat     *time.Timer
	stopTerm func() bool
	// unwatch stops watching for the client's close.
	unwatch func()
}

// detachStream takes w's connection over and serves o on it until the
// outbox closes (its final event written), the client closes the
// connection, a write fails or term ends; then onEnd runs, once. It
// returns false, having taken nothing over, when the connection cannot be
// taken (HTTP/2, or a writer that does not reach one): the caller serves
// the stream itself.
func detachStream[T any](w http.ResponseWriter, mediaType string, o *outbox[T], heartbeat T, interval time.Duration, term context.Context, onEnd func()) bool {
	rc := http.NewResponseController(w)
	if err := rc.Flush(); err != nil {
		return false
	}
	conn, _, err := rc.Hijack()
	if err != nil {
		return false
	}
	d := &detachedStream[T]{conn: conn, o: o, mediaType: mediaType, heartbeat: heartbeat, interval: interval, onEnd: onEnd}
	o.setAbort(d.abort)
	d.beat = time.AfterFunc(interval, d.tick)
	d.stopTerm = context.AfterFunc(term, func() { o.close(nil) })
	if stop, ok := watchPeerClose(conn, func() { o.close(nil) }); ok {
		d.unwatch = stop
	} else {
		d.unwatch = func() {}
		go d.watch()
	}
	o.setWake(d.kick)
	d.kick() // what was queued before
	return true
}

// watch closes the stream when the client closes the connection (or
// sends anything at all on it: a command stream's client only reads).
func (d *detachedStream[T]) watch() {
	var b [1]byte
	_, _ = d.conn.Read(b[:])
	d.o.close(nil)
}

// tick queues a heartbeat every interval.
func (d *detachedStream[T]) tick() {
	if d.o.push(d.heartbeat, nil) {
		d.beat.Reset(d.interval)
	}
}

// kick starts a writer unless one runs.
func (d *detachedStream[T]) kick() {
	if d.writing.CompareAndSwap(false, true) {
		go d.write()
	}
}

// write writes what waits, until nothing does; at the outbox's end it
// ends the stream and stays the writer for good.
func (d *detachedStream[T]) write() {
	for {
		select {
		case <-d.o.done:
			d.end()
			return
		default:
		}
		evs := d.o.take()
		for len(evs) > 0 {
			n := min(len(evs), maxEventsPerWrite)
			if err := d.writeChunk(evs[:n]); err != nil {
				d.broken = true
				d.o.close(nil)
				break
			}
			evs = evs[n:]
		}
		d.writing.Store(false)
		// A push between take and Store found a writer running and left
		// its events to it: look again.
		if !d.o.pending() || !d.writing.CompareAndSwap(false, true) {
			return
		}
	}
}

// writeChunk writes events as one chunk of records, unless the stream
// has been cut short.
func (d *detachedStream[T]) writeChunk(evs []T) error {
	b, err := d.encodeChunk(evs)
	if err != nil {
		return err
	}
	_ = d.conn.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
	// After the deadline is set: an abort from now on moves it to the past.
	if d.aborted.Load() {
		return errStreamAborted
	}
	_, err = d.conn.Write(b)
	return err
}

// abort cuts a write in progress, or the next one, short.
func (d *detachedStream[T]) abort() {
	d.aborted.Store(true)
	_ = d.conn.SetWriteDeadline(time.Now())
}

var errStreamAborted = errors.New("the stream was cut short")

// encodeChunk encodes events as one chunk of records. The records are
// encoded after room for the chunk's size line, which is written into
// that room once their length is known: one buffer, one write.
func (d *detachedStream[T]) encodeChunk(evs []T) ([]byte, error) {
	var b bytes.Buffer
	var room [chunkHeadRoom]byte
	b.Write(room[:])
	if err := writeEvents(newEventWriter(&b, d.mediaType), evs); err != nil {
		return nil, err
	}
	b.WriteString("\r\n")
	return chunkFramed(b.Bytes()), nil
}

// chunkHeadRoom is room for a chunk's size line: 16 hex digits and CRLF.
const chunkHeadRoom = 18

// chunkFramed writes the size line of the chunk that follows
// chunkHeadRoom bytes of room in b (and ends with CRLF) at the end of that
// room, and returns the framed chunk.
func chunkFramed(b []byte) []byte {
	size := len(b) - chunkHeadRoom - 2
	var line [chunkHeadRoom]byte
	head := append(strconv.AppendInt(line[:0], int64(size), 16), "\r\n"...)
	start := chunkHeadRoom - len(head)
	copy(b[start:], head)
	return b[start:]
}

// end writes the outbox's final event, if it has one, and the last chunk,
// unless a write has failed; then it closes the connection and runs
// onEnd. Without a final event the last chunk gets streamEndTimeout: a
// client that is not reading is not waited for.
func (d *detachedStream[T]) end() {
	d.beat.Stop()
	d.stopTerm()
	d.o.setWake(nil)
	if !d.broken {
		var b []byte
		timeout := streamEndTimeout
		if ev := d.o.finalEvent(); ev != nil {
			if c, err := d.encodeChunk([]T{*ev}); err == nil {
				b, timeout = c, streamWriteTimeout
			}
		}
		_ = d.conn.SetWriteDeadline(time.Now().Add(timeout))
		_, _ = d.conn.Write(append(b, lastChunk...))
	}
	d.unwatch()
	_ = d.conn.Close()
	d.onEnd()
}

// streamEndTimeout bounds the write of a stream's last chunk.
const streamEndTimeout = time.Second

// lastChunk ends a chunked response (with no trailer).
const lastChunk = "0\r\n\r\n"
