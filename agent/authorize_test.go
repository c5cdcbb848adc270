package agent

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"

	"mesh/acl"
	"mesh/auth"
	"mesh/mesos"
	mapi "mesh/mesos/master"
)

// aclFilesAgent is filesAgent with a second framework's sandbox (fw2,
// user bob, whose stdout holds a secret), a symlink from fw's sandbox
// (user alice) to it, and ACLs under which "reader" may access alice's
// sandboxes only.
func aclFilesAgent(t *testing.T) *Agent {
	t.Helper()
	workDir, sandbox := sandboxFixture(t)
	other := filepath.Join(workDir, "frameworks", "fw2", "executors", "e2", "runs", "c2")
	if err := os.MkdirAll(other, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(other, "stdout"), []byte("bob's secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../../../../../fw2/executors/e2/runs/c2/stdout", filepath.Join(sandbox, "other")); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "acls.json")
	rules := `{"access_sandboxes": [{"principals": {"values": ["reader"]}, "users": {"values": ["alice"]}}]}`
	if err := os.WriteFile(path, []byte(rules), 0o600); err != nil {
		t.Fatal(err)
	}
	acls, err := acl.Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &Agent{workDir: workDir, log: hclog.NewNullLogger(), cfg: Config{ACLs: acls},
		frameworks: map[string]*framework{
			"fw":  {id: "fw", info: mesos.FrameworkInfo{User: "alice"}, executors: map[string]*runner{}},
			"fw2": {id: "fw2", info: mesos.FrameworkInfo{User: "bob"}, executors: map[string]*runner{}},
		}}
}

func asPrincipal(r *http.Request, principal string) *http.Request {
	if principal == "" {
		return r
	}
	return r.WithContext(auth.NewContext(r.Context(), auth.Identity{Principal: principal}))
}

// TestFiles_ACLsRefuseAnotherFrameworksSandbox: a principal that may
// access alice's sandboxes reads them, but not bob's: not by its path,
// not by a path through "..", not through a symlink in alice's sandbox
// that points into bob's, not the list of every sandbox; an anonymous
// caller reads none. READ_FILE and LIST_FILES refuse alike.
func TestFiles_ACLsRefuseAnotherFrameworksSandbox(t *testing.T) {
	a := aclFilesAgent(t)
	own := "/frameworks/fw/executors/e/runs/latest/stdout"
	for _, c := range []struct {
		who, handler, path string
		code               int
	}{
		{"reader", "read", own, 200},
		{"reader", "browse", "/frameworks/fw/executors/e/runs/latest", 200},
		{"reader", "download", own, 200},
		{"reader", "read", "/frameworks/fw2/executors/e2/runs/c2/stdout", 403},
		{"reader", "download", "/frameworks/fw2/executors/e2/runs/c2/stdout", 403},
		{"reader", "read", "/frameworks/fw/executors/e/runs/c1/other", 403},
		{"reader", "download", "/frameworks/fw/executors/e/runs/c1/other", 403},
		{"reader", "read", "/frameworks/fw/executors/e/../../../fw2/executors/e2/runs/c2/stdout", 403},
		{"reader", "browse", "/frameworks", 403},
		{"reader", "browse", "/frameworks/fw2/executors/e2/runs/c2", 403},
		{"", "read", own, 403},
	} {
		h := map[string]func(*Agent, http.ResponseWriter, *http.Request){
			"read": (*Agent).handleFilesRead, "browse": (*Agent).handleFilesBrowse, "download": (*Agent).handleFilesDownload,
		}[c.handler]
		rec := httptest.NewRecorder()
		h(a, rec, asPrincipal(httptest.NewRequest(http.MethodGet, "/files/"+c.handler+"?offset=0&path="+url.QueryEscape(c.path), nil), c.who))
		if rec.Code != c.code {
			t.Errorf("/files/%s of %s by %q: %d %s, want %d", c.handler, c.path, c.who, rec.Code, rec.Body, c.code)
		}
		if strings.Contains(rec.Body.String(), "secret") {
			t.Errorf("/files/%s of %s by %q: bob's file was served", c.handler, c.path, c.who)
		}
		if c.code == 403 && !strings.Contains(rec.Body.String(), "access_sandboxes") {
			t.Errorf("/files/%s of %s: a refusal that does not say why: %s", c.handler, c.path, rec.Body)
		}
	}

	op := &agentOperator{a: a}
	ctx := auth.NewContext(context.Background(), auth.Identity{Principal: "reader"})
	zero := uint64(0)
	for _, p := range []string{"/frameworks/fw2/executors/e2/runs/c2/stdout", "/frameworks/fw/executors/e/runs/c1/other"} {
		if _, err := op.readFile(ctx, &mapi.ReadFileCall{Path: &p, Offset: &zero}); err == nil || !strings.Contains(err.Error(), "access_sandboxes") {
			t.Errorf("READ_FILE of %s: %v, want a refusal", p, err)
		}
	}
	if _, err := op.listFiles(ctx, "/frameworks/fw2/executors/e2/runs/c2"); err == nil {
		t.Error("LIST_FILES of bob's sandbox was answered")
	}
	if resp, err := op.readFile(ctx, &mapi.ReadFileCall{Path: &own, Offset: &zero}); err != nil || string(resp.ReadFile.Data) != "0123456789" {
		t.Errorf("READ_FILE of alice's stdout: %v", err)
	}
}

// TestAgentView_FilteredForThePrincipal: the agent's lists show a
// principal the frameworks, executors and tasks it may view, and GET_FLAGS
// is refused without view_flags.
func TestAgentView_FilteredForThePrincipal(t *testing.T) {
	path := filepath.Join(t.TempDir(), "acls.json")
	rules := `{
	  "view_frameworks": [{"principals": {"values": ["viewer"]}, "users": {"values": ["alice"]}}],
	  "view_executors": [{"principals": {"values": ["viewer"]}, "users": {"values": ["alice"]}}],
	  "view_tasks": [{"principals": {"values": ["viewer"]}, "users": {"values": ["alice"]}}],
	  "view_flags": [{"principals": {"values": ["ops"]}, "flags": {"type": "ANY"}}]
	}`
	if err := os.WriteFile(path, []byte(rules), 0o600); err != nil {
		t.Fatal(err)
	}
	acls, err := acl.Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	task := func(id, user string) taskView {
		ti := mesos.TaskInfo{TaskID: mesos.TaskID{Value: id}, Command: &mesos.CommandInfo{User: user}}
		return taskView{info: ti, state: mesos.TaskRunning}
	}
	run := func(id, user string, tasks ...taskView) runView {
		return runView{id: id, info: mesos.ExecutorInfo{ExecutorID: mesos.ExecutorID{Value: id}, Command: &mesos.CommandInfo{User: user}}, tasks: tasks}
	}
	v := agentView{frameworks: []fwView{
		{id: "fa", info: mesos.FrameworkInfo{User: "alice"}, live: []runView{
			run("ea", "", task("a1", ""), task("a-as-bob", "bob")),
			run("eb", "bob", task("b-under-alice", "")),
		}},
		{id: "fb", info: mesos.FrameworkInfo{User: "bob"}, live: []runView{run("ec", "", task("b1", ""))}},
	}}
	got := v.only(acls.ACLs(), "viewer")
	var seen []string
	for _, f := range got.frameworks {
		seen = append(seen, "framework "+f.id)
		for _, r := range f.live {
			seen = append(seen, "executor "+r.id)
			for _, tk := range r.tasks {
				seen = append(seen, "task "+tk.info.TaskID.Value)
			}
		}
	}
	if s := strings.Join(seen, ", "); s != "framework fa, executor ea, task a1" {
		t.Errorf("viewer sees %s", s)
	}
	if n := len(v.only(acls.ACLs(), "").frameworks); n != 0 {
		t.Errorf("an anonymous caller sees %d frameworks", n)
	}
	if n := len(v.only(nil, "").frameworks); n != 2 {
		t.Errorf("without ACLs %d frameworks are shown, want 2", n)
	}

	a := &Agent{cfg: Config{ACLs: acls}, log: hclog.NewNullLogger()}
	op := &agentOperator{a: a}
	ctx := func(p string) context.Context {
		return auth.NewContext(context.Background(), auth.Identity{Principal: p})
	}
	if _, err := op.call(ctx("dev"), &mapi.Call{Type: mapi.CallGetFlags}); err == nil || !strings.Contains(err.Error(), "view_flags") {
		t.Errorf("GET_FLAGS by dev: %v", err)
	}
	if err := a.authorizeFlags(ctx("ops")); err != nil {
		t.Errorf("GET_FLAGS by ops: %v", err)
	}
}

// TestAgentEndpoints_GetEndpoints: the agent's unfiltered endpoints are
// served to the principals get_endpoints allows for their path only.
func TestAgentEndpoints_GetEndpoints(t *testing.T) {
	path := filepath.Join(t.TempDir(), "acls.json")
	rules := `{"get_endpoints": [{"principals": {"values": ["ops"]}, "paths": {"values": ["/containers"]}}]}`
	if err := os.WriteFile(path, []byte(rules), 0o600); err != nil {
		t.Fatal(err)
	}
	acls, err := acl.Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	a := &Agent{cfg: Config{ACLs: acls}, log: hclog.NewNullLogger()}
	for _, c := range []struct {
		who, path string
		want      bool
	}{{"ops", "/containers", true}, {"dev", "/containers", false}, {"ops", "/monitor/statistics", false}, {"", "/metrics", false}} {
		rec := httptest.NewRecorder()
		ok := a.authorizeEndpoint(rec, asPrincipal(httptest.NewRequest(http.MethodGet, c.path, nil), c.who))
		if ok != c.want || (!ok && (rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "get_endpoints"))) {
			t.Errorf("GET %s by %q: allowed %v (%d %s), want %v", c.path, c.who, ok, rec.Code, rec.Body, c.want)
		}
	}
}
