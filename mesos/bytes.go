package mesos

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
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
// base64), ignoring whitespace.
func (b *Bytes) UnmarshalJSON(data []byte) error {
	if string(data) == "null" {
		*b = nil
		return nil
	}
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("bytes field must be a base64 string: %w", err)
	}
	s = strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\n', '\r', '\t':
			return -1
		}
		return r
	}, s)
	s = strings.TrimRight(s, "=")
	out, err := base64.RawStdEncoding.DecodeString(s)
	if err != nil {
		out, err = base64.RawURLEncoding.DecodeString(s)
		if err != nil {
			return fmt.Errorf("bytes field is not valid base64: %q", truncate(s, 32))
		}
	}
	*b = out
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
