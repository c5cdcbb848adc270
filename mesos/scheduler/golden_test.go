package scheduler

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"mesh/mesos/internal/golden"
)

// goldenDir holds the spec's JSON examples, one message per file.
const goldenDir = "../../testdata/scheduler"

func TestGolden_Calls(t *testing.T) {
	golden.Each(t, goldenDir, "calls", func(t *testing.T, data []byte) {
		var c Call
		golden.RoundTrip(t, data, &c)
		if c.Type == "" {
			t.Fatal("decoded call has no type")
		}
		// Every example of the spec is a call Mesos accepts.
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

func TestGolden_AcceptLaunchDecodes(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(goldenDir, "calls", "accept_launch.json"))
	if err != nil {
		t.Fatal(err)
	}
	var c Call
	if err := json.Unmarshal(data, &c); err != nil {
		t.Fatal(err)
	}
	task := c.Accept.Operations[0].Launch.TaskInfos[0]
	switch {
	case task.Name != "web", task.TaskID.Value != "t1", task.AgentID.Value != "M1-S0":
		t.Fatalf("task identity: %+v", task)
	case task.Command.IsShell(), task.Command.Arguments[0] != "sleep":
		t.Fatalf("command: %+v", task.Command)
	case string(task.Data) != "hello":
		t.Fatalf("data %q, want hello", task.Data)
	case task.Resources[0].Scalar.Value != 0.5 || task.Resources[0].AllocationRole() != "web":
		t.Fatalf("resources: %+v", task.Resources)
	case task.Container.Mesos.Image.Docker.Name != "library/busybox:1.36":
		t.Fatalf("image: %+v", task.Container.Mesos.Image)
	case c.Accept.Filters.RefuseSecondsOrDefault() != 5:
		t.Fatalf("filters: %+v", c.Accept.Filters)
	}
}

func TestDecode_UnknownKeysIgnored(t *testing.T) {
	in := `{"frameworkId":{"value":"X"},"framework_id":{"value":"M1-0000"},"type":"DECLINE",
		"decline":{"offerIds":[{"value":"O"}],"offer_ids":[{"value":"M1-O7"}],"future":{"a":[1,2,{"b":null}]}},
		"requests":[{"x":1}],"revive":{"role":"web"}}`
	var c Call
	if err := json.Unmarshal([]byte(in), &c); err != nil {
		t.Fatalf("unknown keys caused an error: %v", err)
	}
	if c.FrameworkID.Value != "M1-0000" || len(c.Decline.OfferIDs) != 1 || c.Decline.OfferIDs[0].Value != "M1-O7" {
		t.Fatalf("decoded %+v", c)
	}
	if c.Revive == nil || len(c.Revive.Roles) != 0 {
		t.Fatalf(`"revive":{"role":..} must read as revive of every role, got %+v`, c.Revive)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	var e Event
	if err := json.Unmarshal([]byte(`{"type":"HEARTBEAT","newField":{"x":1},"heartbeat":{}}`), &e); err != nil {
		t.Fatalf("unknown keys in an event caused an error: %v", err)
	}
	// null means absent.
	if err := json.Unmarshal([]byte(`{"type":"TEARDOWN","framework_id":{"value":"F"},"kill":null}`), &c); err != nil {
		t.Fatalf("null body: %v", err)
	}
}

func TestEvent_HeartbeatExactBytes(t *testing.T) {
	b, err := json.Marshal(Event{Type: EventHeartbeat})
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"type":"HEARTBEAT"}` {
		t.Fatalf("heartbeat = %s", b)
	}
}

func TestEvent_ErrorIsNested(t *testing.T) {
	b, err := json.Marshal(Event{Type: EventError, Error: &Error{Message: "Framework failed over"}})
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"type":"ERROR","error":{"message":"Framework failed over"}}` {
		t.Fatalf("error event = %s", b)
	}
}
