package main

import (
	"bytes"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// closedAddr is a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// leaderlessServer answers as a server of three that knows no leader:
// /health 503, its raft peers (one of them down).
func leaderlessServer(t *testing.T) string {
	t.Helper()
	var self string
	down := closedAddr(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/health":
			w.WriteHeader(http.StatusServiceUnavailable)
			json.NewEncoder(w).Encode(map[string]any{"healthy": false, "leader": "", "raft_state": "Candidate", "reason": "no leader is known"})
		case "/internal/v1/raft/peers":
			json.NewEncoder(w).Encode([]map[string]any{
				{"id": "s1", "address": "127.0.0.1:1", "http_addr": self, "suffrage": "Voter"},
				{"id": "s2", "address": "127.0.0.1:2", "http_addr": down, "suffrage": "Voter"},
				{"id": "s3", "address": "127.0.0.1:3", "http_addr": down, "suffrage": "Voter"},
			})
		default:
			t.Errorf("mesh status asked %s of a server without a leader", r.URL.Path)
			http.Error(w, "no leader", http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(srv.Close)
	self = strings.TrimPrefix(srv.URL, "http://")
	return self
}

// runStatus runs `mesh status args...` in process, returning its output
// and error.
func runStatus(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	app := newApp()
	app.Writer, app.ErrWriter = &out, &out
	err := app.Run(append([]string{"mesh", "status"}, args...))
	return out.String(), err
}

// TestStatus_WithoutLeaderPrintsWhatItKnowsAndFails: a server that
// answers but knows no leader gets its servers printed, as a table or
// JSON, and an error (exit 1) that says so.
func TestStatus_WithoutLeaderPrintsWhatItKnowsAndFails(t *testing.T) {
	addr := leaderlessServer(t)
	out, err := runStatus(t, "-address", addr)
	if err == nil || err.Error() != "no leader is known; 0 of 3 servers healthy, 2 needed for a quorum" {
		t.Errorf("error = %v, want no leader", err)
	}
	for _, want := range []string{"Leader:  none", "Raft:    no quorum", "s1", "candidate", "s3"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	out, err = runStatus(t, "-address", addr, "-json")
	var cs clusterStatus
	if jerr := json.Unmarshal([]byte(out), &cs); jerr != nil || cs.Quorum || len(cs.Servers) != 3 || err == nil {
		t.Errorf("-json: %+v, %v, error %v\n%s", cs, jerr, err, out)
	}
}

// TestStatus_ServerDownIsOneLineError: nothing answers: one line, no
// output, an error (exit 1).
func TestStatus_ServerDownIsOneLineError(t *testing.T) {
	out, err := runStatus(t, "-address", closedAddr(t)+","+closedAddr(t))
	if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "cannot reach a mesh server") {
		t.Errorf("error = %q, want one line saying no server answers", err)
	}
	if out != "" {
		t.Errorf("output %q, want none", out)
	}
}
