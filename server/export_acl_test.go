package server

import "net/http"

// RoutesForTest returns the server's endpoints without the layers that
// wrap them in production (authentication among them), so that a test
// can put its own identity into every request in front of them.
func (s *Server) RoutesForTest() http.Handler { return s.routes() }
