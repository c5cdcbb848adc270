// Package httpdebug serves Go's runtime profiler on a server's or agent's
// HTTP API when its operator asks for it (-enable-debug): cpu and heap
// profiles, goroutine dumps and execution traces under /debug/pprof/.
// It is off by default, since the profiles expose the process's internals.
// With it on, the runtime samples contended locks too (mutex profile).
package httpdebug

import (
	"net/http"
	"net/http/pprof"
	"runtime"
)

// Prefix is where the profiler is served.
const Prefix = "/debug/pprof/"

// mutexProfileFraction samples one contended lock in this many for
// /debug/pprof/mutex (who held a lock others waited for, and how long):
// few enough to cost nothing measurable.
const mutexProfileFraction = 100

// Register adds the profiler's handlers to mux, and has the runtime
// sample contended locks from now on.
func Register(mux *http.ServeMux) {
	runtime.SetMutexProfileFraction(mutexProfileFraction)
	mux.HandleFunc(Prefix, pprof.Index) // and the named profiles below it
	mux.HandleFunc(Prefix+"cmdline", pprof.Cmdline)
	mux.HandleFunc(Prefix+"profile", pprof.Profile)
	mux.HandleFunc(Prefix+"symbol", pprof.Symbol)
	mux.HandleFunc(Prefix+"trace", pprof.Trace)
}
