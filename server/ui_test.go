package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"mesh/agent"
	"mesh/auth"
	"mesh/mesos"
	"mesh/server/servertest"
)

// uiGet GETs path at addr and returns the status, body and headers.
func uiGet(t *testing.T, addr, path string, headers map[string]string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://"+addr+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// TestUI_IndexAndAssets checks that / is the page, with its type and no
// long caching, that the assets it names are served with their types and
// cached for good, and that other paths stay 404.
func TestUI_IndexAndAssets(t *testing.T) {
	srv := servertest.NewServer(t, servertest.Options{})
	addr := srv.HTTPAddr()
	code, body, hdr := uiGet(t, addr, "/", nil)
	if code != http.StatusOK || hdr.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("GET /: %d %q", code, hdr.Get("Content-Type"))
	}
	if hdr.Get("Cache-Control") != "no-cache" || hdr.Get("ETag") == "" {
		t.Fatalf("GET /: Cache-Control %q ETag %q; want no-cache and an ETag", hdr.Get("Cache-Control"), hdr.Get("ETag"))
	}
	if code, _, _ := uiGet(t, addr, "/", map[string]string{"If-None-Match": hdr.Get("ETag")}); code != http.StatusNotModified {
		t.Fatalf("GET / with its ETag: %d, want 304", code)
	}
	refs := regexp.MustCompile(`(?:src|href)="(/ui/static/[^"]+)"`).FindAllStringSubmatch(body, -1)
	if len(refs) < 2 {
		t.Fatalf("the page names %d assets, want its script and style sheet:\n%s", len(refs), body)
	}
	types := map[string]string{".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
	for _, ref := range refs {
		code, asset, hdr := uiGet(t, addr, ref[1], nil)
		if code != http.StatusOK || len(asset) == 0 {
			t.Fatalf("GET %s: %d, %d bytes", ref[1], code, len(asset))
		}
		if want := types[filepath.Ext(ref[1])]; hdr.Get("Content-Type") != want {
			t.Errorf("GET %s: Content-Type %q, want %q", ref[1], hdr.Get("Content-Type"), want)
		}
		if cc := hdr.Get("Cache-Control"); !strings.Contains(cc, "max-age=31536000") || !strings.Contains(cc, "immutable") {
			t.Errorf("GET %s: Cache-Control %q, want it cacheable for good", ref[1], cc)
		}
	}
	for _, p := range []string{"/no-such-page", "/ui/static/0000/app.js"} {
		if code, _, _ := uiGet(t, addr, p, nil); code != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", p, code)
		}
	}
	if code, _, _ := opCall(t, addr, "/", "{}", nil); code != http.StatusMethodNotAllowed {
		t.Errorf("POST /: %d, want 405", code)
	}
}

// startAgent runs a real agent registered with server addr and returns it
// with its work directory.
func startAgent(t *testing.T, addr string, opts ...func(*agent.Config)) (*agent.Agent, string) {
	t.Helper()
	cfg := agent.DefaultConfig()
	cfg.Servers = []string{addr}
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.WorkDir = t.TempDir()
	cfg.Resources = "cpus:1;mem:256;disk:100"
	cfg.Logger = hclog.New(&hclog.LoggerOptions{Name: "agent", Level: hclog.Warn, Output: io.Discard})
	for _, o := range opts {
		o(&cfg)
	}
	ag, err := agent.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ag.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	servertest.WaitFor(t, 10*time.Second, "agent to register", func() bool { return ag.ID() != "" })
	return ag, cfg.WorkDir
}

// TestUIFiles_ProxiesToTheAgent reads a sandbox file and lists its
// directory through the server, and checks that the agent's refusals (a
// path that leaves the sandboxes) come back as the agent gave them.
func TestUIFiles_ProxiesToTheAgent(t *testing.T) {
	srv := servertest.NewServer(t, servertest.Options{})
	addr := srv.HTTPAddr()
	ag, workDir := startAgent(t, addr)
	servertest.WaitFor(t, 10*time.Second, "agent in the state", func() bool { return srv.FSM().State().Agent(ag.ID()) != nil })
	run := filepath.Join(workDir, "frameworks", "fw1", "executors", "t1", "runs", "r1")
	if err := os.MkdirAll(run, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(run, "stdout"), []byte("hello from t1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc", filepath.Join(run, "escape")); err != nil {
		t.Fatal(err)
	}
	q := func(op string, kv ...string) string {
		v := url.Values{"agent_id": {ag.ID()}}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return "/ui/files/" + op + "?" + v.Encode()
	}
	dir := "/frameworks/fw1/executors/t1/runs/r1"

	code, body, hdr := uiGet(t, addr, q("read", "path", dir+"/stdout", "offset", "0"), nil)
	var read struct {
		Data   string `json:"data"`
		Offset int64  `json:"offset"`
	}
	if code != http.StatusOK || hdr.Get("Content-Type") != "application/json" || json.Unmarshal([]byte(body), &read) != nil || read.Data != "hello from t1\n" {
		t.Fatalf("read stdout: %d %q %s", code, hdr.Get("Content-Type"), body)
	}
	code, body, _ = uiGet(t, addr, q("read", "path", dir+"/stdout", "offset", "6", "length", "4"), nil)
	if code != http.StatusOK || json.Unmarshal([]byte(body), &read) != nil || read.Data != "from" || read.Offset != 6 {
		t.Fatalf("read stdout at 6 for 4: %d %s", code, body)
	}
	code, body, _ = uiGet(t, addr, q("browse", "path", dir), nil)
	var entries []struct {
		Path string `json:"path"`
	}
	if code != http.StatusOK || json.Unmarshal([]byte(body), &entries) != nil || len(entries) != 2 || entries[1].Path != dir+"/stdout" {
		t.Fatalf("browse: %d %s", code, body)
	}

	// A symlink out of the sandboxes: the agent refuses with 403.
	code, body, _ = uiGet(t, addr, q("read", "path", dir+"/escape/passwd", "offset", "0"), nil)
	if code != http.StatusForbidden || !strings.Contains(body, "escape/passwd") || strings.Contains(body, "root:") {
		t.Fatalf("read through a symlink out of the sandbox: %d %q, want the agent's 403", code, body)
	}
	// A path outside the sandboxes: the agent answers that it has none.
	code, body, _ = uiGet(t, addr, q("browse", "path", "/frameworks/../../etc"), nil)
	if code != http.StatusNotFound || !strings.Contains(body, "no such file or directory") {
		t.Fatalf("browse /frameworks/../../etc: %d %q, want the agent's 404", code, body)
	}
	// What the agent finds malformed is its 400, passed on.
	code, body, _ = uiGet(t, addr, q("read", "path", dir+"/stdout", "offset", "x"), nil)
	if code != http.StatusBadRequest || !strings.Contains(body, "offset") {
		t.Fatalf("read with offset=x: %d %q, want the agent's 400", code, body)
	}
}

// TestUIFiles_ForwardsTheCallersCredential: an agent that authenticates
// its files API answers the server's proxy for the caller whose
// credential the proxy passes on, and refuses (401, passed back) a caller
// without one.
func TestUIFiles_ForwardsTheCallersCredential(t *testing.T) {
	srv := servertest.NewServer(t, servertest.Options{})
	addr := srv.HTTPAddr()
	ag, workDir := startAgent(t, addr, func(c *agent.Config) {
		c.Credentials = auth.NewCredentials([]auth.Credential{{Principal: "ops", Secret: "ops-secret"}})
		c.AuthenticateHTTPReadOnly = true
	})
	servertest.WaitFor(t, 10*time.Second, "agent in the state", func() bool { return srv.FSM().State().Agent(ag.ID()) != nil })
	run := filepath.Join(workDir, "frameworks", "fw1", "executors", "t1", "runs", "r1")
	if err := os.MkdirAll(run, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(run, "stdout"), []byte("hello from t1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	path := "/ui/files/read?offset=0&agent_id=" + url.QueryEscape(ag.ID()) + "&path=" + url.QueryEscape("/frameworks/fw1/executors/t1/runs/r1/stdout")
	code, body, _ := uiGet(t, addr, path, map[string]string{"Authorization": auth.BasicHeader("ops", "ops-secret")})
	if code != http.StatusOK || !strings.Contains(body, "hello from t1") {
		t.Fatalf("read with the caller's credential: %d %s", code, body)
	}
	code, body, _ = uiGet(t, addr, path, nil)
	if code != http.StatusUnauthorized || strings.Contains(body, "hello") {
		t.Fatalf("read without a credential: %d %s, want the agent's 401", code, body)
	}
}

// TestUIFiles_UnknownOrUnreachableAgent checks the proxy's own errors: no
// agent_id, an agent the cluster does not know, and one that does not
// answer.
func TestUIFiles_UnknownOrUnreachableAgent(t *testing.T) {
	srv := servertest.NewServer(t, servertest.Options{})
	addr := srv.HTTPAddr()

	code, body, _ := uiGet(t, addr, "/ui/files/read?path=/frameworks/x", nil)
	if code != http.StatusBadRequest || !strings.Contains(body, "agent_id") {
		t.Fatalf("no agent_id: %d %q", code, body)
	}
	code, body, _ = uiGet(t, addr, "/ui/files/browse?agent_id=nope&path=/frameworks", nil)
	if code != http.StatusNotFound || !strings.Contains(body, `agent "nope" is not known`) {
		t.Fatalf("unknown agent: %d %q, want 404 naming it", code, body)
	}

	// An agent registered at a port where nothing listens.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	sim := servertest.NewSimAgent(addr, mesos.Resources{mesos.ScalarResource("cpus", 1)})
	sim.Port = int32(port)
	sim.Start(t)
	t.Cleanup(sim.Stop)
	servertest.WaitFor(t, 10*time.Second, "sim agent in the state", func() bool { return sim.ID != "" && srv.FSM().State().Agent(sim.ID) != nil })
	code, body, _ = uiGet(t, addr, "/ui/files/browse?agent_id="+url.QueryEscape(sim.ID)+"&path=/frameworks", nil)
	if code != http.StatusBadGateway || !strings.Contains(body, "unreachable") || !strings.Contains(body, strconv.Itoa(port)) {
		t.Fatalf("unreachable agent: %d %q, want 502 naming its address", code, body)
	}
	if code, _, _ := opCall(t, addr, "/ui/files/read?agent_id=x", "", nil); code != http.StatusMethodNotAllowed {
		t.Fatalf("POST /ui/files/read: %d, want 405", code)
	}
}

// TestUI_FollowerServesThePage checks the page's calls on a follower:
// operator calls are forwarded to the leader (SUBSCRIBE's stream too),
// and /ui/servers names every server's raft role.
func TestUI_FollowerServesThePage(t *testing.T) {
	c := servertest.NewCluster(t, 3, nil)
	leader := c.Servers[c.Leader()]
	follower := c.Servers[(c.Leader()+1)%3]
	addr := follower.HTTPAddr()
	servertest.WaitFor(t, 10*time.Second, "the follower to know the leader", func() bool { return follower.Healthy() })

	if code, body, hdr := uiGet(t, addr, "/", nil); code != http.StatusOK || !strings.HasPrefix(hdr.Get("Content-Type"), "text/html") || !strings.Contains(body, "/ui/static/") {
		t.Fatalf("GET / on a follower: %d %q", code, hdr.Get("Content-Type"))
	}
	code, body, _ := opCall(t, addr, "/ui/api/v1", `{"type":"GET_MASTER"}`, nil)
	if code != http.StatusOK || !strings.Contains(body, `"GET_MASTER"`) || !strings.Contains(body, leader.HTTPAddr()) {
		t.Fatalf("GET_MASTER through a follower: %d %s", code, body)
	}
	if code, body, _ := opCall(t, addr, "/ui/api/v1", `{"type":"NO_SUCH_CALL"}`, nil); code != http.StatusBadRequest {
		t.Fatalf("a bad call through a follower: %d %s, want the leader's 400", code, body)
	}

	// SUBSCRIBE through the follower: the first record is SUBSCRIBED.
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/ui/api/v1", strings.NewReader(`{"type":"SUBSCRIBE"}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("SUBSCRIBE through a follower: %d", resp.StatusCode)
	}
	br := bufio.NewReader(resp.Body)
	line, err := br.ReadString('\n')
	n, convErr := strconv.Atoi(strings.TrimSpace(line))
	if err != nil || convErr != nil || n <= 0 || n > 1<<20 {
		t.Fatalf("SUBSCRIBE through a follower: record header %q: %v %v", line, err, convErr)
	}
	rec := make([]byte, n)
	if _, err := io.ReadFull(br, rec); err != nil || !strings.Contains(string(rec), `"SUBSCRIBED"`) {
		t.Fatalf("SUBSCRIBE through a follower: first record %q: %v", rec, err)
	}

	var servers struct {
		Leader  string `json:"leader"`
		Servers []struct {
			HTTPAddr  string `json:"http_addr"`
			RaftState string `json:"raft_state"`
			Healthy   bool   `json:"healthy"`
			Self      bool   `json:"self"`
		} `json:"servers"`
	}
	// Servers that bootstrapped together announce their HTTP addresses
	// to the leader shortly after it is elected.
	servertest.WaitFor(t, 10*time.Second, "/ui/servers to name every server's address", func() bool {
		code, body, _ = uiGet(t, addr, "/ui/servers", nil)
		if code != http.StatusOK || json.Unmarshal([]byte(body), &servers) != nil || len(servers.Servers) != 3 {
			t.Fatalf("/ui/servers on a follower: %d %s", code, body)
		}
		for _, s := range servers.Servers {
			if s.HTTPAddr == "" {
				return false
			}
		}
		return true
	})
	if servers.Leader != leader.HTTPAddr() {
		t.Fatalf("/ui/servers on a follower: leader %q, want %s", servers.Leader, leader.HTTPAddr())
	}
	roles := map[string]int{}
	for _, s := range servers.Servers {
		roles[s.RaftState]++
		if s.Self != (s.HTTPAddr == addr) || (s.RaftState == "Leader") != (s.HTTPAddr == leader.HTTPAddr()) || !s.Healthy {
			t.Errorf("/ui/servers: %+v (self %s, leader %s)", s, addr, leader.HTTPAddr())
		}
	}
	if roles["Leader"] != 1 || roles["Follower"] != 2 {
		t.Fatalf("/ui/servers roles %v, want one leader and two followers: %s", roles, body)
	}
}
