package executor

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"mesh/mesos/internal/golden"
)

// goldenDir holds the spec's JSON examples (§6), one message per file.
const goldenDir = "../../testdata/executor"

func TestGolden_Calls(t *testing.T) {
	golden.Each(t, goldenDir, "calls", func(t *testing.T, data []byte) {
		var c Call
		golden.RoundTrip(t, data, &c)
		if c.Type == "" {
			t.Fatal("decoded call has no type")
		}
		// Every example of the spec is a call an agent accepts.
		if err := c.Validate(); err != nil {
			t.Fatalf("Validate: %v", err)
		}
	})
}

func TestGolden_Events(t *testing.T) {
	golden.Each(t, goldenDir, "events", func(t *testing.T, data []byte) {
		var e Event
		golden.RoundTrip(t, data, &e)
		if e.Type == "" {
			t.Fatal("decoded event has no type")
		}
	})
}

func TestGolden_SubscribedDecodes(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(goldenDir, "events", "subscribed.json"))
	if err != nil {
		t.Fatal(err)
	}
	var e Event
	if err := json.Unmarshal(data, &e); err != nil {
		t.Fatal(err)
	}
	s := e.Subscribed
	switch {
	case s.ExecutorInfo.ExecutorID.Value != "e1", !s.ExecutorInfo.Command.IsShell():
		t.Fatalf("executor_info: %+v", s.ExecutorInfo)
	case s.FrameworkInfo.ID == nil || s.FrameworkInfo.ID.Value != "M1-0000":
		t.Fatalf("framework_info: %+v", s.FrameworkInfo)
	case s.AgentInfo.Port != 5051 || s.AgentInfo.ID.Value != "M1-S0":
		t.Fatalf("agent_info: %+v", s.AgentInfo)
	case s.ContainerID.Value != "c1":
		t.Fatalf("container_id: %+v", s.ContainerID)
	}
}

func TestDecode_UnknownKeysIgnored(t *testing.T) {
	in := `{"executorId":{"value":"X"},"executor_id":{"value":"e1"},"framework_id":{"value":"M1-0000"},"type":"HEARTBEAT","heartbeat":{"x":[1]}}`
	var c Call
	if err := json.Unmarshal([]byte(in), &c); err != nil {
		t.Fatalf("unknown keys caused an error: %v", err)
	}
	if c.ExecutorID.Value != "e1" {
		t.Fatalf("decoded %+v", c)
	}
	var e Event
	if err := json.Unmarshal([]byte(`{"type":"LAUNCH","launch":{"task":{"name":"w","task_id":{"value":"t"},"agent_id":{"value":"a"},"futureField":1}},"x":null}`), &e); err != nil {
		t.Fatalf("unknown keys in an event caused an error: %v", err)
	}
}

func TestEvent_HeartbeatExactBytes(t *testing.T) {
	for _, typ := range []string{EventHeartbeat, EventShutdown} {
		b, err := json.Marshal(Event{Type: typ})
		if err != nil {
			t.Fatal(err)
		}
		if want := `{"type":"` + typ + `"}`; string(b) != want {
			t.Fatalf("%s = %s, want %s", typ, b, want)
		}
	}
}
