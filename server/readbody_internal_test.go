package server

import (
	"net/http/httptest"
	"strings"
	"testing"
)

// TestReadBody_GrowsAsTheBytesCome: a body announced longer than
// maxUpfrontBody is not allocated at its announced length before its
// bytes come (a slow client would hold that memory for its read
// timeout); one announced shorter is read into a buffer of its length.
func TestReadBody_GrowsAsTheBytesCome(t *testing.T) {
	r := httptest.NewRequest("POST", "/api/v1/scheduler", strings.NewReader(strings.Repeat("x", 100)))
	r.ContentLength = maxBodyBytes
	body, err := readBody(r)
	if err != nil || len(body) != 100 || cap(body) >= maxUpfrontBody {
		t.Fatalf("a 100-byte body announced as %d bytes: %d bytes read into a buffer of %d, error %v", maxBodyBytes, len(body), cap(body), err)
	}
	r = httptest.NewRequest("POST", "/api/v1/scheduler", strings.NewReader(strings.Repeat("y", 5000)))
	body, err = readBody(r)
	if err != nil || len(body) != 5000 || cap(body) != 5000 {
		t.Fatalf("a 5000-byte body: %d bytes read into a buffer of %d, error %v", len(body), cap(body), err)
	}
}
