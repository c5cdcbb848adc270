package server_test

import (
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"mesh/mesos"
	"mesh/server/servertest"
)

// stateDoc is the part of /state the value checks read.
type stateDoc struct {
	Leader      string  `json:"leader"`
	ElectedTime float64 `json:"elected_time"`
	LeaderInfo  *struct {
		PID  string `json:"pid"`
		Port int    `json:"port"`
	} `json:"leader_info"`
	ActivatedSlaves float64 `json:"activated_slaves"`
	Slaves          []struct {
		ID                string                    `json:"id"`
		Hostname          string                    `json:"hostname"`
		Attributes        map[string]any            `json:"attributes"`
		Resources         map[string]any            `json:"resources"`
		UsedResources     map[string]any            `json:"used_resources"`
		ReservedResources map[string]map[string]any `json:"reserved_resources"`
	} `json:"slaves"`
	Frameworks          []stateFw `json:"frameworks"`
	CompletedFrameworks []stateFw `json:"completed_frameworks"`
}

type stateFw struct {
	ID             string         `json:"id"`
	Name           string         `json:"name"`
	Role           string         `json:"role"`
	Roles          []string       `json:"roles"`
	Active         bool           `json:"active"`
	UsedResources  map[string]any `json:"used_resources"`
	Tasks          []stateTk      `json:"tasks"`
	CompletedTasks []stateTk      `json:"completed_tasks"`
	Offers         []struct {
		SlaveID string `json:"slave_id"`
	} `json:"offers"`
}

type stateTk struct {
	ID       string `json:"id"`
	State    string `json:"state"`
	SlaveID  string `json:"slave_id"`
	Statuses []struct {
		State string `json:"state"`
	} `json:"statuses"`
}

func (f stateFw) taskStates() map[string]string {
	out := map[string]string{}
	for _, t := range append(append([]stateTk(nil), f.Tasks...), f.CompletedTasks...) {
		out[t.ID] = t.State
	}
	return out
}

// TestState_ShowsAgentsFrameworksAndTasks: /state on the leader shows
// the agents with their resources, attributes and use, the frameworks
// with their roles, offers and tasks (live and completed, with their
// statuses), the torn-down framework as completed, and names the leader.
func TestState_ShowsAgentsFrameworksAndTasks(t *testing.T) {
	b := newBusyCluster(t)
	var st stateDoc
	getJSONAt(t, b.leader, "/master/state", &st)
	if st.Leader != "master@"+b.leader || st.LeaderInfo == nil || st.LeaderInfo.PID != st.Leader || st.ElectedTime <= 0 {
		t.Errorf("leader %q, leader_info %+v, elected_time %v; want master@%s", st.Leader, st.LeaderInfo, st.ElectedTime, b.leader)
	}
	if st.ActivatedSlaves != 2 || len(st.Slaves) != 2 {
		t.Fatalf("activated_slaves %v, %d slaves; want 2", st.ActivatedSlaves, len(st.Slaves))
	}
	s1 := st.Slaves[0]
	if s1.Hostname != "sim1" || s1.ID != b.agents[0].ID {
		s1 = st.Slaves[1]
	}
	if s1.Resources["cpus"] != 5.0 || s1.Resources["ports"] != "[31000-31099]" || s1.ReservedResources["ops"]["cpus"] != 1.0 ||
		s1.UsedResources["cpus"] != 0.1 || s1.Attributes["rack"] != "r1" || s1.Attributes["zone"] != 2.0 || s1.Attributes["os"] != "{gnu, linux}" {
		t.Errorf("sim1: %+v", s1)
	}

	byName := map[string]stateFw{}
	for _, f := range st.Frameworks {
		byName[f.Name] = f
	}
	web, batch := byName["web"], byName["batch"]
	if want := map[string]string{"long": "TASK_RUNNING", "done": "TASK_FINISHED", "victim": "TASK_KILLED"}; !reflect.DeepEqual(web.taskStates(), want) {
		t.Errorf("web's tasks %v, want %v", web.taskStates(), want)
	}
	if len(web.Tasks) != 1 || web.Tasks[0].ID != "long" || web.Tasks[0].SlaveID != b.agents[0].ID || web.Role != "*" || !web.Active {
		t.Errorf("web: %+v", web)
	}
	for _, tk := range web.CompletedTasks {
		if n := len(tk.Statuses); n < 2 || tk.Statuses[n-1].State != tk.State {
			t.Errorf("task %s: statuses %+v do not end in its state %s", tk.ID, tk.Statuses, tk.State)
		}
	}
	if web.UsedResources["cpus"] != 0.1 || web.UsedResources["mem"] != 32.0 {
		t.Errorf("web used %v, want cpus 0.1, mem 32", web.UsedResources)
	}
	if !reflect.DeepEqual(batch.Roles, []string{"ops", "batch"}) || len(batch.Offers) < 2 {
		t.Errorf("batch: roles %v, %d offers; want [ops batch] and its offers", batch.Roles, len(batch.Offers))
	}
	if len(st.CompletedFrameworks) != 1 || st.CompletedFrameworks[0].ID != b.goneID || st.CompletedFrameworks[0].Active {
		t.Errorf("completed frameworks %+v, want only %s", st.CompletedFrameworks, b.goneID)
	}
	var flags struct {
		Flags map[string]string `json:"flags"`
	}
	getJSONAt(t, b.leader, "/master/flags", &flags)
	if flags.Flags["allocator"] != "drf" || flags.Flags["bootstrap-expect"] != "1" {
		t.Errorf("/master/flags: %v", flags.Flags)
	}
}

// TestState_FollowerAnswersFromItsOwnCopy: a follower serves /state and
// /metrics/snapshot from its copy of the replicated state: it names the
// leader, shows the agent and framework, and says it is not elected.
func TestState_FollowerAnswersFromItsOwnCopy(t *testing.T) {
	c := servertest.NewCluster(t, 3, steadyRaft)
	leader := c.Servers[c.WaitLeader()].HTTPAddr()
	servertest.NewSimAgent(leader, mesos.Resources{mesos.ScalarResource("cpus", 1), mesos.ScalarResource("mem", 256)}).Start(t)
	f := subscribe(t, leader, subscribeBody("seen-by-followers", "", ""))
	f.subscribed()
	why := "no follower checked yet"
	t.Cleanup(func() {
		if t.Failed() {
			t.Log("last follower check: " + why)
		}
	})
	servertest.WaitFor(t, 20*time.Second, "a follower to show the cluster", func() bool {
		for _, s := range c.Servers {
			h := getHealth(t, s.HTTPAddr())
			if h.IsLeader || h.Leader == "" {
				continue
			}
			var st stateDoc
			var m map[string]float64
			getJSONAt(t, s.HTTPAddr(), "/state", &st)
			getJSONAt(t, s.HTTPAddr(), "/metrics/snapshot", &m)
			_, connected := m["master/slaves_connected"]
			switch {
			case st.Leader != "master@"+h.Leader || st.ElectedTime != 0:
				why = "leader " + st.Leader + ", elected_time set: " + strconv.FormatBool(st.ElectedTime != 0)
			case len(st.Slaves) != 1 || len(st.Frameworks) != 1 || st.Frameworks[0].ID != f.id:
				why = "agents or frameworks missing"
			case m["master/elected"] != 0 || connected || m["master/slaves_active"] != 1 || m["registrar/log/ensemble_size"] != 3:
				why = "metrics: elected, slaves_connected, slaves_active or ensemble_size wrong"
			default:
				return true
			}
		}
		return false
	})
}

// TestState_MasterTasksQueryParameters: /master/tasks honours limit,
// offset, order, framework_id and task_id, and a bad number is a 400
// that names the parameter.
func TestState_MasterTasksQueryParameters(t *testing.T) {
	b := newBusyCluster(t)
	ids := func(path string) []string {
		var out struct {
			Tasks []stateTk `json:"tasks"`
		}
		getJSONAt(t, b.leader, path, &out)
		var s []string
		for _, tk := range out.Tasks {
			s = append(s, tk.ID)
		}
		return s
	}
	all := ids("/master/tasks?order=asc")
	if len(all) != 3 {
		t.Fatalf("tasks %v, want 3", all)
	}
	if desc := ids("/master/tasks"); len(desc) != 3 || desc[0] != all[2] || desc[2] != all[0] {
		t.Errorf("default order %v is not the reverse of asc %v", desc, all)
	}
	if got := ids("/master/tasks?order=asc&limit=1&offset=1"); !reflect.DeepEqual(got, all[1:2]) {
		t.Errorf("limit=1 offset=1: %v, want %v", got, all[1:2])
	}
	if got := ids("/master/tasks?offset=10"); len(got) != 0 {
		t.Errorf("offset past the end: %v", got)
	}
	if got := ids("/master/tasks?task_id=long"); !reflect.DeepEqual(got, []string{"long"}) {
		t.Errorf("task_id=long: %v", got)
	}
	if got := ids("/master/tasks?framework_id=" + b.batch.id); len(got) != 0 {
		t.Errorf("batch's tasks: %v, want none", got)
	}
	if got := ids("/tasks?framework_id=" + b.web.id); len(got) != 3 {
		t.Errorf("web's tasks: %v, want 3", got)
	}
	for _, q := range []string{"limit=abc", "offset=-1"} {
		code, body := get(t, b.leader, "/master/tasks?"+q)
		if code != http.StatusBadRequest || !strings.Contains(body, strings.Split(q, "=")[0]) {
			t.Errorf("?%s: %d %q, want 400 naming the parameter", q, code, body)
		}
	}
	if code, _ := get(t, b.leader, "/master/tasks"); code != http.StatusOK {
		t.Errorf("the server stopped answering after bad queries: %d", code)
	}
}

// TestState_SummaryCountsTasksByState: /state-summary gives each
// framework and agent its task totals by state and their relations.
func TestState_SummaryCountsTasksByState(t *testing.T) {
	b := newBusyCluster(t)
	var sum struct {
		Slaves []struct {
			ID           string   `json:"id"`
			Running      int      `json:"TASK_RUNNING"`
			Finished     int      `json:"TASK_FINISHED"`
			Killed       int      `json:"TASK_KILLED"`
			FrameworkIDs []string `json:"framework_ids"`
		} `json:"slaves"`
		Frameworks []struct {
			ID       string   `json:"id"`
			Running  int      `json:"TASK_RUNNING"`
			Finished int      `json:"TASK_FINISHED"`
			Killed   int      `json:"TASK_KILLED"`
			SlaveIDs []string `json:"slave_ids"`
		} `json:"frameworks"`
	}
	getJSONAt(t, b.leader, "/state-summary", &sum)
	if len(sum.Frameworks) != 2 || len(sum.Slaves) != 2 {
		t.Fatalf("summary has %d frameworks and %d agents, want 2 and 2", len(sum.Frameworks), len(sum.Slaves))
	}
	for _, f := range sum.Frameworks {
		if f.ID == b.web.id && (f.Running != 1 || f.Finished != 1 || f.Killed != 1 || !reflect.DeepEqual(f.SlaveIDs, []string{b.agents[0].ID})) {
			t.Errorf("web: %+v", f)
		}
	}
	for _, s := range sum.Slaves {
		if s.ID == b.agents[0].ID && (s.Running != 1 || s.Finished != 1 || s.Killed != 1 || !reflect.DeepEqual(s.FrameworkIDs, []string{b.web.id})) {
			t.Errorf("sim1: %+v", s)
		}
	}
}

// TestMetrics_SnapshotMatchesCluster: /metrics/snapshot's Mesos keys
// carry the cluster's numbers; only the leader says it is elected.
func TestMetrics_SnapshotMatchesCluster(t *testing.T) {
	b := newBusyCluster(t)
	var m map[string]float64
	getJSONAt(t, b.leader, "/metrics/snapshot", &m)
	want := map[string]float64{
		"master/elected": 1, "master/slaves_active": 2, "master/slaves_connected": 2, "master/slaves_disconnected": 0,
		"master/frameworks_active": 2, "master/frameworks_connected": 2, "master/frameworks_disconnected": 0,
		"master/tasks_running": 1, "master/tasks_finished": 1, "master/tasks_killed": 1, "master/tasks_failed": 0,
		"master/tasks_staging": 0, "master/tasks_lost": 0, "master/cpus_total": 7, "master/cpus_used": 0.1,
		"master/mem_total": 4096 + 64 + 2048, "master/mem_used": 32, "master/disk_total": 1000, "master/disk_used": 0,
		"registrar/log/ensemble_size": 1, "registrar/log/recovered": 1,
	}
	for k, v := range want {
		if got, ok := m[k]; !ok || got != v {
			t.Errorf("%s = %v (present %v), want %v", k, got, ok, v)
		}
	}
	if p := m["master/cpus_percent"]; p < 0.1/7-1e-9 || p > 0.1/7+1e-9 {
		t.Errorf("master/cpus_percent %v, want %v", p, 0.1/7)
	}
	if m["master/uptime_secs"] <= 0 {
		t.Errorf("master/uptime_secs %v", m["master/uptime_secs"])
	}
}
