package server

import (
	"bytes"
	"errors"
	"io"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"
)

// TestReadBody_ReadsWhatTheClientAnnounced: a body of an announced length
// is read whole; one shorter than announced is a 400; a body of unknown
// length (chunked) is read to its end; beyond the limit, announced or
// not, it is a 413.
func TestReadBody_ReadsWhatTheClientAnnounced(t *testing.T) {
	big := strings.Repeat("x", maxBodyBytes+1)
	for _, c := range []struct {
		name      string
		body      string
		announced int64
		want      string
		code      int
	}{
		{"announced", `{"type":"PONG"}`, 15, `{"type":"PONG"}`, 0},
		{"shorter than announced", `{"type"`, 15, "", 400},
		{"chunked", `{"type":"PONG"}`, -1, `{"type":"PONG"}`, 0},
		{"chunked over the limit", big, -1, "", 413},
		{"announced over the limit", big, int64(len(big)), "", 413},
		{"long, shorter than announced", strings.Repeat("y", maxUpfrontBody+10), maxUpfrontBody + 20, "", 400},
		{"long, announced", strings.Repeat("z", maxUpfrontBody+10), maxUpfrontBody + 10, strings.Repeat("z", maxUpfrontBody+10), 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/", bytes.NewReader([]byte(c.body)))
			r.ContentLength = c.announced
			got, err := readBody(r)
			var coded *codedError
			switch {
			case c.code == 0 && err != nil:
				t.Fatalf("readBody: %v", err)
			case c.code == 0 && string(got) != c.want:
				t.Fatalf("readBody = %q, want %q", got, c.want)
			case c.code != 0 && (!errors.As(err, &coded) || coded.code != c.code):
				t.Fatalf("readBody: %v, want a %d", err, c.code)
			}
		})
	}
}

// TestReadBody_AllocatesAsTheBytesCome: a body announced longer than
// maxUpfrontBody is not allocated at its announced length before its
// bytes come: a client announcing 16 MiB that sends 100 bytes and is cut
// off costs the leader what it sent, not 16 MiB.
func TestReadBody_AllocatesAsTheBytesCome(t *testing.T) {
	cut := io.MultiReader(strings.NewReader(strings.Repeat("x", 100)), iotest.ErrReader(errors.New("connection reset by peer")))
	r := httptest.NewRequest("POST", "/", cut)
	r.ContentLength = maxBodyBytes
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := readBody(r)
	runtime.ReadMemStats(&after)
	var coded *codedError
	if !errors.As(err, &coded) || coded.code != 400 || !strings.Contains(err.Error(), "connection reset") {
		t.Fatalf("readBody of a body cut off: %v, want a 400 saying why", err)
	}
	if grown := after.TotalAlloc - before.TotalAlloc; grown >= maxUpfrontBody {
		t.Fatalf("reading 100 bytes of a body announced as %d allocated %d bytes", maxBodyBytes, grown)
	}
}

// BenchmarkReadBody reads a 3 KB body of an announced length, the size
// of an agent's registration with 20 tasks.
func BenchmarkReadBody(b *testing.B) {
	body := []byte(strings.Repeat("x", 3000))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		r := httptest.NewRequest("POST", "/", bytes.NewReader(body))
		if _, err := readBody(r); err != nil {
			b.Fatal(err)
		}
	}
}
