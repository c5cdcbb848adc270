package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"mesh/tlsutil"
)

// The web UI's sandbox browser reads an agent's files through the server
// the page came from: a page cannot count on reaching the agents itself.
const (
	uiFilesBrowsePath = "/ui/files/browse"
	uiFilesReadPath   = "/ui/files/read"
)

const (
	// uiFilesTimeout bounds one forwarded files request.
	uiFilesTimeout = 10 * time.Second
	// uiFilesMaxBytes bounds one forwarded answer. An agent's /files/read
	// sends at most 1 MiB of data, which JSON escaping can grow a few
	// times; a listing of a huge directory is cut off here too.
	uiFilesMaxBytes = 8 << 20
)

// handleUIFiles forwards GET /ui/files/browse and /ui/files/read, for the
// agent named by agent_id, to that agent's /files/browse and /files/read
// at its address in the replicated state. Only path, offset and length
// are forwarded, with the caller's Authorization header, so that the
// agent authenticates the caller as the UI's API forwarding lets the
// leader do (give agents the servers' -credentials); the agent checks
// the path (a path outside the sandboxes is its refusal, passed back as
// it answered, a 401 of its own too). Every server answers from
// its own copy of the state: followers do not redirect.
func (s *Server) handleUIFiles(w http.ResponseWriter, r *http.Request) {
	if !readOnly(w, r) {
		return
	}
	q := r.URL.Query()
	id := q.Get("agent_id")
	if id == "" {
		writeError(w, httpErrorf(http.StatusBadRequest, "expecting 'agent_id=value' in query"))
		return
	}
	ag := s.fsm.State().Agent(id)
	if ag == nil {
		writeError(w, httpErrorf(http.StatusNotFound, "agent %q is not known to the cluster: its files cannot be read", id))
		return
	}
	if ag.Address == "" {
		writeError(w, httpErrorf(http.StatusNotFound, "agent %q has no known address: its files cannot be read", id))
		return
	}
	if !s.authorizeSandbox(w, r, q.Get("path")) {
		return
	}
	fwd := url.Values{}
	for _, k := range []string{"path", "offset", "length"} {
		if q.Has(k) {
			fwd.Set(k, q.Get(k))
		}
	}
	op := "/files/browse"
	if r.URL.Path == uiFilesReadPath {
		op = "/files/read"
	}
	target := url.URL{Scheme: s.cfg.TLS.Scheme(), Host: ag.Address, Path: op, RawQuery: fwd.Encode()}
	ctx, cancel := context.WithTimeout(r.Context(), uiFilesTimeout)
	defer cancel()
	status, ct, body, err := fetchBounded(ctx, s.uiTransport(tlsutil.RoleAgent), target.String(), r.Header.Get("Authorization"), uiFilesMaxBytes)
	switch {
	case errors.Is(err, errTooLarge):
		writeError(w, httpErrorf(http.StatusBadGateway, "agent %s at %s answered too much: %v", id, ag.Address, err))
		return
	case err != nil:
		writeError(w, httpErrorf(http.StatusBadGateway, "agent %s at %s is unreachable: %v", id, ag.Address, err))
		return
	}
	if ct != "" {
		w.Header().Set("Content-Type", ct)
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// errTooLarge is an answer larger than the bound.
var errTooLarge = errors.New("answer too large")

// fetchBounded GETs u, with the Authorization header authz unless it is
// "", and returns the status, Content-Type and body of the answer,
// failing when the body exceeds max bytes.
func fetchBounded(ctx context.Context, rt http.RoundTripper, u, authz string, max int64) (int, string, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, "", nil, err
	}
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		if ctx.Err() != nil {
			return 0, "", nil, fmt.Errorf("no answer within %s", uiFilesTimeout)
		}
		return 0, "", nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	if err != nil {
		return 0, "", nil, fmt.Errorf("read its answer: %v", err)
	}
	if int64(len(body)) > max {
		return 0, "", nil, fmt.Errorf("%w: more than %d bytes", errTooLarge, max)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), body, nil
}
