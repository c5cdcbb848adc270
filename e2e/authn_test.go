package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mesh/mesos"
	"mesh/mesos/scheduler"
	"mesh/mesos/scheduler/client"
)

// The secrets of the authentication test: none may appear in any log
// line or any answer.
const (
	opsSecret   = "ops-e2e-secret-7f3a"
	aliceSecret = "alice-e2e-secret-52c1"
	bobSecret   = "bob-e2e-secret-9d04"
	carolSecret = "carol-e2e-secret-71fa"
	joinToken   = "join-e2e-token-a6e8"
	taskSecret  = "task-e2e-secret-31bb"
)

// authDo sends method path (a JSON body when not "") with c to addr over
// https, as principal with secret (no credential when principal is ""),
// and returns the status and the body.
func authDo(t *testing.T, c *http.Client, addr, method, path, body, principal, secret string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, "https://"+addr+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if principal != "" {
		req.SetBasicAuth(principal, secret)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	return resp.StatusCode, string(b)
}

// TestAuthn_ClusterWithTLSAndAuthentication: three servers with TLS and
// every authentication on, an agent with its certificate and the join
// token. Plain HTTP gets nothing; a missing or wrong credential is a 401;
// a framework's id cannot be taken by another principal; an agent of
// another CA and a client certificate on raft's endpoints are refused;
// the snapshot needs an operator; and no secret, of a credential, the
// join token or a task's SECRET variable, is in any log line or answer.
func TestAuthn_ClusterWithTLSAndAuthentication(t *testing.T) {
	dir := tlsInit(t)
	creds := filepath.Join(t.TempDir(), "credentials")
	credsJSON := `{"credentials":[{"principal":"ops","secret":"` + opsSecret + `"},{"principal":"alice","secret":"` + aliceSecret +
		`"},{"principal":"bob","secret":"` + bobSecret + `"},{"principal":"carol","secret":"` + carolSecret + `"}]}`
	token := filepath.Join(t.TempDir(), "join-token")
	// Carol may register frameworks for role carol only; the rest is
	// allowed (permissive), so that the other cases see no ACL.
	acls := filepath.Join(t.TempDir(), "acls.json")
	aclsJSON := `{"permissive": true, "register_frameworks": [
	  {"principals": {"values": ["carol"]}, "roles": {"values": ["carol"]}},
	  {"principals": {"values": ["carol"]}, "roles": {"type": "NONE"}}]}`
	for p, data := range map[string]string{creds: credsJSON, token: joinToken + "\n", acls: aclsJSON} {
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	c := newClusterWith(t, 3, false, testRaftTiming...)
	for _, s := range c.servers {
		s.args = append(s.args, append(tlsArgs(dir, "server"), "-credentials", creds, "-agent-join-token", token, "-acls", acls,
			"-authenticate-frameworks", "-authenticate-agents", "-authenticate-http-readonly", "-authenticate-http-readwrite")...)
		c.start(s)
	}
	hc := tlsClient(t, dir, "client")
	answers := &bytes.Buffer{} // every answer of the test, searched for secrets at the end
	do := func(addr, method, path, body, principal, secret string) (int, string) {
		t.Helper()
		code, b := authDo(t, hc, addr, method, path, body, principal, secret)
		answers.WriteString(b)
		return code, b
	}
	leader := ""
	waitFor(t, 60*time.Second, "a leader over https that every server names", func() bool {
		names := map[string]bool{}
		for _, s := range c.servers {
			var h health
			if httpsJSON(hc, s.httpAddr, "/health", &h) != nil || h.Leader == "" {
				return false
			}
			names[h.Leader] = true
		}
		for l := range names {
			leader = l
		}
		return len(names) == 1
	})
	agent := start(t, append([]string{"agent", "-allow-root-tasks", "-join", c.addrs(), "-http-addr", freePort(t),
		"-work-dir", t.TempDir(), "-resources", agentResources, "-agent-join-token", token}, tlsArgs(dir, "agent")...)...)
	activeAgents := func() int {
		code, body := do(leader, "GET", "/state", "", "ops", opsSecret)
		var st clusterState
		if code != 200 || json.Unmarshal([]byte(body), &st) != nil {
			return -1
		}
		n := 0
		for _, a := range st.Agents {
			if a.State == "active" {
				n++
			}
		}
		return n
	}
	waitFor(t, 60*time.Second, "the agent registered", func() bool { return activeAgents() == 1 })

	t.Run("plain http refused", func(t *testing.T) {
		for _, s := range c.servers {
			if resp, err := http.Get("http://" + s.httpAddr + "/health"); err == nil {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					t.Fatalf("plain HTTP on %s answered %s: %s", s.httpAddr, resp.Status, b)
				}
			}
		}
	})

	t.Run("missing or wrong credential is a 401", func(t *testing.T) {
		for _, tc := range []struct{ method, path, body, principal, secret string }{
			{"GET", "/state", "", "", ""},
			{"GET", "/state", "", "ops", "wrong"},
			{"GET", "/state", "", "eve", opsSecret},
			{"POST", "/api/v1", `{"type":"GET_HEALTH"}`, "", ""},
			{"POST", "/api/v1", `{"type":"GET_HEALTH"}`, "alice", bobSecret},
			{"POST", "/api/v1/scheduler", `{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"root","name":"x"}}}`, "", ""},
		} {
			if code, body := do(leader, tc.method, tc.path, tc.body, tc.principal, tc.secret); code != http.StatusUnauthorized {
				t.Errorf("%s %s as %q: %d %s, want 401", tc.method, tc.path, tc.principal, code, body)
			}
		}
		if code, body := do(leader, "GET", "/state", "", "ops", opsSecret); code != 200 {
			t.Fatalf("GET /state as ops: %d %s", code, body)
		}
		// The CLI with the operator's credential, and without.
		secretFile := filepath.Join(t.TempDir(), "ops-secret")
		if err := os.WriteFile(secretFile, []byte(opsSecret), 0o600); err != nil {
			t.Fatal(err)
		}
		ca := filepath.Join(dir, "ca.pem")
		if out, code := run(t, time.Minute, "agents", "-address", c.addrs(), "-tls-ca", ca, "-principal", "ops", "-secret-file", secretFile); code != 0 {
			t.Errorf("mesh agents with the operator's credential: exit %d\n%s", code, out)
		} else {
			answers.WriteString(out)
		}
		if out, code := run(t, time.Minute, "agents", "-address", c.addrs(), "-tls-ca", ca); code == 0 || !strings.Contains(out, "401") || !strings.Contains(out, "-principal") {
			t.Errorf("mesh agents without a credential: exit %d\n%s", code, out)
		}
	})

	fid := ""
	t.Run("a framework with a secret runs and stays its principal's", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		fid = runSecretTask(ctx, t, c.addrs(), hc)
		// Bob subscribing with alice's framework id is refused.
		bob := client.New(client.Config{Masters: strings.Split(c.addrs(), ","), HTTPClient: hc, Scheme: "https", Principal: "bob", Secret: bobSecret})
		info := &mesos.FrameworkInfo{ID: &mesos.FrameworkID{Value: fid}, User: "root", Name: "takeover", Principal: "bob"}
		sub, err := bob.Subscribe(ctx, client.SubscribeCall(info))
		if err != nil {
			t.Fatalf("bob's SUBSCRIBE: %v", err)
		}
		ev, err := sub.Next()
		sub.Close()
		if err != nil || ev.Type != scheduler.EventError || !strings.Contains(ev.Error.Message, "principal") {
			t.Fatalf("bob subscribing with alice's framework id: %+v, %v; want an ERROR about the principal", ev, err)
		}
		// Bob naming alice's principal is refused at once.
		info.Principal = "alice"
		var se *client.StatusError
		if _, err := bob.Subscribe(ctx, client.SubscribeCall(info)); !errors.As(err, &se) || se.Code != http.StatusBadRequest {
			t.Fatalf("bob subscribing as alice: %v, want a 400", err)
		}
	})

	t.Run("a principal registering for a role it may not use is refused", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		carol := client.New(client.Config{Masters: strings.Split(c.addrs(), ","), HTTPClient: hc, Scheme: "https", Principal: "carol", Secret: carolSecret})
		var se *client.StatusError
		if _, err := carol.Subscribe(ctx, client.SubscribeCall(&mesos.FrameworkInfo{User: "root", Name: "c", Principal: "carol", Role: "ops"})); !errors.As(err, &se) ||
			se.Code != http.StatusForbidden || !strings.Contains(se.Error(), "register_frameworks") {
			t.Fatalf("carol subscribing for role ops: %v, want a 403 naming register_frameworks", err)
		}
		sub, err := carol.Subscribe(ctx, client.SubscribeCall(&mesos.FrameworkInfo{User: "root", Name: "c", Principal: "carol", Role: "carol"}))
		if err != nil {
			t.Fatalf("carol subscribing for her role: %v", err)
		}
		ev, err := sub.Next()
		sub.Close()
		if err != nil || ev.Type != scheduler.EventSubscribed {
			t.Fatalf("carol subscribing for her role: %+v, %v; want SUBSCRIBED", ev, err)
		}
	})

	t.Run("snapshot needs an operator", func(t *testing.T) {
		if code, body := do(leader, "GET", "/internal/v1/snapshot", "", "", ""); code != http.StatusUnauthorized && code != http.StatusForbidden {
			t.Fatalf("snapshot with a client certificate alone: %d %s", code, body)
		}
		if code, body := do(leader, "GET", "/internal/v1/raft/peers", "", "", ""); code != http.StatusUnauthorized && code != http.StatusForbidden {
			t.Fatalf("raft peers with a client certificate alone: %d %s", code, body)
		}
		code, snap := authDo(t, hc, leader, "GET", "/internal/v1/snapshot", "", "ops", opsSecret)
		if code != 200 || !strings.Contains(snap, base64.StdEncoding.EncodeToString([]byte(taskSecret))) {
			t.Fatalf("snapshot as ops: %d, %d bytes, without the task's secret (a restore would lose it)", code, len(snap))
		}
	})

	t.Run("agent of another CA cannot register", func(t *testing.T) {
		other := tlsInit(t)
		both := filepath.Join(t.TempDir(), "both-ca.pem")
		var cas []byte
		for _, d := range []string{dir, other} {
			b, err := os.ReadFile(filepath.Join(d, "ca.pem"))
			if err != nil {
				t.Fatal(err)
			}
			cas = append(cas, b...)
		}
		if err := os.WriteFile(both, cas, 0o644); err != nil {
			t.Fatal(err)
		}
		p := start(t, "agent", "-join", c.addrs(), "-http-addr", freePort(t), "-work-dir", t.TempDir(), "-resources", agentResources,
			"-log-level", "debug", "-tls-ca", both, "-tls-cert", filepath.Join(other, "agent.pem"), "-tls-key", filepath.Join(other, "agent-key.pem"))
		waitFor(t, 30*time.Second, "the foreign agent's certificate refused", func() bool {
			o := p.out.String()
			return strings.Contains(o, "cannot register with a server") && strings.Contains(o, "certificate")
		})
		if n := activeAgents(); n != 1 {
			t.Fatalf("%d agents registered, want only the cluster's own", n)
		}
		p.stop(t)
	})

	t.Run("a client certificate cannot join raft", func(t *testing.T) {
		body := `{"node_id":"intruder","raft_addr":"127.0.0.1:1","http_addr":"127.0.0.1:2"}`
		// Not even with an operator's credential: joining takes a server.
		if code, msg := do(leader, "POST", "/internal/v1/join", body, "ops", opsSecret); code != http.StatusForbidden || !strings.Contains(msg, "role server") {
			t.Fatalf("join with a client certificate: %d %s", code, msg)
		}
	})

	// Every view a principal may ask for, on every server and the agent.
	for _, s := range c.servers {
		for _, path := range []string{"/state", "/state.json", "/master/state", "/tasks", "/frameworks"} {
			do(s.httpAddr, "GET", path, "", "ops", opsSecret)
		}
		// A follower's web UI forwards the caller's credential to the
		// leader, which checks it.
		for _, call := range []string{"GET_STATE", "GET_TASKS", "GET_EXECUTORS", "GET_FRAMEWORKS"} {
			if code, body := do(s.httpAddr, "POST", "/ui/api/v1", `{"type":"`+call+`"}`, "ops", opsSecret); code != 200 {
				t.Errorf("%s through %s's web UI as ops: %d %s", call, s.httpAddr, code, body)
			}
		}
		if code, body := do(s.httpAddr, "POST", "/ui/api/v1", `{"type":"GET_STATE"}`, "ops", "wrong"); code != http.StatusUnauthorized {
			t.Errorf("GET_STATE through %s's web UI with a wrong secret: %d %s", s.httpAddr, code, body)
		}
	}
	for _, call := range []string{"GET_STATE", "GET_TASKS", "GET_EXECUTORS", "GET_FRAMEWORKS"} {
		if code, body := do(leader, "POST", "/api/v1", `{"type":"`+call+`"}`, "ops", opsSecret); code != 200 {
			t.Errorf("%s as ops: %d %s", call, code, body)
		}
	}
	agentHTTP := agentAddr(t, agent)
	for _, path := range []string{"/state"} {
		do(agentHTTP, "GET", path, "", "", "")
	}
	do(agentHTTP, "POST", "/api/v1", `{"type":"GET_STATE"}`, "", "")
	if !strings.Contains(answers.String(), "authn-e2e") {
		t.Fatal("the answers do not show the framework at all: nothing was checked")
	}
	logs := ""
	for _, s := range c.servers {
		logs += s.p.out.String()
	}
	logs += agent.out.String()
	for _, secret := range []string{opsSecret, aliceSecret, bobSecret, carolSecret, joinToken, taskSecret, base64.StdEncoding.EncodeToString([]byte(taskSecret))} {
		if strings.Contains(answers.String(), secret) {
			t.Errorf("an answer holds the secret %q", secret)
		}
		if strings.Contains(logs, secret) {
			t.Errorf("a log line holds the secret %q", secret)
		}
	}
	if fid == "" {
		t.Error("the framework with a secret never ran")
	}
}

// runSecretTask runs, as alice, a command task whose SECRET variable it
// checks, and returns the framework's id once the task finished.
func runSecretTask(ctx context.Context, t *testing.T, masters string, hc *http.Client) string {
	t.Helper()
	alice := client.New(client.Config{Masters: strings.Split(masters, ","), HTTPClient: hc, Scheme: "https", Principal: "alice", Secret: aliceSecret})
	failover := 600.0
	info := &mesos.FrameworkInfo{User: "root", Name: "authn-e2e", Principal: "alice", FailoverTimeout: &failover}
	sub, err := alice.Subscribe(ctx, client.SubscribeCall(info))
	if err != nil {
		t.Fatalf("alice's SUBSCRIBE: %v", err)
	}
	defer sub.Close()
	secret, _ := json.Marshal(map[string]any{"type": "VALUE", "value": map[string]string{"data": base64.StdEncoding.EncodeToString([]byte(taskSecret))}})
	sum := fmt.Sprintf("%x", sha256.Sum256([]byte(taskSecret)))
	launched := false
	for {
		ev, err := sub.Next()
		if err != nil {
			t.Fatalf("alice's stream: %v", err)
		}
		switch ev.Type {
		case scheduler.EventOffers:
			if launched {
				continue
			}
			o := ev.Offers.Offers[0]
			task := mesos.TaskInfo{Name: "secret-task", TaskID: mesos.TaskID{Value: "secret-task"}, AgentID: o.AgentID,
				Resources: []mesos.Resource{mesos.ScalarResource("cpus", 0.1), mesos.ScalarResource("mem", 32)},
				// The command compares a hash: the secret itself is in no
				// command line, which every view shows.
				Command: &mesos.CommandInfo{Value: `test "$(printf %s "$DB_PASSWORD" | sha256sum | cut -c1-64)" = ` + sum, Environment: &mesos.Environment{
					Variables: []mesos.EnvironmentVariable{{Name: "DB_PASSWORD", Type: "SECRET", Secret: secret}}}}}
			if err := alice.Call(ctx, client.AcceptCall([]mesos.OfferID{o.ID}, []mesos.OfferOperation{client.LaunchOp(task)}, nil)); err != nil {
				t.Fatalf("ACCEPT: %v", err)
			}
			launched = true
		case scheduler.EventUpdate:
			st := ev.Update.Status
			if len(st.UUID) > 0 {
				if err := alice.Call(ctx, client.AcknowledgeCall(&st)); err != nil {
					t.Fatalf("ACKNOWLEDGE: %v", err)
				}
			}
			switch st.State {
			case mesos.TaskFinished:
				return alice.FrameworkID()
			case mesos.TaskFailed, mesos.TaskError, mesos.TaskLost, mesos.TaskKilled, mesos.TaskDropped:
				t.Fatalf("the secret task ended %s: %s", st.State, st.Message)
			}
		}
	}
}
