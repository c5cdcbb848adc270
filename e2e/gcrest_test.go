package e2e

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestServer_GCTargetLoweredAtRest: a `mesh server` with nothing to do
// lowers Go's GC target (-rest-gc-percent, 25) after two quiet ten-second
// windows, and puts the process' own back as soon as a burst of work
// allocates past a window's budget. The server's debug log tells each
// change; the test reads it rather than polling the server, which would
// itself be work.
func TestServer_GCTargetLoweredAtRest(t *testing.T) {
	c := newCluster(t, 1, "-log-level", "debug")
	s := c.startAll()
	const lowered, back = "at rest: the GC target is lowered", "busy: the GC target is back"
	waitFor(t, 2*time.Minute, "the server to lower its GC target at rest", func() bool {
		return strings.Contains(s.p.out.String(), lowered)
	})
	if !strings.Contains(s.p.out.String(), "gc_percent=25") {
		t.Fatalf("the target at rest is not 25:\n%s", s.p.out.String())
	}
	// A burst: /state and /metrics read over and over for a second
	// allocate far more than a quarter of an idle server's live heap.
	deadline := time.Now().Add(time.Second)
	for time.Now().Before(deadline) {
		for _, path := range []string{"/state", "/metrics"} {
			resp, err := http.Get("http://" + s.httpAddr + path)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}
	waitFor(t, 10*time.Second, "the process' own GC target back after a burst", func() bool {
		return strings.Contains(s.p.out.String(), back)
	})
}
