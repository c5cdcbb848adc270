package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

// marked are objects of 48 bytes with known contents, kept alive while
// the test dumps its own heap.
var marked []*[48]byte

// TestReadObjects_ItsOwnHeap: a dump of this process' heap reads through
// to its end, with every marked object in it, in pages of the class.
func TestReadObjects_ItsOwnHeap(t *testing.T) {
	const n = 500
	marked = nil
	for i := range n {
		var b [48]byte
		copy(b[:], "heapdump-test-marker-")
		b[47] = byte(i)
		marked = append(marked, &b)
	}
	path := filepath.Join(t.TempDir(), "self.dump")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	debug.WriteHeapDump(f.Fd())
	f.Close()
	runtime.KeepAlive(marked)

	f, err = os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	occ, err := readOccupancy(f, map[uint64]bool{48: true})
	if err != nil {
		t.Fatal(err)
	}
	f.Seek(0, 0)
	found := 0
	if err := ReadObjects(f, func(o Object) error {
		if len(o.Data) == 48 && bytes.HasPrefix(o.Data, []byte("heapdump-test-marker-")) {
			found++
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if found != n {
		t.Fatalf("found %d marked objects, want %d", found, n)
	}
	c := occ.classes[48]
	if c == nil || c.objects < n || len(c.samples) == 0 || c.pageBytes() < n*48 {
		t.Fatalf("the 48-byte class read as %+v", c)
	}
	var out strings.Builder
	occ.write(&out, 5)
	if !strings.Contains(out.String(), "live objects") || !strings.Contains(out.String(), "objects of 48 bytes, a sample") {
		t.Fatalf("report:\n%s", out.String())
	}
}

// record builds a dump record of varints and strings.
func record(parts ...any) []byte {
	var b []byte
	for _, p := range parts {
		switch v := p.(type) {
		case int:
			b = binary.AppendUvarint(b, uint64(v))
		case string:
			b = binary.AppendUvarint(b, uint64(len(v)))
			b = append(b, v...)
		}
	}
	return b
}

func dump(records ...[]byte) []byte {
	return append([]byte(dumpHeader), bytes.Join(records, nil)...)
}

func TestReadObjects_BadDumps(t *testing.T) {
	object := record(tagObject, 0x1000, "abcdefgh", 1, 0, 0)
	for name, c := range map[string]struct {
		dump []byte
		want string
	}{
		"not a dump":      {[]byte("hello"), "not a Go heap dump"},
		"no EOF record":   {dump(object), "unexpected EOF"},
		"cut in a string": {dump(record(tagObject, 0x1000, 9))[:len(dumpHeader)+4], "unexpected EOF"},
		"unknown tag":     {dump(record(99)), "unknown record tag 99"},
		"a huge string":   {dump(record(tagObject, 0x1000, 1<<40)), "a string of"},
	} {
		err := ReadObjects(bytes.NewReader(c.dump), func(Object) error { return nil })
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error with %q", name, err, c.want)
		}
	}
	var got []Object
	err := ReadObjects(bytes.NewReader(dump(record(tagParams, 0, 8, 0, 0, "amd64", "go1", 2), object, record(tagEOF))), func(o Object) error {
		got = append(got, Object{Addr: o.Addr, Data: append([]byte(nil), o.Data...)})
		return nil
	})
	if err != nil || len(got) != 1 || got[0].Addr != 0x1000 || string(got[0].Data) != "abcdefgh" {
		t.Fatalf("a small dump read as %+v, %v", got, err)
	}
	stop := errors.New("stop")
	if err := ReadObjects(bytes.NewReader(dump(object, record(tagEOF))), func(Object) error { return stop }); !errors.Is(err, stop) {
		t.Fatalf("fn's error came back as %v", err)
	}
}

func FuzzReadObjects(f *testing.F) {
	f.Add(dump(record(tagEOF)))
	f.Add(dump(record(tagObject, 0x1000, "abcdefgh", 1, 0, 0), record(tagEOF)))
	f.Add(dump(record(tagMemProf, 1, 48, 2, "f", "file.go", 3, "g", "file.go", 4, 10, 2), record(tagEOF)))
	f.Add(dump(record(tagStackFrame, 1, 0, 0, "frame", 1, 2, 3, "main.f", 1, 8, 0), record(tagEOF)))
	f.Fuzz(func(t *testing.T, b []byte) {
		n := 0
		_ = ReadObjects(bytes.NewReader(b), func(o Object) error {
			n += len(o.Data)
			return nil
		})
		if n > len(b) {
			t.Fatalf("%d bytes of objects from a dump of %d", n, len(b))
		}
	})
}
