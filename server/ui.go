package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"time"

	"mesh/tlsutil"
	"mesh/ui"
)

// The web UI's endpoints. The page talks only to the server it was loaded
// from, so that it works the same when that server follows: a browser
// cannot follow the operator API's 307 to another server's origin with a
// JSON POST (that is a CORS request the leader would have to allow).
// Instead a follower forwards the page's operator calls to the leader
// itself, and answers the rest from its own copy of the state.
const (
	uiOperatorPath = "/ui/api/v1"
	uiServersPath  = "/ui/servers"
)

// uiDialTimeout bounds connecting to another server or an agent.
const uiDialTimeout = 3 * time.Second

// uiPlainTransport is the HTTP transport of the UI's forwarding: no proxy
// from the environment, bounded dials and waits for response headers
// (an operator SUBSCRIBE answers its headers at once and then streams).
var uiPlainTransport = &http.Transport{
	Proxy:                 nil,
	DialContext:           (&net.Dialer{Timeout: uiDialTimeout}).DialContext,
	ResponseHeaderTimeout: 30 * time.Second,
	MaxIdleConnsPerHost:   4,
	IdleConnTimeout:       90 * time.Second,
}

// routeUI registers the web UI: the page at "/", its assets and its
// endpoints.
func (s *Server) routeUI(mux *http.ServeMux) {
	h := ui.NewHandler()
	// "/{$}" is "/" alone: other unknown paths stay unmatched 404s.
	mux.Handle("/{$}", h)
	mux.Handle("/index.html", h)
	mux.Handle(ui.StaticPrefix, h)
	mux.HandleFunc(uiOperatorPath, s.handleUIOperator)
	mux.HandleFunc(uiServersPath, s.handleUIServers)
	mux.HandleFunc(uiFilesBrowsePath, s.handleUIFiles)
	mux.HandleFunc(uiFilesReadPath, s.handleUIFiles)
}

// handleUIOperator serves the page's operator API calls: the leader
// answers them itself, a follower forwards them (SUBSCRIBE's stream too)
// to the leader and passes the answer back.
func (s *Server) handleUIOperator(w http.ResponseWriter, r *http.Request) {
	if s.IsLeader() {
		s.handleOperator(w, r)
		return
	}
	leader := s.leaderHTTPAddr()
	if leader == "" || leader == s.HTTPAddr() {
		writeError(w, httpErrorf(http.StatusServiceUnavailable, "no leader is elected; retry shortly"))
		return
	}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme, pr.Out.URL.Host, pr.Out.URL.Path, pr.Out.URL.RawPath = s.cfg.TLS.Scheme(), leader, "/api/v1", ""
			pr.Out.Host = leader
			pr.SetXForwarded()
		},
		Transport:     s.uiTransport(tlsutil.RoleServer),
		FlushInterval: -1, // SUBSCRIBE is a stream: pass each event on at once
		ModifyResponse: func(resp *http.Response) error {
			if resp.StatusCode >= 300 && resp.StatusCode < 400 {
				// The leader changed since this server last heard: the page
				// retries rather than follow a redirect to another origin.
				resp.Body.Close()
				return errLeaderMoved
			}
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if errors.Is(err, errLeaderMoved) {
				writeError(w, httpErrorf(http.StatusServiceUnavailable, "the leader changed; retry shortly"))
				return
			}
			writeError(w, httpErrorf(http.StatusBadGateway, "cannot reach the leader at %s: %v", leader, err))
		},
	}
	if s.runCtx != nil {
		// A forwarded stream ends when this server stops, rather than
		// hold its shutdown up.
		ctx, cancel := context.WithCancel(r.Context())
		defer cancel()
		defer context.AfterFunc(s.runCtx, cancel)()
		r = r.WithContext(ctx)
	}
	proxy.ServeHTTP(w, r)
}

var errLeaderMoved = errors.New("the leader moved")

// uiServer is one server of the raft configuration as the UI shows it.
type uiServer struct {
	RaftPeer
	// RaftState is the server's own view (Leader, Follower, Candidate,
	// Shutdown); "" when it could not be asked.
	RaftState string `json:"raft_state"`
	Healthy   bool   `json:"healthy"`
	// Reason says why the server is not healthy, or why it could not be
	// asked.
	Reason string `json:"reason,omitempty"`
	// Self marks the server that answered.
	Self bool `json:"self"`
}

// uiServersAnswer is the answer of GET /ui/servers.
type uiServersAnswer struct {
	Leader  string     `json:"leader"`
	Self    string     `json:"self"`
	Servers []uiServer `json:"servers"`
}

// uiHealthTimeout bounds asking another server for its health.
const uiHealthTimeout = 2 * time.Second

// handleUIServers lists the servers of the raft configuration, each with
// the raft role and health it reports itself (asked over its /health).
// Any server answers, from its own raft configuration.
func (s *Server) handleUIServers(w http.ResponseWriter, r *http.Request) {
	if !readOnly(w, r) {
		return
	}
	peers, err := s.Peers()
	if err != nil {
		writeError(w, fmt.Errorf("read the raft configuration: %w", err))
		return
	}
	out := uiServersAnswer{Leader: s.leaderHTTPAddr(), Self: s.HTTPAddr(), Servers: make([]uiServer, len(peers))}
	ctx, cancel := context.WithTimeout(r.Context(), uiHealthTimeout)
	defer cancel()
	var wg sync.WaitGroup
	for i, p := range peers {
		out.Servers[i] = uiServer{RaftPeer: p}
		if p.ID == s.nodeID {
			out.Servers[i].HTTPAddr = s.HTTPAddr() // known here before it is replicated
			h := s.health()
			out.Servers[i].Self, out.Servers[i].RaftState, out.Servers[i].Healthy, out.Servers[i].Reason = true, h.RaftState, h.Healthy, h.Reason
			continue
		}
		if p.HTTPAddr == "" {
			out.Servers[i].Reason = "its HTTP address is not known yet"
			continue
		}
		wg.Add(1)
		go func(us *uiServer) {
			defer wg.Done()
			h, err := s.peerHealth(ctx, us.HTTPAddr)
			if err != nil {
				us.Reason = err.Error()
				return
			}
			us.RaftState, us.Healthy, us.Reason = h.RaftState, h.Healthy, h.Reason
		}(&out.Servers[i])
	}
	wg.Wait()
	writeJSON(w, out)
}

// peerHealth asks the server at addr for its /health.
func (s *Server) peerHealth(ctx context.Context, addr string) (healthReport, error) {
	var h healthReport
	u := url.URL{Scheme: s.cfg.TLS.Scheme(), Host: addr, Path: "/health"}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return h, err
	}
	resp, err := s.uiTransport(tlsutil.RoleServer).RoundTrip(req)
	if err != nil {
		return h, fmt.Errorf("unreachable: %v", err)
	}
	defer resp.Body.Close()
	// /health answers 503 with the same body when the server is not
	// healthy: read it either way.
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&h); err != nil {
		return h, fmt.Errorf("its /health answered %s without a readable body: %v", resp.Status, err)
	}
	return h, nil
}
