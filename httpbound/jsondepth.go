package httpbound

import (
	"fmt"
	"io"
)

// MaxJSONDepth bounds how deeply a request's JSON may nest. Mesos' calls
// nest about a dozen levels (a task group's task's container's volume's
// source…); encoding/json alone allows 10,000, each costing the decoder
// stack and allocations.
const MaxJSONDepth = 64

// depthScanner follows the nesting of JSON text fed to it in pieces. It
// looks only at nesting, not validity: decoding reports any other fault.
type depthScanner struct {
	max               int
	depth             int
	inString, escaped bool
	offset            int64
}

// feed scans the next piece of the text.
func (s *depthScanner) feed(b []byte) error {
	for i, c := range b {
		switch {
		case s.inString:
			switch {
			case s.escaped:
				s.escaped = false
			case c == '\\':
				s.escaped = true
			case c == '"':
				s.inString = false
			}
		case c == '"':
			s.inString = true
		case c == '{' || c == '[':
			if s.depth++; s.depth > s.max {
				return fmt.Errorf("JSON nests deeper than %d levels (at byte %d)", s.max, s.offset+int64(i))
			}
		case c == '}' || c == ']':
			if s.depth > 0 {
				s.depth--
			}
		}
	}
	s.offset += int64(len(b))
	return nil
}

// CheckJSONDepth returns an error when the JSON text b nests objects and
// arrays deeper than max.
func CheckJSONDepth(b []byte, max int) error {
	return (&depthScanner{max: max}).feed(b)
}

// JSONDepthReader passes r's JSON text through, failing the read at the
// point where it nests deeper than max.
func JSONDepthReader(r io.Reader, max int) io.Reader {
	return &depthReader{r: r, s: depthScanner{max: max}}
}

type depthReader struct {
	r   io.Reader
	s   depthScanner
	err error
}

func (d *depthReader) Read(b []byte) (int, error) {
	if d.err != nil {
		return 0, d.err
	}
	n, err := d.r.Read(b)
	if serr := d.s.feed(b[:n]); serr != nil {
		d.err = serr
		return 0, serr
	}
	return n, err
}
