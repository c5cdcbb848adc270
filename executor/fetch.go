package executor

import (
	"archive/zip"
	"bufio"
	"compress/bzip2"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"mesh/mesos"
)

// fetchTimeout bounds one URI's download.
const fetchTimeout = 30 * time.Minute

// fetcher downloads a task's CommandInfo.uris into its sandbox before the
// task starts, as Mesos' fetcher: http, https and file URIs and absolute
// paths; each lands under its output_file (default: the URI's base name)
// and is made executable or extracted as asked. A URI marked `cache` is
// downloaded once into the cache directory (the agent gives each task
// user one) and copied from there afterwards.
type fetcher struct {
	dir string
	// cache, when set, holds downloads of URIs marked `cache`, named by
	// the SHA-256 of the URI.
	cache string
	// localFiles allows file URIs and paths. The executor refuses them
	// when it runs as root for a task of another user (a task with an
	// image): it would read files that user may not.
	localFiles bool
	client     *http.Client
}

// errFetch marks a URI that cannot be fetched.
var errFetch = errors.New("cannot fetch")

// fetchAll fetches every uri into f.dir, stopping at the first failure.
func (f *fetcher) fetchAll(ctx context.Context, uris []mesos.CommandURI) error {
	for _, u := range uris {
		if err := f.fetch(ctx, u); err != nil {
			return err
		}
	}
	return nil
}

// fetch fetches one URI.
func (f *fetcher) fetch(ctx context.Context, u mesos.CommandURI) error {
	src, local, err := parseFetchURI(u.Value)
	if err != nil {
		return err
	}
	// Errors name the URI without a password it may carry.
	u.Value = redactURI(u.Value)
	if local && !f.localFiles {
		return fmt.Errorf("%w %q: local files cannot be fetched for a task with its own root filesystem; serve it over http", errFetch, u.Value)
	}
	name := u.OutputFile
	if name == "" {
		name = baseName(src, local)
	}
	rel, err := outputName(name)
	if err != nil {
		return fmt.Errorf("%w %q: %w", errFetch, u.Value, err)
	}
	if err := noSymlinkParents(f.dir, rel); err != nil {
		return fmt.Errorf("%w %q: %w", errFetch, u.Value, err)
	}
	target := filepath.Join(f.dir, rel)
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	if u.Cache != nil && *u.Cache && f.cache != "" {
		cached, err := f.cached(ctx, src, local)
		if err == nil {
			err = writeNewFile(target, cached, 0o644)
			cached.Close()
		}
		if err != nil {
			return fmt.Errorf("%w %q: %w", errFetch, u.Value, err)
		}
	} else if err := f.download(ctx, src, local, target); err != nil {
		return fmt.Errorf("%w %q: %w", errFetch, u.Value, err)
	}
	switch {
	case u.Executable != nil && *u.Executable:
		if err := os.Chmod(target, 0o755); err != nil {
			return fmt.Errorf("%w %q: %w", errFetch, u.Value, err)
		}
	case u.Extract == nil || *u.Extract:
		if err := extractArchive(target, filepath.Dir(target)); err != nil {
			return fmt.Errorf("%w %q: extract %s: %w", errFetch, u.Value, rel, err)
		}
	}
	return nil
}

// cached opens the cache's copy of src, downloading it first when the
// cache has none. Its modification time marks its last use: the agent
// removes the least recently used copies when the cache outgrows its size.
// The cache belongs to the task's user, who may change it at any time, so
// the copy is opened without following a symlink and must be a regular
// file: an executor running as root never reads another file for it.
func (f *fetcher) cached(ctx context.Context, src string, local bool) (*os.File, error) {
	sum := sha256.Sum256([]byte(src))
	p := filepath.Join(f.cache, hex.EncodeToString(sum[:]))
	if in, err := openCached(p); err == nil {
		now := time.Now()
		os.Chtimes(p, now, now)
		return in, nil
	}
	tmp := fmt.Sprintf("%s.part-%d-%d", p, os.Getpid(), time.Now().UnixNano())
	if err := f.download(ctx, src, local, tmp); err != nil {
		return nil, err
	}
	// Opened before it is in place, where the agent may evict it at once.
	in, err := openCached(tmp)
	if err != nil {
		os.Remove(tmp)
		return nil, err
	}
	// Two tasks fetching the same URI at once both download it; the
	// rename makes either copy whole.
	if err := os.Rename(tmp, p); err != nil {
		in.Close()
		os.Remove(tmp)
		return nil, fmt.Errorf("keep it in the fetcher cache: %w", err)
	}
	return in, nil
}

// openCached opens a cached download, refusing anything but a regular
// file.
func openCached(p string) (*os.File, error) {
	in, err := os.OpenFile(p, os.O_RDONLY|syscallNoFollow, 0)
	if err != nil {
		return nil, err
	}
	if fi, err := in.Stat(); err != nil || !fi.Mode().IsRegular() {
		in.Close()
		return nil, fmt.Errorf("fetcher cache entry %s is not a regular file", filepath.Base(p))
	}
	return in, nil
}

// parseFetchURI returns where to read a URI from and whether it is a
// local file.
func parseFetchURI(value string) (string, bool, error) {
	value = strings.TrimSpace(value)
	if strings.HasPrefix(value, "/") {
		return filepath.Clean(value), true, nil
	}
	u, err := url.Parse(value)
	if err != nil {
		return "", false, fmt.Errorf("%w: %q is not a URI", errFetch, redactURI(value))
	}
	value = u.Redacted()
	switch u.Scheme {
	case "http", "https":
		if u.Host == "" {
			return "", false, fmt.Errorf("%w %q: no host", errFetch, value)
		}
		return u.String(), false, nil
	case "file":
		if !strings.HasPrefix(u.Path, "/") || (u.Host != "" && u.Host != "localhost") {
			return "", false, fmt.Errorf("%w %q: a file URI needs an absolute path on this machine", errFetch, value)
		}
		return filepath.Clean(u.Path), true, nil
	case "":
		return "", false, fmt.Errorf("%w %q: not an absolute path or a URI", errFetch, value)
	default:
		return "", false, fmt.Errorf("%w %q: scheme %q is not supported (http, https, file and absolute paths are)", errFetch, value, u.Scheme)
	}
}

// redactURI hides the password of a URI's user information.
func redactURI(value string) string {
	if u, err := url.Parse(strings.TrimSpace(value)); err == nil {
		return u.Redacted()
	}
	if i := strings.LastIndex(value, "@"); i >= 0 {
		if j := strings.Index(value, "://"); j >= 0 && j < i {
			return value[:j+3] + "xxxxx" + value[i:]
		}
	}
	return value
}

// baseName is the last element of a source's path, "" when it has none
// (a URL ending in a slash).
func baseName(src string, local bool) string {
	p := src
	if !local {
		u, err := url.Parse(src)
		if err != nil {
			return ""
		}
		p = u.Path
	}
	if p == "" || strings.HasSuffix(p, "/") {
		return ""
	}
	return path.Base(p)
}

// outputName validates where a fetched file goes, relative to the
// sandbox.
func outputName(name string) (string, error) {
	if name == "" || name == "." || name == "/" {
		return "", errors.New("no file name to store it under (give output_file)")
	}
	rel, err := entryName(name)
	if err != nil {
		return "", fmt.Errorf("output file: %w", err)
	}
	if rel == "" {
		return "", fmt.Errorf("output file %q names the sandbox itself", name)
	}
	return rel, nil
}

// download copies src (a URL, or a local path when local) to target.
func (f *fetcher) download(ctx context.Context, src string, local bool, target string) error {
	var body io.ReadCloser
	if local {
		in, err := os.Open(src)
		if err != nil {
			return err
		}
		if fi, err := in.Stat(); err != nil || !fi.Mode().IsRegular() {
			in.Close()
			return fmt.Errorf("%s is not a regular file", src)
		}
		body = in
	} else {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, src, nil)
		if err != nil {
			return err
		}
		client := f.client
		if client == nil {
			client = http.DefaultClient
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			return fmt.Errorf("HTTP %s", resp.Status)
		}
		body = resp.Body
	}
	defer body.Close()
	if err := writeNewFile(target, body, 0o644); err != nil {
		os.Remove(target)
		return err
	}
	return nil
}

// extractArchive unpacks file into dir when its name says it is an
// archive Mesos' fetcher extracts; other files are left as they are.
func extractArchive(file, dir string) error {
	name := strings.ToLower(filepath.Base(file))
	var (
		gunzip, bunzip bool
		tarball        = true
	)
	switch {
	case strings.HasSuffix(name, ".zip"):
		return extractZip(file, dir)
	case strings.HasSuffix(name, ".tar"):
	case strings.HasSuffix(name, ".tar.gz"), strings.HasSuffix(name, ".tgz"):
		gunzip = true
	case strings.HasSuffix(name, ".tar.bz2"), strings.HasSuffix(name, ".tbz2"):
		bunzip = true
	case strings.HasSuffix(name, ".gz"):
		gunzip, tarball = true, false
	default:
		return nil
	}
	in, err := os.Open(file)
	if err != nil {
		return err
	}
	defer in.Close()
	var r io.Reader = bufio.NewReader(in)
	switch {
	case gunzip:
		gz, err := gzip.NewReader(r)
		if err != nil {
			return err
		}
		defer gz.Close()
		r = gz
	case bunzip:
		r = bzip2.NewReader(r)
	}
	if tarball {
		return extractTar(r, dir, false)
	}
	return writeNewFile(strings.TrimSuffix(file, filepath.Ext(file)), r, 0o644)
}

// extractZip unpacks a zip file into dir with extractTar's rules.
func extractZip(file, dir string) error {
	zr, err := zip.OpenReader(file)
	if err != nil {
		return err
	}
	defer zr.Close()
	for _, zf := range zr.File {
		rel, err := entryName(zf.Name)
		if err != nil {
			return err
		}
		if rel == "" {
			continue
		}
		if err := noSymlinkParents(dir, rel); err != nil {
			return err
		}
		target := filepath.Join(dir, rel)
		mode := zf.Mode()
		switch {
		case mode.IsDir():
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
		case mode&os.ModeSymlink != 0:
			return fmt.Errorf("entry %q is a symlink, which mesh does not extract from zip files", zf.Name)
		case mode.IsRegular():
			in, err := zf.Open()
			if err != nil {
				return err
			}
			err = writeNewFile(target, in, mode.Perm()|0o600)
			in.Close()
			if err != nil {
				return err
			}
		}
	}
	return nil
}
