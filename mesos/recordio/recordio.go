// Package recordio reads and writes Mesos RecordIO streams: each record is
// its payload length in ASCII decimal, a line feed, then the payload.
package recordio

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
)

// DefaultMaxRecord bounds a record's size so a corrupt or hostile length
// cannot make a reader allocate without limit.
const DefaultMaxRecord = 64 << 20

// ErrBadRecord is returned for a malformed length header.
var ErrBadRecord = errors.New("recordio: malformed record header")

// Writer writes records and flushes them to the wire at once.
type Writer struct {
	mu sync.Mutex
	w  io.Writer
	f  http.Flusher
}

// NewWriter returns a Writer on w; when w is an http.Flusher every write
// of records is flushed as it is made.
func NewWriter(w io.Writer) *Writer {
	f, _ := w.(http.Flusher)
	return &Writer{w: w, f: f}
}

// WriteRecord writes one record. It is safe for concurrent use.
func (w *Writer) WriteRecord(payload []byte) error {
	return w.WriteRecords([][]byte{payload})
}

// WriteRecords writes records one after another and flushes them
// together: a burst of events costs one flush (and, below the
// connection's buffer size, one system call) instead of one per record.
// It is safe for concurrent use. An empty record is an error, and then
// nothing is written.
func (w *Writer) WriteRecords(payloads [][]byte) error {
	for _, p := range payloads {
		if len(p) == 0 {
			return errors.New("recordio: empty record")
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	var head [21]byte
	for _, p := range payloads {
		h := strconv.AppendInt(head[:0], int64(len(p)), 10)
		h = append(h, '\n')
		if _, err := w.w.Write(h); err != nil {
			return err
		}
		if _, err := w.w.Write(p); err != nil {
			return err
		}
	}
	if w.f != nil {
		w.f.Flush()
	}
	return nil
}

// Reader reads records, reassembling them across arbitrary chunk
// boundaries.
type Reader struct {
	r   *bufio.Reader
	max uint64
}

// NewReader returns a Reader on r with DefaultMaxRecord.
func NewReader(r io.Reader) *Reader {
	return &Reader{r: bufio.NewReader(r), max: DefaultMaxRecord}
}

// SetMaxRecord changes the largest record the reader accepts.
func (r *Reader) SetMaxRecord(n uint64) { r.max = n }

// ReadRecord returns the next record's payload. It returns io.EOF at a clean
// end of stream, io.ErrUnexpectedEOF for a truncated record and an error
// wrapping ErrBadRecord for a malformed header.
func (r *Reader) ReadRecord() ([]byte, error) {
	var n uint64
	digits := 0
	for {
		c, err := r.r.ReadByte()
		if err != nil {
			if err == io.EOF && digits > 0 {
				return nil, io.ErrUnexpectedEOF
			}
			return nil, err
		}
		if c == '\n' {
			break
		}
		if c < '0' || c > '9' {
			return nil, fmt.Errorf("%w: unexpected byte %q in length", ErrBadRecord, c)
		}
		digits++
		if digits > 20 || n > (^uint64(0)-9)/10 {
			return nil, fmt.Errorf("%w: length too long", ErrBadRecord)
		}
		n = n*10 + uint64(c-'0')
	}
	if digits == 0 {
		return nil, fmt.Errorf("%w: empty length", ErrBadRecord)
	}
	if n == 0 {
		return nil, fmt.Errorf("%w: zero length", ErrBadRecord)
	}
	if n > r.max {
		return nil, fmt.Errorf("%w: record of %d bytes exceeds the limit of %d", ErrBadRecord, n, r.max)
	}
	// The payload is read into a buffer of its announced size, up to
	// recordChunk at a time: a hostile length costs nothing until the data
	// is really sent. (A bytes.Buffer filled by io.CopyN allocated every
	// record twice, growing once more at its end to look for more.)
	buf := make([]byte, 0, min(n, recordChunk))
	for uint64(len(buf)) < n {
		if len(buf) == cap(buf) {
			grown := make([]byte, len(buf), min(n, 2*uint64(cap(buf))))
			copy(grown, buf)
			buf = grown
		}
		m, err := io.ReadFull(r.r, buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+m]
		if err == io.EOF { // the stream ended within the record
			err = io.ErrUnexpectedEOF
		}
		if err != nil {
			return nil, err
		}
	}
	return buf, nil
}

// recordChunk is how much of a record's payload is allocated before its
// bytes arrive.
const recordChunk = 64 << 10
