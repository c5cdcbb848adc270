package acl

import (
	"fmt"
	"strings"
	"testing"
)

const sample = `{
  "permissive": false,
  "register_frameworks": [
    {"principals": {"values": ["alice"]}, "roles": {"values": ["eng", "eng/%"]}},
    {"principals": {"values": ["bob"]}, "roles": {"values": ["ops/*"]}},
    {"principals": {"type": "ANY"}, "roles": {"type": "NONE"}}
  ],
  "run_tasks": [
    {"principals": {"values": ["alice", "bob"]}, "users": {"values": ["nobody"]}},
    {"principals": {"type": "ANY"}, "users": {"type": "ANY"}}
  ],
  "view_flags": [
    {"principals": {"values": ["ops"]}, "flags": {"type": "ANY"}}
  ],
  "view_frameworks": [
    {"principals": {"values": ["carol"]}, "users": {"type": "NONE"}},
    {"principals": {"type": "ANY"}, "users": {"type": "ANY"}}
  ]
}`

func mustParse(t *testing.T, s string) *ACLs {
	t.Helper()
	a, err := Parse([]byte(s))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return a
}

func TestACLs_FirstMatchingRuleDecides(t *testing.T) {
	a := mustParse(t, sample)
	for _, c := range []struct {
		act       Action
		principal string
		object    string
		any       bool
		want      bool
	}{
		{RegisterFrameworks, "alice", "eng", false, true},
		{RegisterFrameworks, "alice", "eng/web", false, true},
		{RegisterFrameworks, "alice", "eng/web/db", false, true},
		{RegisterFrameworks, "alice", "engineering", false, false},
		{RegisterFrameworks, "alice", "ops", false, false},
		{RegisterFrameworks, "bob", "ops", false, false}, // ops/* is under ops, not ops
		{RegisterFrameworks, "bob", "ops/batch", false, true},
		{RegisterFrameworks, "bob", "eng", false, false},
		{RegisterFrameworks, "", "eng", false, false},  // anonymous: only the ANY rule matches, NONE
		{RegisterFrameworks, "alice", "", true, false}, // ANY object: the NONE rule matches and denies
		{RunTasks, "alice", "nobody", false, true},
		{RunTasks, "alice", "root", false, true}, // the second rule matches any user
		{RunTasks, "", "root", false, true},
		{ViewFlags, "ops", "", true, true},
		{ViewFlags, "dev", "", true, false}, // no rule matches: not permissive
		{ViewFlags, "", "", true, false},
		{ViewFrameworks, "carol", "nobody", false, false},
		{ViewFrameworks, "dave", "nobody", false, true},
		{TeardownFrameworks, "alice", "alice", false, false}, // no rules at all
	} {
		var got bool
		if c.any {
			got = a.AllowedAny(c.act, c.principal)
		} else {
			got = a.Allowed(c.act, c.principal, c.object)
		}
		if got != c.want {
			t.Errorf("%s by %q on %q (any %v): got %v, want %v", c.act, c.principal, c.object, c.any, got, c.want)
		}
	}
}

func TestACLs_PermissiveOnlyWhenTheFileSaysSo(t *testing.T) {
	if a := mustParse(t, `{}`); a.Allowed(RunTasks, "x", "root") {
		t.Fatal("a file without \"permissive\" allows what no rule allows")
	}
	if a := mustParse(t, `{"permissive": true}`); !a.Allowed(RunTasks, "x", "root") {
		t.Fatal("a permissive file denies what no rule matches")
	}
	var none *ACLs
	if !none.Allowed(RunTasks, "x", "root") || !none.AllowedAny(ViewFlags, "") {
		t.Fatal("no ACL file denies")
	}
}

// A rule naming several principals matches a request of one of them; a
// request is never SOME of an empty set.
func TestACLs_SubjectsAndObjectsAsMesosMatchesThem(t *testing.T) {
	a := mustParse(t, `{"permissive": true, "teardown_frameworks": [
	  {"principals": {"values": ["ops", "admin"]}, "framework_principals": {"type": "ANY"}},
	  {"principals": {"type": "ANY"}, "framework_principals": {"type": "NONE"}}]}`)
	for _, c := range []struct {
		who, of string
		want    bool
	}{{"ops", "web", true}, {"admin", "x", true}, {"web", "web", false}, {"", "web", false}} {
		if got := a.Allowed(TeardownFrameworks, c.who, c.of); got != c.want {
			t.Errorf("teardown by %q of %q: %v, want %v", c.who, c.of, got, c.want)
		}
	}
}

func TestParse_RefusesWhatItCannotUnderstand(t *testing.T) {
	for _, c := range []struct{ in, msg string }{
		{``, "not a JSON object"},
		{`null`, "null"},
		{`[]`, "not a JSON object"},
		{`{"permissive": "no"}`, "true or false"},
		{`{"run_task": []}`, `unknown action "run_task"`},
		{`{"run_tasks": {}}`, "list of rules"},
		{`{"run_tasks": [null]}`, "rule 0 is null"},
		{`{"run_tasks": [{"principals": {"type": "ANY"}}]}`, `"users" is required`},
		{`{"run_tasks": [{"principals": {"type": "ANY"}, "roles": {"type": "ANY"}, "users": {"type": "ANY"}}]}`, `unknown field "roles"`},
		{`{"run_tasks": [{"principals": {"type": "ALL"}, "users": {"type": "ANY"}}]}`, `unknown type "ALL"`},
		{`{"run_tasks": [{"principals": {"values": []}, "users": {"type": "ANY"}}]}`, "names no values"},
		{`{"run_tasks": [{"principals": {"values": [""]}, "users": {"type": "ANY"}}]}`, "empty value"},
		{`{"run_tasks": [{"principals": {"type": "ANY", "values": ["a"]}, "users": {"type": "ANY"}}]}`, "takes no values"},
		{`{"run_tasks": [{"principals": {"value": ["a"]}, "users": {"type": "ANY"}}]}`, "unknown field"},
		{`{"permissive": true} {}`, "after the JSON value"},
	} {
		_, err := Parse([]byte(c.in))
		if err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("Parse(%s): %v, want an error with %q", c.in, err, c.msg)
		}
	}
}

func TestParse_AcceptsMesosActionsMeshDoesNotCheck(t *testing.T) {
	a := mustParse(t, `{"view_containers": [{"principals": {"type": "ANY"}, "users": {"type": "ANY"}}]}`)
	if got := a.Ignored(); len(got) != 1 || got[0] != "view_containers" {
		t.Fatalf("ignored: %v", got)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(sample))
	f.Add([]byte(`{"permissive": true}`))
	f.Add([]byte(`{"register_frameworks": [{"principals": {"type": "ANY"}, "roles": {"values": ["a/%", "b"]}}]}`))
	f.Add([]byte(`{"run_tasks": [{"principals": {"type": "NONE"}, "users": {"type": "SOME", "values": ["x"]}}]}`))
	f.Add([]byte(`{"view_containers": []}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := Parse(data)
		if err != nil {
			if a != nil {
				t.Fatal("an error with rules")
			}
			return
		}
		// Whatever parsed can be evaluated for every action, named or
		// anonymous, with or without an object.
		for act := range actions {
			for _, p := range []string{"", "alice"} {
				a.Allowed(act, p, "eng/web")
				a.AllowedAny(act, p)
			}
			for _, r := range a.Rules(act) {
				if r.Subjects.Kind == Some && len(r.Subjects.Values) == 0 || r.Objects.Kind == Some && len(r.Objects.Values) == 0 {
					t.Fatalf("%s: a rule of SOME without values: %+v", act, r)
				}
			}
		}
	})
}

func TestSandboxOwner_NamesTheFrameworkAndExecutor(t *testing.T) {
	for _, c := range []struct{ in, fid, eid string }{
		{"/frameworks/f1/executors/e1/runs/latest/stdout", "f1", "e1"},
		{"/var/lib/mesh/frameworks/f1/executors/e1/runs/c1", "f1", "e1"},
		{"frameworks/f1/executors/e1", "f1", "e1"},
		{"/frameworks/f1/executors/e1/../../../f2/executors/e2/stdout", "f2", "e2"},
		{"/frameworks/f1", "f1", ""},
		{"/frameworks", "", ""},
		{"/etc/passwd", "", ""},
		{"/frameworks/../etc", "", ""},
	} {
		if fid, eid := SandboxOwner(c.in); fid != c.fid || eid != c.eid {
			t.Errorf("SandboxOwner(%q) = %q, %q; want %q, %q", c.in, fid, eid, c.fid, c.eid)
		}
	}
}

// BenchmarkACLs_Allowed measures one decision against 100 rules of which
// the last matches: the cost a filtered list pays per object it shows.
func BenchmarkACLs_Allowed(b *testing.B) {
	var rules []string
	for i := 0; i < 99; i++ {
		rules = append(rules, fmt.Sprintf(`{"principals": {"values": ["p%d"]}, "users": {"values": ["u%d"]}}`, i, i))
	}
	rules = append(rules, `{"principals": {"type": "ANY"}, "users": {"type": "ANY"}}`)
	a, err := Parse([]byte(`{"view_tasks": [` + strings.Join(rules, ",") + `]}`))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if !a.Allowed(ViewTasks, "viewer", "alice") {
			b.Fatal("denied")
		}
	}
}
