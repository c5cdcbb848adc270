package agent

import (
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/hashicorp/go-hclog"
)

// sandboxFixture builds a work dir with one sandbox holding a file, a
// directory, and symlinks that stay inside and that escape.
func sandboxFixture(t testing.TB) (workDir, sandbox string) {
	t.Helper()
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	runs := filepath.Join(dir, "frameworks", "fw", "executors", "e", "runs")
	sandbox = filepath.Join(runs, "c1")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(sandbox, "sub"), 0o755))
	must(os.WriteFile(filepath.Join(sandbox, "stdout"), []byte("0123456789"), 0o644))
	must(os.WriteFile(filepath.Join(sandbox, "sub", "f"), []byte("x"), 0o600))
	must(os.MkdirAll(filepath.Join(dir, "meta"), 0o700))
	must(os.WriteFile(filepath.Join(dir, "meta", "agent_id"), []byte("secret"), 0o600))
	must(os.Symlink("c1", filepath.Join(runs, "latest")))
	must(os.Symlink("/etc/passwd", filepath.Join(sandbox, "passwd")))
	must(os.Symlink("/etc", filepath.Join(sandbox, "etc")))
	must(os.Symlink("../../../../../meta", filepath.Join(sandbox, "meta")))
	must(os.Symlink("sub/f", filepath.Join(sandbox, "inside")))
	must(syscall.Mkfifo(filepath.Join(sandbox, "fifo"), 0o644))
	return dir, sandbox
}

func filesAgent(t *testing.T) (*Agent, string) {
	workDir, sandbox := sandboxFixture(t)
	return &Agent{workDir: workDir, log: hclog.NewNullLogger()}, sandbox
}

func serve(a *Agent, h func(*Agent, http.ResponseWriter, *http.Request), target string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h(a, rec, httptest.NewRequest(http.MethodGet, target, nil))
	return rec
}

func TestFiles_ReadFollowsMesosSemantics(t *testing.T) {
	a, sandbox := filesAgent(t)
	read := (*Agent).handleFilesRead
	latest := url.QueryEscape("/frameworks/fw/executors/e/runs/latest/stdout")
	for _, tc := range []struct {
		query string
		code  int
		data  string
		off   int64
	}{
		{"path=" + latest + "&offset=0", 200, "0123456789", 0},
		{"path=" + latest + "&offset=2&length=3", 200, "234", 2},
		{"path=" + latest, 200, "", 10},                // no offset: the size
		{"path=" + latest + "&offset=-1", 200, "", 10}, // -1: the size
		{"path=" + latest + "&offset=50", 200, "", 10}, // past the end
		{"path=" + latest + "&offset=8&length=100", 200, "89", 8},
		{"path=" + url.QueryEscape(sandbox+"/stdout") + "&offset=9", 200, "9", 9}, // absolute
		{"path=" + url.QueryEscape("frameworks/fw/executors/e/runs/c1/inside") + "&offset=0", 200, "x", 0},
		{"path=" + latest + "&offset=abc", 400, "", 0},
		{"path=" + latest + "&offset=-2", 400, "", 0},
		{"path=" + latest + "&offset=0&length=-5", 400, "", 0},
		{"path=" + url.QueryEscape("/frameworks/fw/executors/e/runs/latest"), 400, "", 0}, // a directory
		{"path=" + url.QueryEscape("/frameworks/fw/executors/e/runs/latest/fifo") + "&offset=0", 400, "", 0},
		{"", 400, "", 0},
		{"path=" + url.QueryEscape("/frameworks/fw/nope"), 404, "", 0},
	} {
		rec := serve(a, read, "/files/read?"+tc.query)
		if rec.Code != tc.code {
			t.Errorf("%s: %d %s, want %d", tc.query, rec.Code, rec.Body, tc.code)
			continue
		}
		if tc.code != 200 {
			continue
		}
		var got readAnswer
		if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || got.Data != tc.data || got.Offset != tc.off {
			t.Errorf("%s: %s, want data %q offset %d", tc.query, rec.Body, tc.data, tc.off)
		}
	}
}

func TestFiles_RefusesPathsOutsideTheSandboxes(t *testing.T) {
	a, sandbox := filesAgent(t)
	for _, p := range []string{
		"../../etc/passwd",
		"/frameworks/../../../etc/passwd",
		"/frameworks/fw/executors/e/runs/latest/../../../../../../etc/passwd",
		"/etc/passwd",
		"/meta/agent_id",
		filepath.Join(a.workDir, "meta", "agent_id"),
		"/frameworks/fw/executors/e/runs/latest/passwd",       // symlink to /etc/passwd
		"/frameworks/fw/executors/e/runs/latest/etc/hostname", // through a symlinked dir
		"/frameworks/fw/executors/e/runs/latest/meta/agent_id",
		sandbox + "/passwd",
	} {
		for name, h := range map[string]func(*Agent, http.ResponseWriter, *http.Request){
			"read": (*Agent).handleFilesRead, "browse": (*Agent).handleFilesBrowse, "download": (*Agent).handleFilesDownload,
		} {
			rec := serve(a, h, "/files/"+name+"?path="+url.QueryEscape(p)+"&offset=0")
			if rec.Code != http.StatusForbidden && rec.Code != http.StatusNotFound {
				t.Errorf("%s %s: %d %q, want 403 or 404", name, p, rec.Code, rec.Body)
			}
			if strings.Contains(rec.Body.String(), "root:") || strings.Contains(rec.Body.String(), "secret") {
				t.Errorf("%s %s leaked content: %q", name, p, rec.Body)
			}
		}
	}
}

func TestFiles_Browse(t *testing.T) {
	a, _ := filesAgent(t)
	rec := serve(a, (*Agent).handleFilesBrowse, "/files/browse?path=/frameworks/fw/executors/e/runs/latest/")
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("browse: %d %s", rec.Code, rec.Body)
	}
	var entries []fileInfoJSON
	if err := json.Unmarshal(rec.Body.Bytes(), &entries); err != nil {
		t.Fatal(err)
	}
	got := map[string]fileInfoJSON{}
	var order []string
	for _, e := range entries {
		got[e.Path] = e
		order = append(order, e.Path)
	}
	base := "/frameworks/fw/executors/e/runs/latest/"
	if e := got[base+"stdout"]; e.Mode != "-rw-r--r--" || e.Size != 10 || e.Nlink != 1 || e.Mtime == 0 || e.UID == "" || e.GID == "" {
		t.Errorf("stdout entry %+v", e)
	}
	if e := got[base+"sub"]; !strings.HasPrefix(e.Mode, "d") {
		t.Errorf("sub entry %+v", e)
	}
	// A link out of the sandbox shows as a link; one inside as its target.
	if e := got[base+"passwd"]; !strings.HasPrefix(e.Mode, "l") {
		t.Errorf("escaping link shown as %+v", e)
	}
	if e := got[base+"inside"]; e.Mode != "-rw-------" || e.Size != 1 {
		t.Errorf("inside link shown as %+v", e)
	}
	for i := 1; i < len(order); i++ {
		if order[i-1] > order[i] {
			t.Errorf("entries not sorted: %v", order)
		}
	}
	if os.Geteuid() == 0 && got[base+"stdout"].UID != "root" {
		t.Errorf("uid = %q, want a user name", got[base+"stdout"].UID)
	}
	// Browsing a file lists nothing, as Mesos.
	rec = serve(a, (*Agent).handleFilesBrowse, "/files/browse?path="+url.QueryEscape(base+"stdout"))
	if rec.Code != 200 || strings.TrimSpace(rec.Body.String()) != "[]" {
		t.Errorf("browse of a file: %d %s", rec.Code, rec.Body)
	}
}

func TestFiles_Download(t *testing.T) {
	a, _ := filesAgent(t)
	rec := serve(a, (*Agent).handleFilesDownload, "/files/download?path=/frameworks/fw/executors/e/runs/latest/stdout")
	if rec.Code != 200 || rec.Body.String() != "0123456789" || rec.Header().Get("Content-Type") != "application/octet-stream" ||
		!strings.Contains(rec.Header().Get("Content-Disposition"), "stdout") {
		t.Errorf("download: %d %q %v", rec.Code, rec.Body, rec.Header())
	}
	rec = serve(a, (*Agent).handleFilesDownload, "/files/download?path=/frameworks/fw")
	if rec.Code != 400 {
		t.Errorf("download of a directory: %d", rec.Code)
	}
	rec = httptest.NewRecorder()
	a.handleFilesRead(rec, httptest.NewRequest(http.MethodPost, "/files/read?path=/frameworks", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST /files/read: %d", rec.Code)
	}
}

func TestModeString(t *testing.T) {
	for m, want := range map[fs.FileMode]string{
		0o644:                              "-rw-r--r--",
		fs.ModeDir | 0o755:                 "drwxr-xr-x",
		fs.ModeSymlink | 0o777:             "lrwxrwxrwx",
		fs.ModeSetuid | 0o755:              "-rwsr-xr-x",
		fs.ModeSetgid | 0o640:              "-rw-r-S---",
		fs.ModeDir | fs.ModeSticky | 0o777: "drwxrwxrwt",
		fs.ModeNamedPipe | 0o600:           "prw-------",
	} {
		if got := modeString(m); got != want {
			t.Errorf("modeString(%v) = %q, want %q", m, got, want)
		}
	}
}

// FuzzFilesPath checks that no files API path resolves outside the
// sandboxes, whatever it holds: dot-dots, symlinks, absolute paths.
func FuzzFilesPath(f *testing.F) {
	for _, s := range []string{
		"/frameworks/fw/executors/e/runs/latest/stdout", "../../etc/passwd", "/frameworks/../../etc",
		"/frameworks/fw/executors/e/runs/c1/passwd", "/frameworks/fw/executors/e/runs/c1/etc/passwd",
		"/frameworks/fw/executors/e/runs/c1/meta/agent_id", "frameworks/fw", "/", "", "//frameworks//fw/./",
		"/frameworks/fw/executors/e/runs/latest/sub/../inside", "/meta/agent_id", "\x00",
	} {
		f.Add(s)
	}
	workDir, _ := sandboxFixture(f)
	root := filepath.Join(workDir, sandboxRoot)
	f.Fuzz(func(t *testing.T, p string) {
		got, err := resolveSandboxPath(workDir, p)
		if err != nil {
			if !errors.Is(err, errBadPath) && !errors.Is(err, errNoSuchPath) && !errors.Is(err, ErrPathOutside) {
				// Other errors (e.g. a name too long) are fine as long
				// as nothing is returned.
				if got != "" {
					t.Fatalf("%q: error %v with a path %q", p, err, got)
				}
			}
			return
		}
		if !within(got, root) {
			t.Fatalf("%q resolved to %q, outside %q", p, got, root)
		}
		if real, err := filepath.EvalSymlinks(got); err != nil || real != got {
			t.Fatalf("%q resolved to %q, which is not a real path (%q, %v)", p, got, real, err)
		}
	})
}

// FuzzFilesReadQuery checks the read query parser: it never accepts an
// offset or length below -1.
func FuzzFilesReadQuery(f *testing.F) {
	for _, s := range []string{"path=/x&offset=0&length=10", "path=/x", "path=/x&offset=-1", "path=/x&offset=abc", "offset=1", "path=/x&length=-2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		rq, err := parseReadQuery(q)
		if err != nil {
			return
		}
		if rq.path == "" || rq.offset < -1 || rq.length < -1 {
			t.Fatalf("%q parsed to %+v", raw, rq)
		}
	})
}

func TestFiles_AcceptsTheWorkDirAsConfigured(t *testing.T) {
	a, _ := filesAgent(t)
	link := filepath.Join(t.TempDir(), "work")
	if err := os.Symlink(a.workDir, link); err != nil {
		t.Fatal(err)
	}
	a.workDirGiven = link
	rec := serve(a, (*Agent).handleFilesRead, "/files/read?offset=0&path="+url.QueryEscape(link+"/frameworks/fw/executors/e/runs/latest/stdout"))
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "0123456789") {
		t.Errorf("read through the configured work dir: %d %s", rec.Code, rec.Body)
	}
	rec = serve(a, (*Agent).handleFilesRead, "/files/read?offset=0&path="+url.QueryEscape(link+"/meta/agent_id"))
	if rec.Code != 404 && rec.Code != 403 {
		t.Errorf("read of meta through the configured work dir: %d %s", rec.Code, rec.Body)
	}
}
