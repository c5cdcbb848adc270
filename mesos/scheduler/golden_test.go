package scheduler

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// goldenDir holds the spec's JSON examples, one message per file.
const goldenDir = "../../testdata/scheduler"

// goldenFiles returns the JSON files under goldenDir/sub.
func goldenFiles(t *testing.T, sub string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(goldenDir, sub, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no golden files in %s", filepath.Join(goldenDir, sub))
	}
	return files
}

// roundTrip decodes data into v, encodes v again and fails with a diff
// when the result differs in meaning from data.
func roundTrip(t *testing.T, data []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("decode: %v", err)
	}
	out, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	var want, got any
	if err := json.Unmarshal(data, &want); err != nil {
		t.Fatalf("golden file is not JSON: %v", err)
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("re-encoded value is not JSON: %v", err)
	}
	if !reflect.DeepEqual(want, got) {
		t.Fatalf("re-encoding changed the message:\n%s\nre-encoded: %s", strings.Join(jsonDiff("", want, got), "\n"), out)
	}
}

// jsonDiff lists the paths where two decoded JSON values differ.
func jsonDiff(path string, want, got any) []string {
	if reflect.DeepEqual(want, got) {
		return nil
	}
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			break
		}
		keys := map[string]bool{}
		for k := range w {
			keys[k] = true
		}
		for k := range g {
			keys[k] = true
		}
		var sorted []string
		for k := range keys {
			sorted = append(sorted, k)
		}
		sort.Strings(sorted)
		var out []string
		for _, k := range sorted {
			wv, win := w[k]
			gv, gin := g[k]
			p := strings.TrimPrefix(path+"."+k, ".")
			switch {
			case !gin:
				out = append(out, fmt.Sprintf("  %s: lost (file has %s)", p, compact(wv)))
			case !win:
				out = append(out, fmt.Sprintf("  %s: added %s", p, compact(gv)))
			default:
				out = append(out, jsonDiff(p, wv, gv)...)
			}
		}
		return out
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			break
		}
		var out []string
		for i := range w {
			out = append(out, jsonDiff(fmt.Sprintf("%s[%d]", path, i), w[i], g[i])...)
		}
		return out
	}
	return []string{fmt.Sprintf("  %s: file has %s, re-encoded has %s", path, compact(want), compact(got))}
}

func compact(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestGolden_Calls(t *testing.T) {
	for _, f := range goldenFiles(t, "calls") {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var c Call
			roundTrip(t, data, &c)
			if c.Type == "" {
				t.Fatal("decoded call has no type")
			}
			// Every example of the spec is a call Mesos accepts.
			if err := c.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
		})
	}
}

func TestGolden_Events(t *testing.T) {
	for _, f := range goldenFiles(t, "events") {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var e Event
			roundTrip(t, data, &e)
			if e.Type == "" {
				t.Fatal("decoded event has no type")
			}
		})
	}
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
