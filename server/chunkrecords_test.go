package server

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
)

// rec encodes payload as one RecordIO record.
func rec(payload string) string { return fmt.Sprintf("%d\n%s", len(payload), payload) }

// chunk encodes data as one chunk (lower-case hex size, no extensions).
func chunk(data string) string { return fmt.Sprintf("%x\r\n%s\r\n", len(data), data) }

// chunked encodes content as a whole chunked body: chunks of the given
// sizes, the rest of content (if any) in one more chunk, then the last
// chunk and the final CRLF.
func chunked(content string, sizes ...int) string {
	var b strings.Builder
	for _, n := range sizes {
		n = min(n, len(content))
		if n == 0 {
			break
		}
		b.WriteString(chunk(content[:n]))
		content = content[n:]
	}
	if content != "" {
		b.WriteString(chunk(content))
	}
	b.WriteString("0\r\n\r\n")
	return b.String()
}

// decodeParts feeds parts in order to a new decoder until feed returns
// non-nil, and returns the records emitted and feed's last result. Each
// part is passed in a scratch buffer overwritten once feed returns, as a
// connection's read buffer is: a decoder that kept part of it would
// decode garbage.
func decodeParts(maxRecord int, parts ...[]byte) (records []string, err error) {
	d := &chunkedRecords{maxRecord: maxRecord}
	emit := func(r []byte) error {
		records = append(records, string(r))
		return nil
	}
	for _, p := range parts {
		buf := append([]byte(nil), p...)
		err = d.feed(buf, emit)
		for i := range buf {
			buf[i] = 'X'
		}
		if err != nil {
			return records, err
		}
	}
	return records, nil
}

// feedings is every way a test feeds body: whole, split in two at every
// byte boundary, and one byte at a time.
func feedings(body string) map[string][][]byte {
	b := []byte(body)
	ways := map[string][][]byte{"whole": {b}}
	for k := 0; k <= len(b); k++ {
		ways[fmt.Sprintf("split at %d", k)] = [][]byte{b[:k], b[k:]}
	}
	bytewise := make([][]byte, len(b))
	for i := range b {
		bytewise[i] = b[i : i+1]
	}
	ways["byte by byte"] = bytewise
	return ways
}

type wellFormedBody struct {
	name    string
	body    string
	records []string
}

func wellFormedBodies() []wellFormedBody {
	long := strings.Repeat("x", 23) // with its header, 26 = 0x1a bytes
	return []wellFormedBody{
		{"one record in one chunk", chunked(rec("hello")), []string{"hello"}},
		{"a record spanning several chunks", chunked(rec("hello, world"), 1, 1, 2, 3, 4), []string{"hello, world"}},
		{"a record chunked byte by byte", chunked(rec("abcdef"), 1, 1, 1, 1, 1, 1, 1, 1), []string{"abcdef"}},
		{"several records in one chunk", chunked(rec("a") + rec("bc") + rec("def")), []string{"a", "bc", "def"}},
		{"records across chunks at odd sizes", chunked(rec("alpha")+rec("beta")+rec("gamma"), 3, 7, 1, 5), []string{"alpha", "beta", "gamma"}},
		{"chunk extensions", "5;name=val\r\n3\nabc\r\n" + "3 ; a=\"b c\";d\r\n1\nz\r\n" + "0;last=yes\r\n\r\n", []string{"abc", "z"}},
		{"lower-case hex size", "1a\r\n" + rec(long) + "\r\n0\r\n\r\n", []string{long}},
		{"upper-case hex size", "1A\r\n" + rec(long) + "\r\n0\r\n\r\n", []string{long}},
		{"hex size with leading zeros", "0005\r\n3\nabc\r\n000\r\n\r\n", []string{"abc"}},
		{"trailers after the last chunk", chunk(rec("hi")) + "0\r\nExpires: never\r\nX-Note: a;b\r\n\r\n", []string{"hi"}},
		{"an empty record", chunked(rec("") + rec("x") + rec("")), []string{"", "x", ""}},
		{"only an empty record", chunked("0\n"), []string{""}},
		{"only the last chunk", "0\r\n\r\n", nil},
		{"a record length of 20 digits", chunked("00000000000000000003\nabc"), []string{"abc"}},
		{"a record of maxRecord bytes", chunked(rec(strings.Repeat("m", 64)), 10, 10), []string{strings.Repeat("m", 64)}},
	}
}

func TestChunkedRecords_WellFormed(t *testing.T) {
	for _, tc := range wellFormedBodies() {
		t.Run(tc.name, func(t *testing.T) {
			for way, parts := range feedings(tc.body) {
				got, err := decodeParts(64, parts...)
				if err != io.EOF {
					t.Errorf("%s: feed returned %v, want io.EOF", way, err)
				}
				if !slices.Equal(got, tc.records) {
					t.Errorf("%s: records %q, want %q", way, got, tc.records)
				}
			}
		})
	}
}

func TestChunkedRecords_UnfinishedBodyWantsMore(t *testing.T) {
	body := chunked(rec("hello")+rec("world"), 4)
	end := strings.LastIndex(body, "0\r\n\r\n")
	for k := 0; k < len(body); k++ {
		got, err := decodeParts(64, []byte(body[:k]))
		if err != nil {
			t.Fatalf("fed %q: %v, want nil", body[:k], err)
		}
		if len(got) > 2 || (k >= end && len(got) != 2) {
			t.Fatalf("fed %q: records %q", body[:k], got)
		}
	}
}

func TestChunkedRecords_StopsAtTheEnd(t *testing.T) {
	body := chunked(rec("first"), 2) + "0\r\nX-Trailer: t\r\n\r\n"
	after := chunk(rec("second")) + "0\r\n\r\n" + "5\nhello"
	want := []string{"first"}

	t.Run("in the same feed", func(t *testing.T) {
		for way, parts := range feedings(body + after) {
			got, err := decodeParts(64, parts...)
			if err != io.EOF || !slices.Equal(got, want) {
				t.Errorf("%s: records %q, %v; want %q, io.EOF", way, got, err, want)
			}
		}
	})
	t.Run("in later feeds", func(t *testing.T) {
		d := &chunkedRecords{maxRecord: 64}
		var got []string
		emit := func(r []byte) error { got = append(got, string(r)); return nil }
		if err := d.feed([]byte(body), emit); err != io.EOF {
			t.Fatalf("feed(body) = %v, want io.EOF", err)
		}
		for range 2 {
			if err := d.feed([]byte(after), emit); err != io.EOF {
				t.Fatalf("feed after the end = %v, want io.EOF", err)
			}
		}
		if err := d.feed(nil, emit); err != io.EOF {
			t.Fatalf("feed(nil) after the end = %v, want io.EOF", err)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("records %q, want %q", got, want)
		}
	})
}

type malformedBody struct {
	name string
	body string
	want string // in the error's message
}

func malformedBodies() []malformedBody {
	longLine := strings.Repeat("a", maxChunkLine+10)
	return []malformedBody{
		{"non-hex chunk size", "zz\r\n3\nabc\r\n0\r\n\r\n", `chunk size "zz"`},
		{"hex size with a 0x prefix", "0x5\r\n3\nabc\r\n0\r\n\r\n", "chunk size"},
		{"negative chunk size", "-5\r\n3\nabc\r\n0\r\n\r\n", "chunk size"},
		{"chunk size with a plus sign", "+5\r\n3\nabc\r\n0\r\n\r\n", "chunk size"},
		{"a signed last chunk", "5\r\n3\nabc\r\n-0\r\n\r\n", "chunk size"},
		{"empty chunk-size line", "\r\n3\nabc\r\n0\r\n\r\n", `chunk size ""`},
		{"chunk size of 16 hex digits", "0000000000000005\r\n3\nabc\r\n0\r\n\r\n", "chunk size"},
		{"size line ending in a bare LF", "5\n3\nabc\r\n0\r\n\r\n", "without CRLF"},
		{"last-chunk line ending in a bare LF", chunk(rec("abc")) + "0\n\r\n", "without CRLF"},
		{"trailer line ending in a bare LF", chunk(rec("abc")) + "0\r\nX: y\n\r\n", "without CRLF"},
		{"chunk data followed by more bytes", "5\r\n3\nabcX\r\n0\r\n\r\n", "1 bytes after a chunk's data"},
		{"chunk data followed by the next size", "5\r\n3\nabc5\r\n3\nabc\r\n0\r\n\r\n", "after a chunk's data"},
		{"chunk data followed by a bare LF", "5\r\n3\nabc\n0\r\n\r\n", "without CRLF"},
		{"size line longer than maxChunkLine", "5;" + longLine + "\r\n3\nabc\r\n0\r\n\r\n", fmt.Sprintf("longer than %d bytes", maxChunkLine)},
		{"size line longer than maxChunkLine, unended", "5;" + longLine, fmt.Sprintf("longer than %d bytes", maxChunkLine)},
		{"trailer line longer than maxChunkLine", chunk(rec("abc")) + "0\r\nX: " + longLine + "\r\n\r\n", fmt.Sprintf("longer than %d bytes", maxChunkLine)},
		{"record length not a number", chunked("x\nabc"), `record length "x"`},
		{"negative record length", chunked("-1\nabc"), `record length "-1"`},
		{"record length with a space", chunked(" 3\nabc"), `record length " 3"`},
		{"empty record length", chunked("\nabc"), `record length ""`},
		{"record length of 20 digits over uint64", chunked("99999999999999999999\nabc"), "record length"},
		{"record length over maxRecord", chunked(rec(strings.Repeat("r", 65))), "a record of 65 bytes is over the limit of 64"},
		{"record length over maxRecord, data not sent", chunked("1000000\n"), "over the limit of 64"},
		{"no newline in the first 21 bytes", chunked(strings.Repeat("1", 21) + "\nabc"), "no record length in the first 20 bytes"},
		{"no newline at all", chunked(strings.Repeat("a", 30), 7), "no record length in the first 20 bytes"},
		{"body ending inside a record's data", chunked("5\nab"), "the body ended inside a record"},
		{"body ending inside a record's length", chunked(rec("abc") + "12"), "the body ended inside a record"},
		{"body ending inside a record, with trailers", chunk("5\nab") + "0\r\nX: y\r\n\r\n", "the body ended inside a record"},
	}
}

func TestChunkedRecords_Malformed(t *testing.T) {
	for _, tc := range malformedBodies() {
		t.Run(tc.name, func(t *testing.T) {
			for way, parts := range feedings(tc.body) {
				_, err := decodeParts(64, parts...)
				if err == nil || err == io.EOF {
					t.Fatalf("%s: feed returned %v, want an error", way, err)
				}
				if !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("%s: error %q, want it to say %q", way, err, tc.want)
				}
			}
		})
	}
}

func TestChunkedRecords_RecordsBeforeAnErrorAreEmitted(t *testing.T) {
	body := chunk(rec("one")+rec("two")) + "zz\r\n"
	for way, parts := range feedings(body) {
		got, err := decodeParts(64, parts...)
		if err == nil || err == io.EOF || !slices.Equal(got, []string{"one", "two"}) {
			t.Errorf("%s: records %q, %v; want [one two] and an error", way, got, err)
		}
	}
}

func TestChunkedRecords_KeepsNothingBetweenRecords(t *testing.T) {
	// The body stops after whole chunks and records: whatever the split,
	// nothing is left in part once it is all fed.
	body := chunk(rec("hello")) + chunk(rec("a")+rec("bc")) + chunk("3\nx") + chunk("yz") + chunk(rec(strings.Repeat("p", 40)))
	for way, parts := range feedings(body) {
		d := &chunkedRecords{maxRecord: 64}
		n := 0
		for _, p := range parts {
			if err := d.feed(p, func([]byte) error { n++; return nil }); err != nil {
				t.Fatalf("%s: %v", way, err)
			}
		}
		if n != 5 {
			t.Errorf("%s: %d records, want 5", way, n)
		}
		if d.content != nil || d.line != nil {
			t.Errorf("%s: keeps content %q (cap %d), line %q (cap %d)", way, d.content, cap(d.content), d.line, cap(d.line))
		}
	}

	// While a record is read in part, only it is kept; once it ends, it
	// is let go.
	d := &chunkedRecords{maxRecord: 64}
	emit := func([]byte) error { return nil }
	if err := d.feed([]byte("5\r\n5\nhel"), emit); err != nil {
		t.Fatal(err)
	}
	if string(d.content) != "5\nhel" || d.line != nil {
		t.Fatalf("in a record: content %q, line %q", d.content, d.line)
	}
	if err := d.feed([]byte("\r\n2\r\nlo\r\n1"), emit); err != nil {
		t.Fatal(err)
	}
	if d.content != nil || string(d.line) != "1" {
		t.Fatalf("in a size line: content %q, line %q", d.content, d.line)
	}
	if err := d.feed([]byte("\r\n"), emit); err != nil {
		t.Fatal(err)
	}
	if d.content != nil || d.line != nil {
		t.Fatalf("after a size line: content %q, line %q", d.content, d.line)
	}
}

func TestChunkedRecords_EmitError(t *testing.T) {
	errStop := errors.New("stop here")
	body := chunked(rec("one")+rec("two")+rec("three"), 5)
	for way, parts := range feedings(body) {
		d := &chunkedRecords{maxRecord: 64}
		var got []string
		emit := func(r []byte) error {
			got = append(got, string(r))
			if len(got) == 2 {
				return errStop
			}
			return nil
		}
		var err error
		for _, p := range parts {
			if err = d.feed(p, emit); err != nil {
				break
			}
		}
		if err != errStop {
			t.Errorf("%s: feed returned %v, want %v", way, err, errStop)
		}
		if !slices.Equal(got, []string{"one", "two"}) {
			t.Errorf("%s: emitted %q, want [one two]", way, got)
		}
	}
}

// outcome is the kind of feed's final result.
func outcome(err error) string {
	switch {
	case err == nil:
		return "nil"
	case err == io.EOF:
		return "EOF"
	default:
		return "error"
	}
}

func FuzzChunkedRecords(f *testing.F) {
	for _, tc := range wellFormedBodies() {
		f.Add([]byte(tc.body), uint16(len(tc.body)/2))
		f.Add([]byte(tc.body), uint16(1))
	}
	for _, tc := range malformedBodies() {
		f.Add([]byte(tc.body), uint16(len(tc.body)/2))
	}
	f.Add([]byte(chunked(rec("first"))+"5\nhello"), uint16(3))
	f.Fuzz(func(t *testing.T, data []byte, at uint16) {
		const maxRecord = 64
		k := int(at) % (len(data) + 1)
		whole, werr := decodeParts(maxRecord, data)
		split, serr := decodeParts(maxRecord, data[:k], data[k:])
		for _, r := range append(slices.Clone(whole), split...) {
			if len(r) > maxRecord {
				t.Fatalf("a record of %d bytes emitted, over maxRecord %d", len(r), maxRecord)
			}
		}
		if !slices.Equal(whole, split) {
			t.Fatalf("fed whole: records %q; split at %d: %q", whole, k, split)
		}
		if outcome(werr) != outcome(serr) {
			t.Fatalf("fed whole: %v; split at %d: %v", werr, k, serr)
		}
	})
}
