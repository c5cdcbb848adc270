package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mesh/acl"
	"mesh/auth"
	"mesh/mesos"
	"mesh/mesos/scheduler"
	"mesh/mesos/scheduler/client"
	"mesh/server"
	"mesh/server/servertest"
)

// authCreds are the principals of the authentication tests.
var authCreds = []auth.Credential{
	{Principal: "ops", Secret: "ops-secret"},
	{Principal: "alice", Secret: "alice-secret"},
	{Principal: "bob", Secret: "bob-secret"},
}

// authOn turns every authentication of a test server on.
func authOn(c *server.Config) {
	c.Credentials = auth.NewCredentials(authCreds)
	c.AgentJoinToken = auth.NewSecret("join-secret")
	c.AuthenticateFrameworks = true
	c.AuthenticateAgents = true
	c.AuthenticateHTTPReadOnly = true
	c.AuthenticateHTTPReadWrite = true
	c.PeerPrincipal, c.PeerSecret = "ops", auth.NewSecret("ops-secret")
}

// authDo sends method path with body (JSON when not "") and an
// Authorization header (none when "").
func authDo(t *testing.T, addr, method, path, body, authorization string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+addr+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp, string(b)
}

// TestAuthn_EndpointsTakeWhatTheirFlagsSay: with authentication on, each
// class of endpoint answers 401 with Mesos' challenge without a
// credential or with a wrong one, 403 to a caller proven but not of its
// kind, and serves the callers it is for.
func TestAuthn_EndpointsTakeWhatTheirFlagsSay(t *testing.T) {
	srv := servertest.NewServer(t, servertest.Options{Tweak: authOn})
	addr := srv.HTTPAddr()
	ops := auth.BasicHeader("ops", "ops-secret")
	const health = `{"type":"GET_HEALTH"}`
	const agentCall = `{"type":"PONG","agent_id":{"value":"no-such-agent"}}`
	for _, tc := range []struct {
		name, method, path, body, authorization string
		want                                    int
	}{
		{"health is open", "GET", "/health", "", "", 200},
		{"version is open", "GET", "/version", "", "", 200},
		{"the web ui's page is open", "GET", "/", "", "", 200},
		{"the web ui's assets are not refused (one of another build is a 404)", "GET", "/ui/static/app.js", "", "", 404},
		{"state without a credential", "GET", "/state", "", "", 401},
		{"state with a wrong secret", "GET", "/state", "", auth.BasicHeader("ops", "nope"), 401},
		{"state of an unknown principal", "GET", "/state", "", auth.BasicHeader("eve", "ops-secret"), 401},
		{"state with basic", "GET", "/state", "", ops, 200},
		{"state with a bearer token", "GET", "/state", "", "Bearer ops-secret", 200},
		{"state with an unknown bearer token", "GET", "/state", "", "Bearer nope", 401},
		{"metrics without a credential", "GET", "/metrics/snapshot", "", "", 401},
		{"not found says nothing without a credential", "GET", "/no/such/path", "", "", 401},
		{"operator api without a credential", "POST", "/api/v1", health, "", 401},
		{"operator api", "POST", "/api/v1", health, ops, 200},
		{"ui's operator api without a credential", "POST", "/ui/api/v1", health, "", 401},
		{"scheduler api without a credential", "POST", "/api/v1/scheduler", `{"type":"SUBSCRIBE"}`, "", 401},
		{"snapshot without a credential", "GET", "/internal/v1/snapshot", "", "", 401},
		{"snapshot by an agent", "GET", "/internal/v1/snapshot", "", "Bearer join-secret", 403},
		{"snapshot by an operator", "GET", "/internal/v1/snapshot", "", ops, 200},
		{"raft peers without a credential", "GET", "/internal/v1/raft/peers", "", "", 401},
		{"raft peers by an operator", "GET", "/internal/v1/raft/peers", "", ops, 200},
		{"remove-peer without a credential", "POST", "/internal/v1/raft/remove-peer", `{"id":"x"}`, "", 401},
		{"agent protocol without a credential", "POST", "/internal/v1/agent", agentCall, "", 401},
		{"agent protocol by an operator", "POST", "/internal/v1/agent", agentCall, ops, 403},
		{"agent protocol with the join token", "POST", "/internal/v1/agent", agentCall, "Bearer join-secret", 403},
		{"join without a credential", "POST", "/internal/v1/join", `{}`, "", 401},
		{"peer without a credential", "GET", "/internal/v1/peer", "", "", 401},
		{"peer with the servers' credential", "GET", "/internal/v1/peer", "", ops, 200},
		{"peer by another principal", "GET", "/internal/v1/peer", "", auth.BasicHeader("alice", "alice-secret"), 403},
		{"join by another principal", "POST", "/internal/v1/join", `{}`, auth.BasicHeader("alice", "alice-secret"), 403},
	} {
		resp, body := authDo(t, addr, tc.method, tc.path, tc.body, tc.authorization)
		// The join token reaches the agent protocol, which refuses an
		// agent that never subscribed with its own 403.
		if tc.name == "agent protocol with the join token" {
			if resp.StatusCode != 403 || !strings.Contains(body, "not subscribed") {
				t.Errorf("%s: %d %q; want the agent protocol's own 403", tc.name, resp.StatusCode, body)
			}
			continue
		}
		if resp.StatusCode != tc.want {
			t.Errorf("%s: %s %s answered %d %q, want %d", tc.name, tc.method, tc.path, resp.StatusCode, strings.TrimSpace(body), tc.want)
			continue
		}
		if tc.want == 401 {
			ch := strings.Join(resp.Header.Values("WWW-Authenticate"), ", ")
			if !strings.Contains(ch, `Basic realm="mesh-master-`) || !strings.Contains(ch, "Bearer realm=") {
				t.Errorf("%s: 401 with WWW-Authenticate %q", tc.name, ch)
			}
		}
		for _, secret := range []string{"ops-secret", "join-secret", "nope"} {
			if strings.Contains(body, secret) {
				t.Errorf("%s: the answer quotes a secret: %q", tc.name, body)
			}
		}
	}
}

// TestAuthn_FrameworkIsItsPrincipals: with -authenticate-frameworks a
// framework's principal is the one it authenticated as; another
// principal can neither subscribe again with its id nor call for it.
func TestAuthn_FrameworkIsItsPrincipals(t *testing.T) {
	srv := servertest.NewServer(t, servertest.Options{Tweak: authOn})
	addr := srv.HTTPAddr()
	alice, bob := auth.BasicHeader("alice", "alice-secret"), auth.BasicHeader("bob", "bob-secret")

	// A principal in FrameworkInfo other than the authenticated one: 400.
	code, msg, _ := rawPost(t, addr, subscribeBody("fw", "", `"principal":"bob","failover_timeout":600`),
		map[string]string{"Content-Type": "application/json", "Authorization": alice})
	if code != http.StatusBadRequest || !strings.Contains(msg, `"alice" does not match principal "bob"`) {
		t.Fatalf("alice subscribing as bob: %d %q", code, msg)
	}
	// No principal in FrameworkInfo: the authenticated one is kept.
	f := subscribeAs(t, addr, subscribeBody("fw", "", `"failover_timeout":600`), alice)
	f.subscribed()
	f.mustCall("REVIVE", "", "")

	// Bob with alice's framework id and stream id: refused.
	bobCalls := &framework{t: t, addr: addr, id: f.id, streamID: f.streamID, authorization: bob}
	if code, msg := bobCalls.call("REVIVE", "", ""); code != http.StatusBadRequest || !strings.Contains(msg, `"bob" does not match principal "alice"`) {
		t.Fatalf("bob calling for alice's framework: %d %q", code, msg)
	}
	// Bob subscribing with alice's framework id: the principal of a
	// framework cannot change.
	g := subscribeAs(t, addr, subscribeBody("fw", f.id, `"failover_timeout":600`), bob)
	ev := g.next(10 * time.Second)
	if ev == nil || ev.Type != scheduler.EventError || !strings.Contains(ev.Error.Message, "principal") {
		t.Fatalf("bob subscribing with alice's framework id: %+v", ev)
	}
	// Alice still holds her stream.
	f.mustCall("REVIVE", "", "")
	var st struct {
		Frameworks []struct {
			ID        string `json:"id"`
			Principal string `json:"principal"`
		} `json:"frameworks"`
	}
	getJSONAuth(t, addr, "/state", auth.BasicHeader("ops", "ops-secret"), &st)
	if len(st.Frameworks) != 1 || st.Frameworks[0].Principal != "alice" {
		t.Fatalf("frameworks in /state: %+v, want alice's alone", st.Frameworks)
	}
}

// TestAuthn_OffServesAnyone: without authentication the endpoints serve
// anyone, a credential the server cannot check is ignored, and the
// scheduler API keeps what a framework says its principal is.
func TestAuthn_OffServesAnyone(t *testing.T) {
	srv := servertest.NewServer(t, servertest.Options{})
	for _, path := range []string{"/state", "/internal/v1/snapshot", "/internal/v1/peer"} {
		if resp, body := authDo(t, srv.HTTPAddr(), "GET", path, "", auth.BasicHeader("who", "ever")); resp.StatusCode != 200 {
			t.Errorf("GET %s without authentication: %d %q", path, resp.StatusCode, body)
		}
	}
}

// TestConfig_AuthenticationNeedsItsMaterial: a flag that requires a
// caller needs what callers are checked against.
func TestConfig_AuthenticationNeedsItsMaterial(t *testing.T) {
	for _, tc := range []struct {
		tweak func(*server.Config)
		want  string
	}{
		{func(c *server.Config) { c.AuthenticateFrameworks = true }, "-authenticate-frameworks needs -credentials"},
		{func(c *server.Config) { c.AuthenticateHTTPReadOnly = true }, "-authenticate-http-readonly needs -credentials"},
		{func(c *server.Config) { c.AuthenticateHTTPReadWrite = true }, "-authenticate-http-readwrite needs -credentials"},
		{func(c *server.Config) { c.AuthenticateAgents = true }, "-authenticate-agents needs -agent-join-token"},
		{func(c *server.Config) { c.PeerPrincipal = "ops" }, "-principal and -secret-file go together"},
	} {
		cfg := server.DefaultConfig()
		cfg.DataDir = t.TempDir()
		cfg.HTTPAddr = "127.0.0.1:0"
		cfg.RaftAddr = "127.0.0.1:0"
		tc.tweak(&cfg)
		srv, err := server.New(cfg)
		if err == nil {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			_ = srv.Run(ctx)
			t.Errorf("started without what %q needs", tc.want)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %q, want one saying %q", err, tc.want)
		}
	}
}

// getJSONAuth decodes GET path at addr, sent with authorization, into v;
// it fails the test unless the answer is 200 JSON.
func getJSONAuth(t *testing.T, addr, path, authorization string, v any) {
	t.Helper()
	resp, body := authDo(t, addr, "GET", path, "", authorization)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
	}
	if err := json.Unmarshal([]byte(body), v); err != nil {
		t.Fatalf("GET %s: %v in %s", path, err, body)
	}
}

// TestAuthn_SchedulerClientSendsBasic: the scheduler client library
// authenticates with its principal and secret; without them, or with a
// wrong secret, SUBSCRIBE is answered 401 at once.
func TestAuthn_SchedulerClientSendsBasic(t *testing.T) {
	srv := servertest.NewServer(t, servertest.Options{Tweak: authOn})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	info := func() *mesos.FrameworkInfo {
		return &mesos.FrameworkInfo{User: "tester", Name: "fw", Principal: "alice"}
	}
	for _, secret := range []string{"", "wrong"} {
		cfg := client.Config{Masters: []string{srv.HTTPAddr()}}
		if secret != "" {
			cfg.Principal, cfg.Secret = "alice", secret
		}
		_, err := client.New(cfg).Subscribe(ctx, client.SubscribeCall(info()))
		var se *client.StatusError
		if !errors.As(err, &se) || se.Code != http.StatusUnauthorized {
			t.Fatalf("subscribe with secret %q: %v, want a 401", secret, err)
		}
	}
	sub, err := client.New(client.Config{Masters: []string{srv.HTTPAddr()}, Principal: "alice", Secret: "alice-secret"}).Subscribe(ctx, client.SubscribeCall(info()))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	ev, err := sub.Next()
	if err != nil || ev.Type != scheduler.EventSubscribed {
		t.Fatalf("first event %+v, %v; want SUBSCRIBED", ev, err)
	}
}

// TestAuthn_SnapshotNeedsGetEndpointsOnceACLsAreOn: with ACLs, the
// snapshot (which keeps every secret) goes only to a principal
// get_endpoints allows for its path, or to a server; without ACLs any
// authenticated principal is an operator.
func TestAuthn_SnapshotNeedsGetEndpointsOnceACLsAreOn(t *testing.T) {
	path := filepath.Join(t.TempDir(), "acls.json")
	rules := `{"get_endpoints": [{"principals": {"values": ["ops"]}, "paths": {"values": ["/internal/v1/snapshot"]}}],
	  "register_frameworks": [{"principals": {"type": "ANY"}, "roles": {"type": "ANY"}}]}`
	if err := os.WriteFile(path, []byte(rules), 0o600); err != nil {
		t.Fatal(err)
	}
	acls, err := acl.Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := servertest.NewServer(t, servertest.Options{Tweak: func(c *server.Config) {
		authOn(c)
		c.PeerPrincipal, c.PeerSecret = "servers", auth.NewSecret("servers-secret")
		c.Credentials = auth.NewCredentials(append(authCreds, auth.Credential{Principal: "servers", Secret: "servers-secret"}))
		c.ACLs = acls
	}})
	for _, c := range []struct {
		who, secret string
		want        int
	}{
		{"alice", "alice-secret", http.StatusForbidden},
		{"ops", "ops-secret", http.StatusOK},
		{"servers", "servers-secret", http.StatusOK},
	} {
		resp, body := authDo(t, srv.HTTPAddr(), "GET", "/internal/v1/snapshot", "", auth.BasicHeader(c.who, c.secret))
		if resp.StatusCode != c.want {
			t.Errorf("snapshot by %s: %d %.200s, want %d", c.who, resp.StatusCode, body, c.want)
		}
	}
}
