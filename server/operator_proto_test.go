package server_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"mesh/mesos/codec"
	mapi "mesh/mesos/master"
	"mesh/mesos/v1pb/masterpb"
	"mesh/server/servertest"
)

// opCallProto makes a call, given as JSON, in protobuf: the body is
// master.proto's Call and the answer, accepted as protobuf, is decoded
// into a Response.
func opCallProto(t *testing.T, addr, body string) *mapi.Response {
	t.Helper()
	var call mapi.Call
	if err := json.Unmarshal([]byte(body), &call); err != nil {
		t.Fatal(err)
	}
	pb, err := codec.MarshalAs(codec.Protobuf, &masterpb.Call{}, &call)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/api/v1", bytes.NewReader(pb))
	req.Header.Set("Content-Type", codec.Protobuf)
	req.Header.Set("Accept", codec.Protobuf)
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != codec.Protobuf {
		t.Fatalf("%s in protobuf: %d %s %q", body, resp.StatusCode, resp.Header.Get("Content-Type"), out)
	}
	var r mapi.Response
	if err := codec.Unmarshal(codec.Protobuf, out, &r); err != nil || r.Type != call.Type {
		t.Fatalf("%s in protobuf: response type %q (%v)", body, r.Type, err)
	}
	return &r
}

// meaningOf is v's JSON encoding decoded into generic values.
func meaningOf(t *testing.T, v any) any {
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

// TestOperator_ProtobufAnswersAsJSONDoes: every read call of the
// operator API, made in protobuf, answers in protobuf what it answers in
// JSON (metrics by name: their values move).
func TestOperator_ProtobufAnswersAsJSONDoes(t *testing.T) {
	b := newBusyCluster(t)
	for _, body := range []string{`{"type":"GET_HEALTH"}`, `{"type":"GET_FLAGS"}`, `{"type":"GET_VERSION"}`,
		`{"type":"GET_METRICS","get_metrics":{}}`, `{"type":"GET_LOGGING_LEVEL"}`, `{"type":"GET_STATE"}`,
		`{"type":"GET_AGENTS"}`, `{"type":"GET_FRAMEWORKS"}`, `{"type":"GET_EXECUTORS"}`, `{"type":"GET_OPERATIONS"}`,
		`{"type":"GET_TASKS"}`, `{"type":"GET_ROLES"}`, `{"type":"GET_MASTER"}`} {
		var js mapi.Response
		operator(t, b.leader, body, &js)
		pb := opCallProto(t, b.leader, body)
		if js.GetMetrics != nil {
			names := func(r *mapi.Response) (out []string) {
				for _, m := range r.GetMetrics.Metrics {
					out = append(out, m.Name)
				}
				return out
			}
			if !reflect.DeepEqual(names(&js), names(pb)) {
				t.Errorf("GET_METRICS: protobuf names %v, JSON names %v", names(pb), names(&js))
			}
			continue
		}
		if a, p := meaningOf(t, &js), meaningOf(t, pb); !reflect.DeepEqual(a, p) {
			t.Errorf("%s: protobuf answer %v\ndiffers from JSON answer %v", body, p, a)
		}
	}
	// SET_LOGGING_LEVEL and TEARDOWN answer an empty 200 in protobuf too.
	code, body, _ := opCall(t, b.leader, "/api/v1", "\x08\x06\x1a\x06\x08\x00\x12\x02\x08\x01", map[string]string{
		"Content-Type": codec.Protobuf, "Accept": codec.Protobuf})
	if code != http.StatusOK || body != "" {
		t.Errorf("SET_LOGGING_LEVEL in protobuf: %d %q, want an empty 200", code, body)
	}
}

// opWriteProto makes a call that answers no message, given as JSON, in
// protobuf, and returns the status and body.
func opWriteProto(t *testing.T, addr, body string) (int, string) {
	t.Helper()
	var call mapi.Call
	if err := json.Unmarshal([]byte(body), &call); err != nil {
		t.Fatal(err)
	}
	pb, err := codec.MarshalAs(codec.Protobuf, &masterpb.Call{}, &call)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/api/v1", bytes.NewReader(pb))
	req.Header.Set("Content-Type", codec.Protobuf)
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}

// TestOperator_WriteCallsInProtobuf: the calls that change the cluster
// work in protobuf as in JSON, and their refusals are the same.
func TestOperator_WriteCallsInProtobuf(t *testing.T) {
	s := servertest.NewServer(t, servertest.Options{})
	addr := s.HTTPAddr()
	a := servertest.NewSimAgent(addr, agentResources())
	a.Start(t)
	f := subscribe(t, addr, subscribeBody("doomed", "", ""))
	f.subscribed()
	for _, body := range []string{
		`{"type":"SET_LOGGING_LEVEL","set_logging_level":{"level":1,"duration":{"nanoseconds":60000000000}}}`,
		`{"type":"UPDATE_WEIGHTS","update_weights":{"weight_infos":[{"role":"eng","weight":2}]}}`,
		`{"type":"UPDATE_QUOTA","update_quota":{"quota_configs":[{"role":"eng","guarantees":{"cpus":{"value":1}},"limits":{"mem":{"value":2048}}}]}}`,
		`{"type":"TEARDOWN","teardown":{"framework_id":{"value":"` + f.id + `"}}}`,
		`{"type":"MARK_AGENT_GONE","mark_agent_gone":{"agent_id":{"value":"` + a.ID + `"}}}`,
	} {
		if code, out := opWriteProto(t, addr, body); code != http.StatusOK {
			t.Errorf("%s in protobuf: %d %s", body, code, out)
		}
	}
	w := opCallProto(t, addr, `{"type":"GET_WEIGHTS"}`).GetWeights
	if w == nil || len(w.WeightInfos) != 1 || w.WeightInfos[0].Role != "eng" || *w.WeightInfos[0].Weight != 2 {
		t.Errorf("GET_WEIGHTS in protobuf: %+v", w)
	}
	q := opCallProto(t, addr, `{"type":"GET_QUOTA"}`).GetQuota
	if q == nil || len(q.Status.Configs) != 1 || q.Status.Configs[0].Guarantees["cpus"].Value != 1 || q.Status.Configs[0].Limits["mem"].Value != 2048 {
		t.Errorf("GET_QUOTA in protobuf: %+v", q)
	}
	st := s.FSM().State()
	if fw := st.Framework(f.id); fw == nil || !fw.Removed {
		t.Errorf("TEARDOWN in protobuf left the framework: %+v", fw)
	}
	if ag := st.Agent(a.ID); ag == nil || ag.State != "gone" {
		t.Errorf("MARK_AGENT_GONE in protobuf left the agent: %+v", ag)
	}
	for body, want := range map[string]string{
		`{"type":"UPDATE_WEIGHTS","update_weights":{"weight_infos":[{"role":"eng","weight":-1}]}}`:                  "Invalid weight",
		`{"type":"UPDATE_QUOTA","update_quota":{"quota_configs":[{"role":"*","guarantees":{"cpus":{"value":1}}}]}}`: "cannot be '*'",
		`{"type":"MARK_AGENT_GONE","mark_agent_gone":{"agent_id":{"value":"nope"}}}`:                                "not found",
	} {
		if code, out := opWriteProto(t, addr, body); code/100 != 4 || !strings.Contains(out, want) {
			t.Errorf("%s in protobuf: %d %q, want a 4xx with %q", body, code, out, want)
		}
	}
}
