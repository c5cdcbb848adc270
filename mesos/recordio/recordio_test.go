package recordio

import (
	"bytes"
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
)

// heartbeat is the spec's 23-byte heartbeat record.
var heartbeat = []byte{
	0x32, 0x30, 0x0a, 0x7b, 0x22, 0x74, 0x79, 0x70, 0x65, 0x22, 0x3a, 0x22,
	0x48, 0x45, 0x41, 0x52, 0x54, 0x42, 0x45, 0x41, 0x54, 0x22, 0x7d,
}

func readAll(t *testing.T, r *Reader) ([]string, error) {
	t.Helper()
	var out []string
	for {
		rec, err := r.ReadRecord()
		if err != nil {
			return out, err
		}
		out = append(out, string(rec))
	}
}

func TestWriter_Heartbeat(t *testing.T) {
	var buf bytes.Buffer
	if err := NewWriter(&buf).WriteRecord([]byte(`{"type":"HEARTBEAT"}`)); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), heartbeat) || len(heartbeat) != 23 {
		t.Fatalf("wrote %q, want %q", buf.Bytes(), heartbeat)
	}
}

func TestReader_Heartbeat(t *testing.T) {
	got, err := readAll(t, NewReader(bytes.NewReader(heartbeat)))
	if err != io.EOF {
		t.Fatalf("end of stream: %v, want io.EOF", err)
	}
	if len(got) != 1 || got[0] != `{"type":"HEARTBEAT"}` {
		t.Fatalf("records %q", got)
	}
}

func TestRoundTrip(t *testing.T) {
	records := []string{
		`{"type":"SUBSCRIBED","subscribed":{"framework_id":{"value":"M1-0000"}}}`,
		`{"type":"HEARTBEAT"}`,
		"x",
		strings.Repeat("payload with\nnewlines and 12\n digits ", 500),
	}
	var buf bytes.Buffer
	w := NewWriter(&buf)
	for _, rec := range records {
		if err := w.WriteRecord([]byte(rec)); err != nil {
			t.Fatal(err)
		}
	}
	for name, src := range map[string]io.Reader{
		"whole":        bytes.NewReader(buf.Bytes()),
		"one byte":     iotest.OneByteReader(bytes.NewReader(buf.Bytes())),
		"half":         iotest.HalfReader(bytes.NewReader(buf.Bytes())),
		"data and EOF": iotest.DataErrReader(bytes.NewReader(buf.Bytes())),
	} {
		t.Run(name, func(t *testing.T) {
			got, err := readAll(t, NewReader(src))
			if err != io.EOF {
				t.Fatalf("end of stream: %v, want io.EOF", err)
			}
			if strings.Join(got, "|") != strings.Join(records, "|") {
				t.Fatalf("read %d records, differing from the %d written", len(got), len(records))
			}
		})
	}
}

// chunkReader returns its data in the given chunk sizes, cycling.
type chunkReader struct {
	data  []byte
	sizes []int
	i     int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := c.sizes[c.i%len(c.sizes)]
	c.i++
	n = min(n, len(p), len(c.data))
	copy(p, c.data[:n])
	c.data = c.data[n:]
	return n, nil
}

func TestReader_ArbitraryChunks(t *testing.T) {
	stream := bytes.Repeat(heartbeat, 5)
	for _, sizes := range [][]int{{1}, {2}, {3, 7}, {22}, {23}, {24}, {1, 40, 5}} {
		got, err := readAll(t, NewReader(&chunkReader{data: stream, sizes: sizes}))
		if err != io.EOF || len(got) != 5 {
			t.Fatalf("chunks %v: %d records, %v", sizes, len(got), err)
		}
		for _, rec := range got {
			if rec != `{"type":"HEARTBEAT"}` {
				t.Fatalf("chunks %v: record %q", sizes, rec)
			}
		}
	}
}

func TestReader_Errors(t *testing.T) {
	cases := []struct {
		name    string
		in      string
		wantErr error
	}{
		{"empty stream", "", io.EOF},
		{"non-digit", "2x\n{}", ErrBadRecord},
		{"sign", "+2\n{}", ErrBadRecord},
		{"spaces", " 2\n{}", ErrBadRecord},
		{"CRLF", "2\r\n{}", ErrBadRecord},
		{"empty length", "\n{}", ErrBadRecord},
		{"zero length", "0\n", ErrBadRecord},
		{"zeros", "000\n", ErrBadRecord},
		{"huge length", "99999999999999999999999\n", ErrBadRecord},
		{"over limit", "1025\n", ErrBadRecord},
		{"truncated header", "12", io.ErrUnexpectedEOF},
		{"truncated payload", "20\n{\"type\":\"HEART", io.ErrUnexpectedEOF},
		{"header only", "5\n", io.ErrUnexpectedEOF},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := NewReader(strings.NewReader(tc.in))
			r.SetMaxRecord(1024)
			rec, err := r.ReadRecord()
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("ReadRecord(%q) = %q, %v; want %v", tc.in, rec, err, tc.wantErr)
			}
		})
	}
}

func TestReader_ErrorAfterGoodRecords(t *testing.T) {
	in := append(append([]byte(nil), heartbeat...), "3\nab"...)
	got, err := readAll(t, NewReader(bytes.NewReader(in)))
	if len(got) != 1 || err != io.ErrUnexpectedEOF {
		t.Fatalf("got %q, %v; want one record then io.ErrUnexpectedEOF", got, err)
	}
}

func TestReader_PassesThroughReadErrors(t *testing.T) {
	boom := errors.New("connection reset")
	r := NewReader(io.MultiReader(bytes.NewReader(heartbeat[:10]), iotest.ErrReader(boom)))
	if _, err := r.ReadRecord(); !errors.Is(err, boom) {
		t.Fatalf("err = %v, want %v", err, boom)
	}
}

func TestWriter_EmptyRecord(t *testing.T) {
	var buf bytes.Buffer
	if err := NewWriter(&buf).WriteRecord(nil); err == nil || buf.Len() != 0 {
		t.Fatalf("empty record: err %v, wrote %q", err, buf.Bytes())
	}
}

func TestWriter_FlushesEachRecord(t *testing.T) {
	rec := httptest.NewRecorder()
	w := NewWriter(rec)
	if err := w.WriteRecord([]byte(`{"type":"HEARTBEAT"}`)); err != nil {
		t.Fatal(err)
	}
	if !rec.Flushed {
		t.Fatal("record not flushed to the client")
	}
	if !bytes.Equal(rec.Body.Bytes(), heartbeat) {
		t.Fatalf("body %q", rec.Body.Bytes())
	}
}

// flushCounter counts the flushes of a response writer.
type flushCounter struct {
	bytes.Buffer
	flushes int
}

func (f *flushCounter) Flush() { f.flushes++ }

func TestWriter_RecordsOfABurstFlushOnce(t *testing.T) {
	var out flushCounter
	w := NewWriter(&out)
	if err := w.WriteRecords([][]byte{[]byte("abc"), []byte(`{"type":"HEARTBEAT"}`), []byte("de")}); err != nil {
		t.Fatal(err)
	}
	if out.flushes != 1 {
		t.Fatalf("%d flushes for one burst, want 1", out.flushes)
	}
	got, err := readAll(t, NewReader(&out.Buffer))
	if err != io.EOF || len(got) != 3 || string(got[0]) != "abc" || string(got[2]) != "de" {
		t.Fatalf("read %q, %v", got, err)
	}
	if err := w.WriteRecords([][]byte{[]byte("x"), nil}); err == nil || out.Len() != 0 || out.flushes != 1 {
		t.Fatalf("a burst with an empty record: err %v, wrote %q, %d flushes", err, out.Bytes(), out.flushes)
	}
}

func TestWriter_ConcurrentRecordsDoNotInterleave(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 50; j++ {
				_ = w.WriteRecord([]byte(strings.Repeat("y", 100+j)))
			}
		}()
	}
	wg.Wait()
	got, err := readAll(t, NewReader(&buf))
	if err != io.EOF || len(got) != 400 {
		t.Fatalf("read %d records, %v", len(got), err)
	}
}

func FuzzReader(f *testing.F) {
	f.Add(heartbeat)
	f.Add([]byte("3\nabc2\nde"))
	f.Add([]byte("0\n"))
	f.Add([]byte("99999999999999999999\n"))
	f.Add([]byte("5\nab"))
	f.Add([]byte("x\n"))
	const max = 256
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewReader(bytes.NewReader(data))
		r.SetMaxRecord(max)
		var total int
		for {
			rec, err := r.ReadRecord()
			if err != nil {
				if err != io.EOF && err != io.ErrUnexpectedEOF && !errors.Is(err, ErrBadRecord) {
					t.Fatalf("unexpected error kind %v", err)
				}
				break
			}
			if len(rec) == 0 || len(rec) > max {
				t.Fatalf("record of %d bytes, limit %d", len(rec), max)
			}
			total += len(rec)
		}
		if total > len(data) {
			t.Fatalf("read %d payload bytes from %d input bytes", total, len(data))
		}
	})
}

// TestReader_LargeRecordAcrossChunks: a record larger than what is
// allocated ahead of its bytes is read whole, a byte at a time too.
func TestReader_LargeRecordAcrossChunks(t *testing.T) {
	payload := bytes.Repeat([]byte("0123456789abcdef"), 300<<10/16)
	var stream bytes.Buffer
	if err := NewWriter(&stream).WriteRecord(payload); err != nil {
		t.Fatal(err)
	}
	got, err := NewReader(iotest.OneByteReader(&stream)).ReadRecord()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, payload) {
		t.Fatalf("read %d bytes, not the %d written", len(got), len(payload))
	}
}

// TestReader_OneAllocationPerRecord: a record's payload is allocated once,
// at its size.
func TestReader_OneAllocationPerRecord(t *testing.T) {
	rec := append([]byte("1024\n"), bytes.Repeat([]byte("x"), 1024)...)
	src := bytes.NewReader(nil)
	r := NewReader(src)
	allocs := testing.AllocsPerRun(100, func() {
		src.Reset(rec)
		if b, err := r.ReadRecord(); err != nil || len(b) != 1024 || cap(b) != 1024 {
			t.Fatalf("ReadRecord = %d bytes (cap %d), %v", len(b), cap(b), err)
		}
	})
	if allocs > 1 {
		t.Fatalf("%v allocations per record, want 1", allocs)
	}
}
