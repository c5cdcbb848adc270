package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// fakeLeader answers the operator calls mesh drain makes: GET_AGENTS
// shows the agent with the states given, one per call, the last one
// repeated; every call body is recorded.
func fakeLeader(t *testing.T, states ...string) (string, func() []string) {
	t.Helper()
	var mu sync.Mutex
	var calls []string
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		calls = append(calls, string(b))
		if !strings.Contains(string(b), "GET_AGENTS") {
			return
		}
		st := states[min(n, len(states)-1)]
		n++
		agent := map[string]any{"agent_info": map[string]any{"hostname": "h", "id": map[string]string{"value": "A1"}}, "active": false, "version": ""}
		if st != "" {
			agent["drain_info"] = map[string]any{"state": st, "config": map[string]any{"mark_gone": false}}
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"type": "GET_AGENTS", "get_agents": map[string]any{"agents": []any{agent}}})
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://"), func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), calls...)
	}
}

func runMesh(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	app := newApp()
	app.Writer, app.ErrWriter = &out, &out
	err := app.Run(append([]string{"mesh"}, args...))
	return out.String(), err
}

// TestDrain_SendsTheCallAndWaitsUntilDrained: -grace becomes Mesos'
// max_grace_period, -mark-gone mark_gone, and -wait prints each state
// until DRAINED.
func TestDrain_SendsTheCallAndWaitsUntilDrained(t *testing.T) {
	addr, calls := fakeLeader(t, "DRAINING", "DRAINING", "DRAINED")
	out, err := runMesh(t, "drain", "-address", addr, "-grace", "90.5s", "-wait", "10s", "A1")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	want := `{"drain_agent":{"agent_id":{"value":"A1"},"mark_gone":false,"max_grace_period":{"seconds":90,"nanos":500000000}},"type":"DRAIN_AGENT"}`
	if got := calls(); len(got) < 4 || got[0] != want {
		t.Fatalf("calls %q, want first %s", got, want)
	}
	if out != "draining agent A1\nagent A1: DRAINING\nagent A1: DRAINED\n" {
		t.Errorf("output:\n%s", out)
	}
}

// TestDrain_RefusesANegativeGraceWithoutCalling: a negative -grace is an
// error that says so, and nothing is sent.
func TestDrain_RefusesANegativeGraceWithoutCalling(t *testing.T) {
	addr, calls := fakeLeader(t, "")
	_, err := runMesh(t, "drain", "-address", addr, "-grace", "-1s", "A1")
	if err == nil || !strings.Contains(err.Error(), "-grace -1s must not be negative") {
		t.Errorf("error %v", err)
	}
	if got := calls(); len(got) != 0 {
		t.Errorf("calls %q, want none", got)
	}
}

// TestDrain_WaitGivesUp: -wait ends with an error naming the state the
// agent is still in.
func TestDrain_WaitGivesUp(t *testing.T) {
	addr, _ := fakeLeader(t, "DRAINING")
	_, err := runMesh(t, "drain", "-address", addr, "-wait", "300ms", "A1")
	if err == nil || !strings.Contains(err.Error(), "agent A1 is still DRAINING after 300ms") {
		t.Errorf("error %v", err)
	}
}

// TestDrain_Reactivate sends REACTIVATE_AGENT.
func TestDrain_Reactivate(t *testing.T) {
	addr, calls := fakeLeader(t, "")
	if _, err := runMesh(t, "drain", "-address", addr, "-reactivate", "A1"); err != nil {
		t.Fatal(err)
	}
	if got := calls(); len(got) != 1 || got[0] != `{"reactivate_agent":{"agent_id":{"value":"A1"}},"type":"REACTIVATE_AGENT"}` {
		t.Errorf("calls %q", got)
	}
}
