package agent

import (
	"crypto/tls"
	"net"

	"mesh/httpbound"
	"mesh/tlsutil"
)

// tlsListener serves the agent's HTTP API over TLS when t is set. A
// client certificate is optional (executors and the CLI may have none)
// but must be signed by the CA when given.
func tlsListener(t *tlsutil.TLS, ln net.Listener) net.Listener {
	if t == nil {
		return ln
	}
	cfg := t.ServerConfig(false)
	return tls.NewListener(httpbound.RefuseOverTLS(ln, cfg), cfg)
}

// serverTLSConfig is how the agent dials servers: it presents its agent
// certificate and refuses a "server" whose certificate, though signed by
// the CA, is not a server's. nil without TLS.
func serverTLSConfig(t *tlsutil.TLS) *tls.Config {
	if t == nil {
		return nil
	}
	return t.ClientConfig(tlsutil.RoleServer)
}
