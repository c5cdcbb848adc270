package mesos

// This file holds the JSON encodings of proto scalar types that
// encoding/json does not produce by itself: bytes as base64 (lenient on
// input), 64-bit integers that may arrive as strings, and doubles that may
// be "Infinity".

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Bytes is a proto `bytes` field: standard base64 with padding on output;
// on input padding is optional and whitespace is ignored, as in Mesos.
type Bytes []byte

// MarshalJSON encodes b as padded standard base64.
func (b Bytes) MarshalJSON() ([]byte, error) {
	return json.Marshal(base64.StdEncoding.EncodeToString(b))
}

// UnmarshalJSON accepts padded or unpadded standard base64 (and URL-safe
// base64), ignoring whitespace. An empty string decodes to an empty,
// non-nil value, so a present-but-empty field can be told from an absent
// one.
func (b *Bytes) UnmarshalJSON(data []byte) error {
	if string(data) == "null" {
		*b = nil
		return nil
	}
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("bytes field must be a base64 string: %w", err)
	}
	out, err := decodeBase64(s)
	if err != nil {
		return err
	}
	*b = out
	return nil
}

// decodeBase64 decodes standard or URL-safe base64, padded or not, with
// whitespace anywhere. Padding, when present, must be complete and last.
func decodeBase64(s string) ([]byte, error) {
	s = strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\n', '\r', '\t', '\f', '\v':
			return -1
		}
		return r
	}, s)
	std, url := base64.RawStdEncoding, base64.RawURLEncoding
	if strings.HasSuffix(s, "=") {
		std, url = base64.StdEncoding, base64.URLEncoding
	}
	out, err := std.DecodeString(s)
	if err != nil {
		var err2 error
		if out, err2 = url.DecodeString(s); err2 != nil {
			return nil, fmt.Errorf("bytes field is not valid base64: %q: %v", truncate(s, 32), err)
		}
	}
	if out == nil {
		out = []byte{}
	}
	return out, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// jsonInt64 is an int64 that, like Mesos, also accepts a numeric string and
// an integral number written with a fraction or exponent (5e9).
type jsonInt64 int64

// UnmarshalJSON reads a number, a numeric string or null.
func (n *jsonInt64) UnmarshalJSON(data []byte) error {
	s, err := numberText(data)
	if err != nil || s == "" {
		return err
	}
	if v, err := strconv.ParseInt(s, 10, 64); err == nil {
		*n = jsonInt64(v)
		return nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != math.Trunc(f) || f < math.MinInt64 || f >= math.MaxInt64 {
		return fmt.Errorf("%s is not a 64-bit integer", data)
	}
	*n = jsonInt64(f)
	return nil
}

// jsonUint64 is the unsigned counterpart of jsonInt64.
type jsonUint64 uint64

// UnmarshalJSON reads a number, a numeric string or null.
func (n *jsonUint64) UnmarshalJSON(data []byte) error {
	s, err := numberText(data)
	if err != nil || s == "" {
		return err
	}
	if v, err := strconv.ParseUint(s, 10, 64); err == nil {
		*n = jsonUint64(v)
		return nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != math.Trunc(f) || f < 0 || f >= math.MaxUint64 {
		return fmt.Errorf("%s is not an unsigned 64-bit integer", data)
	}
	*n = jsonUint64(f)
	return nil
}

// jsonDouble is a float64 that also accepts a numeric string and the
// strings "Infinity", "-Infinity" and "NaN", as Mesos does.
type jsonDouble float64

// UnmarshalJSON reads a number, a numeric string, a non-finite name or
// null.
func (d *jsonDouble) UnmarshalJSON(data []byte) error {
	s, err := numberText(data)
	if err != nil || s == "" {
		return err
	}
	switch s {
	case "Infinity":
		*d = jsonDouble(math.Inf(1))
		return nil
	case "-Infinity":
		*d = jsonDouble(math.Inf(-1))
		return nil
	case "NaN":
		*d = jsonDouble(math.NaN())
		return nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return fmt.Errorf("%s is not a number", data)
	}
	*d = jsonDouble(f)
	return nil
}

// numberText returns the text of a JSON number or of a JSON string holding
// one; "" for null.
func numberText(data []byte) (string, error) {
	data = bytes.TrimSpace(data)
	if string(data) == "null" {
		return "", nil
	}
	if len(data) > 0 && data[0] == '"' {
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return "", err
		}
		s = strings.TrimSpace(s)
		if s == "" {
			return "", fmt.Errorf("empty string is not a number")
		}
		return s, nil
	}
	if len(data) == 0 || !(data[0] == '-' || (data[0] >= '0' && data[0] <= '9')) {
		return "", fmt.Errorf("%s is not a number", truncate(string(data), 32))
	}
	return string(data), nil
}

// UnmarshalJSON accepts {"value": number | numeric string | "Infinity"}.
// The usual form, one finite number and nothing else, is read directly:
// every resource of every agent registration and launch has scalars, and
// encoding/json's reflection over a struct for each was a tenth of a new
// leader's cpu while 5,000 agents re-registered.
func (s *Scalar) UnmarshalJSON(data []byte) error {
	if v, ok := plainScalar(data); ok {
		s.Value = v
		return nil
	}
	return s.decodeFull(data)
}

// decodeFull is UnmarshalJSON for any input.
func (s *Scalar) decodeFull(data []byte) error {
	var aux struct {
		Value jsonDouble `json:"value"`
	}
	if err := json.Unmarshal(data, &aux); err != nil {
		return fmt.Errorf("scalar: %w", err)
	}
	s.Value = float64(aux.Value)
	return nil
}

// plainScalar reads data of the form {"value":N}, N a JSON number that is
// a finite float64, with optional whitespace between the tokens. For
// anything else it returns false, and UnmarshalJSON decodes data in full:
// both read every such input the same.
func plainScalar(data []byte) (float64, bool) {
	p := skipSpace(data, 0)
	const key = `"value"`
	if p >= len(data) || data[p] != '{' {
		return 0, false
	}
	p = skipSpace(data, p+1)
	if !bytes.HasPrefix(data[p:], []byte(key)) {
		return 0, false
	}
	p = skipSpace(data, p+len(key))
	if p >= len(data) || data[p] != ':' {
		return 0, false
	}
	p = skipSpace(data, p+1)
	end := jsonNumberEnd(data, p)
	if end < 0 {
		return 0, false
	}
	num := data[p:end]
	p = skipSpace(data, end)
	if p >= len(data) || data[p] != '}' || skipSpace(data, p+1) != len(data) {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(num), 64)
	if err != nil || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

// skipSpace returns the index of the first byte of data at or after p
// that is not JSON whitespace.
func skipSpace(data []byte, p int) int {
	for p < len(data) && (data[p] == ' ' || data[p] == '\t' || data[p] == '\n' || data[p] == '\r') {
		p++
	}
	return p
}

// jsonNumberEnd returns where the JSON number that starts at data[p] ends,
// or -1 if none starts there: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func jsonNumberEnd(data []byte, p int) int {
	digits := func(p int) int {
		q := p
		for q < len(data) && data[q] >= '0' && data[q] <= '9' {
			q++
		}
		return q
	}
	if p < len(data) && data[p] == '-' {
		p++
	}
	switch {
	case p < len(data) && data[p] == '0':
		p++
	case p < len(data) && data[p] >= '1' && data[p] <= '9':
		p = digits(p)
	default:
		return -1
	}
	if p < len(data) && data[p] == '.' {
		q := digits(p + 1)
		if q == p+1 {
			return -1
		}
		p = q
	}
	if p < len(data) && (data[p] == 'e' || data[p] == 'E') {
		p++
		if p < len(data) && (data[p] == '+' || data[p] == '-') {
			p++
		}
		q := digits(p)
		if q == p {
			return -1
		}
		p = q
	}
	return p
}

// MarshalJSON writes the value as a JSON number, or as "Infinity",
// "-Infinity" or "NaN" when it is not finite (limits may be unbounded).
func (s Scalar) MarshalJSON() ([]byte, error) {
	switch {
	case math.IsInf(s.Value, 1):
		return []byte(`{"value":"Infinity"}`), nil
	case math.IsInf(s.Value, -1):
		return []byte(`{"value":"-Infinity"}`), nil
	case math.IsNaN(s.Value):
		return []byte(`{"value":"NaN"}`), nil
	}
	return json.Marshal(struct {
		Value float64 `json:"value"`
	}{s.Value})
}

// UnmarshalJSON accepts nanoseconds as a number or a numeric string.
func (t *TimeInfo) UnmarshalJSON(data []byte) error {
	var aux struct {
		Nanoseconds jsonInt64 `json:"nanoseconds"`
	}
	if err := json.Unmarshal(data, &aux); err != nil {
		return fmt.Errorf("time: %w", err)
	}
	t.Nanoseconds = int64(aux.Nanoseconds)
	return nil
}

// UnmarshalJSON accepts nanoseconds as a number or a numeric string.
func (d *DurationInfo) UnmarshalJSON(data []byte) error {
	var aux struct {
		Nanoseconds jsonInt64 `json:"nanoseconds"`
	}
	if err := json.Unmarshal(data, &aux); err != nil {
		return fmt.Errorf("duration: %w", err)
	}
	d.Nanoseconds = int64(aux.Nanoseconds)
	return nil
}

// UnmarshalJSON accepts begin and end as numbers or numeric strings.
func (r *Range) UnmarshalJSON(data []byte) error {
	var aux struct {
		Begin jsonUint64 `json:"begin"`
		End   jsonUint64 `json:"end"`
	}
	if err := json.Unmarshal(data, &aux); err != nil {
		return fmt.Errorf("range: %w", err)
	}
	r.Begin, r.End = uint64(aux.Begin), uint64(aux.End)
	return nil
}
