package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// maxFilesRead caps one /files/read answer.
const maxFilesRead = 1 << 20

var (
	// errBadPath is a files API path that cannot be a path at all.
	errBadPath = errors.New("bad path")
	// errNoSuchPath is a files API path that names nothing the agent
	// serves.
	errNoSuchPath = errors.New("no such file or directory")
)

// within reports whether p is root or below it. Both must be clean.
func within(p, root string) bool {
	return p == root || strings.HasPrefix(p, root+string(filepath.Separator))
}

// resolveSandboxPath maps a files API path to a real path inside
// <workDir>/frameworks, with every symlink resolved. P is either absolute
// inside workDir or relative to workDir starting with /frameworks/.
// workDir must be absolute, clean and free of symlinks. The result is
// always inside <workDir>/frameworks: a path that leaves it, directly or
// through a symlink, yields ErrPathOutside; one that names nothing yields
// an error wrapping errNoSuchPath.
func resolveSandboxPath(workDir, p string) (string, error) {
	if p == "" {
		return "", fmt.Errorf("%w: expecting 'path=value' in query", errBadPath)
	}
	if strings.IndexByte(p, 0) >= 0 {
		return "", fmt.Errorf("%w: path contains a NUL byte", errBadPath)
	}
	root := filepath.Join(workDir, sandboxRoot)
	clean := filepath.Clean("/" + p)
	var candidate string
	switch {
	case within(clean, workDir):
		candidate = clean
	case within(clean, "/"+sandboxRoot):
		candidate = filepath.Join(workDir, clean)
	default:
		return "", fmt.Errorf("%w: %s", errNoSuchPath, p)
	}
	if !within(candidate, root) {
		return "", fmt.Errorf("%w: %s", errNoSuchPath, p)
	}
	real, err := filepath.EvalSymlinks(candidate)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			return "", fmt.Errorf("%w: %s", errNoSuchPath, p)
		}
		return "", fmt.Errorf("resolve %s: %w", p, err)
	}
	real = filepath.Clean(real)
	if !filepath.IsAbs(real) || !within(real, root) {
		return "", fmt.Errorf("%w: %s", ErrPathOutside, p)
	}
	return real, nil
}

// openSandboxPath resolves p and opens it. What was opened is checked
// again through /proc/self/fd, so a symlink swapped in after the
// resolution cannot lead outside the sandboxes; the caller of ctx must be
// allowed by the ACLs to read both p and what was opened
// (authorizeSandbox). FIFOs and devices are refused (opening them could
// block or have effects).
func (a *Agent) openSandboxPath(ctx context.Context, p string) (*os.File, fs.FileInfo, error) {
	if a.workDirGiven != "" && a.workDirGiven != a.workDir {
		// Accept the work directory as configured too, when it differs
		// from the resolved one (it holds a symlink).
		if clean := filepath.Clean("/" + p); within(clean, a.workDirGiven) {
			p = filepath.Join(a.workDir, strings.TrimPrefix(clean, a.workDirGiven))
		}
	}
	real, err := resolveSandboxPath(a.workDir, p)
	if err != nil {
		return nil, nil, err
	}
	f, err := os.OpenFile(real, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil, fmt.Errorf("%w: %s", errNoSuchPath, p)
		}
		if errors.Is(err, syscall.ELOOP) {
			return nil, nil, fmt.Errorf("%w: %s", ErrPathOutside, p)
		}
		return nil, nil, fmt.Errorf("open %s: %w", p, err)
	}
	opened, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(int(f.Fd())))
	if err != nil {
		opened = real
	} else if !within(opened, filepath.Join(a.workDir, sandboxRoot)) {
		f.Close()
		return nil, nil, fmt.Errorf("%w: %s", ErrPathOutside, p)
	}
	if err := a.authorizeSandbox(ctx, p, opened); err != nil {
		f.Close()
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("stat %s: %w", p, err)
	}
	if !fi.Mode().IsRegular() && !fi.IsDir() {
		f.Close()
		return nil, nil, fmt.Errorf("%w: %s is not a regular file or directory", errBadPath, p)
	}
	return f, fi, nil
}

// filesError answers for a files API error.
func filesError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, errBadPath):
		httpError(w, http.StatusBadRequest, "%v", err)
	case errors.Is(err, errNoSuchPath):
		httpError(w, http.StatusNotFound, "%v", err)
	case errors.Is(err, ErrPathOutside), errors.Is(err, errForbidden):
		httpError(w, http.StatusForbidden, "%v", err)
	default:
		httpError(w, http.StatusInternalServerError, "%v", err)
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		httpError(w, http.StatusInternalServerError, "encode response: %v", err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

// onlyGET refuses methods other than GET and HEAD.
func onlyGET(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return true
	}
	w.Header().Set("Allow", "GET, HEAD")
	httpError(w, http.StatusMethodNotAllowed, "Expecting a 'GET' request, received '%s'", r.Method)
	return false
}

// fileInfoJSON is one /files/browse entry, as Mesos renders it.
type fileInfoJSON struct {
	Path  string `json:"path"`
	Nlink uint64 `json:"nlink"`
	Size  int64  `json:"size"`
	Mtime int64  `json:"mtime"`
	Mode  string `json:"mode"`
	UID   string `json:"uid"`
	GID   string `json:"gid"`
}

// handleFilesBrowse serves GET /files/browse?path=P: the entries of a
// directory, sorted by path.
func (a *Agent) handleFilesBrowse(w http.ResponseWriter, r *http.Request) {
	if !onlyGET(w, r) {
		return
	}
	entries, err := a.listSandboxDir(r.Context(), r.URL.Query().Get("path"))
	if err != nil {
		filesError(w, err)
		return
	}
	out := make([]fileInfoJSON, 0, len(entries))
	for _, e := range entries {
		out = append(out, a.fileInfo(e.path, e.info))
	}
	writeJSON(w, out)
}

// sandboxEntry is one entry of a sandbox directory: its path as the
// files API names it, and what it is.
type sandboxEntry struct {
	path string
	info fs.FileInfo
}

// listSandboxDir lists the entries of directory p, sorted by path; a
// file lists nothing, as in Mesos. A symlink shows what it points at
// only when that is inside the sandboxes, otherwise the link itself.
func (a *Agent) listSandboxDir(ctx context.Context, p string) ([]sandboxEntry, error) {
	f, fi, err := a.openSandboxPath(ctx, p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if !fi.IsDir() {
		return nil, nil
	}
	names, err := f.Readdirnames(-1)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", p, err)
	}
	dir := f.Name()
	base := strings.TrimRight(p, "/")
	root := filepath.Join(a.workDir, sandboxRoot)
	var out []sandboxEntry
	for _, name := range names {
		full := filepath.Join(dir, name)
		st, err := os.Lstat(full)
		if err != nil {
			continue
		}
		if st.Mode()&fs.ModeSymlink != 0 {
			if target, err := filepath.EvalSymlinks(full); err == nil && within(target, root) {
				if tst, err := os.Stat(target); err == nil {
					st = tst
				}
			}
		}
		out = append(out, sandboxEntry{path: base + "/" + name, info: st})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].path < out[j].path })
	return out, nil
}

func (a *Agent) fileInfo(path string, fi fs.FileInfo) fileInfoJSON {
	e := fileInfoJSON{Path: path, Size: fi.Size(), Mtime: fi.ModTime().Unix(), Mode: modeString(fi.Mode())}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		e.Nlink = uint64(st.Nlink)
		e.UID = names.user(st.Uid)
		e.GID = names.group(st.Gid)
	}
	return e
}

// modeString renders a mode like ls -l: "drwxr-xr-x", "-rw-r--r--".
func modeString(m fs.FileMode) string {
	var b [10]byte
	switch {
	case m.IsDir():
		b[0] = 'd'
	case m&fs.ModeSymlink != 0:
		b[0] = 'l'
	case m&fs.ModeNamedPipe != 0:
		b[0] = 'p'
	case m&fs.ModeSocket != 0:
		b[0] = 's'
	case m&fs.ModeDevice != 0 && m&fs.ModeCharDevice != 0:
		b[0] = 'c'
	case m&fs.ModeDevice != 0:
		b[0] = 'b'
	default:
		b[0] = '-'
	}
	const rwx = "rwxrwxrwx"
	for i := 0; i < 9; i++ {
		if m&(1<<uint(8-i)) != 0 {
			b[1+i] = rwx[i]
		} else {
			b[1+i] = '-'
		}
	}
	special := func(i int, set bool, lower, upper byte) {
		if !set {
			return
		}
		if b[i] == 'x' {
			b[i] = lower
		} else {
			b[i] = upper
		}
	}
	special(3, m&fs.ModeSetuid != 0, 's', 'S')
	special(6, m&fs.ModeSetgid != 0, 's', 'S')
	special(9, m&fs.ModeSticky != 0, 't', 'T')
	return string(b[:])
}

// idNames caches uid and gid lookups.
type idNames struct {
	mu     sync.Mutex
	users  map[uint32]string
	groups map[uint32]string
}

var names = &idNames{users: map[uint32]string{}, groups: map[uint32]string{}}

func (n *idNames) user(id uint32) string {
	return n.name(n.users, id, func(s string) (string, error) {
		u, err := user.LookupId(s)
		if err != nil {
			return "", err
		}
		return u.Username, nil
	})
}

func (n *idNames) group(id uint32) string {
	return n.name(n.groups, id, func(s string) (string, error) {
		g, err := user.LookupGroupId(s)
		if err != nil {
			return "", err
		}
		return g.Name, nil
	})
}

// name returns id's name from cache, looking it up once; an id without a
// name is shown as its number.
func (n *idNames) name(cache map[uint32]string, id uint32, lookup func(string) (string, error)) string {
	n.mu.Lock()
	defer n.mu.Unlock()
	if s, ok := cache[id]; ok {
		return s
	}
	s := strconv.FormatUint(uint64(id), 10)
	if name, err := lookup(s); err == nil {
		s = name
	}
	cache[id] = s
	return s
}

// readQuery is a parsed /files/read query.
type readQuery struct {
	path   string
	offset int64 // -1: the end of the file
	length int64 // -1: to the end (capped)
}

// parseReadQuery parses path, offset and length, as Mesos does: offset
// and length default to -1; anything but an integer ≥ -1 is a bad
// request.
func parseReadQuery(q url.Values) (readQuery, error) {
	rq := readQuery{path: q.Get("path"), offset: -1, length: -1}
	if rq.path == "" {
		return rq, fmt.Errorf("%w: expecting 'path=value' in query", errBadPath)
	}
	parse := func(name string, dst *int64) error {
		if !q.Has(name) {
			return nil
		}
		v, err := strconv.ParseInt(strings.TrimSpace(q.Get(name)), 10, 64)
		if err != nil {
			return fmt.Errorf("%w: failed to parse %s: %q is not an integer", errBadPath, name, q.Get(name))
		}
		if v < -1 {
			return fmt.Errorf("%w: negative %s %d", errBadPath, name, v)
		}
		*dst = v
		return nil
	}
	if err := parse("offset", &rq.offset); err != nil {
		return rq, err
	}
	if err := parse("length", &rq.length); err != nil {
		return rq, err
	}
	return rq, nil
}

// readAnswer is the /files/read body.
type readAnswer struct {
	Data   string `json:"data"`
	Offset int64  `json:"offset"`
}

// handleFilesRead serves GET /files/read?path=P&offset=N&length=M.
func (a *Agent) handleFilesRead(w http.ResponseWriter, r *http.Request) {
	if !onlyGET(w, r) {
		return
	}
	rq, err := parseReadQuery(r.URL.Query())
	if err != nil {
		filesError(w, err)
		return
	}
	data, offset, _, err := a.readSandboxFile(r.Context(), rq)
	if err != nil {
		filesError(w, err)
		return
	}
	writeJSON(w, readAnswer{Data: string(data), Offset: offset})
}

// readSandboxFile reads what rq asks of a sandbox file, at most
// maxFilesRead bytes, and returns it with the offset it starts at and
// the file's size. An offset at or past the end reads nothing from the
// end.
func (a *Agent) readSandboxFile(ctx context.Context, rq readQuery) (data []byte, offset, size int64, err error) {
	f, fi, err := a.openSandboxPath(ctx, rq.path)
	if err != nil {
		return nil, 0, 0, err
	}
	defer f.Close()
	if fi.IsDir() {
		return nil, 0, 0, fmt.Errorf("%w: cannot read a directory", errBadPath)
	}
	size = fi.Size()
	offset, length := rq.offset, rq.length
	if offset == -1 {
		offset = size
	}
	if offset >= size {
		return nil, size, size, nil
	}
	if length == -1 || length > size-offset {
		length = size - offset
	}
	length = min(length, maxFilesRead)
	buf := make([]byte, length)
	n, err := f.ReadAt(buf, offset)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, 0, 0, fmt.Errorf("read %s: %w", rq.path, err)
	}
	return buf[:n], offset, size, nil
}

// handleFilesDownload serves GET /files/download?path=P: the raw file.
func (a *Agent) handleFilesDownload(w http.ResponseWriter, r *http.Request) {
	if !onlyGET(w, r) {
		return
	}
	p := r.URL.Query().Get("path")
	f, fi, err := a.openSandboxPath(r.Context(), p)
	if err != nil {
		filesError(w, err)
		return
	}
	defer f.Close()
	if fi.IsDir() {
		filesError(w, fmt.Errorf("%w: cannot download a directory", errBadPath))
		return
	}
	name := filepath.Base(f.Name())
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", "attachment; filename="+strconv.Quote(name))
	http.ServeContent(w, r, "", fi.ModTime().Truncate(time.Second), f)
}
