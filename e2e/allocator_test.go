package e2e

import (
	"strings"
	"testing"
	"time"
)

// TestDev_BinPackAllocatorRunsTasks: `mesh dev -allocator binpack` leads
// with the binpack allocator (its /flags say so) and a framework's tasks
// run to completion on it.
func TestDev_BinPackAllocatorRunsTasks(t *testing.T) {
	httpAddr := freePort(t)
	dev := start(t, "dev", "-allocator", "binpack", "-http-addr", httpAddr, "-agent-http-addr", freePort(t),
		"-resources", "cpus:2;mem:1024;disk:1000;ports:[31000-31100]")
	waitFor(t, 60*time.Second, "mesh dev to say it is running", func() bool {
		return strings.Contains(dev.out.String(), "mesh execute -master "+httpAddr)
	})
	var flags struct {
		Flags map[string]string `json:"flags"`
	}
	if err := getJSON(httpAddr, "/flags", &flags); err != nil || flags.Flags["allocator"] != "binpack" {
		t.Fatalf("/flags: allocator %q, want binpack (%v)", flags.Flags["allocator"], err)
	}
	out, code := run(t, 60*time.Second, "execute", "-master", httpAddr, "-name", "packed",
		"-command", "echo packed by binpack", "-instances", "3", "-output", "all")
	if code != 0 {
		t.Fatalf("mesh execute exited %d:\n%s", code, out)
	}
	if n := strings.Count(out, "packed by binpack"); n != 3 {
		t.Errorf("output shows %d task outputs, want 3:\n%s", n, out)
	}
}

// TestDev_UnknownAllocatorStopsAtStart: an allocator name nobody
// registered stops `mesh dev` at start, naming the known ones.
func TestDev_UnknownAllocatorStopsAtStart(t *testing.T) {
	out, code := run(t, time.Minute, "dev", "-allocator", "roundrobin", "-http-addr", freePort(t), "-agent-http-addr", freePort(t))
	if code == 0 {
		t.Fatalf("mesh dev -allocator roundrobin exited 0:\n%s", out)
	}
	for _, want := range []string{`"roundrobin"`, "binpack", "drf"} {
		if !strings.Contains(out, want) {
			t.Errorf("the error does not mention %s:\n%s", want, out)
		}
	}
}
