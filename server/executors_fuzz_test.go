package server

import (
	"encoding/json"
	"testing"

	"github.com/hashicorp/raft"

	"mesh/fsm"
	"mesh/mesos"
)

// FuzzValidReportedExecutors feeds the executors an agent lists when it
// registers, decoded from arbitrary JSON, to the leader's check: none may
// panic, and a list it accepts is applied by the state machine (which
// must not panic on what the leader commits) as that agent's executors.
func FuzzValidReportedExecutors(f *testing.F) {
	for _, seed := range []string{
		`[{"executor_id":{"value":"e1"},"framework_id":{"value":"f1"},"resources":[{"name":"cpus","type":"SCALAR","scalar":{"value":0.1}}]}]`,
		`[{"executor_id":{"value":"e1"}}]`,
		`[{"executor_id":{"value":""},"framework_id":{"value":"f1"}}]`,
		`[{"executor_id":{"value":"a/b"},"framework_id":{"value":"f1"}}]`,
		`[{"executor_id":{"value":"e1"},"framework_id":{"value":"f1"},"resources":[{"name":"cpus","type":"SCALAR","scalar":{"value":-1}}]}]`,
		`[{"executor_id":{"value":"e1"},"framework_id":{"value":"f1"}},{"executor_id":{"value":"e1"},"framework_id":{"value":"f1"}}]`,
		`[{"executor_id":{"value":"e1"},"framework_id":{"value":"no-such-framework"}}]`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var execs []mesos.ExecutorInfo
		if json.Unmarshal(b, &execs) != nil || validReportedExecutors(execs) != nil {
			return
		}
		m := fsm.New(nil)
		apply := func(i uint64, typ fsm.MessageType, req any) {
			buf, err := fsm.Encode(typ, req)
			if err != nil {
				t.Fatal(err)
			}
			if res := m.Apply(&raft.Log{Index: i, Type: raft.LogCommand, Data: buf}); res != nil {
				if err, ok := res.(error); ok {
					t.Fatalf("apply %d: %v", typ, err)
				}
			}
		}
		apply(1, fsm.FrameworkRegisterRequestType, &fsm.FrameworkRegisterRequest{Framework: fsm.Framework{ID: "f1"}})
		agent := fsm.Agent{ID: "a1", State: fsm.AgentActive}
		apply(2, fsm.AgentRegisterRequestType, &fsm.AgentRegisterRequest{Agent: agent, ReportsExecutors: true, Executors: execs})
		for _, e := range m.State().ExecutorsByAgent("a1") {
			if e.FrameworkID != "f1" || e.ExecutorID == "" {
				t.Fatalf("recorded %+v, want only executors of the known framework f1", e)
			}
		}
	})
}
