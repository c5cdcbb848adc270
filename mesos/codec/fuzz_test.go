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
func fuzzProtobuf(f *testing.F, dir string, newV func() any) {
	files, _ := filepath.Glob(filepath.Join(testdata, dir, "*.pb"))
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
		if err := Unmarshal(Protobuf, data, v); err != nil {
			return
		}
		pb, err := Marshal(Protobuf, v)
		if err != nil {
			t.Fatalf("a decoded message does not encode: %v", err)
		}
		if via, err := marshalViaJSON(v); err != nil || !bytes.Equal(via, pb) {
			t.Fatalf("the direct encoding differs from the one through JSON (%v):\ndirect %x\n  json %x", err, pb, via)
		}
		back := newV()
		if err := Unmarshal(Protobuf, pb, back); err != nil {
			t.Fatalf("a re-encoded message does not decode: %v", err)
		}
		if a, b := meaning(t, v), meaning(t, back); !reflect.DeepEqual(a, b) {
			t.Fatalf("re-encoding changed the message:\nbefore %v\nafter  %v", a, b)
		}
	})
}

func FuzzUnmarshalProtobuf_SchedulerCall(f *testing.F) {
	fuzzProtobuf(f, "scheduler/calls", func() any { return &scheduler.Call{} })
}

func FuzzUnmarshalProtobuf_SchedulerEvent(f *testing.F) {
	fuzzProtobuf(f, "scheduler/events", func() any { return &scheduler.Event{} })
}

func FuzzUnmarshalProtobuf_ExecutorCall(f *testing.F) {
	fuzzProtobuf(f, "executor/calls", func() any { return &executor.Call{} })
}

func FuzzUnmarshalProtobuf_ExecutorEvent(f *testing.F) {
	fuzzProtobuf(f, "executor/events", func() any { return &executor.Event{} })
}
