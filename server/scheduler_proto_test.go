package server_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"mesh/mesos"
	"mesh/mesos/codec"
	"mesh/mesos/recordio"
	"mesh/mesos/scheduler"
	"mesh/server/servertest"
)

func protoCall(t *testing.T, c *scheduler.Call) string {
	t.Helper()
	b, err := codec.Marshal(codec.Protobuf, c)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func subscribeCall(name string) *scheduler.Call {
	return &scheduler.Call{Type: scheduler.CallSubscribe, Subscribe: &scheduler.Subscribe{
		FrameworkInfo: &mesos.FrameworkInfo{User: "tester", Name: name}}}
}

// openStream posts a SUBSCRIBE and returns the 200 response, failing the
// test on any other status.
func openStream(t *testing.T, addr, body string, headers map[string]string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/api/v1/scheduler", strings.NewReader(body))
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("subscribe with %v: status %d: %s", headers, resp.StatusCode, b)
	}
	return resp
}

// firstEvent reads the stream's first record in encoding mt.
func firstEvent(t *testing.T, resp *http.Response, mt string) *scheduler.Event {
	t.Helper()
	rec, err := recordio.NewReader(resp.Body).ReadRecord()
	if err != nil {
		t.Fatalf("first record: %v", err)
	}
	var ev scheduler.Event
	if err := codec.Unmarshal(mt, rec, &ev); err != nil {
		t.Fatalf("first record is not a %s event: %v (%q)", mt, err, rec)
	}
	return &ev
}

// TestScheduler_EncodingNegotiation checks, for each way a request may
// name its encodings, which encoding the SUBSCRIBE stream is in, as the
// Mesos master chooses it: JSON when Accept allows it (or is absent),
// else protobuf; the body's encoding follows Content-Type alone.
func TestScheduler_EncodingNegotiation(t *testing.T) {
	srv := servertest.NewServer(t, servertest.Options{})
	addr := srv.HTTPAddr()
	jsonBody := subscribeBody("neg", "", "")
	pbBody := protoCall(t, subscribeCall("neg"))
	cases := []struct {
		name, body, ct, accept, want string
	}{
		{"json, no Accept", jsonBody, codec.JSON, "", codec.JSON},
		{"protobuf, no Accept", pbBody, codec.Protobuf, "", codec.JSON},
		{"protobuf, Accept protobuf", pbBody, codec.Protobuf, codec.Protobuf, codec.Protobuf},
		{"json, Accept protobuf", jsonBody, codec.JSON, codec.Protobuf, codec.Protobuf},
		{"protobuf, Accept */*", pbBody, codec.Protobuf, "*/*", codec.JSON},
		{"protobuf, Accept both", pbBody, codec.Protobuf, codec.Protobuf + ", " + codec.JSON, codec.JSON},
		{"protobuf, Accept json;q=0 and protobuf", pbBody, codec.Protobuf, codec.JSON + ";q=0, " + codec.Protobuf, codec.Protobuf},
		{"protobuf with a charset", pbBody, codec.Protobuf + "; charset=binary", codec.Protobuf, codec.Protobuf},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := map[string]string{"Content-Type": c.ct}
			if c.accept != "" {
				h["Accept"] = c.accept
			}
			resp := openStream(t, addr, c.body, h)
			if ct := resp.Header.Get("Content-Type"); ct != c.want {
				t.Fatalf("stream Content-Type %q, want %q", ct, c.want)
			}
			if !uuidRe.MatchString(resp.Header.Get("Mesos-Stream-Id")) {
				t.Fatalf("Mesos-Stream-Id %q", resp.Header.Get("Mesos-Stream-Id"))
			}
			ev := firstEvent(t, resp, c.want)
			if ev.Type != scheduler.EventSubscribed || ev.Subscribed.FrameworkID.Value == "" ||
				ev.Subscribed.MasterInfo == nil || ev.Subscribed.MasterInfo.IP != 16777343 {
				t.Fatalf("first event %+v", ev)
			}
		})
	}
}

// TestScheduler_ProtobufBadInput: a protobuf body that does not parse is a
// 400 that says so, a Content-Type that is neither encoding a 415 naming
// both, an Accept that allows neither a 406 naming both; nothing is
// committed and the server keeps serving protobuf frameworks.
func TestScheduler_ProtobufBadInput(t *testing.T) {
	srv := servertest.NewServer(t, servertest.Options{})
	addr := srv.HTTPAddr()
	pb := map[string]string{"Content-Type": codec.Protobuf}
	good := protoCall(t, subscribeCall("bad"))
	before := srv.LastIndex()
	cases := []struct {
		name, body string
		headers    map[string]string
		code       int
		msg        string
	}{
		{"truncated protobuf", good[:len(good)-3], pb, 400, "failed to parse body into Call protobuf"},
		{"JSON sent as protobuf", subscribeBody("bad", "", ""), pb, 400, "Call protobuf"},
		{"missing required field", "\x0a\x00\x10\x01", pb, 400, "required"},
		{"protobuf that fails validation", protoCall(t, &scheduler.Call{Type: scheduler.CallSubscribe}), pb, 400, "subscribe"},
		{"text/plain", good, map[string]string{"Content-Type": "text/plain"}, 415, "application/json or application/x-protobuf"},
		{"recordio", good, map[string]string{"Content-Type": "application/recordio"}, 415, "application/x-protobuf"},
		{"Accept text/plain", good, map[string]string{"Content-Type": codec.Protobuf, "Accept": "text/plain"}, 406, "'application/x-protobuf' or 'application/json'"},
		{"Accept both at q=0", good, map[string]string{"Content-Type": codec.Protobuf, "Accept": "application/json;q=0,application/x-protobuf;q=0"}, 406, "Accept"},
	}
	for _, c := range cases {
		code, msg, _ := rawPost(t, addr, c.body, c.headers)
		if code != c.code || !strings.Contains(msg, c.msg) {
			t.Errorf("%s: got %d %q, want %d mentioning %q", c.name, code, strings.TrimSpace(msg), c.code, c.msg)
		}
	}
	if after := srv.LastIndex(); after != before {
		t.Errorf("bad requests changed the replicated state: applied index %d → %d", before, after)
	}
	resp := openStream(t, addr, good, map[string]string{"Content-Type": codec.Protobuf, "Accept": codec.Protobuf})
	ev := firstEvent(t, resp, codec.Protobuf)
	if ev.Type != scheduler.EventSubscribed {
		t.Fatalf("first event %+v", ev)
	}
	// A non-SUBSCRIBE call in protobuf; its Accept is not looked at, as
	// in Mesos.
	fid := ev.Subscribed.FrameworkID
	h := map[string]string{"Content-Type": codec.Protobuf, "Accept": "text/plain", "Mesos-Stream-Id": resp.Header.Get("Mesos-Stream-Id")}
	revive := protoCall(t, &scheduler.Call{FrameworkID: fid, Type: scheduler.CallRevive})
	if code, msg, _ := rawPost(t, addr, revive, h); code != 202 {
		t.Errorf("REVIVE in protobuf: %d %q, want 202", code, msg)
	}
	// RECONCILE_OPERATIONS answers with a body in Mesos, so Accept counts.
	recon := protoCall(t, &scheduler.Call{FrameworkID: fid, Type: scheduler.CallReconcileOperations,
		ReconcileOperations: &scheduler.ReconcileOperations{}})
	if code, _, _ := rawPost(t, addr, recon, h); code != 406 {
		t.Errorf("RECONCILE_OPERATIONS with Accept text/plain: %d, want 406", code)
	}
}

// TestScheduler_ProtobufErrorEventInTheStream: a FrameworkInfo Mesos
// refuses is an ERROR event inside a 200 stream, in the encoding Accept
// chose.
func TestScheduler_ProtobufErrorEventInTheStream(t *testing.T) {
	srv := servertest.NewServer(t, servertest.Options{})
	call := subscribeCall("err")
	call.Subscribe.FrameworkInfo.Roles = []string{"a"} // without MULTI_ROLE
	resp := openStream(t, srv.HTTPAddr(), protoCall(t, call), map[string]string{"Content-Type": codec.Protobuf, "Accept": codec.Protobuf})
	if ct := resp.Header.Get("Content-Type"); ct != codec.Protobuf {
		t.Fatalf("stream Content-Type %q", ct)
	}
	if ev := firstEvent(t, resp, codec.Protobuf); ev.Type != scheduler.EventError || !strings.Contains(ev.Error.Message, "MULTI_ROLE") {
		t.Fatalf("first event %+v, want ERROR about MULTI_ROLE", ev)
	}
}
