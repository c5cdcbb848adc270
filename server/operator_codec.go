package server

import (
	"errors"
	"io"
	"mime"
	"net/http"

	mapi "mesh/mesos/master"
)

// The operator API's encoding lives in this pair of functions: a second
// codec (protobuf) is added here, chosen by Content-Type and Accept.

// decodeOperatorCall reads a call in the request's encoding. Errors are
// coded for the client, in the order Mesos' master checks: a missing
// Content-Type (400), an encoding mesh does not read (415), a body that
// does not decode or validate (400), then an Accept that allows no
// encoding mesh writes (406).
func decodeOperatorCall(r *http.Request) (*mapi.Call, error) {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return nil, httpErrorf(http.StatusBadRequest, "Expecting 'Content-Type' to be present")
	}
	if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
		return nil, httpErrorf(http.StatusUnsupportedMediaType,
			"Expecting 'Content-Type' of application/json or application/x-protobuf; mesh reads only application/json on the operator API for now, not %q", ct)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	if err != nil {
		return nil, httpErrorf(http.StatusBadRequest, "failed to read request body: %v", err)
	}
	if len(body) > maxBodyBytes {
		return nil, httpErrorf(http.StatusRequestEntityTooLarge, "request body exceeds %d bytes", maxBodyBytes)
	}
	call, err := mapi.ParseCall(body)
	if errors.Is(err, mapi.ErrParse) {
		return nil, httpErrorf(http.StatusBadRequest, "%s", mapi.Message(err))
	} else if err != nil {
		return nil, err
	}

	if !acceptsJSON(r) {
		return nil, httpErrorf(http.StatusNotAcceptable, "Expecting 'Accept' to allow 'application/json'; mesh writes only JSON on the operator API for now")
	}
	return call, err
}

// writeOperatorResponse answers resp in the encoding the request accepts
// (JSON: mesh writes no other yet); a nil resp is an empty 200.
func writeOperatorResponse(w http.ResponseWriter, resp *mapi.Response) {
	if resp == nil {
		w.WriteHeader(http.StatusOK)
		return
	}
	writeJSON(w, resp)
}
