package executor

import (
	"archive/tar"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"

	"mesh/executor/rootfstest"
)

func TestImageCache_RejectsEscapingTarballs(t *testing.T) {
	tmp := t.TempDir()
	cases := map[string][]rootfstest.Entry{
		"dotdot":       {{Name: "../escaped", Type: tar.TypeReg, Body: "x"}},
		"inner dotdot": {{Name: "bin/../../escaped", Type: tar.TypeReg, Body: "x"}},
		"absolute":     {{Name: "/escaped", Type: tar.TypeReg, Body: "x"}},
		"abs symlink":  {{Name: "etc", Type: tar.TypeSymlink, Link: "/etc"}, {Name: "etc/escaped", Type: tar.TypeReg, Body: "x"}},
		"rel symlink":  {{Name: "up", Type: tar.TypeSymlink, Link: "../.."}, {Name: "up/escaped", Type: tar.TypeReg, Body: "x"}},
		"hard link":    {{Name: "passwd", Type: tar.TypeLink, Link: "../../../etc/passwd"}},
	}
	ic := newImageCache(filepath.Join(tmp, "cache"), hclog.NewNullLogger())
	if err := os.MkdirAll(ic.dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for name, entries := range cases {
		p := filepath.Join(tmp, strings.ReplaceAll(name, " ", "-")+".tar.gz")
		rootfstest.TarEntries(t, p, entries...)
		if _, err := ic.prepare(p); !errors.Is(err, ErrBadImage) {
			t.Errorf("%s: err = %v, want ErrBadImage", name, err)
		}
	}
	for _, p := range []string{filepath.Join(tmp, "escaped"), "/escaped", "/etc/escaped"} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("a bad tarball wrote %s", p)
		}
	}
	if left, _ := os.ReadDir(ic.dir); len(left) != 0 {
		t.Errorf("failed unpacks left %v in the cache", left)
	}
}

func TestImageCache_UnpacksOnceAndUsesDirectoriesAsTheyAre(t *testing.T) {
	dir, tarball := rootfstest.Build(t)
	ic := newImageCache(filepath.Join(t.TempDir(), "cache"), hclog.NewNullLogger())
	os.MkdirAll(ic.dir, 0o700)
	got, err := ic.prepare(dir)
	if err != nil || got != dir {
		t.Fatalf("prepare(dir) = %q, %v", got, err)
	}
	a, err := ic.prepare(tarball)
	if err != nil {
		t.Fatal(err)
	}
	b, err := ic.prepare(tarball)
	if err != nil || a != b {
		t.Fatalf("second prepare = %q, %v; want the cached %q", b, err, a)
	}
	if link, err := os.Readlink(filepath.Join(a, "bin", "sh")); err != nil || link != "busybox" {
		t.Errorf("bin/sh -> %q, %v", link, err)
	}
	if _, err := ic.prepare("relative/path"); !errors.Is(err, ErrBadImage) {
		t.Errorf("relative path: %v", err)
	}
}
