//go:build linux && cgo

package executor

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
)

// The agent warns when containers would start from a copy of its binary:
// when the binary's directory and the state directory overlap.
func TestWarnIfInitIsCopied(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: overlayfs mounts need CAP_SYS_ADMIN (CI runs as root)")
	}
	exe, err := filepath.EvalSymlinks("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	probe := func(root string) string {
		var buf bytes.Buffer
		warnIfInitIsCopied(root, hclog.New(&hclog.LoggerOptions{Output: &buf}))
		return buf.String()
	}
	if out := probe(t.TempDir()); out != "" {
		t.Errorf("state directory apart from the binary's (%s): %s", filepath.Dir(exe), out)
	}
	nested, err := os.MkdirTemp(filepath.Dir(exe), "state-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(nested) })
	if out := probe(nested); !strings.Contains(out, "copy of the mesh binary") || !strings.Contains(out, "overlap") {
		t.Errorf("state directory below the binary's: %q", out)
	}
	if left, _ := filepath.Glob(filepath.Join(nested, ".probe-*")); len(left) > 0 {
		t.Errorf("the probe left %v", left)
	}
}
