// Package operator is the HTTP edge of Mesos' v1 operator API that mesh
// servers (the master's API) and agents (the agent's API) share: the
// method and media type checks in Mesos' order, the decoding of a call,
// the writing of a response or an error, and the calls both sides answer
// alike (GET_HEALTH, GET_FLAGS, GET_VERSION, GET_METRICS,
// GET_LOGGING_LEVEL, SET_LOGGING_LEVEL). Each side keeps only the calls
// that are its own.
package operator

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"

	"google.golang.org/protobuf/proto"

	"mesh/mesos/agentop"
	"mesh/mesos/codec"
	mapi "mesh/mesos/master"
	"mesh/mesos/v1pb/agentpb"
	"mesh/mesos/v1pb/masterpb"
)

// MaxBodyBytes caps the body of a call.
const MaxBodyBytes = 16 << 20

// Error is a failure answered with its status code and message.
type Error struct {
	Code int
	Msg  string
}

func (e *Error) Error() string { return e.Msg }

// Errorf returns an Error with code.
func Errorf(code int, format string, args ...any) error {
	return &Error{Code: code, Msg: fmt.Sprintf(format, args...)}
}

// StatusCode is err's status code: an Error's own, 500 for any other.
func StatusCode(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return http.StatusInternalServerError
}

// WriteError answers err as plain text with its status code, as Mesos
// answers a 4xx or 5xx.
func WriteError(w http.ResponseWriter, err error) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(StatusCode(err))
	fmt.Fprintln(w, err.Error())
}

// API is one side of the operator API: the master's or the agent's.
type API struct {
	calls   mapi.Dialect
	newCall func() proto.Message
}

// The two sides: each reads its own call types, in JSON or as its own
// protobuf Call message.
var (
	MasterAPI = API{calls: mapi.MasterCalls, newCall: func() proto.Message { return &masterpb.Call{} }}
	AgentAPI  = API{calls: agentop.Calls, newCall: func() proto.Message { return &agentpb.Call{} }}
)

// Request is a decoded call and the encoding its response is written in.
type Request struct {
	Call *mapi.Call
	// Accept is the media type of the response: codec.JSON or
	// codec.Protobuf.
	Accept string
}

// Decode checks a call's request and decodes it with api's rules, in the
// order Mesos checks: a method other than POST (405, with Allow set on
// w), a missing Content-Type (400), an encoding other than JSON and
// protobuf (415), a body too large (413) or that does not decode or
// validate (400), then an Accept that allows neither encoding (406).
// A protobuf call is validated as its JSON mapping is, so that a missing
// field is named the same way in both encodings.
func Decode(w http.ResponseWriter, r *http.Request, api API) (*Request, error) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return nil, Errorf(http.StatusMethodNotAllowed, "expecting a 'POST' request, received '%s'", r.Method)
	}
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return nil, Errorf(http.StatusBadRequest, "Expecting 'Content-Type' to be present")
	}
	mt, ok := codec.RequestEncoding(ct)
	if !ok {
		return nil, Errorf(http.StatusUnsupportedMediaType,
			"Expecting 'Content-Type' of application/json or application/x-protobuf, not %q", ct)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBodyBytes+1))
	if err != nil {
		return nil, Errorf(http.StatusBadRequest, "failed to read request body: %v", err)
	}
	if len(body) > MaxBodyBytes {
		return nil, Errorf(http.StatusRequestEntityTooLarge, "request body exceeds %d bytes", MaxBodyBytes)
	}
	call, err := api.parse(mt, body)
	if err != nil {
		return nil, err
	}
	accept, ok := codec.ResponseEncoding(r.Header.Get("Accept"), len(r.Header.Values("Accept")) > 0)
	if !ok {
		return nil, Errorf(http.StatusNotAcceptable, "Expecting 'Accept' to allow 'application/json' or 'application/x-protobuf'")
	}
	return &Request{Call: call, Accept: accept}, nil
}

// parse decodes and validates a call's body in encoding mt.
func (api API) parse(mt string, body []byte) (*mapi.Call, error) {
	if mt == codec.Protobuf {
		m := api.newCall()
		// Required fields are checked on the JSON mapping below.
		if err := (proto.UnmarshalOptions{AllowPartial: true}).Unmarshal(body, m); err != nil {
			return nil, Errorf(http.StatusBadRequest, "Failed to parse body into Call protobuf: %v", err)
		}
		js, err := codec.ProtoToJSON(m)
		if err != nil {
			return nil, Errorf(http.StatusBadRequest, "Failed to parse body into Call protobuf: %v", err)
		}
		body = js
	}
	call, err := mapi.ParseCallAs(body, api.calls)
	if errors.Is(err, mapi.ErrParse) {
		return nil, Errorf(http.StatusBadRequest, "%s", mapi.Message(err))
	}
	return call, err
}

// WriteResponse answers resp, a *mapi.Response or *agentop.Response, in
// the request's encoding; a nil resp is an empty 200.
func WriteResponse(w http.ResponseWriter, req *Request, resp any) {
	if v := reflect.ValueOf(resp); !v.IsValid() || (v.Kind() == reflect.Pointer && v.IsNil()) {
		w.WriteHeader(http.StatusOK)
		return
	}
	var b []byte
	var err error
	if req.Accept == codec.Protobuf {
		b, err = codec.Marshal(codec.Protobuf, resp)
	} else {
		b, err = json.MarshalIndent(resp, "", "  ")
		b = append(b, '\n')
	}
	if err != nil {
		WriteError(w, fmt.Errorf("encoding the response: %w", err))
		return
	}
	w.Header().Set("Content-Type", req.Accept)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}
