package codec

import (
	"mime"
	"strconv"
	"strings"
)

// RequestEncoding returns the encoding a request body is in, from its
// Content-Type header: JSON or Protobuf, parameters (a charset) ignored.
// ok is false for any other type, which Mesos answers with 415.
func RequestEncoding(contentType string) (mt string, ok bool) {
	t, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return "", false
	}
	switch t {
	case JSON, Protobuf:
		return t, true
	}
	return "", false
}

// ResponseEncoding chooses the encoding of a response from the request's
// Accept header as the Mesos master does: JSON when it is acceptable
// (which includes a missing header and */*), else protobuf when that is;
// ok is false when neither is, which Mesos answers with 406.
func ResponseEncoding(accept string, present bool) (mt string, ok bool) {
	if !present || Accepts(accept, JSON) {
		return JSON, true
	}
	if Accepts(accept, Protobuf) {
		return Protobuf, true
	}
	return "", false
}

// Accepts reports whether an Accept header value allows media type mt,
// by libprocess' rules: the exact type is looked for first, then type/*,
// then */*; the first entry that matches decides, and it accepts unless
// it carries a q value that is not a number greater than zero. Case and
// white space are ignored.
func Accepts(accept, mt string) bool {
	major, _, ok := strings.Cut(mt, "/")
	if !ok {
		return false
	}
	accept = strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\n' {
			return -1
		}
		return r
	}, accept)
	for _, candidate := range []string{mt, major + "/*", "*/*"} {
		for _, entry := range strings.Split(accept, ",") {
			params := strings.Split(entry, ";")
			if !strings.EqualFold(params[0], candidate) {
				continue
			}
			return qAccepts(params[1:])
		}
	}
	return false
}

// qAccepts applies an entry's q parameter: absent or malformed accepts,
// otherwise q must be a number above zero.
func qAccepts(params []string) bool {
	var qs []string
	for _, p := range params {
		if k, v, ok := strings.Cut(p, "="); ok && k == "q" {
			qs = append(qs, v)
		}
	}
	if len(qs) != 1 {
		return true
	}
	q, err := strconv.ParseFloat(qs[0], 64)
	return err == nil && q > 0
}
