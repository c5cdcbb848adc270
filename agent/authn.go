package agent

import (
	"fmt"
	"net/http"
	"strings"

	"mesh/auth"
	"mesh/tlsutil"
)

// This file holds the authentication of the agent's own HTTP API, as
// Mesos' agent does it (--authenticate_http_readonly,
// --authenticate_http_readwrite, --http_credentials): every request
// carries its caller's identity in its context (auth.FromContext) to the
// handlers, whose ACL checks (authorize.go, filter_views.go) decide what
// that caller may do.

// endpointClass is what an endpoint of the agent takes from its callers.
type endpointClass int

const (
	// classReadOnly endpoints only read: the files API, /state,
	// /containers, the metrics (-authenticate-http-readonly). Paths that
	// are not found are of this class too, so that a 404 says nothing to
	// a caller who may not ask.
	classReadOnly endpointClass = iota
	// classReadWrite endpoints can change the agent: its operator API
	// and the profiler (-authenticate-http-readwrite).
	classReadWrite
	// classOpen endpoints answer anyone: /health.
	classOpen
	// classExecutor is the executor API, which checks its own per-run
	// token (executorapi.go) and takes no other credential.
	classExecutor
)

// realms name the classes in a 401's WWW-Authenticate.
var realms = map[endpointClass]string{
	classReadOnly:  "mesh-agent-readonly",
	classReadWrite: "mesh-agent-readwrite",
}

// classOf is the class of the agent's endpoint at path.
func classOf(path string) endpointClass {
	switch {
	case path == "/health":
		return classOpen
	case path == "/api/v1/executor":
		return classExecutor
	case path == "/api/v1", strings.HasPrefix(path, "/debug/"):
		return classReadWrite
	}
	return classReadOnly
}

// validateAuth checks that a flag requiring a principal has credentials
// to check it against.
func (c *Config) validateAuth() error {
	for _, f := range []struct {
		on   bool
		name string
	}{
		{c.AuthenticateHTTPReadOnly, "-authenticate-http-readonly"},
		{c.AuthenticateHTTPReadWrite, "-authenticate-http-readwrite"},
	} {
		if f.on && c.Credentials == nil {
			return fmt.Errorf("%w: %s needs -credentials FILE: the principals and secrets callers authenticate with", ErrBadConfig, f.name)
		}
	}
	return nil
}

// authenticate establishes the identity of each request (the role of its
// verified client certificate, the principal of its HTTP Basic credential
// or bearer token) and puts it into the request's context, then refuses
// what the endpoint does not take: a credential that proves no one, or
// none where one is required, is a 401 with WWW-Authenticate. The
// executor API is passed on untouched: its Authorization header is the
// executor's token, which it checks itself; so is /health, which answers
// anyone.
func (a *Agent) authenticate(h http.Handler) http.Handler {
	var authn *auth.Authenticator
	if a.cfg.Credentials != nil {
		authn = &auth.Authenticator{Credentials: a.cfg.Credentials}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		class := classOf(r.URL.Path)
		if class == classExecutor || class == classOpen {
			h.ServeHTTP(w, r)
			return
		}
		id := auth.Identity{Role: tlsutil.RequestRole(r)}
		if authn != nil {
			var err error
			if id, err = authn.Authenticate(r, id); err != nil {
				a.log.Warn("refused a request with a bad credential", "path", r.URL.Path, "remote_addr", r.RemoteAddr, "error", err)
				unauthorized(w, class, err.Error())
				return
			}
		}
		if flag := a.requiredBy(class); flag != "" && id.Principal == "" {
			unauthorized(w, class, fmt.Sprintf("this endpoint requires an authenticated principal (%s): give HTTP Basic credentials or a bearer token", flag))
			return
		}
		h.ServeHTTP(w, r.WithContext(auth.NewContext(r.Context(), id)))
	})
}

// requiredBy is the flag that requires a principal on endpoints of
// class, "" when none does.
func (a *Agent) requiredBy(class endpointClass) string {
	switch {
	case class == classReadOnly && a.cfg.AuthenticateHTTPReadOnly:
		return "-authenticate-http-readonly"
	case class == classReadWrite && a.cfg.AuthenticateHTTPReadWrite:
		return "-authenticate-http-readwrite"
	}
	return ""
}

// unauthorized answers 401 with the challenges the agent accepts for the
// endpoint's realm, as the servers do.
func unauthorized(w http.ResponseWriter, class endpointClass, msg string) {
	realm := realms[class]
	if realm == "" {
		realm = "mesh-agent"
	}
	w.Header().Add("WWW-Authenticate", `Basic realm="`+realm+`"`)
	w.Header().Add("WWW-Authenticate", `Bearer realm="`+realm+`"`)
	httpError(w, http.StatusUnauthorized, "%s", msg)
}
