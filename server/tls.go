package server

import (
	"crypto/tls"
	"net"
	"net/http"
	"time"

	"github.com/hashicorp/go-hclog"

	"mesh/auth"
	"mesh/httpbound"
	"mesh/tlsutil"
)

// This file holds the server's TLS: with Config.TLS set the HTTP API and
// raft speak only TLS, the internal endpoints take only the peers they are
// for (servers, agents), and the server dials the other servers over TLS.

// tlsListener makes ln a TLS listener when TLS is on. A client
// certificate is optional on the HTTP API (schedulers and the CLI may
// have none) but, when given, must be signed by the CA.
func (s *Server) tlsListener(ln net.Listener) net.Listener {
	if s.cfg.TLS == nil {
		return ln
	}
	cfg := s.cfg.TLS.ServerConfig(false)
	return tls.NewListener(httpbound.RefuseOverTLS(ln, cfg), cfg)
}

// setupTLSHTTP makes, when TLS is on, the transport of the requests this
// server sends to other servers (nil, Go's default, without TLS), and
// logs the HTTP server's errors (refused handshakes among them) through
// the server's logger.
func (s *Server) setupTLSHTTP() {
	if s.cfg.TLS == nil {
		return
	}
	s.peerTransport = s.cfg.TLS.HTTPTransport(tlsutil.RoleServer)
	s.httpSrv.ErrorLog = s.logger.Named("http").StandardLogger(&hclog.StandardLoggerOptions{InferLevels: true})
}

// peerClient is an HTTP client for other servers: over TLS, presenting
// this server's certificate and accepting only a server certificate, when
// TLS is on.
func (s *Server) peerClient(timeout time.Duration) *http.Client {
	c := &http.Client{Timeout: timeout}
	if s.peerTransport != nil {
		c.Transport = s.peerTransport
	}
	if s.cfg.PeerPrincipal != "" {
		c.Transport = &auth.Transport{Base: c.Transport, Header: s.peerAuthorization}
	}
	return c
}

// peerURL is the URL of path on the server at addr (host:port).
func (s *Server) peerURL(addr, path string) string {
	return s.cfg.TLS.Scheme() + "://" + addr + path
}

// uiTransport is the transport of the web UI's forwarding to the leader
// (role server) and to agents (role agent): uiPlainTransport without TLS,
// otherwise one of the same bounds over TLS, accepting only a peer of
// role.
func (s *Server) uiTransport(role string) http.RoundTripper {
	if s.cfg.TLS == nil {
		return uiPlainTransport
	}
	s.uiTLSOnce.Do(func() {
		s.uiTLS = map[string]*http.Transport{}
		for _, r := range []string{tlsutil.RoleServer, tlsutil.RoleAgent} {
			tr := uiPlainTransport.Clone()
			tr.TLSClientConfig = s.cfg.TLS.ClientConfig(r)
			s.uiTLS[r] = tr
		}
	})
	return s.uiTLS[role]
}
