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
// keeps reading), a body is bounded in size and JSON nesting, an idle
// connection is closed, and one non-loopback
// client IP holds at most httpMaxConnsPerIP connections.
const (
	httpReadHeaderTimeout = 10 * time.Second
	httpReadTimeout       = time.Minute
	httpWriteTimeout      = time.Minute
	httpIdleTimeout       = 2 * time.Minute
	httpMaxHeaderBytes    = 64 << 10
	httpMaxConnsPerIP     = 512
	// httpMaxBodyBytes bounds a request body (an executor's call is the
	// largest: its own bound is 16 MiB); a JSON one also nests at most
	// httpbound.MaxJSONDepth levels.
	httpMaxBodyBytes = 16<<20 + 1
)

// boundHTTP applies the bounds to the agent's HTTP server and listener.
func boundHTTP(srv *http.Server, ln net.Listener) net.Listener {
	srv.Handler = httpbound.ProgressWrites(httpbound.LimitBodies(srv.Handler, httpMaxBodyBytes, nil), httpWriteTimeout)
	srv.ReadHeaderTimeout = httpReadHeaderTimeout
	srv.ReadTimeout = httpReadTimeout
	srv.IdleTimeout = httpIdleTimeout
	srv.MaxHeaderBytes = httpMaxHeaderBytes
	return httpbound.LimitConnsPerIP(ln, httpMaxConnsPerIP, false, "the agent's limit per client IP")
}
