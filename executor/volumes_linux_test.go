//go:build linux && cgo

package executor

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestLinux_VolumesAreBoundReadWriteOrReadOnly(t *testing.T) {
	l := linuxOrSkip(t, LinuxOptions{})
	rw, ro, over := t.TempDir(), t.TempDir(), t.TempDir()
	for _, d := range []string{rw, ro, over, filepath.Dir(rw), filepath.Dir(ro), filepath.Dir(over)} {
		os.Chmod(d, 0o777)
	}
	if err := os.WriteFile(filepath.Join(ro, "given.txt"), []byte("from the host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := sandbox(t, l, "nobody")
	spec := ContainerSpec{
		ID: "c-volumes", Dir: dir, User: "nobody", Resources: smallResources(),
		Argv: []string{"/bin/sh", "-c", `echo written > data/out && cat ` + over + `/given.txt && ` +
			`(echo no > ` + over + `/nope) 2>/dev/null || echo read-only; echo kept > cache/kept`},
		Env:    []string{"PATH=/usr/bin:/bin"},
		Stdout: filepath.Join(dir, "stdout"), Stderr: filepath.Join(dir, "stderr"),
		Volumes: []Volume{
			{Source: rw, Target: "data"},
			{Source: ro, Target: over, ReadOnly: true},
			{Source: "cache-src", Target: "cache"},
		},
	}
	st, out, errOut := runSpec(t, l, spec)
	if !st.Success() {
		t.Fatalf("container %v; stderr: %s", st, errOut)
	}
	if out != "from the host\nread-only\n" {
		t.Errorf("output %q, want the read-only volume's file and a refused write", out)
	}
	if b, err := os.ReadFile(filepath.Join(rw, "out")); err != nil || string(b) != "written\n" {
		t.Errorf("the read-write volume on the host: %q, %v", b, err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "cache-src", "kept")); err != nil || string(b) != "kept\n" {
		t.Errorf("the sandbox volume: %q, %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(over, "nope")); err == nil {
		t.Error("wrote through a read-only volume")
	}
}

func TestLinux_VolumesRejected(t *testing.T) {
	l := linuxOrSkip(t, LinuxOptions{})
	host := t.TempDir()
	for name, v := range map[string]Volume{
		"missing source":                {Source: filepath.Join(host, "absent"), Target: "x"},
		"target climbing out":           {Source: host, Target: "../x"},
		"source climbing out":           {Source: "../../x", Target: "x"},
		"target missing from host root": {Source: host, Target: "/mesh-no-such-dir"},
		"the root":                      {Source: host, Target: "/"},
	} {
		dir := sandbox(t, l, "nobody")
		id := "c-vol-" + strings.ReplaceAll(name, " ", "-")
		_, err := l.Launch(context.Background(), ContainerSpec{ID: id, Argv: []string{"/bin/true"}, Dir: dir, User: "nobody",
			Resources: smallResources(), Volumes: []Volume{v}})
		if !errors.Is(err, ErrBadContainerSpec) {
			t.Errorf("%s: err = %v, want ErrBadContainerSpec", name, err)
			l.Destroy(context.Background(), id, 0)
		}
	}
}

// The host's filesystems change while the agent runs: one unmounted after
// the containerizer started must not fail later containers, and one
// mounted since is seen, read-only.
func TestLinux_HostMountsAreTheCurrentOnes(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (mounts)")
	}
	gone, later := t.TempDir(), t.TempDir()
	if err := unix.Mount("tmpfs", gone, "tmpfs", 0, "size=1m"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Unmount(gone, unix.MNT_DETACH) })
	l := linuxOrSkip(t, LinuxOptions{})
	st, _, errOut := runShell(t, l, "nobody", "true", smallResources())
	if !st.Success() {
		t.Fatalf("container %s; stderr: %s", st, errOut)
	}
	if err := unix.Unmount(gone, 0); err != nil {
		t.Fatal(err)
	}
	os.Remove(gone)
	if err := unix.Mount("tmpfs", later, "tmpfs", 0, "size=1m,mode=755"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Unmount(later, unix.MNT_DETACH) })
	if err := os.WriteFile(filepath.Join(later, "f"), []byte("later\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chmod(filepath.Dir(later), 0o755)
	st, out, errOut := runShell(t, l, "nobody", `cat `+later+`/f; touch `+later+`/g 2>/dev/null || echo read-only`, smallResources())
	if !st.Success() || out != "later\nread-only\n" {
		t.Errorf("container %s, output %q; stderr: %s", st, out, errOut)
	}
}

func TestVanishedMount(t *testing.T) {
	base := errors.New("failed to fulfil mount request")
	if got := vanishedMount(&mountSourceError{source: t.TempDir(), err: base}); got == "" {
		t.Error("a directory that is no mount point: not taken for a vanished mount")
	}
	if got := vanishedMount(fmt.Errorf("start container: %w", &mountSourceError{source: "/", err: base})); got != "" {
		t.Errorf("/ is mounted, yet taken for vanished: %q", got)
	}
	if got := vanishedMount(base); got != "" {
		t.Errorf("another error taken for a vanished mount: %q", got)
	}
}

func TestLinux_RlimitsAreSet(t *testing.T) {
	l := linuxOrSkip(t, LinuxOptions{})
	dir := sandbox(t, l, "nobody")
	spec := ContainerSpec{
		ID: "c-rlimits", Dir: dir, User: "nobody", Resources: smallResources(),
		Argv:   []string{"/bin/sh", "-c", `ulimit -Sn; ulimit -Hn; ulimit -c`},
		Env:    []string{"PATH=/usr/bin:/bin"},
		Stdout: filepath.Join(dir, "stdout"), Stderr: filepath.Join(dir, "stderr"),
		Rlimits: []Rlimit{{Name: "RLIMIT_NOFILE", Soft: 321, Hard: 654}, {Name: "RLIMIT_CORE", Soft: math.MaxUint64, Hard: math.MaxUint64}},
	}
	if st, out, errOut := runSpec(t, l, spec); !st.Success() || out != "321\n654\nunlimited\n" {
		t.Errorf("container %v, output %q, want 321, 654 and unlimited; stderr: %s", st, out, errOut)
	}
	if _, err := l.Launch(context.Background(), ContainerSpec{ID: "c-rlimits-bad", Argv: []string{"/bin/true"}, Dir: dir, User: "nobody",
		Resources: smallResources(), Rlimits: []Rlimit{{Name: "RLIMIT_BOGUS"}}}); !errors.Is(err, ErrBadContainerSpec) {
		t.Errorf("unknown rlimit: err = %v", err)
	}
}

func TestLinux_CapabilitiesAreAmbientForTheUser(t *testing.T) {
	l := linuxOrSkip(t, LinuxOptions{})
	run := func(id string, caps []string) string {
		dir := sandbox(t, l, "nobody")
		spec := ContainerSpec{
			ID: id, Dir: dir, User: "nobody", Resources: smallResources(), Capabilities: caps,
			Argv:   []string{"/bin/sh", "-c", `grep -E '^Cap(Eff|Amb)' /proc/self/status | tr -s '\t' ' '`},
			Env:    []string{"PATH=/usr/bin:/bin"},
			Stdout: filepath.Join(dir, id+".out"), Stderr: filepath.Join(dir, id+".err"),
		}
		st, out, errOut := runSpec(t, l, spec)
		if !st.Success() {
			t.Fatalf("%s: container %v; stderr: %s", id, st, errOut)
		}
		return out
	}
	// CAP_NET_BIND_SERVICE is bit 10.
	if out := run("c-caps", []string{"NET_BIND_SERVICE"}); out != "CapEff: 0000000000000400\nCapAmb: 0000000000000400\n" {
		t.Errorf("with NET_BIND_SERVICE: %q", out)
	}
	if out := run("c-nocaps", nil); out != "CapEff: 0000000000000000\nCapAmb: 0000000000000000\n" {
		t.Errorf("without: %q", out)
	}
	if _, err := l.Launch(context.Background(), ContainerSpec{ID: "c-badcap", Argv: []string{"/bin/true"}, Dir: sandbox(t, l, "nobody"),
		User: "nobody", Resources: smallResources(), Capabilities: []string{"FLY"}}); !errors.Is(err, ErrBadContainerSpec) {
		t.Errorf("unknown capability: err = %v", err)
	}
}
