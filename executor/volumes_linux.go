//go:build linux && cgo

package executor

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/opencontainers/runc/libcontainer/configs"
	"golang.org/x/sys/unix"
)

// volumeMounts checks spec's volumes, makes what they need on the host
// (a sandbox-relative source directory, a mount point in the sandbox) and
// returns their bind mounts: nosuid, nodev, read-only when asked, placed
// in the task's image (rootfs) or, without one, in the host's root, which
// containers see read-only, so that an absolute target must exist there
// already.
func volumeMounts(spec ContainerSpec, ident *Identity, rootfs string) ([]*configs.Mount, error) {
	var out []*configs.Mount
	for _, v := range spec.Volumes {
		src, err := volumeSource(spec.Dir, v.Source, ident)
		if err != nil {
			return nil, err
		}
		fi, err := os.Stat(src)
		if err != nil {
			return nil, fmt.Errorf("%w: volume %s: %w", ErrBadContainerSpec, v.Source, err)
		}
		if !filepath.IsAbs(v.Target) && !filepath.IsLocal(v.Target) {
			return nil, fmt.Errorf("%w: volume container path %q: a relative path must stay inside the sandbox", ErrBadContainerSpec, v.Target)
		}
		var dst string
		switch {
		case v.InHostRoot && !filepath.IsAbs(v.Target):
			return nil, fmt.Errorf("%w: volume container path %q in the host's root is not absolute", ErrBadContainerSpec, v.Target)
		case rootfs != "" && filepath.IsAbs(v.Target) && !v.InHostRoot:
			dst = filepath.Join(rootfs, v.Target)
		case rootfs != "":
			dst = filepath.Join(rootfs, SandboxInRootfs, v.Target)
		case filepath.IsAbs(v.Target):
			dst = filepath.Clean(v.Target)
			if dst == "/" {
				return nil, fmt.Errorf("%w: a volume cannot replace the root filesystem", ErrBadContainerSpec)
			}
			if _, err := os.Stat(dst); err != nil {
				return nil, fmt.Errorf("%w: volume container path %s does not exist in the host's root filesystem, which containers without an image see read-only: give a path relative to the sandbox, an existing path, or an image", ErrBadContainerSpec, dst)
			}
		default:
			dst = filepath.Join(spec.Dir, v.Target)
			if err := makeMountPoint(dst, fi.IsDir(), ident); err != nil {
				return nil, fmt.Errorf("%w: volume container path %q: %w", ErrBadContainerSpec, v.Target, err)
			}
		}
		flags := unix.MS_BIND | unix.MS_NOSUID | unix.MS_NODEV
		if v.ReadOnly {
			flags |= unix.MS_RDONLY
		}
		out = append(out, &configs.Mount{Source: src, Destination: dst, Device: "bind", Flags: flags})
	}
	return out, nil
}

// volumeSource is a volume's host path: src itself when absolute, else the
// directory src of the sandbox, made for the task's user when missing.
func volumeSource(sandbox, src string, ident *Identity) (string, error) {
	if filepath.IsAbs(src) {
		return filepath.Clean(src), nil
	}
	if !filepath.IsLocal(src) {
		return "", fmt.Errorf("%w: volume sandbox path %q must stay inside the sandbox", ErrBadContainerSpec, src)
	}
	p := filepath.Join(sandbox, src)
	if err := makeMountPoint(p, true, ident); err != nil {
		return "", fmt.Errorf("%w: volume sandbox path %q: %w", ErrBadContainerSpec, src, err)
	}
	return p, nil
}

// makeMountPoint makes p, a directory or an empty file, with the
// directories above it, for ident, unless it exists. Nothing in the
// sandbox belongs to the task yet, so no symlink is followed: an existing
// entry must be of the right kind.
func makeMountPoint(p string, dir bool, ident *Identity) error {
	if fi, err := os.Lstat(p); err == nil {
		if fi.IsDir() != dir || fi.Mode()&os.ModeSymlink != 0 {
			return fmt.Errorf("%s exists and is not a %s", p, map[bool]string{true: "directory", false: "file"}[dir])
		}
		return nil
	}
	parent := filepath.Dir(p)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	if dir {
		if err := os.Mkdir(p, 0o755); err != nil {
			return err
		}
	} else {
		f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
		if err != nil {
			return err
		}
		f.Close()
	}
	if ident != nil && os.Geteuid() == 0 {
		return os.Lchown(p, int(ident.UID), int(ident.GID))
	}
	return nil
}

// rlimitResources are the setrlimit(2) resources by name.
var rlimitResources = map[string]int{
	"RLIMIT_AS": unix.RLIMIT_AS, "RLIMIT_CORE": unix.RLIMIT_CORE, "RLIMIT_CPU": unix.RLIMIT_CPU,
	"RLIMIT_DATA": unix.RLIMIT_DATA, "RLIMIT_FSIZE": unix.RLIMIT_FSIZE, "RLIMIT_LOCKS": unix.RLIMIT_LOCKS,
	"RLIMIT_MEMLOCK": unix.RLIMIT_MEMLOCK, "RLIMIT_MSGQUEUE": unix.RLIMIT_MSGQUEUE, "RLIMIT_NICE": unix.RLIMIT_NICE,
	"RLIMIT_NOFILE": unix.RLIMIT_NOFILE, "RLIMIT_NPROC": unix.RLIMIT_NPROC, "RLIMIT_RSS": unix.RLIMIT_RSS,
	"RLIMIT_RTPRIO": unix.RLIMIT_RTPRIO, "RLIMIT_RTTIME": unix.RLIMIT_RTTIME, "RLIMIT_SIGPENDING": unix.RLIMIT_SIGPENDING,
	"RLIMIT_STACK": unix.RLIMIT_STACK,
}

// containerRlimits are spec's limits for libcontainer, which sets them on
// the container's first process before it starts.
func containerRlimits(spec ContainerSpec) ([]configs.Rlimit, error) {
	var out []configs.Rlimit
	for _, r := range spec.Rlimits {
		t, ok := rlimitResources[r.Name]
		if !ok {
			return nil, fmt.Errorf("%w: unknown rlimit %q", ErrBadContainerSpec, r.Name)
		}
		if r.Soft > r.Hard {
			return nil, fmt.Errorf("%w: %s soft limit above the hard one", ErrBadContainerSpec, r.Name)
		}
		out = append(out, configs.Rlimit{Type: t, Soft: r.Soft, Hard: r.Hard})
	}
	return out, nil
}
