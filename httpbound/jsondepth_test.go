package httpbound

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestCheckJSONDepth_RefusesDeepNesting(t *testing.T) {
	for _, tc := range []struct {
		in   string
		max  int
		fail bool
	}{
		{`{"a":[1,{"b":2}]}`, 3, false},
		{`{"a":[1,{"b":2}]}`, 2, true},
		{`{"a":"[[[[[[[[[[[["}`, 1, false}, // brackets in a string do not nest
		{`{"a":"\"[[[["}`, 1, false},       // nor after an escaped quote
		{strings.Repeat("[", 65) + strings.Repeat("]", 65), MaxJSONDepth, true},
		{strings.Repeat("[", 64) + strings.Repeat("]", 64), MaxJSONDepth, false},
	} {
		if err := CheckJSONDepth([]byte(tc.in), tc.max); (err != nil) != tc.fail {
			t.Errorf("CheckJSONDepth(%.40q, %d) = %v, want failure %v", tc.in, tc.max, err, tc.fail)
		}
	}
}

// jsonDepth measures the nesting of valid JSON with encoding/json's own
// tokenizer.
func jsonDepth(b []byte) (int, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	depth, deepest := 0, 0
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return deepest, nil
		}
		if err != nil {
			return 0, err
		}
		if d, ok := tok.(json.Delim); ok {
			if d == '{' || d == '[' {
				depth++
				deepest = max(deepest, depth)
			} else {
				depth--
			}
		}
	}
}

// FuzzCheckJSONDepth: on any input it does not panic, and on valid JSON
// it agrees with encoding/json's tokenizer about the nesting.
func FuzzCheckJSONDepth(f *testing.F) {
	for _, s := range []string{`{}`, `[[]]`, `{"a":"[{\"}"}`, `{"a":[1,{"b":[]}]}`, `"\\"`, `[[[`, `]]]{`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		const limit = 3
		err := CheckJSONDepth(b, limit)
		// Fed in pieces, through the reader, it fails the same way.
		rd := JSONDepthReader(&oneByteReader{b: b}, limit)
		_, rerr := io.ReadAll(rd)
		if (rerr != nil) != (err != nil) {
			t.Fatalf("whole: %v; read a byte at a time: %v", err, rerr)
		}
		if !json.Valid(b) {
			return
		}
		d, derr := jsonDepth(b)
		if derr != nil {
			return
		}
		if (d > limit) != (err != nil) {
			t.Fatalf("depth %d, limit %d: CheckJSONDepth says %v", d, limit, err)
		}
	})
}

// oneByteReader returns its bytes one read at a time.
type oneByteReader struct{ b []byte }

func (r *oneByteReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	p[0] = r.b[0]
	r.b = r.b[1:]
	return 1, nil
}

// TestLimitBodies_BoundsSizeAndDepth: through LimitBodies a handler reads
// a JSON body nested too deeply or a body too large as a read error, and
// an excepted request as it came; BytesRead counts what it read.
func TestLimitBodies_BoundsSizeAndDepth(t *testing.T) {
	h := LimitBodies(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		// What was read is counted, but for an excepted request.
		if n := BytesRead(r); r.URL.Path != "/free" && n != int64(len(b)) || r.URL.Path == "/free" && n != 0 {
			http.Error(w, fmt.Sprintf("%d bytes read, %d counted", len(b), n), http.StatusInternalServerError)
		}
	}), 1000, func(r *http.Request) bool { return r.URL.Path == "/free" })
	deep := strings.Repeat("[", 65) + strings.Repeat("]", 65)
	for _, tc := range []struct {
		path, ct, body string
		code           int
		msg            string
	}{
		{"/", "application/json", deep, 400, "nests deeper than 64"},
		{"/", "application/json; charset=utf-8", deep, 400, "nests deeper than 64"},
		{"/", "application/x-protobuf", deep, 200, ""},
		{"/", "application/json", strings.Repeat(" ", 1001), 400, "too large"},
		{"/", "application/json", `{"a":[1,2]}`, 200, ""},
		{"/free", "application/json", deep + strings.Repeat(" ", 2000), 200, ""},
	} {
		w := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodPost, tc.path, strings.NewReader(tc.body))
		r.Header.Set("Content-Type", tc.ct)
		h.ServeHTTP(w, r)
		if w.Code != tc.code || !strings.Contains(w.Body.String(), tc.msg) {
			t.Errorf("%s %s (%d bytes): %d %q, want %d saying %q", tc.path, tc.ct, len(tc.body), w.Code, w.Body.String(), tc.code, tc.msg)
		}
	}
}
