package server

import (
	"net"
	"testing"
	"time"
)

// TestProcessGone_OnlyARefusedPortCounts: a port that accepts is a live
// process, a closed one a dead process.
func TestProcessGone_OnlyARefusedPortCounts(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if processGone(addr, time.Second) {
		t.Fatalf("a listening port counted as a process gone")
	}
	_ = ln.Close()
	if !processGone(addr, time.Second) {
		t.Fatalf("a closed port did not count as a process gone")
	}
}
