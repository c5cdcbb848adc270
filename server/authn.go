package server

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"mesh/auth"
	"mesh/fsm"
	"mesh/mesos"
	"mesh/mesos/agentapi"
	"mesh/tlsutil"
	"mesh/ui"
)

// This file holds the server's authentication: every request is checked
// here, before any handler, and carries its caller's identity in its
// context (auth.FromContext) to the handlers, where authorization
// decides what that caller may do.

// endpointClass is what an endpoint takes from its callers, as Mesos
// divides its endpoints into realms.
type endpointClass int

const (
	// classOpen endpoints answer anyone: /health, /version, the web UI's
	// page and assets (the page's calls are authenticated).
	classOpen endpointClass = iota
	// classScheduler is the scheduler API (-authenticate-frameworks).
	classScheduler
	// classReadOnly endpoints only read (-authenticate-http-readonly).
	classReadOnly
	// classReadWrite endpoints change the cluster: the operator API
	// (-authenticate-http-readwrite).
	classReadWrite
	// classServer endpoints are for other servers only: finding, joining
	// and watching each other.
	classServer
	// classAgent is the agent protocol.
	classAgent
	// classOperator endpoints hand out or replace the whole cluster, or
	// tell its membership: an operator principal or a server only,
	// whenever TLS or authentication is on.
	classOperator
)

// realms name the classes in a 401's WWW-Authenticate.
var realms = map[endpointClass]string{
	classScheduler: "mesh-master-scheduler",
	classReadOnly:  "mesh-master-readonly",
	classReadWrite: "mesh-master-readwrite",
	classServer:    "mesh-master-internal",
	classAgent:     "mesh-master-agent",
	classOperator:  "mesh-master-readwrite",
}

// classOf is the class of the endpoint at path.
func classOf(path string) endpointClass {
	switch path {
	case "/api/v1/scheduler", "/master/api/v1/scheduler":
		return classScheduler
	case "/api/v1", "/master/api/v1", uiOperatorPath:
		return classReadWrite
	case peerPath, joinPath, leaderWatchPath:
		return classServer
	case agentapi.Path:
		return classAgent
	case snapshotPath, removePeerPath, peersPath:
		return classOperator
	case "/health", "/version", "/master/version", "/", "/index.html":
		return classOpen
	}
	switch {
	case strings.HasPrefix(path, "/debug/"):
		return classReadWrite
	case strings.HasPrefix(path, ui.StaticPrefix):
		return classOpen
	}
	// The state and metrics endpoints, the UI's server list and its sandbox browsing, and paths that are not found
	// (so that a 404 says nothing to a caller who may not ask).
	return classReadOnly
}

// authOn reports whether any endpoint requires authentication.
func (c *Config) authOn() bool {
	return c.AuthenticateFrameworks || c.AuthenticateAgents || c.AuthenticateHTTPReadOnly || c.AuthenticateHTTPReadWrite
}

// authenticator checks the credentials of requests: nil when there is
// nothing to check them against.
func (c *Config) authenticator() *auth.Authenticator {
	if c.Credentials == nil && c.AgentJoinToken == nil {
		return nil
	}
	return &auth.Authenticator{Credentials: c.Credentials, JoinToken: c.AgentJoinToken}
}

// identify establishes the identity of each request and puts it into the
// request's context, with the error of a credential that proves no one.
// It wraps the whole handler chain, so that every layer below, the
// request metrics included, sees the one request the routes see.
func (s *Server) identify(h http.Handler) http.Handler {
	a := s.cfg.authenticator()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := auth.Identity{Role: tlsutil.RequestRole(r)}
		var err error
		if a != nil {
			id, err = a.Authenticate(r, id)
		}
		ctx := auth.NewContext(r.Context(), id)
		if err != nil {
			ctx = context.WithValue(ctx, credentialErrKey{}, err)
		}
		h.ServeHTTP(w, r.WithContext(ctx))
	})
}

type credentialErrKey struct{}

// authenticate refuses, before any handler runs, a request its endpoint
// does not take: 401 with WWW-Authenticate for a wrong credential, or
// none where one is required; 403 for a caller proven but not of the
// kind the endpoint is for. identify has run before it.
func (s *Server) authenticate(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		class := classOf(r.URL.Path)
		if err, _ := r.Context().Value(credentialErrKey{}).(error); err != nil {
			s.logger.Warn("refused a request with a bad credential", "path", r.URL.Path, "remote_addr", r.RemoteAddr, "error", err)
			s.unauthorized(w, class, err.Error())
			return
		}
		id := auth.FromContext(r.Context())
		if err := s.admit(class, id); err != nil {
			var ce *codedError
			if errors.As(err, &ce) && ce.code == http.StatusUnauthorized {
				s.unauthorized(w, class, ce.msg)
				return
			}
			s.logger.Warn("refused a caller the endpoint is not for", "path", r.URL.Path, "remote_addr", r.RemoteAddr,
				"principal", id.Principal, "role", id.Role)
			writeError(w, err)
			return
		}
		// The endpoints that hand out or replace the whole cluster (the
		// snapshot, with every secret in it; removing a server) take, once
		// ACLs are on, only a server or a principal get_endpoints allows
		// for their path.
		if class == classOperator && !s.isServer(id) && !s.authorizeEndpoint(w, r) {
			return
		}
		h.ServeHTTP(w, r)
	})
}

// admit decides whether a caller with identity id may reach an endpoint
// of class: nil, or a 401 or 403 saying what the endpoint takes.
func (s *Server) admit(class endpointClass, id auth.Identity) error {
	c := &s.cfg
	tlsOn := c.TLS != nil
	needPrincipal := func(flag string) error {
		if id.Principal != "" {
			return nil
		}
		return httpErrorf(http.StatusUnauthorized, "this endpoint requires an authenticated principal (%s): give HTTP Basic credentials or a bearer token", flag)
	}
	switch class {
	case classScheduler:
		if c.AuthenticateFrameworks {
			return needPrincipal("-authenticate-frameworks")
		}
	case classReadOnly:
		if c.AuthenticateHTTPReadOnly {
			return needPrincipal("-authenticate-http-readonly")
		}
	case classReadWrite:
		if c.AuthenticateHTTPReadWrite {
			return needPrincipal("-authenticate-http-readwrite")
		}
	case classServer:
		switch {
		case tlsOn:
			return wantRole(id, tlsutil.RoleServer)
		case c.authOn():
			// Without TLS a server proves itself with the credential
			// every server presents (-principal): no other principal,
			// a framework's least of all, may join raft.
			if err := needPrincipal("servers present -principal and -secret-file to each other without TLS"); err != nil {
				return err
			}
			if id.Principal != c.PeerPrincipal {
				return httpErrorf(http.StatusForbidden, "this endpoint takes only a server: principal %q is not the servers' (their -principal)", id.Principal)
			}
		}
	case classAgent:
		switch {
		case tlsOn:
			// A certificate of role agent, or the join token.
			return wantRole(id, tlsutil.RoleAgent)
		case c.AuthenticateAgents:
			if id.Role == auth.RoleAgent {
				return nil
			}
			if !id.Authenticated() {
				return httpErrorf(http.StatusUnauthorized, "the agent protocol requires an agent: give the cluster's join token (-agent-join-token) or an agent certificate")
			}
			return httpErrorf(http.StatusForbidden, "the agent protocol takes only an agent (the join token or an agent certificate); principal %q is not one", id.Principal)
		}
	case classOperator:
		if !tlsOn && !c.authOn() {
			return nil
		}
		if id.Principal != "" || id.Role == tlsutil.RoleServer {
			return nil
		}
		if id.Role == "" {
			return httpErrorf(http.StatusUnauthorized, "this endpoint requires an operator: give HTTP Basic credentials or a bearer token of a principal")
		}
		return httpErrorf(http.StatusForbidden, "this endpoint requires an operator principal or a server; a certificate of role %s is neither", id.Role)
	}
	return nil
}

// isServer reports whether id is another server of the cluster: by its
// certificate, or without TLS by the servers' shared principal.
func (s *Server) isServer(id auth.Identity) bool {
	return id.Role == tlsutil.RoleServer || (s.cfg.PeerPrincipal != "" && id.Principal == s.cfg.PeerPrincipal)
}

// wantRole is nil when id has role, otherwise the 403 the internal
// endpoints answered with TLS before authentication existed.
func wantRole(id auth.Identity, role string) error {
	if id.Role == role {
		return nil
	}
	got := id.Role
	if got == "" {
		got = "none"
	}
	how := "a client certificate of role " + role + " signed by the cluster's CA"
	if role == tlsutil.RoleAgent {
		how += " or the agents' join token"
	}
	return httpErrorf(http.StatusForbidden, "this endpoint takes only %s (the request's role: %s)", how, got)
}

// unauthorized answers 401 with the challenges mesh accepts for the
// endpoint's realm, as Mesos' Basic authenticator does.
func (s *Server) unauthorized(w http.ResponseWriter, class endpointClass, msg string) {
	realm := realms[class]
	if realm == "" {
		realm = "mesh"
	}
	w.Header().Add("WWW-Authenticate", `Basic realm="`+realm+`"`)
	w.Header().Add("WWW-Authenticate", `Bearer realm="`+realm+`"`)
	writeError(w, httpErrorf(http.StatusUnauthorized, "%s", msg))
}

// peerAuthorization is the Authorization header this server sends to
// other servers: its own credential when it has one, "" otherwise (with
// TLS its certificate proves it).
func (s *Server) peerAuthorization() string {
	if s.cfg.PeerPrincipal == "" || s.cfg.PeerSecret.Value() == "" {
		return ""
	}
	return auth.BasicHeader(s.cfg.PeerPrincipal, s.cfg.PeerSecret.Value())
}

// frameworkPrincipal checks, with -authenticate-frameworks, the principal
// a subscribing framework names against the one it authenticated as: a
// mismatch is a 400, as in Mesos; a framework that names none gets the
// authenticated one, so that its id can only ever be subscribed again by
// that principal (the principal of a framework cannot change).
func (s *Server) frameworkPrincipal(r *http.Request, info *mesos.FrameworkInfo) error {
	if !s.cfg.AuthenticateFrameworks {
		return nil
	}
	id := auth.FromContext(r.Context())
	if info.Principal == "" {
		info.Principal = id.Principal
		return nil
	}
	if info.Principal != id.Principal {
		return httpErrorf(http.StatusBadRequest, "authenticated principal %q does not match principal %q set in FrameworkInfo", id.Principal, info.Principal)
	}
	return nil
}

// callerOwns checks, with -authenticate-frameworks, that the caller of a
// framework's call is the principal that registered it: 400 otherwise,
// as Mesos answers a principal mismatch.
func (s *Server) callerOwns(r *http.Request, fw *fsm.Framework) error {
	if !s.cfg.AuthenticateFrameworks {
		return nil
	}
	if p := auth.FromContext(r.Context()).Principal; p != fw.Info.Principal {
		return httpErrorf(http.StatusBadRequest, "authenticated principal %q does not match principal %q set in FrameworkInfo of framework %s", p, fw.Info.Principal, fw.ID)
	}
	return nil
}
