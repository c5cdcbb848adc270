package agent

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestAgent_DeeplyNestedJSONRefused: the agent's executor API refuses a
// call whose JSON nests deeper than any Mesos call does, with 400 saying
// so, before decoding it.
func TestAgent_DeeplyNestedJSONRefused(t *testing.T) {
	f := newFakeServer(t)
	a := startAgent(t, testConfig(t, f))
	a.waitRegistered(t)
	deep := `{"type":"SUBSCRIBE","framework_id":{"value":"f"},"executor_id":{"value":"e"},"subscribe":{"unacknowledged_tasks":` +
		strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + `}}`
	resp, err := http.Post("http://"+a.Addr()+"/api/v1/executor", "application/json", strings.NewReader(deep))
	if err != nil {
		t.Fatal(err)
	}
	msg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(msg), "nests deeper than 64 levels") {
		t.Fatalf("deeply nested executor call: %d %q", resp.StatusCode, msg)
	}
}
