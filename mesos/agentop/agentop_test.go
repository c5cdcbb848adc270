package agentop

import (
	"errors"
	"strings"
	"testing"

	mapi "mesh/mesos/master"
)

// TestParseCall_AgentCallsOnly: the agent's API reads the agent's call
// types, refuses the master's own with a message naming the type, and
// names agent::Call in its validation errors.
func TestParseCall_AgentCallsOnly(t *testing.T) {
	for _, body := range []string{`{"type":"GET_CONTAINERS"}`, `{"type":"GET_AGENT"}`, `{"type":"GET_STATE"}`, `{"type":"PRUNE_IMAGES"}`} {
		if _, err := ParseCall([]byte(body)); err != nil {
			t.Errorf("%s: %v", body, err)
		}
	}
	for body, says := range map[string]string{
		`{"type":"GET_AGENTS"}`: `unknown call type "GET_AGENTS"`,
		`{"type":"TEARDOWN","teardown":{"framework_id":{"value":"f"}}}`: `unknown call type "TEARDOWN"`,
		`{"type":"SET_LOGGING_LEVEL"}`:                                  "Failed to validate agent::Call: Expecting 'set_logging_level' to be present",
		`{"type":"READ_FILE","read_file":{"path":"/x"}}`:                "Missing required fields: read_file.offset",
	} {
		_, err := ParseCall([]byte(body))
		if !errors.Is(err, mapi.ErrParse) || !strings.Contains(mapi.Message(err), says) {
			t.Errorf("%s: %v; want a parse error saying %q", body, err, says)
		}
	}
}

func FuzzParseCall(f *testing.F) {
	for _, s := range []string{
		`{"type":"GET_CONTAINERS"}`, `{"type":"GET_AGENT"}`, `{"type":"GET_AGENTS"}`, `{}`, `{"type":`, `null`,
		`{"type":"SET_LOGGING_LEVEL","set_logging_level":{"level":1,"duration":{"nanoseconds":1000}}}`,
		`{"type":"READ_FILE","read_file":{"path":"/x","offset":18446744073709551615,"length":3}}`,
		`{"type":"LAUNCH_NESTED_CONTAINER","launch_nested_container":{"container_id":{"value":"x"}}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		c, err := ParseCall(body)
		if err != nil {
			if !errors.Is(err, mapi.ErrParse) || mapi.Message(err) == "" {
				t.Fatalf("refusal %v is not a parse error with a message", err)
			}
			return
		}
		if !Calls.Types[c.Type] {
			t.Fatalf("accepted a type the agent's API does not define: %q", c.Type)
		}
		if c.Type == mapi.CallReadFile && (c.ReadFile == nil || c.ReadFile.Path == nil || c.ReadFile.Offset == nil) {
			t.Fatalf("accepted READ_FILE without a path and an offset: %s", body)
		}
	})
}
