package codec

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"mesh/mesos/agentop"
	"mesh/mesos/executor"
	mapi "mesh/mesos/master"
	"mesh/mesos/scheduler"
	"mesh/mesos/v1pb/agentpb"
	"mesh/mesos/v1pb/masterpb"
)

var update = flag.Bool("update", false, "rewrite the protobuf golden files from the JSON ones")

// testdata is the repository's wire examples: one JSON file per message,
// and beside each its protobuf encoding (.pb).
const testdata = "../../testdata"

type suite struct {
	dir   string
	new   func() any
	types []string // every type the API defines but UNKNOWN
	// msg, when set, makes the protobuf message (the operator API's Call
	// is carried by the master's and the agent's Call messages).
	msg func() proto.Message
}

// message is the protobuf message of v in this suite.
func (s suite) message(v any) (proto.Message, error) {
	if s.msg != nil {
		return s.msg(), nil
	}
	return message(v)
}

// callTypes lists a dialect's call types but UNKNOWN.
func callTypes(d mapi.Dialect) []string {
	var out []string
	for t := range d.Types {
		if t != mapi.CallUnknown {
			out = append(out, t)
		}
	}
	return out
}

var suites = []suite{
	{dir: "scheduler/calls", new: func() any { return &scheduler.Call{} }, types: []string{
		scheduler.CallSubscribe, scheduler.CallTeardown, scheduler.CallAccept, scheduler.CallDecline,
		scheduler.CallAcceptInverseOffers, scheduler.CallDeclineInverseOffers, scheduler.CallRevive,
		scheduler.CallKill, scheduler.CallShutdown, scheduler.CallAcknowledge,
		scheduler.CallAcknowledgeOperationStatus, scheduler.CallReconcile, scheduler.CallReconcileOperations,
		scheduler.CallMessage, scheduler.CallRequest, scheduler.CallSuppress, scheduler.CallUpdateFramework}},
	{dir: "scheduler/events", new: func() any { return &scheduler.Event{} }, types: []string{
		scheduler.EventSubscribed, scheduler.EventOffers, scheduler.EventInverseOffers, scheduler.EventRescind,
		scheduler.EventRescindInverseOffer, scheduler.EventUpdate, scheduler.EventUpdateOperationStatus,
		scheduler.EventMessage, scheduler.EventFailure, scheduler.EventError, scheduler.EventHeartbeat}},
	{dir: "executor/calls", new: func() any { return &executor.Call{} }, types: []string{
		executor.CallSubscribe, executor.CallUpdate, executor.CallMessage, executor.CallHeartbeat}},
	{dir: "executor/events", new: func() any { return &executor.Event{} }, types: []string{
		executor.EventSubscribed, executor.EventLaunch, executor.EventLaunchGroup, executor.EventKill,
		executor.EventAcknowledged, executor.EventMessage, executor.EventError, executor.EventShutdown,
		executor.EventHeartbeat}},
	{dir: "operator/master/calls", new: func() any { return &mapi.Call{} }, types: callTypes(mapi.MasterCalls),
		msg: func() proto.Message { return &masterpb.Call{} }},
	{dir: "operator/master/responses", new: func() any { return &mapi.Response{} }, types: []string{
		mapi.ResponseGetHealth, mapi.ResponseGetFlags, mapi.ResponseGetVersion, mapi.ResponseGetMetrics,
		mapi.ResponseGetLoggingLevel, mapi.ResponseGetState, mapi.ResponseGetAgents, mapi.ResponseGetFrameworks,
		mapi.ResponseGetExecutors, mapi.ResponseGetOperations, mapi.ResponseGetTasks, mapi.ResponseGetRoles,
		mapi.ResponseGetMaster, mapi.ResponseGetWeights, mapi.ResponseGetQuota,
		mapi.ResponseGetMaintenanceStatus, mapi.ResponseGetMaintenanceSchedule}},
	{dir: "operator/master/events", new: func() any { return &mapi.Event{} }, types: []string{
		mapi.EventSubscribed, mapi.EventTaskAdded, mapi.EventTaskUpdated, mapi.EventAgentAdded, mapi.EventAgentRemoved,
		mapi.EventFrameworkAdded, mapi.EventFrameworkUpdated, mapi.EventFrameworkRemoved, mapi.EventHeartbeat}},
	{dir: "operator/agent/calls", new: func() any { return &mapi.Call{} }, types: callTypes(agentop.Calls),
		msg: func() proto.Message { return &agentpb.Call{} }},
	{dir: "operator/agent/responses", new: func() any { return &agentop.Response{} }, types: []string{
		mapi.ResponseGetHealth, mapi.ResponseGetFlags, mapi.ResponseGetVersion, mapi.ResponseGetMetrics,
		mapi.ResponseGetLoggingLevel, mapi.ResponseListFiles, mapi.ResponseReadFile, mapi.ResponseGetState,
		agentop.ResponseGetContainers, mapi.ResponseGetFrameworks, mapi.ResponseGetExecutors,
		mapi.ResponseGetOperations, mapi.ResponseGetTasks, agentop.ResponseGetAgent}},
}

// TestConformance_BothEncodings takes every JSON example of the scheduler
// and executor APIs through both encodings: the JSON decodes into mesh's
// type, which encodes to exactly the protobuf golden file; that file
// decodes back to the same message; the protobuf library's own JSON
// mapping of the example encodes to the same bytes; and every call and
// event type has an example.
func TestConformance_BothEncodings(t *testing.T) {
	for _, s := range suites {
		t.Run(strings.ReplaceAll(s.dir, "/", "_"), func(t *testing.T) {
			files, err := filepath.Glob(filepath.Join(testdata, s.dir, "*.json"))
			if err != nil || len(files) == 0 {
				t.Fatalf("no examples in %s: %v", s.dir, err)
			}
			seen := map[string]bool{}
			for _, f := range files {
				t.Run(filepath.Base(f), func(t *testing.T) {
					seen[conform(t, f, s)] = true
				})
			}
			for _, typ := range s.types {
				if !seen[typ] {
					t.Errorf("no example of type %s in %s", typ, s.dir)
				}
			}
		})
	}
}

// conform checks one example of suite s and returns its type.
func conform(t *testing.T, file string, s suite) string {
	t.Helper()
	newV := s.new
	js, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	v := newV()
	if err := Unmarshal(JSON, js, v); err != nil {
		t.Fatalf("decode JSON: %v", err)
	}
	m, err := s.message(v)
	if err != nil {
		t.Fatal(err)
	}
	pb, err := MarshalAs(Protobuf, m, v)
	if err != nil {
		t.Fatalf("encode protobuf: %v", err)
	}
	if via, err := marshalViaJSON(v, s); err != nil || !bytes.Equal(via, pb) {
		t.Fatalf("the direct encoding differs from the one through JSON (%v):\ndirect %x\n  json %x", err, pb, via)
	}
	pbFile := strings.TrimSuffix(file, ".json") + ".pb"
	if *update {
		if err := os.WriteFile(pbFile, pb, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(pbFile)
	if err != nil {
		t.Fatalf("golden protobuf (run go test ./mesos/codec -run Conformance -update): %v", err)
	}
	if !bytes.Equal(pb, want) {
		t.Fatalf("protobuf encoding differs from %s:\n got %x\nwant %x", pbFile, pb, want)
	}

	// The generated message, filled by protojson from the same example,
	// encodes to the same bytes: mesh's mapping agrees with the library's.
	m, _ = s.message(v)
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(js, m); err != nil {
		t.Fatalf("protojson: %v", err)
	}
	lib, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		t.Fatalf("protobuf library: %v", err)
	}
	if !bytes.Equal(lib, want) {
		t.Fatalf("protojson's encoding differs from mesh's:\n lib %x\nmesh %x", lib, want)
	}

	back := newV()
	m, _ = s.message(v)
	if err := UnmarshalAs(Protobuf, m, want, back); err != nil {
		t.Fatalf("decode protobuf: %v", err)
	}
	if a, b := meaning(t, v), meaning(t, back); !reflect.DeepEqual(a, b) {
		t.Fatalf("protobuf round trip changed the message:\nbefore %v\nafter  %v", a, b)
	}
	var typ struct {
		Type string `json:"type"`
	}
	_ = json.Unmarshal(js, &typ)
	return typ.Type
}

// meaning is v's JSON encoding decoded into generic values.
func meaning(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// marshalViaJSON is the reference for Marshal's protobuf encoding: mesh's
// JSON encoding of v read into the message by JSONToProto.
func marshalViaJSON(v any, s suite) ([]byte, error) {
	m, err := s.message(v)
	if err != nil {
		return nil, err
	}
	js, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	if err := JSONToProto(js, m); err != nil {
		return nil, err
	}
	return proto.MarshalOptions{AllowPartial: true, Deterministic: true}.Marshal(m)
}
