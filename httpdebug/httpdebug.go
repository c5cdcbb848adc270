// Package httpdebug serves Go's runtime profiler on a server's or agent's
// HTTP API when its operator asks for it (-enable-debug): cpu and heap
// profiles, goroutine dumps and execution traces under /debug/pprof/,
// and a dump of the whole heap at /debug/heapdump.
// It is off by default, since the profiles expose the process's internals.
// With it on, the runtime samples contended locks too (mutex profile).
package httpdebug

import (
	"io"
	"net/http"
	"net/http/pprof"
	"os"
	"runtime"
	"runtime/debug"
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
	mux.HandleFunc(HeapDumpPath, heapDump)
}

// HeapDumpPath serves a dump of the process' heap, every live object
// (runtime/debug.WriteHeapDump, after a collection), which
// bench/heapdump reads. Writing it stops the process: about a second
// per 100 MB of heap.
const HeapDumpPath = "/debug/heapdump"

func heapDump(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		http.Error(w, "Expecting 'GET', received '"+r.Method+"'", http.StatusMethodNotAllowed)
		return
	}
	f, err := os.CreateTemp("", "mesh-heapdump-*")
	if err != nil {
		http.Error(w, "cannot write a heap dump: "+err.Error(), http.StatusInternalServerError)
		return
	}
	defer os.Remove(f.Name())
	defer f.Close()
	// The world stops while the runtime writes, so the dump goes to a
	// file first: written into the response, it would wait for the
	// goroutine that sends it.
	runtime.GC()
	debug.WriteHeapDump(f.Fd())
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		http.Error(w, "cannot read the heap dump back: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", `attachment; filename="heap.dump"`)
	_, _ = io.Copy(w, f)
}
