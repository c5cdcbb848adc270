package server_test

import (
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"testing"
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

// fieldTypes lists every field path of a JSON document with its JSON
// type: "frameworks[].tasks[].id string". Object keys that are data
// (roles, resource and attribute names, flags) appear as they are.
func fieldTypes(v any, path string, out map[string]map[string]bool) {
	add := func(typ string) {
		if out[path] == nil {
			out[path] = map[string]bool{}
		}
		out[path][typ] = true
	}
	switch x := v.(type) {
	case map[string]any:
		if path != "" {
			add("object")
		}
		for k, e := range x {
			p := k
			if path != "" {
				p = path + "." + k
			}
			fieldTypes(e, p, out)
		}
	case []any:
		add("array")
		for _, e := range x {
			fieldTypes(e, path+"[]", out)
		}
	case string:
		add("string")
	case float64:
		add("number")
	case bool:
		add("boolean")
	case nil:
		add("null")
	}
}

// fieldLines renders fieldTypes as sorted "path type" lines; paths that
// mesh adds to Mesos' shape are marked "# mesh".
func fieldLines(doc []byte, meshOnly []string) ([]string, error) {
	var v any
	if err := json.Unmarshal(doc, &v); err != nil {
		return nil, err
	}
	types := map[string]map[string]bool{}
	fieldTypes(v, "", types)
	var lines []string
	for p, ts := range types {
		var names []string
		for t := range ts {
			names = append(names, t)
		}
		sort.Strings(names)
		line := p + " " + strings.Join(names, "|")
		for _, m := range meshOnly {
			if p == m || strings.HasPrefix(p, m+".") || strings.HasPrefix(p, m+"[]") {
				line += " # mesh"
				break
			}
		}
		lines = append(lines, line)
	}
	sort.Strings(lines)
	return lines, nil
}

// checkGolden compares the field list of doc with the golden file.
func checkGolden(t *testing.T, name string, doc []byte, meshOnly []string) {
	t.Helper()
	lines, err := fieldLines(doc, meshOnly)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	path := "../testdata/operator/" + name + ".golden"
	got := strings.Join(lines, "\n") + "\n"
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("%s fields differ from %s:\n%s", name, path, lineDiff(strings.Split(string(want), "\n"), lines))
	}
}

// lineDiff lists the lines only in want (-) and only in got (+).
func lineDiff(want, got []string) string {
	in := func(list []string) map[string]bool {
		m := map[string]bool{}
		for _, l := range list {
			if l != "" {
				m[l] = true
			}
		}
		return m
	}
	w, g := in(want), in(got)
	var out []string
	for l := range w {
		if !g[l] {
			out = append(out, "- "+l)
		}
	}
	for l := range g {
		if !w[l] {
			out = append(out, "+ "+l)
		}
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
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
