// Package golden holds the helpers of mesh's golden JSON tests: every
// example message of the wire contract must decode into mesh's types and
// re-encode to the same meaning.
package golden

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// Files returns the JSON files under dir/sub; none is a test failure.
func Files(t *testing.T, dir, sub string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, sub, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no golden files in %s", filepath.Join(dir, sub))
	}
	return files
}

// RoundTrip decodes data into v, encodes v again and fails with a diff
// when the result differs in meaning from data.
func RoundTrip(t *testing.T, data []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("decode: %v", err)
	}
	out, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	var want, got any
	if err := json.Unmarshal(data, &want); err != nil {
		t.Fatalf("golden file is not JSON: %v", err)
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("re-encoded value is not JSON: %v", err)
	}
	if !reflect.DeepEqual(want, got) {
		t.Fatalf("re-encoding changed the message:\n%s\nre-encoded: %s", strings.Join(jsonDiff("", want, got), "\n"), out)
	}
}

// jsonDiff lists the paths where two decoded JSON values differ.
func jsonDiff(path string, want, got any) []string {
	if reflect.DeepEqual(want, got) {
		return nil
	}
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			break
		}
		keys := map[string]bool{}
		for k := range w {
			keys[k] = true
		}
		for k := range g {
			keys[k] = true
		}
		var sorted []string
		for k := range keys {
			sorted = append(sorted, k)
		}
		sort.Strings(sorted)
		var out []string
		for _, k := range sorted {
			wv, win := w[k]
			gv, gin := g[k]
			p := strings.TrimPrefix(path+"."+k, ".")
			switch {
			case !gin:
				out = append(out, fmt.Sprintf("  %s: lost (file has %s)", p, compact(wv)))
			case !win:
				out = append(out, fmt.Sprintf("  %s: added %s", p, compact(gv)))
			default:
				out = append(out, jsonDiff(p, wv, gv)...)
			}
		}
		return out
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			break
		}
		var out []string
		for i := range w {
			out = append(out, jsonDiff(fmt.Sprintf("%s[%d]", path, i), w[i], g[i])...)
		}
		return out
	}
	return []string{fmt.Sprintf("  %s: file has %s, re-encoded has %s", path, compact(want), compact(got))}
}

func compact(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// Each runs fn, as a subtest named after the file, on the content of every
// JSON file under dir/sub.
func Each(t *testing.T, dir, sub string, fn func(t *testing.T, data []byte)) {
	t.Helper()
	for _, f := range Files(t, dir, sub) {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			fn(t, data)
		})
	}
}
