package server_test

import (
	"flag"
	"io"
	"net/http"
	"testing"

	"mesh/mesos/fieldlist"
)

var update = flag.Bool("update", false, "rewrite the golden files of the read endpoints")

func get(t *testing.T, addr, path string) (int, string) {
	t.Helper()
	resp, err := http.Get("http://" + addr + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// checkGolden compares the field list of doc with the golden file
// testdata/operator/<name>.golden (-update rewrites it).
func checkGolden(t *testing.T, name string, doc []byte, meshOnly []string) {
	t.Helper()
	fieldlist.Check(t, "../testdata/operator/"+name+".golden", doc, meshOnly, *update)
}

// meshStateFields are the fields of /state that mesh adds to Mesos'.
var meshStateFields = []string{"agents", "cluster_id", "outstanding_offers", "frameworks[].removed",
	"completed_frameworks[].removed", "frameworks[].tasks[].agent_id", "frameworks[].completed_tasks[].agent_id",
	"completed_frameworks[].completed_tasks[].agent_id", "frameworks[].unreachable_tasks[].agent_id"}

// TestState_MesosFieldsAndTypes: /state, /master/state, /state-summary,
// /master/frameworks, /master/slaves, /master/tasks and /metrics/snapshot
// of a cluster with two agents, three frameworks and tasks in several
// states have exactly the fields and JSON types of the golden files
// (Mesos' names; mesh's additions marked).
func TestState_MesosFieldsAndTypes(t *testing.T) {
	b := newBusyCluster(t)
	for _, tc := range []struct {
		name, path string
		meshOnly   []string
	}{
		{"master_state", "/master/state", meshStateFields},
		{"master_state", "/state", meshStateFields},
		{"state_summary", "/state-summary", nil},
		{"master_frameworks", "/master/frameworks", []string{"frameworks[].removed", "completed_frameworks[].removed",
			"frameworks[].tasks[].agent_id", "frameworks[].completed_tasks[].agent_id", "completed_frameworks[].completed_tasks[].agent_id"}},
		{"master_slaves", "/master/slaves", nil},
		{"master_tasks", "/master/tasks", []string{"tasks[].agent_id"}},
		{"metrics_snapshot", "/metrics/snapshot", nil},
	} {
		code, body := get(t, b.leader, tc.path)
		if code != 200 {
			t.Fatalf("GET %s: %d %s", tc.path, code, body)
		}
		checkGolden(t, tc.name, []byte(body), tc.meshOnly)
	}
}
