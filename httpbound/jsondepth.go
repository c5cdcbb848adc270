package httpbound

import "fmt"

// MaxJSONDepth bounds how deeply a request's JSON may nest. Mesos' calls
// nest about a dozen levels (a task group's task's container's volume's
// source…); encoding/json alone allows 10,000, each costing the decoder
// stack and allocations.
const MaxJSONDepth = 64

// CheckJSONDepth returns an error when the JSON text b nests objects and
// arrays deeper than max. It looks only at nesting, not validity: it runs
// before decoding, which reports any other fault.
func CheckJSONDepth(b []byte, max int) error {
	depth := 0
	inString, escaped := false, false
	for i, c := range b {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			if depth++; depth > max {
				return fmt.Errorf("JSON nests deeper than %d levels (at byte %d)", max, i)
			}
		case c == '}' || c == ']':
			if depth > 0 {
				depth--
			}
		}
	}
	return nil
}
