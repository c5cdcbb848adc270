package executor

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"

	"github.com/hashicorp/go-hclog"
)

// ErrBadImage is returned for a rootfs image that cannot be used: missing,
// of an unknown kind, or a tarball with an entry that would land outside
// the root filesystem.
var ErrBadImage = errors.New("bad rootfs image")

// imageCache turns rootfs images into directories: a directory is used as
// it is; a .tar or .tar.gz is unpacked once into the cache, keyed by its
// path, size and modification time.
type imageCache struct {
	dir string
	log hclog.Logger

	mu    sync.Mutex
	locks map[string]*sync.Mutex
}

func newImageCache(dir string, log hclog.Logger) *imageCache {
	return &imageCache{dir: dir, log: log, locks: map[string]*sync.Mutex{}}
}

// prepare returns the directory holding image's root filesystem.
func (ic *imageCache) prepare(image string) (string, error) {
	if !filepath.IsAbs(image) {
		return "", fmt.Errorf("%w %q: want an absolute path to a directory or a .tar/.tar.gz file", ErrBadImage, image)
	}
	image = filepath.Clean(image)
	fi, err := os.Stat(image)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrBadImage, err)
	}
	if fi.IsDir() {
		return image, nil
	}
	if !fi.Mode().IsRegular() || !isTarball(image) {
		return "", fmt.Errorf("%w %s: not a directory, .tar, .tar.gz or .tgz", ErrBadImage, image)
	}
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s\x00%d\x00%d", image, fi.Size(), fi.ModTime().UnixNano())))
	key := hex.EncodeToString(sum[:16])
	dst := filepath.Join(ic.dir, key)

	ic.mu.Lock()
	lock := ic.locks[key]
	if lock == nil {
		lock = &sync.Mutex{}
		ic.locks[key] = lock
	}
	ic.mu.Unlock()
	lock.Lock()
	defer lock.Unlock()
	if _, err := os.Stat(dst); err == nil {
		return dst, nil
	}
	tmp, err := os.MkdirTemp(ic.dir, ".unpack-"+key+"-")
	if err != nil {
		return "", fmt.Errorf("unpack image: %w", err)
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		os.RemoveAll(tmp)
		return "", fmt.Errorf("unpack image: %w", err)
	}
	if err := unpackTarball(image, tmp); err != nil {
		os.RemoveAll(tmp)
		return "", err
	}
	if err := os.Rename(tmp, dst); err != nil {
		os.RemoveAll(tmp)
		return "", fmt.Errorf("unpack image: %w", err)
	}
	ic.log.Info("rootfs image unpacked", "image", image, "dir", dst)
	return dst, nil
}

func isTarball(p string) bool {
	for _, ext := range []string{".tar", ".tar.gz", ".tgz"} {
		if strings.HasSuffix(p, ext) {
			return true
		}
	}
	return false
}

// unpackTarball extracts a (possibly gzipped) tarball into dst, keeping
// its owners and modes (a root filesystem). See extractTar.
func unpackTarball(file, dst string) error {
	f, err := os.Open(file)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBadImage, err)
	}
	defer f.Close()
	br := bufio.NewReader(f)
	var r io.Reader = br
	if magic, err := br.Peek(2); err == nil && magic[0] == 0x1f && magic[1] == 0x8b {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return fmt.Errorf("%w %s: %w", ErrBadImage, file, err)
		}
		defer gz.Close()
		r = gz
	}
	if err := extractTar(r, dst, true); err != nil {
		return fmt.Errorf("%w %s: %w", ErrBadImage, file, err)
	}
	return nil
}

// extractTar extracts a tar stream into dst. It never follows a symlink
// while writing, and refuses entries whose name has a ".." component or
// is absolute, symlinks whose target is absolute or climbs out of dst,
// and hard links to outside it. With keepOwners (and root) files get the
// archive's owners and setuid/setgid bits; without, they belong to this
// process and those bits are dropped.
func extractTar(r io.Reader, dst string, keepOwners bool) error {
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := unpackEntry(tr, hdr, dst, keepOwners); err != nil {
			return err
		}
	}
}

// writeNewFile replaces path with a new file holding r's content; it
// does not follow a symlink at path.
func writeNewFile(path string, r io.Reader, perm os.FileMode) error {
	os.Remove(path)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscallNoFollow, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// entryName validates a tar entry's name and returns it relative to the
// root, "" for the root itself.
func entryName(name string) (string, error) {
	if strings.HasPrefix(name, "/") {
		return "", fmt.Errorf("entry %q has an absolute name", name)
	}
	for _, part := range strings.Split(name, "/") {
		if part == ".." {
			return "", fmt.Errorf("entry %q has a '..' component", name)
		}
	}
	clean := path.Clean(name)
	if clean == "." {
		return "", nil
	}
	return clean, nil
}

// noSymlinkParents makes sure no directory between dst and its entry rel
// is a symlink, so writing the entry cannot land outside dst.
func noSymlinkParents(dst, rel string) error {
	dir := dst
	parts := strings.Split(rel, "/")
	for _, p := range parts[:len(parts)-1] {
		dir = filepath.Join(dir, p)
		fi, err := os.Lstat(dir)
		if errors.Is(err, os.ErrNotExist) {
			if err := os.Mkdir(dir, 0o755); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		if !fi.IsDir() {
			return fmt.Errorf("entry %q lies under %s, which is not a directory", rel, strings.TrimPrefix(dir, dst))
		}
	}
	return nil
}

func unpackEntry(tr *tar.Reader, hdr *tar.Header, dst string, keepOwners bool) error {
	rel, err := entryName(hdr.Name)
	if err != nil {
		return err
	}
	if rel == "" {
		return nil
	}
	if err := noSymlinkParents(dst, rel); err != nil {
		return err
	}
	target := filepath.Join(dst, rel)
	mode := os.FileMode(hdr.Mode) & os.ModePerm
	if keepOwners && hdr.Mode&0o4000 != 0 {
		mode |= os.ModeSetuid
	}
	if keepOwners && hdr.Mode&0o2000 != 0 {
		mode |= os.ModeSetgid
	}
	if hdr.Mode&0o1000 != 0 {
		mode |= os.ModeSticky
	}
	switch hdr.Typeflag {
	case tar.TypeDir:
		if fi, err := os.Lstat(target); err == nil && !fi.IsDir() {
			return fmt.Errorf("entry %q: a directory replaces a file", hdr.Name)
		}
		if err := os.MkdirAll(target, 0o755); err != nil {
			return err
		}
	case tar.TypeReg, tar.TypeRegA:
		if err := writeNewFile(target, tr, 0o600); err != nil {
			return err
		}
	case tar.TypeSymlink:
		link := hdr.Linkname
		if strings.HasPrefix(link, "/") {
			return fmt.Errorf("entry %q is an absolute symlink (to %q)", hdr.Name, link)
		}
		if resolved := path.Join(path.Dir(rel), link); resolved == ".." || strings.HasPrefix(resolved, "../") {
			return fmt.Errorf("entry %q is a symlink out of the root filesystem (to %q)", hdr.Name, link)
		}
		os.Remove(target)
		if err := os.Symlink(link, target); err != nil {
			return err
		}
		if keepOwners {
			_ = os.Lchown(target, hdr.Uid, hdr.Gid)
		}
		return nil
	case tar.TypeLink:
		lrel, err := entryName(hdr.Linkname)
		if err != nil || lrel == "" {
			return fmt.Errorf("entry %q is a hard link out of the root filesystem (to %q)", hdr.Name, hdr.Linkname)
		}
		if err := noSymlinkParents(dst, lrel); err != nil {
			return err
		}
		os.Remove(target)
		if err := os.Link(filepath.Join(dst, lrel), target); err != nil {
			return err
		}
		return nil
	default:
		// Devices, fifos and the like: a container gets its own /dev.
		return nil
	}
	if keepOwners && os.Geteuid() == 0 {
		if err := os.Lchown(target, hdr.Uid, hdr.Gid); err != nil {
			return err
		}
	}
	return os.Chmod(target, mode)
}
