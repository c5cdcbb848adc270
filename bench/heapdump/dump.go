package main

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// A heap dump, as runtime/debug.WriteHeapDump writes it: a header line,
// then records, each a varint tag and its fields (varints, and strings
// as a varint length and the bytes), until the EOF record. Only objects
// matter here; every other record is read to be skipped. The layout is
// the runtime's (runtime/heapdump.go), unchanged since Go 1.7.

const dumpHeader = "go1.7 heap dump\n"

// The records' tags.
const (
	tagEOF             = 0
	tagObject          = 1
	tagOtherRoot       = 2
	tagType            = 3
	tagGoroutine       = 4
	tagStackFrame      = 5
	tagParams          = 6
	tagFinalizer       = 7
	tagItab            = 8
	tagOSThread        = 9
	tagMemStats        = 10
	tagQueuedFinalizer = 11
	tagData            = 12
	tagBSS             = 13
	tagDefer           = 14
	tagPanic           = 15
	tagMemProf         = 16
	tagAllocSample     = 17
)

// memStatsFields is how many varints a MemStats record holds: 24 figures,
// the 256 recent pause times and the number of collections.
const memStatsFields = 24 + 256 + 1

// maxDumpString bounds one string of a dump (an object's contents, a
// frame's): no heap object a dump can hold is larger than the address
// space a test or tool reads.
const maxDumpString = 1 << 34

// Object is one allocated heap object: its address and its contents
// (the whole slot of its size class).
type Object struct {
	Addr uint64
	Data []byte
}

// dumpReader reads a dump's fields.
type dumpReader struct {
	r   *bufio.Reader
	buf []byte
}

func (d *dumpReader) uvarint() (uint64, error) {
	v, err := binary.ReadUvarint(d.r)
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return v, err
}

// skip reads n varints.
func (d *dumpReader) skip(n int) error {
	for range n {
		if _, err := d.uvarint(); err != nil {
			return err
		}
	}
	return nil
}

// bytes reads a string; keep says whether to return it (in a buffer
// reused by the next call) or discard it.
func (d *dumpReader) bytes(keep bool) ([]byte, error) {
	n, err := d.uvarint()
	if err != nil {
		return nil, err
	}
	if n > maxDumpString {
		return nil, fmt.Errorf("a string of %d bytes", n)
	}
	if !keep {
		if _, err := d.r.Discard(int(n)); err != nil {
			return nil, io.ErrUnexpectedEOF
		}
		return nil, nil
	}
	// Read in chunks: a length is only trusted as far as the bytes are
	// there.
	d.buf = d.buf[:0]
	for uint64(len(d.buf)) < n {
		chunk := min(n-uint64(len(d.buf)), 1<<20)
		start := len(d.buf)
		d.buf = append(d.buf, make([]byte, chunk)...)
		if _, err := io.ReadFull(d.r, d.buf[start:]); err != nil {
			return nil, io.ErrUnexpectedEOF
		}
	}
	return d.buf, nil
}

// fields reads a field list: (kind, offset) pairs until kind 0.
func (d *dumpReader) fields() error {
	for {
		kind, err := d.uvarint()
		if err != nil || kind == 0 {
			return err
		}
		if _, err := d.uvarint(); err != nil {
			return err
		}
	}
}

// ReadObjects calls fn for every object of the dump r, in the dump's
// order (span by span). The Object's Data is valid only during the call.
func ReadObjects(r io.Reader, fn func(Object) error) error {
	d := &dumpReader{r: bufio.NewReaderSize(r, 1<<20)}
	hdr := make([]byte, len(dumpHeader))
	if _, err := io.ReadFull(d.r, hdr); err != nil || string(hdr) != dumpHeader {
		return fmt.Errorf("not a Go heap dump: it does not start with %q", dumpHeader)
	}
	for {
		tag, err := d.uvarint()
		if err != nil {
			return fmt.Errorf("reading a record's tag: %w", err)
		}
		if tag == tagEOF {
			return nil
		}
		if tag == tagObject {
			addr, err := d.uvarint()
			if err != nil {
				return err
			}
			data, err := d.bytes(true)
			if err != nil {
				return fmt.Errorf("object %#x: %w", addr, err)
			}
			if err := d.fields(); err != nil {
				return fmt.Errorf("object %#x: %w", addr, err)
			}
			if err := fn(Object{Addr: addr, Data: data}); err != nil {
				return err
			}
			continue
		}
		if err := d.skipRecord(tag); err != nil {
			return fmt.Errorf("record of tag %d: %w", tag, err)
		}
	}
}

// skipRecord reads the rest of a record other than an object.
func (d *dumpReader) skipRecord(tag uint64) error {
	// Each record is a sequence of these steps: n varints, a string, or a
	// field list.
	type step struct {
		ints   int
		str    bool
		fields bool
	}
	ints := func(n int) step { return step{ints: n} }
	str, fields := step{str: true}, step{fields: true}
	var steps []step
	switch tag {
	case tagOtherRoot:
		steps = []step{str, ints(1)}
	case tagType:
		steps = []step{ints(2), str, ints(1)}
	case tagGoroutine:
		steps = []step{ints(8), str, ints(4)}
	case tagStackFrame:
		steps = []step{ints(3), str, ints(3), str, fields}
	case tagParams:
		steps = []step{ints(4), str, str, ints(1)}
	case tagFinalizer, tagQueuedFinalizer:
		steps = []step{ints(5)}
	case tagItab, tagAllocSample:
		steps = []step{ints(2)}
	case tagOSThread:
		steps = []step{ints(3)}
	case tagMemStats:
		steps = []step{ints(memStatsFields)}
	case tagData, tagBSS:
		steps = []step{ints(1), str, fields}
	case tagDefer:
		steps = []step{ints(7)}
	case tagPanic:
		steps = []step{ints(6)}
	case tagMemProf:
		return d.skipMemProf()
	default:
		return fmt.Errorf("unknown record tag %d", tag)
	}
	for _, s := range steps {
		var err error
		switch {
		case s.str:
			_, err = d.bytes(false)
		case s.fields:
			err = d.fields()
		default:
			err = d.skip(s.ints)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// skipMemProf reads a memory profile bucket: its address, size and
// number of frames, each frame's function, file and line, then its
// allocation and free counts.
func (d *dumpReader) skipMemProf() error {
	if err := d.skip(2); err != nil {
		return err
	}
	frames, err := d.uvarint()
	if err != nil {
		return err
	}
	for range frames {
		if _, err := d.bytes(false); err != nil {
			return err
		}
		if _, err := d.bytes(false); err != nil {
			return err
		}
		if err := d.skip(1); err != nil {
			return err
		}
	}
	return d.skip(2)
}
