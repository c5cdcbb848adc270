package agent

import (
	"net"
	"net/http"
	"time"

	"mesh/httpbound"
)

// The agent's HTTP bounds (its API serves executors, the /files browser
// and operators): a client that sends its request slowly is cut off, an
// answer's every write must complete within httpWriteTimeout (a stream to
// an executor or a large file's download lasts as long as its client
// keeps reading), an idle connection is closed, and one non-loopback
// client IP holds at most httpMaxConnsPerIP connections.
const (
	httpReadHeaderTimeout = 10 * time.Second
	httpReadTimeout       = time.Minute
	httpWriteTimeout      = time.Minute
	httpIdleTimeout       = 2 * time.Minute
	httpMaxHeaderBytes    = 64 << 10
	httpMaxConnsPerIP     = 512
)

// boundHTTP applies the bounds to the agent's HTTP server and listener.
func boundHTTP(srv *http.Server, ln net.Listener) net.Listener {
	srv.Handler = httpbound.ProgressWrites(srv.Handler, httpWriteTimeout)
	srv.ReadHeaderTimeout = httpReadHeaderTimeout
	srv.ReadTimeout = httpReadTimeout
	srv.IdleTimeout = httpIdleTimeout
	srv.MaxHeaderBytes = httpMaxHeaderBytes
	return httpbound.LimitConnsPerIP(ln, httpMaxConnsPerIP, false, "the agent's limit per client IP")
}
