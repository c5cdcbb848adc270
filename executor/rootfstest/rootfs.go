// Package rootfstest builds a small root filesystem image from Debian's
// busybox-static for tests of the linux containerizer (see
// testdata/rootfs/README.md). Tests that need it skip when busybox is
// not installed.
package rootfstest

import (
	"archive/tar"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// Applets are the busybox commands the image links in /bin.
var Applets = []string{
	"sh", "echo", "sleep", "cat", "ls", "ps", "id", "dd", "true", "false",
	"touch", "mkdir", "rm", "seq", "head", "tail", "wc", "grep", "test", "env", "kill", "yes",
}

// Busybox returns the path of a statically linked busybox, or skips t.
func Busybox(t testing.TB) string {
	t.Helper()
	for _, p := range []string{"/bin/busybox", "/usr/bin/busybox"} {
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return p
		}
	}
	t.Skip("busybox is not installed (make deps installs busybox-static); skipping a test that needs a rootfs image")
	return ""
}

// Build creates a root filesystem directory (bin/busybox, bin/<applet>
// relative symlinks, etc/passwd and etc/group with root and nobody, and
// empty proc, dev, sys, tmp, mnt/mesos/sandbox) and a .tar.gz of it in a
// temporary directory, and returns both paths.
func Build(t testing.TB) (dir, tarball string) {
	t.Helper()
	bb := Busybox(t)
	base := t.TempDir()
	dir = filepath.Join(base, "rootfs")
	for _, d := range []string{"bin", "etc", "proc", "dev", "sys", "tmp", "mnt/mesos/sandbox"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(dir, "tmp"), 0o1777); err != nil {
		t.Fatal(err)
	}
	copyFile(t, bb, filepath.Join(dir, "bin", "busybox"), 0o755)
	for _, a := range Applets {
		if err := os.Symlink("busybox", filepath.Join(dir, "bin", a)); err != nil {
			t.Fatal(err)
		}
	}
	write(t, filepath.Join(dir, "etc", "passwd"), "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n")
	write(t, filepath.Join(dir, "etc", "group"), "root:x:0:\nnogroup:x:65534:\n")
	tarball = filepath.Join(base, "rootfs.tar.gz")
	Tar(t, dir, tarball)
	return dir, tarball
}

// Tar writes dir as a gzipped tarball with names relative to dir.
func Tar(t testing.TB, dir, tarball string) {
	t.Helper()
	f, err := os.Create(tarball)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz := gzip.NewWriter(f)
	tw := tar.NewWriter(gz)
	err = filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == "." {
			return nil
		}
		link := ""
		if fi.Mode()&os.ModeSymlink != 0 {
			link, _ = os.Readlink(p)
		}
		hdr, err := tar.FileInfoHeader(fi, link)
		if err != nil {
			return err
		}
		hdr.Name = rel
		if fi.IsDir() {
			hdr.Name += "/"
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if fi.Mode().IsRegular() {
			src, err := os.Open(p)
			if err != nil {
				return err
			}
			defer src.Close()
			_, err = io.Copy(tw, src)
			return err
		}
		return nil
	})
	if err == nil {
		err = tw.Close()
	}
	if err == nil {
		err = gz.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
}

// Entry is one entry of a hand-made tarball.
type Entry struct {
	Name, Link string
	Type       byte
	Body       string
}

// TarEntries writes a gzipped tarball holding exactly entries, for tests
// of malicious images.
func TarEntries(t testing.TB, tarball string, entries ...Entry) {
	t.Helper()
	f, err := os.Create(tarball)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz := gzip.NewWriter(f)
	tw := tar.NewWriter(gz)
	for _, e := range entries {
		hdr := &tar.Header{Name: e.Name, Linkname: e.Link, Typeflag: e.Type, Mode: 0o755, Size: int64(len(e.Body))}
		if e.Type != tar.TypeReg {
			hdr.Size = 0
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if e.Type == tar.TypeReg {
			if _, err := tw.Write([]byte(e.Body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
}

func copyFile(t testing.TB, src, dst string, mode os.FileMode) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

func write(t testing.TB, p, s string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}
