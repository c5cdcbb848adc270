package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"mesh/mesos"
	"mesh/mesos/scheduler"
	"mesh/server/servertest"
)

// promScrape is one parsed GET /metrics.
type promScrape map[string]*dto.MetricFamily

// scrape reads /metrics at addr with Prometheus' own text parser.
func scrape(t *testing.T, addr string) promScrape {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET /metrics: %d", resp.StatusCode)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("GET /metrics does not parse: %v", err)
	}
	return fams
}

// value returns the value of the series name{labels} (a histogram's
// sample count), and whether it is present. labels are name=value pairs.
func (p promScrape) value(name string, labels ...string) (float64, bool) {
	fam := p[name]
	if fam == nil {
		return 0, false
	}
	want := map[string]string{}
	for i := 0; i+1 < len(labels); i += 2 {
		want[labels[i]] = labels[i+1]
	}
	for _, m := range fam.GetMetric() {
		got := map[string]string{}
		for _, l := range m.GetLabel() {
			got[l.GetName()] = l.GetValue()
		}
		match := len(got) == len(want)
		for k, v := range want {
			match = match && got[k] == v
		}
		if !match {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		case m.Untyped != nil:
			return m.Untyped.GetValue(), true
		}
	}
	return 0, false
}

// sum adds every series of name whose labels include the given pairs.
func (p promScrape) sum(name string, labels ...string) float64 {
	total := 0.0
	fam := p[name]
	if fam == nil {
		return 0
	}
	for _, m := range fam.GetMetric() {
		got := map[string]string{}
		for _, l := range m.GetLabel() {
			got[l.GetName()] = l.GetValue()
		}
		match := true
		for i := 0; i+1 < len(labels); i += 2 {
			match = match && got[labels[i]] == labels[i+1]
		}
		if match {
			total += m.GetCounter().GetValue() + m.GetGauge().GetValue() + float64(m.GetHistogram().GetSampleCount())
		}
	}
	return total
}

// expect checks series: name, labels..., want.
func (p promScrape) expect(t *testing.T, want float64, name string, labels ...string) {
	t.Helper()
	got, ok := p.value(name, labels...)
	if !ok {
		t.Errorf("%s%v is missing", name, labels)
		return
	}
	if got != want {
		t.Errorf("%s%v = %v, want %v", name, labels, got, want)
	}
}

// expectAtLeast checks that a series is present and at least min.
func (p promScrape) expectAtLeast(t *testing.T, min float64, name string, labels ...string) {
	t.Helper()
	got, ok := p.value(name, labels...)
	if !ok {
		t.Errorf("%s%v is missing", name, labels)
		return
	}
	if got < min {
		t.Errorf("%s%v = %v, want at least %v", name, labels, got, min)
	}
}

// TestMetrics_PrometheusMatchesCluster: /metrics parses as Prometheus text
// and its series carry the cluster's numbers: agents, frameworks and
// tasks by state, the calls frameworks made, offers, streams, raft.
func TestMetrics_PrometheusMatchesCluster(t *testing.T) {
	b := newBusyCluster(t)
	st := b.srv.FSM().State()
	// The torn-down framework's stream ends a moment after TEARDOWN.
	var p promScrape
	servertest.WaitFor(t, 10*time.Second, "two framework streams", func() bool {
		p = scrape(t, b.leader)
		v, _ := p.value("mesh_open_streams", "kind", "framework")
		return v == 2
	})
	p.expect(t, 2, "mesh_open_streams", "kind", "agent")
	p.expect(t, 0, "mesh_open_streams", "kind", "operator")

	p.expect(t, 2, "mesh_agents", "state", "active")
	p.expect(t, 0, "mesh_agents", "state", "unreachable")
	p.expect(t, 0, "mesh_agents", "state", "gone")
	p.expect(t, 2, "mesh_frameworks", "state", "connected")
	p.expect(t, 0, "mesh_frameworks", "state", "disconnected")
	p.expect(t, 1, "mesh_tasks", "state", "TASK_RUNNING")
	p.expect(t, 1, "mesh_tasks", "state", "TASK_FINISHED")
	p.expect(t, 1, "mesh_tasks", "state", "TASK_KILLED")
	p.expect(t, 0, "mesh_tasks", "state", "TASK_STAGING")
	byState := map[string]float64{}
	for _, tk := range st.Tasks() {
		byState[string(tk.State)]++
	}
	if got := p.sum("mesh_tasks"); got != float64(len(st.Tasks())) {
		t.Errorf("mesh_tasks sums to %v, the state holds %d tasks", got, len(st.Tasks()))
	}
	for state, n := range byState {
		p.expect(t, n, "mesh_tasks", "state", state)
	}
	p.expect(t, float64(len(st.Offers())), "mesh_offers_outstanding")

	p.expect(t, 1, "mesh_raft_is_leader")
	p.expect(t, 1, "mesh_raft_leader_changes_total")
	idx := float64(b.srv.LastIndex())
	for _, name := range []string{"mesh_raft_last_log_index", "mesh_raft_commit_index", "mesh_raft_applied_index"} {
		p.expectAtLeast(t, idx, name)
	}
	p.expectAtLeast(t, 1, "mesh_raft_term")

	// The calls newBusyCluster made: three subscriptions, one ACCEPT,
	// DECLINE, KILL and TEARDOWN.
	p.expect(t, 3, "mesh_scheduler_calls_total", "type", "SUBSCRIBE", "code", "200")
	p.expect(t, 1, "mesh_scheduler_calls_total", "type", "ACCEPT", "code", "202")
	p.expect(t, 1, "mesh_scheduler_calls_total", "type", "DECLINE", "code", "202")
	p.expect(t, 1, "mesh_scheduler_calls_total", "type", "KILL", "code", "202")
	p.expect(t, 1, "mesh_scheduler_calls_total", "type", "TEARDOWN", "code", "202")
	p.expectAtLeast(t, 4, "mesh_scheduler_calls_total", "type", "ACKNOWLEDGE", "code", "202")
	calls := p.sum("mesh_scheduler_calls_total")
	if got := p.sum("mesh_http_requests_total", "endpoint", "/api/v1/scheduler"); got != calls {
		t.Errorf("scheduler endpoint requests %v, scheduler calls %v: want equal", got, calls)
	}
	if got := p.sum("mesh_http_request_duration_seconds", "endpoint", "/api/v1/scheduler"); got != calls {
		t.Errorf("scheduler endpoint latencies observed %v, calls %v: want equal", got, calls)
	}

	p.expect(t, 1, "mesh_offers_declined_total")
	p.expectAtLeast(t, 5, "mesh_offers_made_total") // web: 3, batch: 2
	if _, ok := p.value("mesh_offers_rescinded_total"); !ok {
		t.Error("mesh_offers_rescinded_total is missing")
	}
	p.expectAtLeast(t, 1, "mesh_allocator_cycle_duration_seconds")

	// Resources: sim1 and sim2 have 7 cpus and 6208 MB; the one live
	// task ("long", role *) holds 0.1 cpus and 32 MB; web was offered
	// sim1's 4 unreserved cpus and sim2's 2 before it declined sim2.
	p.expect(t, 7, "mesh_cluster_cpus")
	p.expect(t, (4096+64+2048)<<20, "mesh_cluster_memory_bytes")
	p.expect(t, 1000<<20, "mesh_cluster_disk_bytes")
	p.expect(t, 0.1, "mesh_allocated_cpus", "role", "*")
	p.expect(t, 32<<20, "mesh_allocated_memory_bytes", "role", "*")
	p.expectAtLeast(t, 6, "mesh_offered_cpus_total", "role", "*")
	if _, ok := p.value("mesh_allocated_cpus", "role", "ops"); ok {
		t.Error("mesh_allocated_cpus for role ops, which holds nothing")
	}
	p.expectAtLeast(t, 1, "mesh_raft_commit_duration_seconds")
	p.expectAtLeast(t, 1, "mesh_fsm_apply_duration_seconds", "type", "task_launch")
	p.expectAtLeast(t, 1, "mesh_fsm_apply_duration_seconds", "type", "status_update")
	p.expect(t, 3, "mesh_fsm_apply_duration_seconds", "type", "framework_register")
}

// TestMetrics_CountsBadRequestsAndKeepsServing: requests for unknown
// paths, a /metrics POST and scheduler calls that do not parse are
// counted under bounded labels, and /metrics keeps answering.
func TestMetrics_CountsBadRequestsAndKeepsServing(t *testing.T) {
	srv := servertest.NewServer(t, servertest.Options{})
	addr := srv.HTTPAddr()
	for _, path := range []string{"/no/such/path", "/another/" + strings.Repeat("x", 100)} {
		if code, _ := get(t, addr, path); code != 404 {
			t.Fatalf("GET %s: %d, want 404", path, code)
		}
	}
	resp, err := http.Post("http://"+addr+"/metrics", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 405 {
		t.Fatalf("POST /metrics: %d, want 405", resp.StatusCode)
	}
	if code, _, _ := rawPost(t, addr, `{"type":`, jsonCT); code != 400 {
		t.Fatalf("a body that does not parse: %d, want 400", code)
	}
	if code, _, _ := rawPost(t, addr, `{"type":"MADE_UP","framework_id":{"value":"x"}}`, jsonCT); code != 400 {
		t.Fatalf("a made-up call type: %d, want 400", code)
	}
	p := scrape(t, addr)
	p.expect(t, 2, "mesh_http_requests_total", "endpoint", "unmatched", "code", "404")
	p.expect(t, 1, "mesh_http_requests_total", "endpoint", "/metrics", "code", "405")
	p.expect(t, 1, "mesh_scheduler_calls_total", "type", "unparsed", "code", "400")
	p.expect(t, 1, "mesh_scheduler_calls_total", "type", "other", "code", "400")
	// The earlier scrape is counted by the next one.
	scrape(t, addr).expect(t, 1, "mesh_http_requests_total", "endpoint", "/metrics", "code", "200")
}

// TestMetrics_SnapshotSize: after a snapshot the server reports its size
// and index as raft recorded them.
func TestMetrics_SnapshotSize(t *testing.T) {
	srv := servertest.NewServer(t, servertest.Options{DataDir: t.TempDir()})
	if _, ok := scrape(t, srv.HTTPAddr()).value("mesh_raft_last_snapshot_size_bytes"); ok {
		t.Fatal("a snapshot size before any snapshot was taken")
	}
	f := subscribe(t, srv.HTTPAddr(), subscribeBody("snap", "", ""))
	f.subscribed()
	f.close()
	resp, err := http.Get("http://" + srv.HTTPAddr() + "/internal/v1/snapshot")
	if err != nil {
		t.Fatal(err)
	}
	var meta raft.SnapshotMeta
	err = json.NewDecoder(resp.Body).Decode(&meta)
	resp.Body.Close()
	if err != nil || meta.Size <= 0 {
		t.Fatalf("snapshot metadata: %v, %+v", err, meta)
	}
	p := scrape(t, srv.HTTPAddr())
	p.expect(t, float64(meta.Size), "mesh_raft_last_snapshot_size_bytes")
	p.expect(t, float64(meta.Index), "mesh_raft_last_snapshot_index")
}

// TestMetrics_LeaderChangesAcrossFailover: exactly one of three servers
// says it leads; every server counts the leaders it saw, and the
// survivors count the new one after the leader stops.
func TestMetrics_LeaderChangesAcrossFailover(t *testing.T) {
	c := servertest.NewCluster(t, 3, nil)
	old := c.WaitLeader()
	leaders := 0.0
	for i, s := range c.Servers {
		p := scrape(t, s.HTTPAddr())
		v, _ := p.value("mesh_raft_is_leader")
		leaders += v
		p.expectAtLeast(t, 1, "mesh_raft_leader_changes_total")
		if i == old && v != 1 {
			t.Errorf("the leader, server %d, reports mesh_raft_is_leader %v", i, v)
		}
	}
	if leaders != 1 {
		t.Errorf("mesh_raft_is_leader sums to %v over the servers, want 1", leaders)
	}
	before := map[int]float64{}
	for i, s := range c.Servers {
		before[i], _ = scrape(t, s.HTTPAddr()).value("mesh_raft_leader_changes_total")
	}
	c.Stop(old)
	now := c.WaitLeader()
	for i, s := range c.Servers {
		if i == old {
			continue
		}
		servertest.WaitFor(t, 10*time.Second, "the new leader to be counted", func() bool {
			v, _ := scrape(t, s.HTTPAddr()).value("mesh_raft_leader_changes_total")
			return v >= before[i]+1
		})
	}
	scrape(t, c.Servers[now].HTTPAddr()).expect(t, 1, "mesh_raft_is_leader")
}

// TestMetrics_TasksRunningIsTheNumberLaunched: a framework launches
// tasks on two agents; /metrics counts them running, on active agents.
func TestMetrics_TasksRunningIsTheNumberLaunched(t *testing.T) {
	srv := servertest.NewServer(t, servertest.Options{})
	addr := srv.HTTPAddr()
	for i := 0; i < 2; i++ {
		servertest.NewSimAgent(addr, mesos.Resources{mesos.ScalarResource("cpus", 2), mesos.ScalarResource("mem", 1024)}).Start(t)
	}
	f := subscribe(t, addr, subscribeBody("many", "", ""))
	defer f.close()
	f.subscribed()
	want := map[string]mesos.TaskState{}
	launched := 0
	for launched < 7 {
		for _, o := range f.await(scheduler.EventOffers, 10*time.Second).Offers.Offers {
			var ids []string
			for i := 0; i < 4 && launched < 7; i++ {
				id := fmt.Sprintf("t%d", launched)
				ids = append(ids, id)
				want[id] = mesos.TaskRunning
				launched++
			}
			if len(ids) > 0 {
				f.launch(o, "sleep 1000", ids...)
			}
		}
	}
	f.ackUntil(want)
	p := scrape(t, addr)
	p.expect(t, 7, "mesh_tasks", "state", "TASK_RUNNING")
	p.expect(t, 2, "mesh_agents", "state", "active")
	p.expect(t, 1, "mesh_frameworks", "state", "connected")
	p.expect(t, 0.7, "mesh_allocated_cpus", "role", "*")
	p.expect(t, 1, "mesh_fsm_apply_duration_seconds", "type", "framework_register")
}
