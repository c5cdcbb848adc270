package server_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mesh/acl"
	"mesh/auth"
	"mesh/mesos"
	"mesh/mesos/scheduler"
	"mesh/server"
	"mesh/server/servertest"
)

// aclServer is a server that authorizes by an ACL file, with one HTTP
// front per principal: every request through a front carries that
// principal, as authentication would establish it.
type aclServer struct {
	t     *testing.T
	srv   *servertest.Server
	acls  *acl.Authorizer
	path  string
	agent *servertest.SimAgent
}

func newACLServer(t *testing.T, rules string) *aclServer {
	t.Helper()
	path := filepath.Join(t.TempDir(), "acls.json")
	if err := os.WriteFile(path, []byte(rules), 0o600); err != nil {
		t.Fatal(err)
	}
	a, err := acl.Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := servertest.NewServer(t, servertest.Options{Tweak: func(cfg *server.Config) { cfg.ACLs = a }})
	return &aclServer{t: t, srv: srv, acls: a, path: path}
}

// as returns the address of a front whose requests are principal's ("":
// anonymous). Test-only: production identities come from authentication.
func (s *aclServer) as(principal string) string {
	routes := s.srv.RoutesForTest()
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if principal != "" {
			r = r.WithContext(auth.NewContext(r.Context(), auth.Identity{Principal: principal}))
		}
		routes.ServeHTTP(w, r)
	}))
	s.t.Cleanup(front.Close)
	return strings.TrimPrefix(front.URL, "http://")
}

// startAgent registers a simulated agent (hostname "sim") through a front
// of principal.
func (s *aclServer) startAgent(principal string) *servertest.SimAgent {
	s.t.Helper()
	a := servertest.NewSimAgent(s.as(principal), mesos.Resources{mesos.ScalarResource("cpus", 4), mesos.ScalarResource("mem", 4096),
		mesos.ScalarResource("disk", 4096)})
	a.Start(s.t)
	s.agent = a
	return a
}

// rewrite replaces the ACL file and reloads it, as SIGHUP does.
func (s *aclServer) rewrite(rules string) error {
	s.t.Helper()
	if err := os.WriteFile(s.path, []byte(rules), 0o600); err != nil {
		s.t.Fatal(err)
	}
	_, err := s.acls.Reload()
	return err
}

// anyone lets every principal do act on any object.
func anyone(act, objects string) string {
	return fmt.Sprintf(`"%s": [{"principals": {"type": "ANY"}, "%s": {"type": "ANY"}}]`, act, objects)
}

// frameworkAs subscribes a framework (user fwUser, principal and role
// given) through addr.
func frameworkAs(t *testing.T, addr, name, fwUser, role string) *framework {
	t.Helper()
	body := fmt.Sprintf(`{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":%q,"name":%q,"role":%q}}}`, fwUser, name, role)
	f := subscribe(t, addr, body)
	f.id = f.subscribed().FrameworkID.Value
	return f
}

// subscribeCode subscribes with role and returns the status, and the
// body of a refusal; an accepted stream is closed at once.
func subscribeCode(t *testing.T, addr, role string) (int, string) {
	t.Helper()
	body := fmt.Sprintf(`{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"u","name":"x","role":%q}}}`, role)
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/api/v1/scheduler", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		return resp.StatusCode, ""
	}
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestACL_SchedulerActionsAllowedAndDenied: register_frameworks decides
// the roles a principal may subscribe (and update) with, nested roles
// included; run_tasks the users its tasks may run as: a task of another
// user fails with TASK_ERROR (REASON_TASK_UNAUTHORIZED), a task group
// with a task of another user fails whole
// (REASON_TASK_GROUP_UNAUTHORIZED), and the others of the same ACCEPT
// launch.
func TestACL_SchedulerActionsAllowedAndDenied(t *testing.T) {
	s := newACLServer(t, `{
	  "register_frameworks": [
	    {"principals": {"values": ["alice"]}, "roles": {"values": ["eng", "eng/%"]}},
	    {"principals": {"values": ["bob"]}, "roles": {"values": ["ops"]}}],
	  "run_tasks": [{"principals": {"values": ["alice"]}, "users": {"values": ["nobody"]}}],
	  `+anyone("register_agents", "agents")+`}`)
	s.startAgent("")
	alice, bob, anon := s.as("alice"), s.as("bob"), s.as("")
	for _, c := range []struct {
		addr, role string
		want       int
	}{
		{alice, "eng", 200}, {alice, "eng/web", 200}, {alice, "ops", 403}, {alice, "engineering", 403},
		{bob, "ops", 200}, {bob, "eng", 403}, {anon, "eng", 403},
	} {
		code, out := subscribeCode(t, c.addr, c.role)
		if code != c.want {
			t.Errorf("SUBSCRIBE with role %s through %s: %d %s, want %d", c.role, c.addr, code, out, c.want)
		}
		if c.want == 403 && !strings.Contains(out, "register_frameworks") {
			t.Errorf("refusal does not say why: %s", out)
		}
	}

	f := frameworkAs(t, alice, "f", "nobody", "eng")
	o := f.await(scheduler.EventOffers, 10*time.Second).Offers.Offers[0]
	task := func(id, user string) mesos.TaskInfo {
		t := mesos.TaskInfo{Name: id, TaskID: mesos.TaskID{Value: id}, AgentID: o.AgentID,
			Resources: []mesos.Resource{mesos.ScalarResource("cpus", 0.1), mesos.ScalarResource("mem", 32)},
			Command:   &mesos.CommandInfo{Value: "true"}}
		if user != "" {
			t.Command.User = user
		}
		return t
	}
	// One ACCEPT: a LAUNCH of three tasks, one of them as root, and a
	// LAUNCH_GROUP with a task as root.
	group := mesos.OfferOperation{Type: mesos.OperationLaunchGroup, LaunchGroup: &struct {
		Executor  mesos.ExecutorInfo  `json:"executor"`
		TaskGroup mesos.TaskGroupInfo `json:"task_group"`
	}{Executor: mesos.ExecutorInfo{Type: "DEFAULT", ExecutorID: mesos.ExecutorID{Value: "pod"},
		Resources: []mesos.Resource{mesos.ScalarResource("cpus", 0.1), mesos.ScalarResource("mem", 32), mesos.ScalarResource("disk", 32)}},
		TaskGroup: mesos.TaskGroupInfo{Tasks: []mesos.TaskInfo{task("g1", "root"), task("g2", "")}}}}
	b, _ := json.Marshal(scheduler.Accept{OfferIDs: []mesos.OfferID{o.ID}, Operations: []mesos.OfferOperation{{
		Type: mesos.OperationLaunch, Launch: &struct {
			TaskInfos []mesos.TaskInfo `json:"task_infos,omitempty"`
		}{TaskInfos: []mesos.TaskInfo{task("as-root", "root"), task("as-nobody", ""), task("as-nobody-too", "nobody")}}}, group}})
	f.mustCall("ACCEPT", "accept", string(b))
	got := map[string]mesos.TaskStatus{}
	for len(got) < 5 {
		st := f.await(scheduler.EventUpdate, 10*time.Second).Update.Status
		if _, seen := got[st.TaskID.Value]; !seen {
			got[st.TaskID.Value] = st
		}
		if len(st.UUID) > 0 {
			f.ack(st)
		}
	}
	if st := got["as-root"]; st.State != mesos.TaskError || st.Reason != mesos.ReasonTaskUnauthorized || !strings.Contains(st.Message, `"root"`) {
		t.Errorf("task as root: %s %s %q, want TASK_ERROR REASON_TASK_UNAUTHORIZED", st.State, st.Reason, st.Message)
	}
	for _, id := range []string{"g1", "g2"} {
		if st := got[id]; st.State != mesos.TaskError || st.Reason != mesos.ReasonTaskGroupUnauthorized {
			t.Errorf("task %s of a group with a task as root: %s %s %q, want TASK_ERROR REASON_TASK_GROUP_UNAUTHORIZED", id, st.State, st.Reason, st.Message)
		}
	}
	for _, id := range []string{"as-nobody", "as-nobody-too"} {
		if st := got[id]; st.State != mesos.TaskRunning {
			t.Errorf("task %s as nobody: %s %s %q, want TASK_RUNNING", id, st.State, st.Reason, st.Message)
		}
	}
	if n := s.agent.Launched(); n != 2 {
		t.Errorf("the agent launched %d tasks, want 2", n)
	}

	upd := func(role string) (int, string) {
		return f.call("UPDATE_FRAMEWORK", "update_framework", fmt.Sprintf(`{"framework_info":{"user":"nobody","name":"f","role":%q,"id":{"value":%q}}}`, role, f.id))
	}
	if code, out := upd("prod"); code != http.StatusForbidden {
		t.Fatalf("UPDATE_FRAMEWORK to a role alice may not use: %d %s", code, out)
	}
	if code, out := upd("eng/db"); code != http.StatusOK {
		t.Fatalf("UPDATE_FRAMEWORK to a role alice may use: %d %s", code, out)
	}
}

// opCase is one operator call by one principal and the status it gets.
type opCase struct {
	who, body string
	want      int
}

func runOpCases(t *testing.T, s *aclServer, cases []opCase) {
	t.Helper()
	fronts := map[string]string{}
	for _, c := range cases {
		if fronts[c.who] == "" {
			fronts[c.who] = s.as(c.who)
		}
		code, out, _ := opCall(t, fronts[c.who], "/api/v1", c.body, nil)
		if code != c.want {
			t.Errorf("%s by %q: %d %s, want %d", c.body, c.who, code, out, c.want)
		}
		if code == http.StatusForbidden && !strings.Contains(out, "not authorized") {
			t.Errorf("%s by %q: a refusal that does not say why: %s", c.body, c.who, out)
		}
	}
}

// TestACL_OperatorActionsAllowedAndDenied: each operator call on one
// thing is allowed to the principal a rule names and refused (403, with
// the reason) to another.
func TestACL_OperatorActionsAllowedAndDenied(t *testing.T) {
	ops := `{"principals": {"values": ["ops"]}, "%s": {"type": "ANY"}}`
	rule := func(act, objects string) string { return fmt.Sprintf(`"%s": [`+ops+`]`, act, objects) }
	s := newACLServer(t, `{
	  `+rule("teardown_frameworks", "framework_principals")+`,
	  "update_weights": [{"principals": {"values": ["ops"]}, "roles": {"values": ["eng/%"]}}],
	  "update_quotas": [{"principals": {"values": ["ops"]}, "roles": {"values": ["eng"]}}],
	  `+rule("mark_agents_gone", "agents")+`,
	  `+rule("drain_agents", "agents")+`,
	  `+rule("deactivate_agents", "agents")+`,
	  `+rule("reactivate_agents", "agents")+`,
	  `+rule("view_flags", "flags")+`,
	  `+rule("set_log_level", "level")+`,
	  `+rule("access_mesos_logs", "logs")+`,
	  "get_endpoints": [{"principals": {"values": ["ops"]}, "paths": {"values": ["/metrics/snapshot"]}}],
	  `+anyone("register_frameworks", "roles")+`,
	  `+anyone("register_agents", "agents")+`}`)
	sim := s.startAgent("")
	f := frameworkAs(t, s.as("fw"), "f", "nobody", "eng")
	aid := f.await(scheduler.EventOffers, 10*time.Second).Offers.Offers[0].AgentID.Value
	agentCall := func(typ, key string) string {
		return fmt.Sprintf(`{"type":%q,%q:{"agent_id":{"value":%q}}}`, typ, key, aid)
	}
	runOpCases(t, s, []opCase{
		{"dev", `{"type":"READ_FILE","read_file":{"path":"/master/log","offset":0}}`, 403},
		{"ops", `{"type":"READ_FILE","read_file":{"path":"/master/log","offset":0}}`, 404},
		{"dev", `{"type":"GET_FLAGS"}`, 403},
		{"ops", `{"type":"GET_FLAGS"}`, 200},
		{"dev", `{"type":"SET_LOGGING_LEVEL","set_logging_level":{"level":1,"duration":{"nanoseconds":1000000000}}}`, 403},
		{"ops", `{"type":"SET_LOGGING_LEVEL","set_logging_level":{"level":1,"duration":{"nanoseconds":1000000000}}}`, 200},
		{"dev", `{"type":"UPDATE_WEIGHTS","update_weights":{"weight_infos":[{"role":"eng/web","weight":2}]}}`, 403},
		{"ops", `{"type":"UPDATE_WEIGHTS","update_weights":{"weight_infos":[{"role":"eng/web","weight":2}]}}`, 200},
		{"ops", `{"type":"UPDATE_WEIGHTS","update_weights":{"weight_infos":[{"role":"eng","weight":2}]}}`, 403},
		{"dev", `{"type":"UPDATE_QUOTA","update_quota":{"force":true,"quota_configs":[{"role":"eng","guarantees":{"cpus":{"value":1}}}]}}`, 403},
		{"ops", `{"type":"UPDATE_QUOTA","update_quota":{"force":true,"quota_configs":[{"role":"eng","guarantees":{"cpus":{"value":1}}}]}}`, 200},
		{"ops", `{"type":"UPDATE_QUOTA","update_quota":{"force":true,"quota_configs":[{"role":"ops","guarantees":{"cpus":{"value":1}}}]}}`, 403},
		{"dev", agentCall("DEACTIVATE_AGENT", "deactivate_agent"), 403},
		{"ops", agentCall("DEACTIVATE_AGENT", "deactivate_agent"), 200},
		{"dev", agentCall("REACTIVATE_AGENT", "reactivate_agent"), 403},
		{"ops", agentCall("REACTIVATE_AGENT", "reactivate_agent"), 200},
		{"dev", agentCall("DRAIN_AGENT", "drain_agent"), 403},
		{"ops", agentCall("DRAIN_AGENT", "drain_agent"), 200},
		{"dev", agentCall("MARK_AGENT_GONE", "mark_agent_gone"), 403},
		{"ops", agentCall("MARK_AGENT_GONE", "mark_agent_gone"), 200},
		{"dev", fmt.Sprintf(`{"type":"TEARDOWN","teardown":{"framework_id":{"value":%q}}}`, f.id), 403},
		{"ops", fmt.Sprintf(`{"type":"TEARDOWN","teardown":{"framework_id":{"value":%q}}}`, f.id), 200},
	})
	_ = sim
	for _, c := range []struct {
		who, path string
		want      int
	}{
		{"ops", "/metrics/snapshot", 200}, {"dev", "/metrics/snapshot", 403}, {"ops", "/metrics", 403},
		{"ops", "/flags", 200}, {"dev", "/flags", 403}, {"dev", "/master/flags", 403},
	} {
		if code, out, _ := uiGet(t, s.as(c.who), c.path, nil); code != c.want {
			t.Errorf("GET %s by %s: %d %s, want %d", c.path, c.who, code, out, c.want)
		}
	}
}

// TestACL_RegisterAgents: an agent registers only as a principal
// register_agents allows.
func TestACL_RegisterAgents(t *testing.T) {
	s := newACLServer(t, `{"register_agents": [{"principals": {"values": ["agent-1"]}, "agents": {"values": ["sim"]}}]}`)
	refused := servertest.NewSimAgent(s.as("agent-2"), mesos.Resources{mesos.ScalarResource("cpus", 1)})
	ft := &fatalRecorder{T: t}
	refused.Start(ft)
	if !strings.Contains(ft.msg, "403") {
		t.Fatalf("an agent of a principal without register_agents: %q", ft.msg)
	}
	s.startAgent("agent-1")
}

// fatalRecorder records the Fatalf of a helper that is expected to fail.
type fatalRecorder struct {
	*testing.T
	msg string
}

func (f *fatalRecorder) Fatalf(format string, args ...any) {
	if f.msg == "" {
		f.msg = fmt.Sprintf(format, args...)
	}
}

func jsonOf(t *testing.T, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("%v: %s", err, s)
	}
}

// TestACL_ReloadedRulesApplyToTheNextRequest: once the file changes and
// is reloaded (SIGHUP), the next request follows the new rules; a new
// file that does not parse is refused and the rules in force stay.
func TestACL_ReloadedRulesApplyToTheNextRequest(t *testing.T) {
	flagsTo := func(who string) string {
		return `{"view_flags": [{"principals": {"values": ["` + who + `"]}, "flags": {"type": "ANY"}}]}`
	}
	s := newACLServer(t, flagsTo("ops"))
	ops, dev := s.as("ops"), s.as("dev")
	expect := func(when string, opsCode, devCode int) {
		t.Helper()
		for _, c := range []struct {
			addr string
			want int
		}{{ops, opsCode}, {dev, devCode}} {
			if code, out, _ := uiGet(t, c.addr, "/flags", nil); code != c.want {
				t.Errorf("%s: GET /flags through %s: %d %s, want %d", when, c.addr, code, out, c.want)
			}
		}
	}
	expect("first file", 200, 403)
	if err := s.rewrite(flagsTo("dev")); err != nil {
		t.Fatal(err)
	}
	expect("after the reload", 403, 200)
	if err := s.rewrite(`{"view_flags": [{"principals": {"values": ["ops"]}, "flags": {"type": "ALL"}}]}`); err == nil {
		t.Fatal("a bad file was accepted")
	}
	expect("after a bad file", 403, 200)
}

// TestACL_SandboxOfAnotherFrameworkIsRefused: through the web UI's files
// proxy, a principal that may access alice's sandboxes reads neither
// bob's, directly or by a path with "..", nor the list of every
// sandbox.
func TestACL_SandboxOfAnotherFrameworkIsRefused(t *testing.T) {
	s := newACLServer(t, `{
	  "access_sandboxes": [{"principals": {"values": ["reader"]}, "users": {"values": ["alice"]}}],
	  `+anyone("register_frameworks", "roles")+`, `+anyone("run_tasks", "users")+`,
	  `+anyone("register_agents", "agents")+`}`)
	s.startAgent("")
	fw := s.as("fw")
	alice := frameworkAs(t, fw, "a", "alice", "eng")
	bob := frameworkAs(t, fw, "b", "bob", "eng")
	// Either framework may hold the agent's offer: the agent's id comes
	// from the state.
	aid := s.srv.FSM().State().Agents()[0].ID
	reader := s.as("reader")
	sandbox := func(fid, eid string) string {
		return "/frameworks/" + fid + "/executors/" + eid + "/runs/latest/stdout"
	}
	for _, c := range []struct {
		path    string
		refused bool
	}{
		{sandbox(alice.id, "a1"), false},
		{sandbox(bob.id, "b1"), true},
		{"/frameworks/" + alice.id + "/executors/a1/../../../" + bob.id + "/executors/b1/runs/latest/stdout", true},
		{"/var/lib/mesh/agent" + sandbox(bob.id, "b1"), true},
		{"/frameworks", true},
		{"/", true},
	} {
		for _, op := range []string{"read", "browse"} {
			code, out, _ := uiGet(t, reader, "/ui/files/"+op+"?agent_id="+aid+"&path="+url.QueryEscape(c.path), nil)
			if (code == http.StatusForbidden) != c.refused {
				t.Errorf("/ui/files/%s of %s: %d %s, want refused %v", op, c.path, code, out, c.refused)
			}
			if c.refused && !strings.Contains(out, "access_sandboxes") {
				t.Errorf("/ui/files/%s of %s: a refusal that does not say why: %s", op, c.path, out)
			}
		}
	}
}

// TestACL_RolesWeightsAndQuotasAreFiltered: GET_ROLES and GET_WEIGHTS
// show the roles the principal may view (view_roles), GET_QUOTA the
// quotas it may read (get_quotas).
func TestACL_RolesWeightsAndQuotasAreFiltered(t *testing.T) {
	s := newACLServer(t, `{
	  "view_roles": [{"principals": {"values": ["eng-lead"]}, "roles": {"values": ["eng/%"]}}],
	  "get_quotas": [{"principals": {"values": ["eng-lead"]}, "roles": {"values": ["eng/web"]}}],
	  `+anyone("update_weights", "roles")+`, `+anyone("update_quotas", "roles")+`}`)
	admin := s.as("admin")
	runOpCases(t, s, []opCase{
		{"admin", `{"type":"UPDATE_WEIGHTS","update_weights":{"weight_infos":[{"role":"eng/web","weight":2},{"role":"eng/db","weight":3},{"role":"ops","weight":4}]}}`, 200},
		{"admin", `{"type":"UPDATE_QUOTA","update_quota":{"force":true,"quota_configs":[{"role":"eng/web","guarantees":{"cpus":{"value":1}}},{"role":"ops","guarantees":{"cpus":{"value":1}}}]}}`, 200},
	})
	lead := s.as("eng-lead")
	for _, c := range []struct {
		addr, call string
		want, not  []string
	}{
		{lead, "GET_WEIGHTS", []string{"eng/web", "eng/db"}, []string{`"ops"`}},
		{lead, "GET_ROLES", []string{"eng/web", "eng/db"}, []string{`"ops"`}},
		{lead, "GET_QUOTA", []string{"eng/web"}, []string{`"ops"`}},
		{admin, "GET_WEIGHTS", nil, []string{"eng/web", `"ops"`}},
	} {
		out := operator(t, c.addr, `{"type":"`+c.call+`"}`, nil)
		for _, w := range c.want {
			if !strings.Contains(out, w) {
				t.Errorf("%s through %s: %s lacks %s", c.call, c.addr, out, w)
			}
		}
		for _, n := range c.not {
			if strings.Contains(out, n) {
				t.Errorf("%s through %s: %s shows %s", c.call, c.addr, out, n)
			}
		}
	}
}

// TestACL_MaintenanceAndReservationCallsAllowedAndDenied: the operator's
// maintenance calls are checked by machine and its reservation and
// volume calls by role or principal, as their ACCEPT operations are.
func TestACL_MaintenanceAndReservationCallsAllowedAndDenied(t *testing.T) {
	s := newACLServer(t, `{
	  "update_maintenance_schedules": [{"principals": {"values": ["ops"]}, "machines": {"values": ["rack1-a"]}}],
	  "start_maintenances": [{"principals": {"values": ["ops"]}, "machines": {"type": "ANY"}}],
	  "stop_maintenances": [{"principals": {"values": ["ops"]}, "machines": {"type": "ANY"}}],
	  "reserve_resources": [{"principals": {"values": ["ops"]}, "roles": {"values": ["eng"]}}],
	  "unreserve_resources": [{"principals": {"values": ["ops"]}, "reserver_principals": {"values": ["ops"]}}],
	  "create_volumes": [{"principals": {"values": ["ops"]}, "roles": {"values": ["eng"]}}],
	  "destroy_volumes": [{"principals": {"values": ["ops"]}, "creator_principals": {"values": ["ops"]}}],
	  `+anyone("register_agents", "agents")+`}`)
	aid := s.startAgent("").ID
	schedule := func(host string) string {
		return fmt.Sprintf(`{"type":"UPDATE_MAINTENANCE_SCHEDULE","update_maintenance_schedule":{"schedule":{"windows":[`+
			`{"machine_ids":[{"hostname":%q}],"unavailability":{"start":{"nanoseconds":1}}}]}}}`, host)
	}
	machines := func(typ, key, host string) string {
		return fmt.Sprintf(`{"type":%q,%q:{"machines":[{"hostname":%q}]}}`, typ, key, host)
	}
	reserve := func(role string) string {
		return fmt.Sprintf(`{"type":"RESERVE_RESOURCES","reserve_resources":{"agent_id":{"value":%q},"resources":[`+
			`{"name":"cpus","type":"SCALAR","scalar":{"value":1},"reservations":[{"type":"DYNAMIC","role":%q,"principal":"ops"}]}]}}`, aid, role)
	}
	volume := func(typ, key, role, creator string) string {
		return fmt.Sprintf(`{"type":%q,%q:{"agent_id":{"value":%q},"volumes":[{"name":"disk","type":"SCALAR","scalar":{"value":1},`+
			`"reservations":[{"type":"DYNAMIC","role":%q,"principal":"ops"}],"disk":{"persistence":{"id":"v1","principal":%q},"volume":{"mode":"RW","container_path":"v"}}}]}}`,
			typ, key, aid, role, creator)
	}
	unreserve := func(principal string) string {
		return fmt.Sprintf(`{"type":"UNRESERVE_RESOURCES","unreserve_resources":{"agent_id":{"value":%q},"resources":[`+
			`{"name":"cpus","type":"SCALAR","scalar":{"value":1},"reservations":[{"type":"DYNAMIC","role":"eng","principal":%q}]}]}}`, aid, principal)
	}
	for _, c := range []struct {
		who, body string
		allowed   bool
	}{
		{"dev", schedule("rack1-a"), false},
		{"ops", schedule("rack2-b"), false},
		{"ops", schedule("rack1-a"), true},
		{"dev", machines("START_MAINTENANCE", "start_maintenance", "rack1-a"), false},
		{"ops", machines("START_MAINTENANCE", "start_maintenance", "rack1-a"), true},
		{"dev", machines("STOP_MAINTENANCE", "stop_maintenance", "rack1-a"), false},
		{"ops", machines("STOP_MAINTENANCE", "stop_maintenance", "rack1-a"), true},
		{"dev", reserve("eng"), false},
		{"ops", reserve("web"), false},
		{"ops", reserve("eng"), true},
		{"dev", unreserve("ops"), false},
		{"ops", unreserve("dev"), false},
		{"ops", unreserve("ops"), true},
		{"dev", volume("CREATE_VOLUMES", "create_volumes", "eng", "ops"), false},
		{"ops", volume("CREATE_VOLUMES", "create_volumes", "web", "ops"), false},
		{"ops", volume("CREATE_VOLUMES", "create_volumes", "eng", "ops"), true},
		{"dev", volume("DESTROY_VOLUMES", "destroy_volumes", "eng", "ops"), false},
		{"ops", volume("DESTROY_VOLUMES", "destroy_volumes", "eng", "dev"), false},
		{"ops", volume("DESTROY_VOLUMES", "destroy_volumes", "eng", "ops"), true},
	} {
		code, out, _ := opCall(t, s.as(c.who), "/api/v1", c.body, nil)
		switch {
		case !c.allowed && (code != http.StatusForbidden || !strings.Contains(out, "not authorized")):
			t.Errorf("%s by %q: %d %s, want 403 saying why", c.body, c.who, code, out)
		case c.allowed && (code == http.StatusForbidden || code == http.StatusUnauthorized):
			t.Errorf("%s by %q: %d %s, want it let through", c.body, c.who, code, out)
		}
	}
}
