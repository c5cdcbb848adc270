package server_test

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	mapi "mesh/mesos/master"
	"mesh/mesos/scheduler"
)

// viewRules: "viewer" may view alice's frameworks, tasks and executors
// only; "blind" no agent; "admin" everything.
const viewRules = `{
  "view_frameworks": [
    {"principals": {"values": ["viewer"]}, "users": {"values": ["alice"]}},
    {"principals": {"values": ["admin", "blind"]}, "users": {"type": "ANY"}}],
  "view_tasks": [
    {"principals": {"values": ["viewer"]}, "users": {"values": ["alice"]}},
    {"principals": {"values": ["admin", "blind"]}, "users": {"type": "ANY"}}],
  "view_executors": [
    {"principals": {"values": ["viewer"]}, "users": {"values": ["alice"]}},
    {"principals": {"values": ["admin", "blind"]}, "users": {"type": "ANY"}}],
  "view_agents": [
    {"principals": {"values": ["blind"]}, "agents": {"type": "NONE"}},
    {"principals": {"type": "ANY"}, "agents": {"type": "ANY"}}],
  "register_frameworks": [{"principals": {"type": "ANY"}, "roles": {"type": "ANY"}}],
  "run_tasks": [{"principals": {"type": "ANY"}, "users": {"type": "ANY"}}],
  "register_agents": [{"principals": {"type": "ANY"}, "agents": {"type": "ANY"}}]
}`

// listed are the framework and task ids a response names, sorted.
type listed struct{ frameworks, tasks []string }

func (l listed) String() string { return fmt.Sprintf("frameworks %v tasks %v", l.frameworks, l.tasks) }

func sorted(s []string) []string { sort.Strings(s); return s }

func getStateListed(t *testing.T, addr string) (listed, int) {
	var r struct {
		GetState struct {
			GetFrameworks struct {
				Frameworks []struct {
					FrameworkInfo struct {
						ID struct{ Value string } `json:"id"`
					} `json:"framework_info"`
				} `json:"frameworks"`
			} `json:"get_frameworks"`
			GetTasks struct {
				Tasks []struct {
					TaskID struct{ Value string } `json:"task_id"`
				} `json:"tasks"`
			} `json:"get_tasks"`
			GetAgents struct {
				Agents []any `json:"agents"`
			} `json:"get_agents"`
		} `json:"get_state"`
	}
	operator(t, addr, `{"type":"GET_STATE"}`, &r)
	var l listed
	for _, f := range r.GetState.GetFrameworks.Frameworks {
		l.frameworks = append(l.frameworks, f.FrameworkInfo.ID.Value)
	}
	for _, tk := range r.GetState.GetTasks.Tasks {
		l.tasks = append(l.tasks, tk.TaskID.Value)
	}
	l.frameworks, l.tasks = sorted(l.frameworks), sorted(l.tasks)
	return l, len(r.GetState.GetAgents.Agents)
}

func stateListed(t *testing.T, addr, path string) listed {
	t.Helper()
	code, out, _ := uiGet(t, addr, path, nil)
	if code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, code, out)
	}
	var r struct {
		Frameworks []struct {
			ID    string `json:"id"`
			Tasks []struct {
				ID string `json:"id"`
			} `json:"tasks"`
		} `json:"frameworks"`
		Tasks []struct {
			ID string `json:"id"`
		} `json:"tasks"`
	}
	jsonOf(t, out, &r)
	var l listed
	for _, f := range r.Frameworks {
		l.frameworks = append(l.frameworks, f.ID)
		for _, tk := range f.Tasks {
			l.tasks = append(l.tasks, tk.ID)
		}
	}
	for _, tk := range r.Tasks {
		l.tasks = append(l.tasks, tk.ID)
	}
	l.frameworks, l.tasks = sorted(l.frameworks), sorted(l.tasks)
	return l
}

// TestACL_ListsAreFilteredForThePrincipal: a principal with view rights
// on alice's framework only sees it alone, with its tasks alone, in
// GET_STATE, GET_FRAMEWORKS, GET_TASKS, /state, /master/frameworks,
// /master/tasks and the web UI's operator API (the CLI reads GET_STATE),
// and its operator event stream leaves out the events of bob's framework; another principal sees both; one that may view no
// agent sees none.
func TestACL_ListsAreFilteredForThePrincipal(t *testing.T) {
	s := newACLServer(t, viewRules)
	s.startAgent("")
	fwAddr := s.as("fw")
	alice := frameworkAs(t, fwAddr, "a", "alice", "eng")
	bob := frameworkAs(t, fwAddr, "b", "bob", "eng")
	// Each task is left TASK_RUNNING, unacknowledged: its TASK_FINISHED
	// comes when the framework acknowledges.
	alice.launch(alice.await(scheduler.EventOffers, 10*time.Second).Offers.Offers[0], "true", "a1")
	aliceRunning := alice.await(scheduler.EventUpdate, 10*time.Second).Update.Status
	bob.launch(bob.await(scheduler.EventOffers, 10*time.Second).Offers.Offers[0], "true", "b1")
	bobRunning := bob.await(scheduler.EventUpdate, 10*time.Second).Update.Status

	viewer, admin, blind := s.as("viewer"), s.as("admin"), s.as("blind")
	onlyAlice := listed{frameworks: []string{alice.id}, tasks: []string{"a1"}}
	both := listed{frameworks: sorted([]string{alice.id, bob.id}), tasks: []string{"a1", "b1"}}
	for _, c := range []struct {
		addr string
		want listed
	}{{viewer, onlyAlice}, {admin, both}} {
		if got, _ := getStateListed(t, c.addr); got.String() != c.want.String() {
			t.Errorf("GET_STATE: %s, want %s", got, c.want)
		}
		for _, path := range []string{"/state", "/master/state", "/master/frameworks", "/frameworks"} {
			if got := stateListed(t, c.addr, path); got.String() != c.want.String() {
				t.Errorf("%s: %s, want %s", path, got, c.want)
			}
		}
		if got := stateListed(t, c.addr, "/master/tasks"); fmt.Sprint(got.tasks) != fmt.Sprint(c.want.tasks) {
			t.Errorf("/master/tasks: %v, want %v", got.tasks, c.want.tasks)
		}
	}
	// The web UI reads the operator API through /ui/api/v1.
	code, out, _ := opCall(t, viewer, "/ui/api/v1", `{"type":"GET_FRAMEWORKS"}`, nil)
	if code != http.StatusOK || !strings.Contains(out, alice.id) || strings.Contains(out, bob.id) {
		t.Errorf("the web UI's GET_FRAMEWORKS for viewer: %d %s", code, out)
	}
	var fws struct {
		GetFrameworks struct {
			Frameworks []any `json:"frameworks"`
		} `json:"get_frameworks"`
	}
	operator(t, viewer, `{"type":"GET_FRAMEWORKS"}`, &fws)
	if n := len(fws.GetFrameworks.Frameworks); n != 1 {
		t.Errorf("GET_FRAMEWORKS by viewer: %d frameworks, want 1", n)
	}
	var tasks struct {
		GetTasks struct {
			Tasks []any `json:"tasks"`
		} `json:"get_tasks"`
	}
	operator(t, viewer, `{"type":"GET_TASKS"}`, &tasks)
	if n := len(tasks.GetTasks.Tasks); n != 1 {
		t.Errorf("GET_TASKS by viewer: %d tasks, want 1", n)
	}
	if _, n := getStateListed(t, blind); n != 0 {
		t.Errorf("GET_STATE by a principal that may view no agent: %d agents", n)
	}
	if _, n := getStateListed(t, viewer); n != 1 {
		t.Errorf("GET_STATE by viewer: %d agents, want 1", n)
	}
	if code, out, _ := uiGet(t, blind, "/master/slaves", nil); code != 200 || strings.Contains(out, `"hostname"`) {
		t.Errorf("/master/slaves by blind: %d %s", code, out)
	}

	// The stream: bob's task finishes first, but the viewer's first event
	// is about alice's.
	st := subscribeOperator(t, viewer)
	sub := st.next(10 * time.Second)
	if sub == nil || sub.Type != mapi.EventSubscribed || len(sub.Subscribed.GetState.GetFrameworks.Frameworks) != 1 ||
		len(sub.Subscribed.GetState.GetTasks.Tasks) != 1 {
		t.Fatalf("SUBSCRIBED for viewer: %+v", sub)
	}
	bob.ack(bobRunning)
	if u := bob.await(scheduler.EventUpdate, 10*time.Second).Update.Status; u.TaskID.Value != "b1" {
		t.Fatalf("bob's update: %+v", u)
	}
	alice.ack(aliceRunning)
	ev := st.next(10 * time.Second)
	if ev == nil || ev.Type != mapi.EventTaskUpdated || ev.TaskUpdated.Status.TaskID.Value != "a1" {
		t.Fatalf("viewer's first event after bob's and alice's tasks finished: %+v", ev)
	}

	// A principal that may view no agent is not told of a new one, but
	// is of the framework that subscribes after it.
	bst := subscribeOperator(t, blind)
	if sub := bst.next(10 * time.Second); sub == nil || sub.Type != mapi.EventSubscribed || len(sub.Subscribed.GetState.GetAgents.Agents) != 0 {
		t.Fatalf("SUBSCRIBED for blind: %+v", sub)
	}
	s.startAgent("")
	carol := frameworkAs(t, fwAddr, "c", "carol", "eng")
	if ev := bst.next(10 * time.Second); ev == nil || ev.Type != mapi.EventFrameworkAdded ||
		ev.FrameworkAdded.Framework.FrameworkInfo.ID.Value != carol.id {
		t.Fatalf("blind's first event after an agent registered and a framework subscribed: %+v", ev)
	}
}
