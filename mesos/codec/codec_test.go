package codec

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"mesh/mesos"
	"mesh/mesos/scheduler"
	mesospb "mesh/mesos/v1pb"
	"mesh/mesos/v1pb/schedulerpb"
)

func TestAccepts_LibprocessRules(t *testing.T) {
	cases := []struct {
		accept, mt string
		want       bool
	}{
		{"application/json", JSON, true},
		{"application/x-protobuf", JSON, false},
		{"application/x-protobuf", Protobuf, true},
		{"*/*", Protobuf, true},
		{"application/*", Protobuf, true},
		{"text/*", JSON, false},
		{"Application/JSON", JSON, true},
		{"text/html, application/json ; q=0.5", JSON, true},
		{"application/json;q=0", JSON, false},
		{"application/json;q=0.0, */*", JSON, false}, // the exact entry decides first
		{"application/json;q=abc", JSON, false},
		{"application/json;q=1;q=0", JSON, true}, // malformed q: accepted
		{"text/plain", JSON, false},
		{"", JSON, false},
	}
	for _, c := range cases {
		if got := Accepts(c.accept, c.mt); got != c.want {
			t.Errorf("Accepts(%q, %q) = %v, want %v", c.accept, c.mt, got, c.want)
		}
	}
}

func TestResponseEncoding_AsTheMesosMaster(t *testing.T) {
	cases := []struct {
		accept  string
		present bool
		want    string
		ok      bool
	}{
		{"", false, JSON, true},
		{"*/*", true, JSON, true},
		{"application/json", true, JSON, true},
		{"application/x-protobuf", true, Protobuf, true},
		{"application/x-protobuf, application/json", true, JSON, true},
		{"application/x-protobuf, application/json;q=0", true, Protobuf, true},
		{"text/plain", true, "", false},
		{"", true, "", false},
	}
	for _, c := range cases {
		got, ok := ResponseEncoding(c.accept, c.present)
		if got != c.want || ok != c.ok {
			t.Errorf("ResponseEncoding(%q, %v) = %q, %v; want %q, %v", c.accept, c.present, got, ok, c.want, c.ok)
		}
	}
}

func TestRequestEncoding_ContentTypes(t *testing.T) {
	for ct, want := range map[string]string{
		"application/json":                JSON,
		"application/json; charset=utf-8": JSON,
		"application/x-protobuf":          Protobuf,
		"APPLICATION/X-PROTOBUF":          Protobuf,
		"text/plain":                      "",
		"application/recordio":            "",
		"garbage;;":                       "",
	} {
		got, ok := RequestEncoding(ct)
		if got != want || ok != (want != "") {
			t.Errorf("RequestEncoding(%q) = %q, %v; want %q", ct, got, ok, want)
		}
	}
}

// TestProtoToJSON_Int64AsNumbers checks the difference from protojson:
// Mesos writes 64-bit integers as JSON numbers.
func TestProtoToJSON_Int64AsNumbers(t *testing.T) {
	js := []byte(`{"type":"OFFERS","offers":{"offers":[{"id":{"value":"o"},"framework_id":{"value":"f"},"agent_id":{"value":"a"},"hostname":"h",
		"resources":[{"name":"ports","type":"RANGES","ranges":{"range":[{"begin":31000,"end":32000}]}}],
		"unavailability":{"start":{"nanoseconds":1700000000000000000}}}]}}`)
	var m schedulerpb.Event
	if err := JSONToProto(js, &m); err != nil {
		t.Fatal(err)
	}
	out, err := ProtoToJSON(&m)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"begin":31000`, `"end":32000`, `"nanoseconds":1700000000000000000`, `"type":"RANGES"`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("%s lacks %s", out, want)
		}
	}
	lib, _ := protojson.MarshalOptions{UseProtoNames: true}.Marshal(&m)
	if !strings.Contains(string(lib), `"1700000000000000000"`) {
		t.Fatalf("protojson no longer quotes int64 (%s); the custom mapping may be unnecessary", lib)
	}
}

func TestJSONToProto_Errors(t *testing.T) {
	cases := map[string]string{
		`{"type":"FOO"}`:                       `"FOO" is not a value of mesos.v1.scheduler.Call.Type`,
		`{"framework_id":"x"}`:                 "framework_id: expecting an object",
		`{"subscribe":{"suppressed_roles":1}}`: "subscribe: suppressed_roles: expecting an array",
		`[1]`:                                  "expecting a JSON object",
		`{"accept":{"filters":{"refuse_seconds":"x"}}}`: "accept: filters: refuse_seconds",
	}
	for in, want := range cases {
		err := JSONToProto([]byte(in), &schedulerpb.Call{})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("JSONToProto(%s) = %v, want an error with %q", in, err, want)
		}
	}
	// An unset enum written as "" and unknown keys leave the field unset.
	var m schedulerpb.Call
	if err := JSONToProto([]byte(`{"type":"","unknown":{"a":1},"framework_id":null}`), &m); err != nil {
		t.Fatal(err)
	}
	if m.Type != nil || m.FrameworkId != nil {
		t.Fatalf("fields set: %v", &m)
	}
}

func TestUnmarshal_ProtobufErrors(t *testing.T) {
	var c scheduler.Call
	if err := Unmarshal(Protobuf, []byte{0x0a, 0x05, 0x0a}, &c); err == nil {
		t.Fatal("a truncated message decoded")
	}
	// A FrameworkID without its required value.
	if err := Unmarshal(Protobuf, []byte{0x0a, 0x00}, &c); err == nil || !strings.Contains(err.Error(), "required") {
		t.Fatalf("missing required field: %v", err)
	}
	// Unknown fields are ignored.
	if err := Unmarshal(Protobuf, []byte{0x10, 0x02, 0xf8, 0x3e, 0x01}, &c); err != nil || c.Type != scheduler.CallTeardown {
		t.Fatalf("got %+v, %v; want TEARDOWN", c, err)
	}
	// An enum number mesos.v1 does not define leaves the field unset.
	c = scheduler.Call{}
	if err := Unmarshal(Protobuf, []byte{0x10, 0x63}, &c); err != nil || c.Type != "" {
		t.Fatalf("got type %q, %v; want it unset", c.Type, err)
	}
	// In a required field it leaves the field missing: no parse, as in
	// Mesos.
	bad, err := proto.Marshal(&schedulerpb.Event{Type: schedulerpb.Event_UPDATE.Enum(), Update: &schedulerpb.Event_Update{
		Status: &mesospb.TaskStatus{TaskId: &mesospb.TaskID{Value: proto.String("t")}, State: mesospb.TaskState(99).Enum()}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := Unmarshal(Protobuf, bad, &scheduler.Event{}); err == nil || !strings.Contains(err.Error(), "mesos.v1.TaskStatus.state") {
		t.Fatalf("an unknown TaskState decoded: %v", err)
	}
	if _, err := Marshal(Protobuf, &mesos.TaskInfo{}); err == nil {
		t.Fatal("a type without a protobuf message encoded")
	}
}

// BenchmarkCodec compares the encodings on a large event (an OFFERS
// event with 100 offers) and a LAUNCH call; protobuf_via_json is the
// encoding through mesh's JSON that Marshal's direct one replaces.
func BenchmarkCodec(b *testing.B) {
	offers := loadExample(b, "scheduler/events/offers.json", &scheduler.Event{}).(*scheduler.Event)
	one := offers.Offers.Offers[0]
	for i := 1; i < 100; i++ {
		offers.Offers.Offers = append(offers.Offers.Offers, one)
	}
	launch := loadExample(b, "scheduler/calls/accept_launch.json", &scheduler.Call{})
	for _, c := range []struct {
		name string
		v    any
		new  func() any
	}{
		{"offers100", offers, func() any { return &scheduler.Event{} }},
		{"accept_launch", launch, func() any { return &scheduler.Call{} }},
	} {
		for _, mt := range []string{JSON, Protobuf} {
			enc, err := Marshal(mt, c.v)
			if err != nil {
				b.Fatal(err)
			}
			short := map[string]string{JSON: "json", Protobuf: "protobuf"}[mt]
			b.Run(c.name+"/encode/"+short, func(b *testing.B) {
				b.SetBytes(int64(len(enc)))
				for i := 0; i < b.N; i++ {
					if _, err := Marshal(mt, c.v); err != nil {
						b.Fatal(err)
					}
				}
			})
			if mt == Protobuf {
				b.Run(c.name+"/encode/protobuf_via_json", func(b *testing.B) {
					b.SetBytes(int64(len(enc)))
					for i := 0; i < b.N; i++ {
						if _, err := marshalViaJSON(c.v, suite{}); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
			b.Run(c.name+"/decode/"+short, func(b *testing.B) {
				b.SetBytes(int64(len(enc)))
				for i := 0; i < b.N; i++ {
					if err := Unmarshal(mt, enc, c.new()); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func loadExample(tb testing.TB, name string, v any) any {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(testdata, name))
	if err != nil {
		tb.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		tb.Fatal(err)
	}
	return v
}

func TestMarshal_ProtobufErrors(t *testing.T) {
	bogus := &scheduler.Event{Type: scheduler.EventUpdate, Update: &scheduler.Update{Status: mesos.TaskStatus{
		TaskID: mesos.TaskID{Value: "t"}, State: "TASK_BOGUS"}}}
	if _, err := Marshal(Protobuf, bogus); err == nil || !strings.Contains(err.Error(), `"TASK_BOGUS" is not a value of mesos.v1.TaskState`) {
		t.Errorf("unknown enum name: %v", err)
	}
	neg := &scheduler.Event{Type: scheduler.EventSubscribed, Subscribed: &scheduler.Subscribed{
		FrameworkID: &mesos.FrameworkID{Value: "f"}, MasterInfo: &mesos.MasterInfo{ID: "m", Port: -1}}}
	if _, err := Marshal(Protobuf, neg); err == nil || !strings.Contains(err.Error(), "does not fit") {
		t.Errorf("a negative port for a uint32 field: %v", err)
	}
	// Verbatim JSON (a task's discovery info) is carried over field by
	// field; what the message does not have is left out.
	ev := &scheduler.Event{Type: scheduler.EventUpdate, Update: &scheduler.Update{Status: mesos.TaskStatus{
		TaskID: mesos.TaskID{Value: "t"}, State: mesos.TaskRunning}}}
	launch := &scheduler.Call{Type: scheduler.CallAccept, Accept: &scheduler.Accept{
		OfferIDs: []mesos.OfferID{{Value: "o"}},
		Operations: []mesos.OfferOperation{{Type: mesos.OperationLaunch, Launch: &struct {
			TaskInfos []mesos.TaskInfo `json:"task_infos,omitempty"`
		}{TaskInfos: []mesos.TaskInfo{{Name: "n", TaskID: mesos.TaskID{Value: "t"}, AgentID: mesos.AgentID{Value: "a"},
			Discovery: json.RawMessage(`{"visibility":"CLUSTER","name":"web","unknown":1}`)}}}}}}}
	pb, err := Marshal(Protobuf, launch)
	if err != nil {
		t.Fatal(err)
	}
	var back scheduler.Call
	if err := Unmarshal(Protobuf, pb, &back); err != nil ||
		string(back.Accept.Operations[0].Launch.TaskInfos[0].Discovery) != `{"visibility":"CLUSTER","name":"web"}` {
		t.Fatalf("discovery came back as %+v (%v)", back.Accept, err)
	}
	// A check status is a typed field; it keeps its result.
	code := int32(3)
	ev.Update.Status.CheckStatus = &mesos.CheckStatusInfo{Type: mesos.CheckTypeCommand, Command: &mesos.CommandCheckStatus{ExitCode: &code}}
	if pb, err = Marshal(Protobuf, ev); err != nil {
		t.Fatal(err)
	}
	var backEv scheduler.Event
	if err := Unmarshal(Protobuf, pb, &backEv); err != nil || !backEv.Update.Status.CheckStatus.Equal(*ev.Update.Status.CheckStatus) {
		t.Fatalf("check_status came back as %+v (%v)", backEv.Update.Status.CheckStatus, err)
	}
}
