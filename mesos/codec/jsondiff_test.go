package codec

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"mesh/mesos/agentapi"
)

// fuzzJSONAgainstStdlib checks UnmarshalJSON against encoding/json on
// arbitrary bytes, into values newV makes: both accept, or both refuse
// with the same message, and what they accept decodes to the same value. The seeds are the JSON
// examples of dir under testdata (if any) and extra.
func fuzzJSONAgainstStdlib(f *testing.F, dir string, newV func() any, extra ...string) {
	if dir != "" {
		files, _ := filepath.Glob(filepath.Join(testdata, dir, "*.json"))
		for _, file := range files {
			if b, err := os.ReadFile(file); err == nil {
				f.Add(b)
			}
		}
	}
	for _, s := range append(extra,
		`null`, `[]`, `{"type":"\u00ff\ud800"}`, "{\"type\":\"\xff\"}", `{"type":"A"} trailing`, `{"type":"A"`,
		`{"type":"A","Type":"B","TYPE":"C"}`, `{"type":1}`, `{"a":{"b":[1,2,{"c":null}]}}`) {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, want := newV(), newV()
		gotErr := UnmarshalJSON(data, got)
		wantErr := json.Unmarshal(data, want)
		if (gotErr == nil) != (wantErr == nil) || gotErr != nil && gotErr.Error() != wantErr.Error() {
			t.Fatalf("%q: UnmarshalJSON error %v, encoding/json error %v", data, gotErr, wantErr)
		}
		if gotErr == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("%q decodes differently:\n  UnmarshalJSON %+v\n  encoding/json %+v", data, got, want)
		}
	})
}

func FuzzUnmarshalJSON_SchedulerCallAsStdlib(f *testing.F) {
	fuzzJSONAgainstStdlib(f, "scheduler/calls", suiteOf("scheduler/calls").new,
		`{"type":"ACCEPT","accept":{"offer_ids":[{"value":"o1"}],"filters":{"refuse_seconds":1e400}}}`,
		`{"type":"ACKNOWLEDGE","acknowledge":{"uuid":"not base64","task_id":{"value":"t"}}}`,
		`{"type":"ACCEPT","accept":{"operations":[{"type":"LAUNCH","launch":{"task_infos":[{"resources":[{"name":"cpus","type":"SCALAR","scalar":{"value":"0.5"}}]}]}}]}}`)
}

func FuzzUnmarshalJSON_SchedulerEventAsStdlib(f *testing.F) {
	fuzzJSONAgainstStdlib(f, "scheduler/events", suiteOf("scheduler/events").new)
}

func FuzzUnmarshalJSON_ExecutorCallAsStdlib(f *testing.F) {
	fuzzJSONAgainstStdlib(f, "executor/calls", suiteOf("executor/calls").new)
}

func FuzzUnmarshalJSON_MasterCallAsStdlib(f *testing.F) {
	fuzzJSONAgainstStdlib(f, "operator/master/calls", suiteOf("operator/master/calls").new)
}

// The agents' own protocol, whose calls the leader decodes with
// UnmarshalJSON too.
func FuzzUnmarshalJSON_AgentCallAsStdlib(f *testing.F) {
	fuzzJSONAgainstStdlib(f, "", func() any { return &agentapi.Call{} },
		`{"type":"SUBSCRIBE","agent_id":{"value":"a"},"subscribe":{"agent_info":{"hostname":"h","resources":[{"name":"cpus","type":"SCALAR","scalar":{"value":4}}]},"tasks":[{"task_id":{"value":"t"},"framework_id":{"value":"f"},"state":"TASK_RUNNING"}]}}`,
		`{"type":"UPDATE","agent_id":{"value":"a"},"update":{"updates":[{"framework_id":{"value":"f"},"status":{"task_id":{"value":"t"},"state":"TASK_RUNNING","uuid":"MDEyMzQ1Njc4OWFiY2RlZg==","timestamp":1700000000.5}}]}}`,
		`{"type":"EXECUTOR_EXITED","executor_exited":{"framework_id":{"value":"f"},"executor_id":{"value":"e"},"status":-1}}`)
}

// BenchmarkUnmarshalJSON decodes two scheduler calls of the conformance
// examples with UnmarshalJSON and with encoding/json.
func BenchmarkUnmarshalJSON(b *testing.B) {
	newCall := suiteOf("scheduler/calls").new
	for _, name := range []string{"acknowledge", "accept_launch"} {
		body, err := os.ReadFile(filepath.Join(testdata, "scheduler/calls", name+".json"))
		if err != nil {
			b.Fatal(err)
		}
		for _, dec := range []struct {
			name string
			fn   func([]byte, any) error
		}{{"decoder=mesh", UnmarshalJSON}, {"decoder=encoding-json", json.Unmarshal}} {
			b.Run(name+"/"+dec.name, func(b *testing.B) {
				b.ReportAllocs()
				for i := 0; i < b.N; i++ {
					if err := dec.fn(body, newCall()); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// The events of the agents' protocol, which agents decode with
// UnmarshalJSON.
func FuzzUnmarshalJSON_AgentEventAsStdlib(f *testing.F) {
	fuzzJSONAgainstStdlib(f, "", func() any { return &agentapi.Event{} },
		`{"type":"REGISTERED","term":7,"registered":{"agent_id":{"value":"a"},"heartbeat_interval_seconds":15}}`,
		`{"type":"RUN_TASK","term":7,"run_task":{"framework_id":{"value":"f"},"task":{"name":"t","task_id":{"value":"t"},"agent_id":{"value":"a"},"resources":[{"name":"cpus","type":"SCALAR","scalar":{"value":0.01}}],"command":{"value":"sleep 1"}}}}`,
		`{"type":"ACKNOWLEDGED","term":7,"acknowledged":{"framework_id":{"value":"f"},"task_id":{"value":"t"},"uuid":"MDEyMzQ1Njc4OWFiY2RlZg=="}}`,
		`{"type":"CHECKPOINT_RESOURCES","checkpoint_resources":{"resources":[]}}`, `{"term":-1}`, `{"term":1e30}`)
}
