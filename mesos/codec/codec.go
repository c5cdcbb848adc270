// Package codec encodes and decodes the messages of the Mesos v1 Scheduler
// and Executor APIs in either of the two encodings Mesos speaks:
// application/json and application/x-protobuf. mesh keeps one data model,
// the Go types of mesh/mesos/scheduler and mesh/mesos/executor, whose JSON
// encoding is Mesos' own; the protobuf encoding goes through the generated
// messages of mesh/mesos/v1pb. Decoding takes Mesos' JSON mapping of the
// message, so mesh's JSON decoding (and its leniency) serves both:
//
//	protobuf bytes → v1pb message → Mesos JSON → mesh type
//
// Encoding fills the message straight from the mesh type by its JSON field
// names, to the same bytes as going through JSON would give (the tests
// hold it to that), at a fraction of the cost:
//
//	mesh type → v1pb message → protobuf bytes
//
// It also holds the media type rules of Mesos' HTTP endpoints: which
// Content-Type a request may have and which encoding an Accept header
// chooses.
package codec

import (
	"encoding/json"
	"fmt"
	"reflect"

	segjson "github.com/segmentio/encoding/json"
	"google.golang.org/protobuf/proto"

	"mesh/mesos/agentop"
	"mesh/mesos/executor"
	mapi "mesh/mesos/master"
	"mesh/mesos/scheduler"
	"mesh/mesos/v1pb/agentpb"
	"mesh/mesos/v1pb/executorpb"
	"mesh/mesos/v1pb/masterpb"
	"mesh/mesos/v1pb/schedulerpb"
)

// The media types of the two encodings.
const (
	JSON     = "application/json"
	Protobuf = "application/x-protobuf"
)

// message returns a new, empty generated message for a pointer to one of
// mesh's API types. The operator API's Call is carried by the master's
// and the agent's Call messages alike: MarshalAs and UnmarshalAs name
// the message.
func message(v any) (proto.Message, error) {
	switch v.(type) {
	case *scheduler.Call:
		return &schedulerpb.Call{}, nil
	case *scheduler.Event:
		return &schedulerpb.Event{}, nil
	case *executor.Call:
		return &executorpb.Call{}, nil
	case *executor.Event:
		return &executorpb.Event{}, nil
	case *mapi.Response:
		return &masterpb.Response{}, nil
	case *mapi.Event:
		return &masterpb.Event{}, nil
	case *agentop.Response:
		return &agentpb.Response{}, nil
	}
	return nil, fmt.Errorf("codec: no protobuf message for %T", v)
}

// MessageName is the protobuf name of v's message, e.g. "Call" for a
// *scheduler.Call, as Mesos names it in its parse errors.
func MessageName(v any) string {
	m, err := message(v)
	if err != nil {
		return fmt.Sprintf("%T", v)
	}
	return string(m.ProtoReflect().Descriptor().Name())
}

// Marshal encodes v, a pointer to a Call or Event of the scheduler or
// executor API, or to a Response or Event of the operator API, in the
// encoding of media type mt.
func Marshal(mt string, v any) ([]byte, error) {
	if mt != Protobuf {
		return MarshalAs(mt, nil, v)
	}
	m, err := message(v)
	if err != nil {
		return nil, err
	}
	return MarshalAs(mt, m, v)
}

// MarshalAs is Marshal with the protobuf message named: m is a new,
// empty message whose JSON mapping v's type follows (unused for JSON).
func MarshalAs(mt string, m proto.Message, v any) ([]byte, error) {
	switch mt {
	case JSON:
		return json.Marshal(v)
	case Protobuf:
		if err := fillFromGo(m.ProtoReflect(), reflect.ValueOf(v)); err != nil {
			return nil, fmt.Errorf("encoding %s as protobuf: %w", m.ProtoReflect().Descriptor().FullName(), err)
		}
		return proto.MarshalOptions{AllowPartial: true, Deterministic: true}.Marshal(m)
	}
	return nil, fmt.Errorf("codec: unsupported media type %q", mt)
}

// Unmarshal decodes data, encoded as media type mt, into v, a pointer to
// one of the types Marshal encodes. A protobuf message that does not
// parse, or that lacks a required field, is an error, as in Mesos;
// unknown fields are ignored in both encodings.
func Unmarshal(mt string, data []byte, v any) error {
	if mt != Protobuf {
		return UnmarshalAs(mt, nil, data, v)
	}
	m, err := message(v)
	if err != nil {
		return err
	}
	return UnmarshalAs(mt, m, data, v)
}

// UnmarshalJSON decodes JSON into v as encoding/json.Unmarshal does (the
// same fields matched the same way, the same values, the same refusals
// with the same messages; the fuzz tests hold it to that), with
// segmentio's decoder, which is faster (BenchmarkUnmarshalJSON: 2-3× on an
// ACKNOWLEDGE, a fifth on a launch): a leader decodes every call of every
// framework and agent, and at a data center's load that was an eighth of
// its cpu.
func UnmarshalJSON(data []byte, v any) error {
	if segjson.Unmarshal(data, v) == nil {
		return nil
	}
	// A refusal is explained by encoding/json, into a new value: mesh's
	// messages stay as they were, and segmentio's would quote the input
	// from where it failed to its end.
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return json.Unmarshal(data, v)
	}
	fresh := reflect.New(rv.Type().Elem())
	if err := json.Unmarshal(data, fresh.Interface()); err != nil {
		return err
	}
	rv.Elem().Set(fresh.Elem())
	return nil
}

// UnmarshalAs is Unmarshal with the protobuf message named: m is a new,
// empty message whose JSON mapping v's type follows (unused for JSON).
func UnmarshalAs(mt string, m proto.Message, data []byte, v any) error {
	switch mt {
	case JSON:
		return UnmarshalJSON(data, v)
	case Protobuf:
		if err := proto.Unmarshal(data, m); err != nil {
			return err
		}
		js, err := ProtoToJSON(m)
		if err != nil {
			return err
		}
		return UnmarshalJSON(js, v)
	}
	return fmt.Errorf("codec: unsupported media type %q", mt)
}
