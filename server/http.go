package server

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"

	"mesh/httpbound"
	"mesh/httpdebug"
	"mesh/mesos/agentapi"
	"mesh/mesos/codec"
	"mesh/mesos/recordio"
	"mesh/version"
)

// maxBodyBytes bounds a request body.
const maxBodyBytes = 16 << 20

// maxUpfrontBody is the longest announced body readBody allocates at once.
const maxUpfrontBody = 1 << 20

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/api/v1/scheduler", s.handleScheduler)
	mux.HandleFunc("/master/api/v1/scheduler", s.handleScheduler)
	mux.HandleFunc("/api/v1", s.handleOperator)
	mux.HandleFunc("/master/api/v1", s.handleOperator)
	mux.HandleFunc(agentapi.Path, s.handleAgent)
	mux.HandleFunc(peerPath, s.handlePeer)
	mux.HandleFunc(joinPath, s.handleJoin)
	mux.HandleFunc(peersPath, s.handlePeers)
	mux.HandleFunc(leaderWatchPath, s.handleLeaderWatch)
	mux.HandleFunc(removePeerPath, s.handleRemovePeer)
	mux.HandleFunc(snapshotPath, s.handleSnapshot)
	mux.HandleFunc("/health", s.handleHealth)
	mux.HandleFunc("/metrics", s.handleMetrics)
	mux.HandleFunc("/version", s.handleVersion)
	mux.HandleFunc(WhyPath, s.handleWhy)
	mux.HandleFunc("/master/version", s.handleVersion)
	s.routeReadOnly(mux)
	s.routeUI(mux)
	if s.cfg.EnableDebug {
		httpdebug.Register(mux)
	}
	return mux
}

// leaderOrRedirect returns the master when this server leads; otherwise it
// answers 307 with the leader's address, or 503 when there is none, and
// returns nil.
func (s *Server) leaderOrRedirect(w http.ResponseWriter, r *http.Request) *master {
	m, err := s.currentMaster()
	if err == nil {
		return m
	}
	if errors.Is(err, ErrNotLeader) {
		if addr := s.leaderHTTPAddr(); addr != "" && addr != s.HTTPAddr() {
			w.Header().Set("Location", "//"+addr+r.URL.RequestURI())
			w.WriteHeader(http.StatusTemporaryRedirect)
			return nil
		}
		err = httpErrorf(http.StatusServiceUnavailable, "no leader is elected; retry shortly")
	}
	writeError(w, err)
	return nil
}

// postContentType applies the first steps of Mesos' decision order, 405
// for a method other than POST and 400 without a Content-Type, and returns
// the Content-Type.
func postContentType(w http.ResponseWriter, r *http.Request) (string, error) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return "", httpErrorf(http.StatusMethodNotAllowed, "expecting a 'POST' request, received '%s'", r.Method)
	}
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return "", httpErrorf(http.StatusBadRequest, "expecting 'Content-Type' to be present")
	}
	return ct, nil
}

// checkPostJSON applies the method and content-type steps of Mesos'
// decision order: 405, then 400 without Content-Type, then 415.
func checkPostJSON(w http.ResponseWriter, r *http.Request) error {
	ct, err := postContentType(w, r)
	if err != nil {
		return err
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		return httpErrorf(http.StatusUnsupportedMediaType, "expecting 'Content-Type' of application/json; mesh does not accept %q", ct)
	}
	return nil
}

// decodeBody reads a JSON body into v; any failure is a 400 that says
// what was wrong.
func decodeBody(r *http.Request, v any) error {
	body, err := readBody(r)
	if err != nil {
		return err
	}
	if err := codec.UnmarshalJSON(body, v); err != nil {
		return httpErrorf(http.StatusBadRequest, "failed to parse the request body as JSON: %v", err)
	}
	return nil
}

// eventWriter is a RecordIO stream of events in one encoding (a media
// type of mesh/mesos/codec).
type eventWriter struct {
	rw        *recordio.Writer
	mediaType string
}

func newEventWriter(w io.Writer, mediaType string) *eventWriter {
	return &eventWriter{rw: recordio.NewWriter(w), mediaType: mediaType}
}

// writeEvent writes one event, a pointer, to the stream as one record.
func writeEvent(ew *eventWriter, ev any) error { return writeEvents(ew, []any{ev}) }

// readBody reads a request body of at most maxBodyBytes. A body of a
// length the client announced, up to maxUpfrontBody, is read into one
// buffer of that size (io.ReadAll grows its buffer from 512 bytes: 5% of
// what the leader allocated in a placement run at 5,000 agents). A longer
// one grows its buffer as its bytes come: a client announcing 16 MiB and
// sending a byte a second would otherwise hold 16 MiB of the leader's
// memory per connection for as long as its read timeout.
func readBody(r *http.Request) ([]byte, error) {
	if n := r.ContentLength; n > 0 && n <= maxUpfrontBody {
		body := make([]byte, n)
		if _, err := io.ReadFull(r.Body, body); err != nil {
			return nil, httpErrorf(http.StatusBadRequest, "failed to read request body: %v", err)
		}
		return body, nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	if err != nil {
		return nil, httpErrorf(http.StatusBadRequest, "failed to read request body: %v", err)
	}
	if len(body) > maxBodyBytes {
		return nil, httpErrorf(http.StatusRequestEntityTooLarge, "request body exceeds %d bytes", maxBodyBytes)
	}
	if n := r.ContentLength; n > 0 && int64(len(body)) != n {
		return nil, httpErrorf(http.StatusBadRequest, "failed to read request body: %d bytes of the %d announced", len(body), n)
	}
	return body, nil
}

// writeEvents writes events as RecordIO records, flushed together.
func writeEvents[T any](ew *eventWriter, evs []T) error {
	recs := make([][]byte, len(evs))
	for i := range evs {
		b, err := codec.Marshal(ew.mediaType, evs[i])
		if err != nil {
			return err
		}
		recs[i] = b
	}
	return ew.rw.WriteRecords(recs)
}

// writeJSON answers 200 with v as JSON.
func writeJSON(w http.ResponseWriter, v any) { writeJSONStatus(w, http.StatusOK, v) }

// writeJSONStatus answers code with v as JSON.
func writeJSONStatus(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// decodeCall applies the method and content-type steps of Mesos' decision
// order and decodes the body, JSON or protobuf by its Content-Type, into
// v (a Call of mesh/mesos/codec): 405, 400 without Content-Type, 415 for
// another type, 400 for a body that does not parse.
func decodeCall(w http.ResponseWriter, r *http.Request, v any) error {
	ct, err := postContentType(w, r)
	if err != nil {
		return err
	}
	mt, ok := codec.RequestEncoding(ct)
	if !ok {
		return httpErrorf(http.StatusUnsupportedMediaType, "expecting 'Content-Type' of %s or %s; mesh does not accept %q", codec.JSON, codec.Protobuf, ct)
	}
	body, err := readBody(r)
	if err != nil {
		return err
	}
	if err := codec.Unmarshal(mt, body, v); err != nil {
		if mt == codec.Protobuf {
			return httpErrorf(http.StatusBadRequest, "failed to parse body into %s protobuf: %v", codec.MessageName(v), err)
		}
		return httpErrorf(http.StatusBadRequest, "failed to parse the request body as JSON: %v", err)
	}
	return nil
}

// responseEncoding chooses the media type of a response from the Accept
// header as the Mesos master does (JSON first), or is a 406.
func responseEncoding(r *http.Request) (string, error) {
	_, present := r.Header["Accept"]
	mt, ok := codec.ResponseEncoding(r.Header.Get("Accept"), present)
	if !ok {
		return "", httpErrorf(http.StatusNotAcceptable, "expecting 'Accept' to allow '%s' or '%s'", codec.Protobuf, codec.JSON)
	}
	return mt, nil
}

// leaderPostJSON runs the steps every leader-only JSON call shares, in
// Mesos' order: redirect (or 503), method, content type, then decoding
// the body into v. When a step fails it has answered the request and
// returns nil.
func (s *Server) leaderPostJSON(w http.ResponseWriter, r *http.Request, v any) *master {
	m := s.leaderOrRedirect(w, r)
	if m == nil {
		return nil
	}
	if err := checkPostJSON(w, r); err != nil {
		writeError(w, err)
		return nil
	}
	if err := decodeBody(r, v); err != nil {
		writeError(w, err)
		return nil
	}
	return m
}

// handleAgent serves the internal agent protocol.
func (s *Server) handleAgent(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Content-Type") == agentapi.PongStreamContentType {
		s.handlePongStream(w, r)
		return
	}
	var call agentapi.Call
	m := s.leaderPostJSON(w, r, &call)
	if m == nil {
		return
	}
	var err error
	switch call.Type {
	case agentapi.CallSubscribe:
		if call.Subscribe == nil {
			err = httpErrorf(400, "expecting 'subscribe' to be present")
			break
		}
		if err = s.authorizeAgentRegistration(r.Context(), call.Subscribe); err != nil {
			break
		}
		err = m.agentSubscribe(w, r, call.Subscribe)
	case agentapi.CallUpdate:
		if call.Update == nil || call.AgentID == nil || call.AgentID.Value == "" {
			err = httpErrorf(400, "expecting 'agent_id' and 'update' to be present")
			break
		}
		var res *agentapi.UpdateResult
		if res, err = m.agentUpdates(r.Context(), call.AgentID.Value, call.Update, httpbound.BytesRead(r)); err == nil {
			writeJSON(w, res)
		}
	case agentapi.CallExecutorExited, agentapi.CallMessage:
		err = m.agentExecutorCall(w, &call)
	case agentapi.CallPong:
		if call.AgentID == nil || call.AgentID.Value == "" {
			err = httpErrorf(400, "expecting 'agent_id' to be present")
			break
		}
		if err = m.agentPong(call.AgentID.Value); err == nil {
			w.WriteHeader(http.StatusOK)
		}
	default:
		err = httpErrorf(400, "unknown agent call type %q", call.Type)
	}
	if err != nil {
		writeError(w, err)
	}
}

func (s *Server) handleVersion(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, map[string]any{
		"version":      version.Version,
		"mesh_version": version.MeshVersion,
		"git_sha":      version.GitSHA,
		"git_tag":      version.Version,
		"build_user":   "mesh",
	})
}
