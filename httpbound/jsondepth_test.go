package httpbound

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
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
