package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// fakeRack is a leader with agents R1a and R1b on rack r1 and R2a on
// rack r2: a DRAIN_AGENT makes an agent DRAINING with one task left,
// and each GET_TASKS then moves one DRAINING agent to DRAINED (its task
// ended). Every call body is recorded.
func fakeRack(t *testing.T) (string, func() []string) {
	t.Helper()
	var mu sync.Mutex
	var calls []string
	racks := map[string]string{"R1a": "r1", "R1b": "r1", "R2a": "r2"}
	states := map[string]string{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		calls = append(calls, string(b))
		var call struct {
			Type       string `json:"type"`
			DrainAgent struct {
				AgentID struct {
					Value string `json:"value"`
				} `json:"agent_id"`
			} `json:"drain_agent"`
		}
		_ = json.Unmarshal(b, &call)
		w.Header().Set("Content-Type", "application/json")
		switch call.Type {
		case "DRAIN_AGENT":
			states[call.DrainAgent.AgentID.Value] = "DRAINING"
		case "GET_AGENTS":
			var agents []any
			for _, id := range []string{"R1a", "R1b", "R2a"} {
				a := map[string]any{"agent_info": map[string]any{"hostname": "h" + id, "id": map[string]string{"value": id},
					"attributes": []any{map[string]any{"name": "rack", "type": "TEXT", "text": map[string]string{"value": racks[id]}}}},
					"active": true, "version": "", "pid": "slave(1)@127.0.0.1:5051"}
				if s := states[id]; s != "" {
					a["drain_info"] = map[string]any{"state": s, "config": map[string]any{"mark_gone": false}}
				}
				agents = append(agents, a)
			}
			json.NewEncoder(w).Encode(map[string]any{"type": "GET_AGENTS", "get_agents": map[string]any{"agents": agents}})
		case "GET_TASKS":
			var tasks []any
			for id, s := range states {
				if s == "DRAINING" {
					tasks = append(tasks, map[string]any{"name": "t", "task_id": map[string]string{"value": "t-" + id},
						"framework_id": map[string]string{"value": "f"}, "agent_id": map[string]string{"value": id}, "state": "TASK_RUNNING"})
				}
			}
			json.NewEncoder(w).Encode(map[string]any{"type": "GET_TASKS", "get_tasks": map[string]any{"tasks": tasks}})
			for _, id := range []string{"R1a", "R1b", "R2a"} {
				if states[id] == "DRAINING" {
					states[id] = "DRAINED"
					break
				}
			}
		}
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://"), func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), calls...)
	}
}

// TestDrain_ByAttributeDrainsTheRackAndReportsItEmpty: -attribute drains
// exactly the agents with it, their tasks' grace capped by -deadline,
// prints the progress as it changes and says when the rack is empty.
func TestDrain_ByAttributeDrainsTheRackAndReportsItEmpty(t *testing.T) {
	addr, calls := fakeRack(t)
	out, err := runMesh(t, "drain", "-address", addr, "-attribute", "rack:r1", "-deadline", "90s")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var drains []string
	for _, c := range calls() {
		if strings.Contains(c, "DRAIN_AGENT") {
			drains = append(drains, c)
		}
	}
	want := []string{
		`{"drain_agent":{"agent_id":{"value":"R1a"},"mark_gone":false,"max_grace_period":{"seconds":90}},"type":"DRAIN_AGENT"}`,
		`{"drain_agent":{"agent_id":{"value":"R1b"},"mark_gone":false,"max_grace_period":{"seconds":90}},"type":"DRAIN_AGENT"}`,
	}
	if strings.Join(drains, "\n") != strings.Join(want, "\n") {
		t.Fatalf("drain calls:\n%s\nwant:\n%s", strings.Join(drains, "\n"), strings.Join(want, "\n"))
	}
	wantOut := "draining 2 agents with rack:r1: R1a, R1b\n" +
		"rack:r1: 2 DRAINING; 2 tasks left\n" +
		"rack:r1: 1 DRAINING, 1 DRAINED; 1 tasks left\n" +
		"rack:r1: 2 DRAINED; 0 tasks left\n" +
		"rack:r1 is empty: 2 agents drained\n"
	if out != wantOut {
		t.Errorf("output:\n%s\nwant:\n%s", out, wantOut)
	}
}

// TestDrain_ByAttributeRefusesBadInput: an attribute no agent has, a
// malformed one and a non-positive deadline are errors that say so.
func TestDrain_ByAttributeRefusesBadInput(t *testing.T) {
	addr, calls := fakeRack(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-attribute", "rack:r9"}, "no registered agent has the attribute rack:r9"},
		{[]string{"-attribute", "rack"}, "no ':' between name and value"},
		{[]string{"-attribute", "rack:r1", "-deadline", "0s"}, "-deadline 0s must be positive"},
		{[]string{"-attribute", "rack:r1", "A1"}, "usage: mesh drain -attribute"},
	} {
		_, err := runMesh(t, append([]string{"drain", "-address", addr}, tc.args...)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want one containing %q", tc.args, err, tc.want)
		}
	}
	for _, c := range calls() {
		if strings.Contains(c, "DRAIN_AGENT") {
			t.Errorf("a refused command drained: %s", c)
		}
	}
}
