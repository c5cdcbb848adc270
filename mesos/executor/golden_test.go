package executor

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

// goldenDir holds the spec's JSON examples (§6), one message per file.
const goldenDir = "../../testdata/executor"

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
			// Every example of the spec is a call an agent accepts.
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
