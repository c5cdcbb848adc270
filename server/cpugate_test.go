package server

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestCPUGate_RunsAtMostItsSlotsAtOnce(t *testing.T) {
	g := newCPUGate(3)
	var active, peak, ran atomic.Int32
	release := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			g.run(func() {
				n := active.Add(1)
				for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
				}
				<-release
				active.Add(-1)
				ran.Add(1)
			})
		}()
	}
	deadline := time.Now().Add(10 * time.Second)
	for active.Load() < 3 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if got := active.Load(); got != 3 {
		t.Fatalf("%d runs at once with every slot taken, want 3", got)
	}
	close(release)
	wg.Wait()
	if peak.Load() != 3 || ran.Load() != 20 {
		t.Fatalf("peak %d at once, %d ran; want 3 and 20", peak.Load(), ran.Load())
	}
}

func TestCPUGate_NilRunsAtOnce(t *testing.T) {
	var g *cpuGate
	ran := false
	g.run(func() { ran = true })
	if !ran {
		t.Fatal("a nil gate did not run the work")
	}
	if newCPUGate(0).slots == nil || cap(newCPUGate(0).slots) != 1 {
		t.Fatal("a gate of no slots must still let one run")
	}
}

func TestAgentCPUGate_OnlyWhileSettling(t *testing.T) {
	r := singleRaft(t, 100)
	h, _ := newTestSettling(r, 30*time.Second, 100)
	var ts timers
	h.after = ts.after
	s := &Server{agentCPU: newCPUGate(2), settling: h}
	if s.agentCPUGate() != nil {
		t.Fatal("agents' requests gated before any leader change")
	}
	h.hold()
	if s.agentCPUGate() != s.agentCPU {
		t.Fatal("agents' requests not gated while the new leader settles")
	}
	ts.armed[len(ts.armed)-1]() // the settling period passes
	if s.agentCPUGate() != nil {
		t.Fatal("agents' requests still gated once settled")
	}
	h.hold()
	h.end() // leadership lost
	if s.agentCPUGate() != nil {
		t.Fatal("agents' requests still gated after the leadership ended")
	}
	if (&Server{}).agentCPUGate() != nil {
		t.Fatal("a server that never settles gates agents' requests")
	}
}
