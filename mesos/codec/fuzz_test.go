package codec

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"mesh/mesos/executor"
	"mesh/mesos/scheduler"
)

// fuzzProtobuf checks a protobuf decoder on arbitrary bytes: it never
// panics, and what it accepts encodes again and decodes to the same
// message.
func fuzzProtobuf(f *testing.F, s suite) {
	newV := s.new
	files, _ := filepath.Glob(filepath.Join(testdata, s.dir, "*.pb"))
	for _, file := range files {
		if b, err := os.ReadFile(file); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte{})
	f.Add([]byte{0x08, 0x99, 0x01})
	f.Add([]byte{0x12, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		v := newV()
		m, err := s.message(v)
		if err != nil {
			t.Fatal(err)
		}
		if err := UnmarshalAs(Protobuf, m, data, v); err != nil {
			return
		}
		m, _ = s.message(v)
		pb, err := MarshalAs(Protobuf, m, v)
		if err != nil {
			t.Fatalf("a decoded message does not encode: %v", err)
		}
		if via, err := marshalViaJSON(v, s); err != nil || !bytes.Equal(via, pb) {
			t.Fatalf("the direct encoding differs from the one through JSON (%v):\ndirect %x\n  json %x", err, pb, via)
		}
		back := newV()
		m, _ = s.message(v)
		if err := UnmarshalAs(Protobuf, m, pb, back); err != nil {
			t.Fatalf("a re-encoded message does not decode: %v", err)
		}
		if a, b := meaning(t, v), meaning(t, back); !reflect.DeepEqual(a, b) {
			t.Fatalf("re-encoding changed the message:\nbefore %v\nafter  %v", a, b)
		}
	})
}

func FuzzUnmarshalProtobuf_SchedulerCall(f *testing.F) {
	fuzzProtobuf(f, suite{dir: "scheduler/calls", new: func() any { return &scheduler.Call{} }})
}

func FuzzUnmarshalProtobuf_SchedulerEvent(f *testing.F) {
	fuzzProtobuf(f, suite{dir: "scheduler/events", new: func() any { return &scheduler.Event{} }})
}

func FuzzUnmarshalProtobuf_ExecutorCall(f *testing.F) {
	fuzzProtobuf(f, suite{dir: "executor/calls", new: func() any { return &executor.Call{} }})
}

func FuzzUnmarshalProtobuf_ExecutorEvent(f *testing.F) {
	fuzzProtobuf(f, suite{dir: "executor/events", new: func() any { return &executor.Event{} }})
}

// The operator API's messages: a call decodes as the master's or the
// agent's Call message, a response as its side's Response.

func FuzzUnmarshalProtobuf_MasterCall(f *testing.F) {
	fuzzProtobuf(f, suiteOf("operator/master/calls"))
}

func FuzzUnmarshalProtobuf_MasterResponse(f *testing.F) {
	fuzzProtobuf(f, suiteOf("operator/master/responses"))
}

func FuzzUnmarshalProtobuf_MasterEvent(f *testing.F) {
	fuzzProtobuf(f, suiteOf("operator/master/events"))
}

func FuzzUnmarshalProtobuf_AgentCall(f *testing.F) {
	fuzzProtobuf(f, suiteOf("operator/agent/calls"))
}

func FuzzUnmarshalProtobuf_AgentResponse(f *testing.F) {
	fuzzProtobuf(f, suiteOf("operator/agent/responses"))
}

// suiteOf is the conformance suite of examples dir.
func suiteOf(dir string) suite {
	for _, s := range suites {
		if s.dir == dir {
			return s
		}
	}
	panic("no suite " + dir)
}
