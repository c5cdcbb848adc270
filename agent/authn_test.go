package agent

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"

	"mesh/auth"
	"mesh/mesos"
	"mesh/tlsutil"
)

// testCredentials are the principals of the agent authentication tests:
// "reader" may access alice's sandboxes only (aclFilesAgent's ACLs),
// "ops" is named by no ACL.
func testCredentials() *auth.Credentials {
	return auth.NewCredentials([]auth.Credential{{Principal: "reader", Secret: "reader-secret"}, {Principal: "ops", Secret: "ops-secret"}})
}

// agentGet sends GET url with the Authorization header authz ("" for
// none) and returns the answer's status, WWW-Authenticate and body.
func agentGet(t *testing.T, h http.Handler, target, authz string) (int, []string, string) {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, target, nil)
	if authz != "" {
		r.Header.Set("Authorization", authz)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec.Code, rec.Header().Values("WWW-Authenticate"), rec.Body.String()
}

// TestAuthenticate_FilesACLSeesThePrincipal: with
// -authenticate-http-readonly, the files API refuses a caller without a
// credential or with a wrong one (401 with the challenges), and hands the
// principal a good credential proves to the ACL check: "reader" reads
// alice's sandbox, by HTTP Basic and by bearer token, and is refused
// bob's (access_sandboxes).
func TestAuthenticate_FilesACLSeesThePrincipal(t *testing.T) {
	a := aclFilesAgent(t)
	a.cfg.Credentials = testCredentials()
	a.cfg.AuthenticateHTTPReadOnly = true
	mux := http.NewServeMux()
	mux.HandleFunc("/files/read", a.handleFilesRead)
	h := a.authenticate(mux)
	read := func(path string) string {
		return "/files/read?offset=0&path=" + url.QueryEscape(path)
	}
	own, bobs := "/frameworks/fw/executors/e/runs/latest/stdout", "/frameworks/fw2/executors/e2/runs/c2/stdout"
	for _, c := range []struct {
		name, path, authz string
		code              int
	}{
		{"no credential", own, "", 401},
		{"wrong secret", own, auth.BasicHeader("reader", "nope"), 401},
		{"unknown principal", own, auth.BasicHeader("nobody", "reader-secret"), 401},
		{"unknown token", own, "Bearer nope", 401},
		{"malformed", own, "Basic !!!", 401},
		{"basic", own, auth.BasicHeader("reader", "reader-secret"), 200},
		{"bearer", own, "Bearer reader-secret", 200},
		{"another framework's sandbox", bobs, auth.BasicHeader("reader", "reader-secret"), 403},
		{"principal without access_sandboxes", own, auth.BasicHeader("ops", "ops-secret"), 403},
	} {
		code, challenges, body := agentGet(t, h, read(c.path), c.authz)
		if code != c.code {
			t.Errorf("%s: %d %s, want %d", c.name, code, body, c.code)
		}
		if code == 401 && (len(challenges) != 2 || !strings.HasPrefix(challenges[0], "Basic realm=") || !strings.HasPrefix(challenges[1], "Bearer realm=")) {
			t.Errorf("%s: 401 with WWW-Authenticate %q, want Basic and Bearer", c.name, challenges)
		}
		if strings.Contains(body, "bob's") || strings.Contains(body, "-secret") {
			t.Errorf("%s: the answer quotes a secret or bob's file: %s", c.name, body)
		}
	}
}

// TestAuthenticate_OffServesAnonymousCallers: without
// -authenticate-http-readonly a caller without a credential is served
// (as anonymous, which the ACLs then judge), while a wrong credential is
// still refused rather than taken as anonymous.
func TestAuthenticate_OffServesAnonymousCallers(t *testing.T) {
	a := aclFilesAgent(t)
	a.cfg.Credentials = testCredentials()
	a.cfg.ACLs = nil
	mux := http.NewServeMux()
	mux.HandleFunc("/files/read", a.handleFilesRead)
	h := a.authenticate(mux)
	target := "/files/read?offset=0&path=" + url.QueryEscape("/frameworks/fw/executors/e/runs/latest/stdout")
	if code, _, body := agentGet(t, h, target, ""); code != 200 {
		t.Errorf("no credential: %d %s, want 200", code, body)
	}
	if code, _, body := agentGet(t, h, target, auth.BasicHeader("reader", "nope")); code != 401 {
		t.Errorf("wrong credential: %d %s, want 401", code, body)
	}
}

// TestAgent_HTTPAPIRequiresCredentials: a running agent with
// -credentials and both -authenticate-http flags refuses /state, the
// files API and the operator API without a credential, serves them with
// one, keeps /health open, and its executors still reach the executor
// API with their own token: the task runs and finishes.
func TestAgent_HTTPAPIRequiresCredentials(t *testing.T) {
	f := newFakeServer(t)
	cfg := testConfig(t, f)
	cfg.Credentials = testCredentials()
	cfg.AuthenticateHTTPReadOnly = true
	cfg.AuthenticateHTTPReadWrite = true
	a := startAgent(t, cfg)
	a.waitRegistered(t)
	f.launch(testFramework("fw-1"), commandTask("t1", "echo hello"))
	f.waitState(t, "t1", mesos.TaskFinished)
	base := "http://" + a.Addr()
	stdout := "/files/read?offset=0&path=" + url.QueryEscape(sandboxOf(t, a, "t1")+"/stdout")
	good := auth.BasicHeader("ops", "ops-secret")
	call := func(method, path, authz, body string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(method, base+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if authz != "" {
			req.Header.Set("Authorization", authz)
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, c := range []struct {
		method, path, authz, body string
		code                      int
	}{
		{"GET", "/health", "", "", 200},
		{"GET", "/state", "", "", 401},
		{"GET", "/state", auth.BasicHeader("ops", "wrong"), "", 401},
		{"GET", "/state", good, "", 200},
		{"GET", "/metrics/snapshot", "", "", 401},
		{"GET", stdout, "", "", 401},
		{"GET", stdout, good, "", 200},
		{"POST", "/api/v1", "", `{"type": "GET_HEALTH"}`, 401},
		{"POST", "/api/v1", "Bearer ops-secret", `{"type": "GET_HEALTH"}`, 200},
		{"GET", "/no-such-path", "", "", 401},
	} {
		code, body := call(c.method, c.path, c.authz, c.body)
		if code != c.code {
			t.Errorf("%s %s: %d %s, want %d", c.method, c.path, code, body, c.code)
		}
		if c.path == "/state" && code == 200 && (!strings.Contains(body, `"authenticate_http_readonly":"true"`) || strings.Contains(body, "ops-secret")) {
			t.Errorf("/state does not show the authentication flags, or shows a secret: %s", body)
		}
		if c.path == stdout && code == 200 && !strings.Contains(body, "hello") {
			t.Errorf("the task's stdout read with a credential: %s", body)
		}
	}
	// The executor API answers by its own scheme: a call without the
	// executor's token names that token, not -credentials.
	code, body := call("POST", "/api/v1/executor", good, `{"type": "SUBSCRIBE", "framework_id": {"value": "fw-1"}, "executor_id": {"value": "t1"}, "subscribe": {}}`)
	if code == 200 || bytes.Contains([]byte(body), []byte("-authenticate-http")) {
		t.Errorf("executor API with an operator credential: %d %s", code, body)
	}
}

// TestNew_AuthenticateNeedsCredentials: a -authenticate-http flag without
// -credentials is a configuration error that names what is missing.
func TestNew_AuthenticateNeedsCredentials(t *testing.T) {
	cfg := testConfig(t, newFakeServer(t))
	cfg.AuthenticateHTTPReadWrite = true
	if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), "-credentials") {
		t.Fatalf("New: %v, want an error naming -credentials", err)
	}
}

// TestAuthenticate_IdentityCarriesTheCertificateRole: the identity
// handlers see holds the role of the caller's verified client certificate
// and the principal of its credential; a certificate alone is no
// principal where one is required.
func TestAuthenticate_IdentityCarriesTheCertificateRole(t *testing.T) {
	a := &Agent{log: hclog.NewNullLogger(), cfg: Config{Credentials: testCredentials(), AuthenticateHTTPReadOnly: true}}
	var got auth.Identity
	h := a.authenticate(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = auth.FromContext(r.Context()) }))
	withCert := func(authz string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodGet, "/state", nil)
		r.TLS = &tls.ConnectionState{VerifiedChains: [][]*x509.Certificate{{{URIs: []*url.URL{tlsutil.RoleURI(tlsutil.RoleClient)}}}}}
		if authz != "" {
			r.Header.Set("Authorization", authz)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec
	}
	if rec := withCert(auth.BasicHeader("ops", "ops-secret")); rec.Code != 200 || got != (auth.Identity{Principal: "ops", Role: tlsutil.RoleClient}) {
		t.Errorf("a client certificate and ops' credential: %d, identity %+v", rec.Code, got)
	}
	got = auth.Identity{}
	if rec := withCert(""); rec.Code != 401 || got != (auth.Identity{}) {
		t.Errorf("a client certificate alone on /state with -authenticate-http-readonly: %d, identity %+v; want 401", rec.Code, got)
	}
	a.cfg.AuthenticateHTTPReadOnly = false
	if rec := withCert(""); rec.Code != 200 || got != (auth.Identity{Role: tlsutil.RoleClient}) {
		t.Errorf("a client certificate alone, authentication off: %d, identity %+v", rec.Code, got)
	}
}
