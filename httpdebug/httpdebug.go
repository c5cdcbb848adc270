// Package httpdebug serves Go's runtime profiler on a server's or agent's
// HTTP API when its operator asks for it (-enable-debug): cpu and heap
// profiles, goroutine dumps and execution traces under /debug/pprof/.
// It is off by default, since the profiles expose the process's internals.
package httpdebug

import (
	"net/http"
	"net/http/pprof"
)

// Prefix is where the profiler is served.
const Prefix = "/debug/pprof/"

// Register adds the profiler's handlers to mux.
func Register(mux *http.ServeMux) {
	mux.HandleFunc(Prefix, pprof.Index) // and the named profiles below it
	mux.HandleFunc(Prefix+"cmdline", pprof.Cmdline)
	mux.HandleFunc(Prefix+"profile", pprof.Profile)
	mux.HandleFunc(Prefix+"symbol", pprof.Symbol)
	mux.HandleFunc(Prefix+"trace", pprof.Trace)
}
