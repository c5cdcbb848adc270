// Package fieldlist lists the field paths and JSON types of a JSON
// document ("frameworks[].tasks[].id string"), for the golden tests that
// hold mesh's read endpoints to the shapes of Mesos' own.
package fieldlist

import (
	"encoding/json"
	"os"
	"sort"
	"strings"
	"testing"
)

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

// Lines renders the field paths of a JSON document as sorted "path type" lines; paths that
// mesh adds to Mesos' shape are marked "# mesh".
func Lines(doc []byte, meshOnly []string) ([]string, error) {
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

// Check compares the field list of doc with the golden file at path,
// after rewriting the file with it when update is set.
func Check(t testing.TB, path string, doc []byte, meshOnly []string, update bool) {
	t.Helper()
	lines, err := Lines(doc, meshOnly)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	got := strings.Join(lines, "\n") + "\n"
	if update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("fields differ from %s:\n%s", path, lineDiff(strings.Split(string(want), "\n"), lines))
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
