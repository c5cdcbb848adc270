package server

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
)

// chunkedRecords decodes, as its bytes arrive, a request body in chunked
// transfer coding (RFC 9112 §7.1) whose content is RecordIO records: a
// pong stream read from a connection taken over from net/http. It keeps
// only a line or a record read in part, each bounded.
type chunkedRecords struct {
	state     chunkState
	left      int64  // bytes of the current chunk's data still to come
	line      []byte // a size or trailer line read in part
	content   []byte // a record read in part
	maxRecord int
}

type chunkState uint8

const (
	chunkSize    chunkState = iota // reading a chunk-size line
	chunkData                      // reading a chunk's data
	chunkDataEnd                   // reading the CRLF after a chunk's data
	chunkTrailer                   // reading trailer lines after the last chunk
	chunkDone                      // the body has ended
)

// maxChunkLine bounds a chunk-size line (with its extensions) and a
// trailer line.
const maxChunkLine = 4096

// maxRecordHeader bounds a record's length line: 20 decimal digits.
const maxRecordHeader = 20

// feed decodes p, calling emit with each record completed (emit must not
// keep it). It returns io.EOF once the body has ended (what follows in p
// is not read), and an error saying what is wrong with a malformed body
// or a record over maxRecord bytes; after either, feed must not be called
// again.
func (d *chunkedRecords) feed(p []byte, emit func([]byte) error) error {
	for len(p) > 0 && d.state != chunkDone {
		switch d.state {
		case chunkSize, chunkDataEnd, chunkTrailer:
			line, rest, err := d.readLine(p)
			if err != nil {
				return err
			}
			p = rest
			if line == nil {
				return nil // the line goes on in what comes next
			}
			if err := d.endLine(line); err != nil {
				return err
			}
		case chunkData:
			n := int(min(d.left, int64(len(p))))
			if err := d.records(p[:n], emit); err != nil {
				return err
			}
			p, d.left = p[n:], d.left-int64(n)
			if d.left == 0 {
				d.state = chunkDataEnd
			}
		}
	}
	if d.state == chunkDone {
		return io.EOF
	}
	return nil
}

// readLine takes a line ending in CRLF from p, joined to what came
// before; nil while it has not ended.
func (d *chunkedRecords) readLine(p []byte) (line, rest []byte, err error) {
	i := bytes.IndexByte(p, '\n')
	n := i // the line's bytes in p
	if i < 0 {
		n = len(p)
	}
	if len(d.line)+n > maxChunkLine {
		return nil, nil, fmt.Errorf("malformed chunked body: a line longer than %d bytes", maxChunkLine)
	}
	if i < 0 {
		d.line = append(d.line, p...)
		return nil, nil, nil
	}
	line = p[:i]
	if len(d.line) > 0 {
		line = append(d.line, line...)
		d.line = nil
	}
	if len(line) == 0 || line[len(line)-1] != '\r' {
		return nil, nil, fmt.Errorf("malformed chunked body: a line ends without CRLF")
	}
	return line[:len(line)-1], p[i+1:], nil
}

// endLine acts on a whole line (without its CRLF).
func (d *chunkedRecords) endLine(line []byte) error {
	switch d.state {
	case chunkDataEnd:
		if len(line) != 0 {
			return fmt.Errorf("malformed chunked body: %d bytes after a chunk's data", len(line))
		}
		d.state = chunkSize
	case chunkTrailer:
		if len(line) == 0 {
			d.state = chunkDone
			if len(d.content) > 0 {
				return fmt.Errorf("the body ended inside a record")
			}
		}
	default:
		size, err := chunkSizeOf(line)
		if err != nil {
			return err
		}
		if size == 0 {
			d.state = chunkTrailer
		} else {
			d.state, d.left = chunkData, size
		}
	}
	return nil
}

// chunkSizeOf parses a chunk-size line: hex digits only (no sign, as
// RFC 9112 has it), then optional extensions after ';'.
func chunkSizeOf(line []byte) (int64, error) {
	if i := bytes.IndexByte(line, ';'); i >= 0 {
		line = line[:i]
	}
	line = bytes.TrimRight(line, " \t")
	if len(line) == 0 || len(line) > 15 {
		return 0, fmt.Errorf("malformed chunked body: chunk size %q", line)
	}
	var size int64
	for _, c := range line {
		var v byte
		switch {
		case '0' <= c && c <= '9':
			v = c - '0'
		case 'a' <= c && c <= 'f':
			v = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			v = c - 'A' + 10
		default:
			return 0, fmt.Errorf("malformed chunked body: chunk size %q", line)
		}
		size = size<<4 | int64(v)
	}
	return size, nil
}

// records appends data to the record in part and emits every record
// completed.
func (d *chunkedRecords) records(data []byte, emit func([]byte) error) error {
	b := data
	if len(d.content) > 0 {
		d.content = append(d.content, data...)
		b = d.content
	}
	for len(b) > 0 {
		i := bytes.IndexByte(b[:min(len(b), maxRecordHeader+1)], '\n')
		if i < 0 {
			if len(b) > maxRecordHeader {
				return fmt.Errorf("malformed RecordIO: no record length in the first %d bytes", maxRecordHeader)
			}
			break
		}
		n, err := strconv.ParseUint(string(b[:i]), 10, 64)
		if err != nil {
			return fmt.Errorf("malformed RecordIO: record length %q", b[:i])
		}
		if n > uint64(d.maxRecord) {
			return fmt.Errorf("a record of %d bytes is over the limit of %d", n, d.maxRecord)
		}
		if uint64(len(b)-i-1) < n {
			break
		}
		if err := emit(b[i+1 : i+1+int(n)]); err != nil {
			return err
		}
		b = b[i+1+int(n):]
	}
	if len(b) == 0 {
		d.content = nil // nothing kept between records
	} else {
		d.content = append([]byte(nil), b...)
	}
	return nil
}
