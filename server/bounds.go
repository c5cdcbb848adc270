package server

import (
	"fmt"
	"net/http"
	"time"

	"mesh/httpbound"
)

// httpServer builds the server's HTTP server with every bound of Config:
// a client that sends its request slowly (one byte a second, say) is cut
// off by the read timeouts, one that does not take its answer by the
// write timeout, an idle keep-alive connection by the idle timeout.
// Streams set a deadline of their own on each write (serveStream, a
// snapshot's download), which replaces the write timeout's. The read
// timeout does not end a stream: once a request is read, the HTTP server
// lifts the connection's read deadline.
func (s *Server) httpServer(h http.Handler) *http.Server {
	c := s.cfg
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: c.HTTPReadHeaderTimeout,
		ReadTimeout:       c.HTTPReadTimeout,
		WriteTimeout:      c.HTTPWriteTimeout,
		IdleTimeout:       c.HTTPIdleTimeout,
		MaxHeaderBytes:    c.HTTPMaxHeaderBytes,
	}
}

// enterFrameworkStream takes one of the MaxFrameworkStreams slots for a
// framework's event stream, or answers 429 saying why: each stream holds
// a connection, a goroutine and a backlog on the leader. release gives
// the slot back.
func (s *Server) enterFrameworkStream() (release func(), err error) {
	max := int64(s.cfg.MaxFrameworkStreams)
	if n := s.frameworkStreams.Add(1); n > max {
		s.frameworkStreams.Add(-1)
		return nil, &codedError{code: http.StatusTooManyRequests, retryAfter: 5 * time.Second,
			msg: fmt.Sprintf("too many framework subscriptions: %d event streams are open, the limit is %d (-max-framework-streams)", n-1, max)}
	}
	return func() { s.frameworkStreams.Add(-1) }, nil
}

// limitBodies bounds every request body to maxBodyBytes and a JSON one to
// httpbound.MaxJSONDepth levels, before any endpoint decodes it; a
// snapshot upload is bounded by its own handler (restoreSnapshot).
func (s *Server) limitBodies(h http.Handler) http.Handler {
	return httpbound.LimitBodies(h, maxBodyBytes+1, func(r *http.Request) bool { return r.URL.Path == snapshotPath })
}
