package operator

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"mesh/mesos/codec"
	mapi "mesh/mesos/master"
)

func post(body []byte, contentType, accept string) (*httptest.ResponseRecorder, *http.Request) {
	r := httptest.NewRequest(http.MethodPost, "/api/v1", bytes.NewReader(body))
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	if accept != "" {
		r.Header.Set("Accept", accept)
	}
	return httptest.NewRecorder(), r
}

// TestDecode_ChecksInMesosOrder: each bad request gets Mesos' status
// and a message naming what was wrong; a good one in either encoding
// decodes to the same call and chooses its response's encoding.
func TestDecode_ChecksInMesosOrder(t *testing.T) {
	pb, err := codec.MarshalAs(codec.Protobuf, MasterAPI.newCall(), &mapi.Call{Type: mapi.CallGetState})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name                 string
		body                 []byte
		contentType, accept  string
		code                 int
		says, call, response string
	}{
		{"JSON", []byte(`{"type":"GET_STATE"}`), codec.JSON, "", 0, "", "GET_STATE", codec.JSON},
		{"protobuf", pb, codec.Protobuf, codec.Protobuf, 0, "", "GET_STATE", codec.Protobuf},
		{"protobuf answered in JSON", pb, codec.Protobuf, "*/*", 0, "", "GET_STATE", codec.JSON},
		{"no content type", pb, "", "", 400, "Expecting 'Content-Type' to be present", "", ""},
		{"text", pb, "text/plain", "", 415, "application/x-protobuf", "", ""},
		{"protobuf that does not parse", []byte{0x0a}, codec.Protobuf, "", 400, "Failed to parse body into Call protobuf", "", ""},
		{"agent call at the master", []byte(`{"type":"GET_CONTAINERS"}`), codec.JSON, "", 400, `unknown call type "GET_CONTAINERS"`, "", ""},
		{"accept neither", pb, codec.Protobuf, "text/html", 406, "Expecting 'Accept' to allow", "", ""},
	} {
		w, r := post(c.body, c.contentType, c.accept)
		req, err := Decode(w, r, MasterAPI)
		switch {
		case c.code != 0 && (err == nil || StatusCode(err) != c.code || !strings.Contains(err.Error(), c.says)):
			t.Errorf("%s: %v (%d); want %d saying %q", c.name, err, StatusCode(err), c.code, c.says)
		case c.code == 0 && (err != nil || req.Call.Type != c.call || req.Accept != c.response):
			t.Errorf("%s: %+v, %v; want %s answered in %s", c.name, req, err, c.call, c.response)
		}
	}
	w := httptest.NewRecorder()
	if _, err := Decode(w, httptest.NewRequest(http.MethodGet, "/api/v1", nil), AgentAPI); StatusCode(err) != 405 || w.Header().Get("Allow") != "POST" {
		t.Errorf("GET: %v, Allow %q; want 405 allowing POST", err, w.Header().Get("Allow"))
	}
}

// FuzzDecode_Protobuf: whatever protobuf body a call has, Decode either
// refuses it with a 400 that says why or returns a call of its side's
// types with the sub-message the type needs.
func FuzzDecode_Protobuf(f *testing.F) {
	for _, dir := range []string{"master", "agent"} {
		files, _ := filepath.Glob(filepath.Join("../../testdata/operator", dir, "calls", "*.pb"))
		for _, file := range files {
			if b, err := os.ReadFile(file); err == nil {
				f.Add(dir == "agent", b)
			}
		}
	}
	f.Add(false, []byte{})
	f.Add(true, []byte{0x08, 0x06, 0x1a, 0x02, 0x08, 0x01})
	f.Fuzz(func(t *testing.T, agent bool, body []byte) {
		api := MasterAPI
		if agent {
			api = AgentAPI
		}
		w, r := post(body, codec.Protobuf, codec.Protobuf)
		req, err := Decode(w, r, api)
		if err != nil {
			if StatusCode(err) != http.StatusBadRequest || err.Error() == "" {
				t.Fatalf("refusal %v (%d) is not a 400 with a message", err, StatusCode(err))
			}
			return
		}
		c := req.Call
		if !api.calls.Types[c.Type] {
			t.Fatalf("accepted a type its side does not define: %q", c.Type)
		}
		if c.Type == mapi.CallSetLoggingLevel && (c.SetLoggingLevel == nil || c.SetLoggingLevel.Level == nil ||
			c.SetLoggingLevel.Duration == nil || c.SetLoggingLevel.Duration.Nanoseconds == nil) {
			t.Fatalf("accepted SET_LOGGING_LEVEL without a level and a duration: %x", body)
		}
		if c.Type == mapi.CallReadFile && (c.ReadFile == nil || c.ReadFile.Path == nil || c.ReadFile.Offset == nil) {
			t.Fatalf("accepted READ_FILE without a path and an offset: %x", body)
		}
	})
}
