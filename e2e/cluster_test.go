package e2e

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

// testServer is one `mesh server` process of a testCluster. Its raft
// listens on its own loopback IP (127.0.0.<10+n>) behind a faultProxy,
// and peers reach it through the proxy (-raft-advertise).
type testServer struct {
	name     string
	ip       string
	httpAddr string
	raftAddr string
	proxy    *faultProxy
	dataDir  string
	args     []string
	p        *proc
}

// testCluster is a set of `mesh server` processes that -join each other.
type testCluster struct {
	t       testing.TB
	servers []*testServer
}

// portOn returns ip:port with a port that was free on ip a moment ago.
func portOn(t testing.TB, ip string) string {
	t.Helper()
	ln, err := net.Listen("tcp", ip+":0")
	if err != nil {
		t.Fatalf("listen on %s (loopback IPs other than 127.0.0.1 are needed for the fault proxy): %v", ip, err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// testRaftTiming is the raft timing of the clusters the tests start:
// shorter than the defaults (2 s), so that the tests that stop a leader
// or cut it off (SIGSTOP, partitions), which the leader watch does not
// see, do not wait out 2–4 s each time. BenchmarkLeaderFailover and the
// cluster benchmark measure the defaults.
var testRaftTiming = []string{"-raft-heartbeat-timeout", "500ms", "-raft-election-timeout", "500ms", "-raft-leader-lease", "250ms"}

// newCluster prepares n servers (not started) with -bootstrap-expect n and
// testRaftTiming; extra flags are given to every server.
func newCluster(t testing.TB, n int, extra ...string) *testCluster {
	t.Helper()
	return newClusterWith(t, n, true, append(append([]string(nil), testRaftTiming...), extra...)...)
}

// newClusterWith is newCluster; with proxied false the servers reach each
// other's raft directly, without a faultProxy in between.
func newClusterWith(t testing.TB, n int, proxied bool, extra ...string) *testCluster {
	t.Helper()
	c := &testCluster{t: t}
	for i := 0; i < n; i++ {
		ip := fmt.Sprintf("127.0.0.%d", 11+i)
		s := &testServer{name: fmt.Sprintf("server%d", i+1), ip: ip, httpAddr: freePort(t), raftAddr: portOn(t, ip), dataDir: t.TempDir()}
		if proxied {
			s.proxy = newFaultProxy(t, s.raftAddr)
		}
		c.servers = append(c.servers, s)
	}
	for _, s := range c.servers {
		var others []string
		for _, o := range c.servers {
			if o != s {
				others = append(others, o.httpAddr)
			}
		}
		advertise := s.raftAddr
		if s.proxy != nil {
			advertise = s.proxy.Addr()
		}
		s.args = append([]string{"server", "-data-dir", s.dataDir, "-http-addr", s.httpAddr,
			"-raft-addr", s.raftAddr, "-raft-advertise", advertise,
			"-bootstrap-expect", fmt.Sprint(n), "-join", strings.Join(others, ",")}, extra...)
	}
	return c
}

// startAll starts every server and waits for one leader that all of them
// follow.
func (c *testCluster) startAll() *testServer {
	for _, s := range c.servers {
		c.start(s)
	}
	return c.waitStable(30 * time.Second)
}

// start (re)starts s on its data dir.
func (c *testCluster) start(s *testServer) { s.p = start(c.t, s.args...) }

// running reports whether s's process is alive.
func (s *testServer) running() bool { return s.p != nil && !s.p.exited() }

// addrs lists the servers' HTTP addresses, comma-separated, for -join and
// -master.
func (c *testCluster) addrs() string {
	var a []string
	for _, s := range c.servers {
		a = append(a, s.httpAddr)
	}
	return strings.Join(a, ",")
}

// byHTTP returns the server at addr, nil if none.
func (c *testCluster) byHTTP(addr string) *testServer {
	for _, s := range c.servers {
		if s.httpAddr == addr {
			return s
		}
	}
	return nil
}

// health is GET /health.
type health struct {
	Healthy  bool   `json:"healthy"`
	Leader   string `json:"leader"`
	IsLeader bool   `json:"is_leader"`
}

// getHealth reads GET /health, which answers 503 (with the same body) on
// a server that is not healthy: without a leader, or still recovering.
func getHealth(addr string, h *health) error {
	resp, err := http.Get("http://" + addr + "/health")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusServiceUnavailable {
		return fmt.Errorf("GET /health: %s", resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(h); err != nil {
		return err
	}
	if h.Healthy != (resp.StatusCode == http.StatusOK) {
		return fmt.Errorf("GET /health: %s with \"healthy\": %v", resp.Status, h.Healthy)
	}
	return nil
}

// establishedLeader returns the server among set that says it is the
// established leader, nil if none does.
func establishedLeader(set []*testServer) *testServer {
	for _, s := range set {
		var h health
		if s.running() && getJSON(s.httpAddr, "/health", &h) == nil && h.IsLeader {
			return s
		}
	}
	return nil
}

// waitStable waits until a server is the established leader, every running
// server names it as leader, and the raft configuration lists every
// server of the cluster; it returns the leader.
func (c *testCluster) waitStable(timeout time.Duration) *testServer {
	c.t.Helper()
	var l *testServer
	waitFor(c.t, timeout, "a leader that every running server follows", func() bool {
		if l = establishedLeader(c.servers); l == nil {
			return false
		}
		for _, s := range c.servers {
			var h health
			if !s.running() || getJSON(s.httpAddr, "/health", &h) != nil || h.Leader != l.httpAddr {
				return false
			}
		}
		var peers []struct {
			ID string `json:"id"`
		}
		return getJSON(l.httpAddr, "/internal/v1/raft/peers", &peers) == nil && len(peers) == len(c.servers)
	})
	return l
}

// others returns the servers other than s.
func (c *testCluster) others(s *testServer) []*testServer {
	var out []*testServer
	for _, o := range c.servers {
		if o != s {
			out = append(out, o)
		}
	}
	return out
}

// partition cuts s off from every other server: nobody reaches s's raft,
// and s reaches nobody's.
func (c *testCluster) partition(s *testServer) {
	s.proxy.Block(true)
	for _, o := range c.others(s) {
		o.proxy.Block(false, s.ip)
	}
}

// heal lets every raft connection through again.
func (c *testCluster) heal() {
	for _, s := range c.servers {
		s.proxy.Heal()
	}
}

// exited reports whether the process has ended.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// kill sends SIGKILL (kill -9) and waits for the process to end.
func (p *proc) kill(t testing.TB) {
	t.Helper()
	if p.exited() {
		return
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("kill -9: %v", err)
	}
	<-p.done
}

// wait waits up to timeout for the process to exit on its own and returns
// its exit code.
func (p *proc) wait(t testing.TB, timeout time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(timeout):
		t.Fatalf("mesh %s did not exit within %s; output:\n%s", strings.Join(p.cmd.Args[1:], " "), timeout, p.out.String())
	}
	return p.cmd.ProcessState.ExitCode()
}

// fullState is the part of a server's GET /state that must be identical on
// every server once they agree: frameworks with their tasks, and agents.
type fullState struct {
	ClusterID           string        `json:"cluster_id"`
	Leader              string        `json:"leader"`
	Frameworks          []stateFramew `json:"frameworks"`
	CompletedFrameworks []stateFramew `json:"completed_frameworks"`
	Agents              []struct {
		ID    string `json:"id"`
		State string `json:"state"`
	} `json:"agents"`
}

type stateFramew struct {
	ID      string      `json:"id"`
	Name    string      `json:"name"`
	Active  bool        `json:"active"`
	Removed bool        `json:"removed"`
	Tasks   []stateTask `json:"tasks"`
	// UnreachableTasks are the tasks of unreachable agents (Mesos lists
	// them apart from the live ones).
	UnreachableTasks []stateTask `json:"unreachable_tasks"`
	CompletedTasks   []stateTask `json:"completed_tasks"`
}

// allTasks returns the framework's live, unreachable and completed tasks.
func (fw stateFramew) allTasks() []stateTask {
	out := append(append([]stateTask(nil), fw.Tasks...), fw.UnreachableTasks...)
	return append(out, fw.CompletedTasks...)
}

type stateTask struct {
	ID      string `json:"id"`
	AgentID string `json:"agent_id"`
	State   string `json:"state"`
}

// normalize sorts every list so two servers' states compare equal when
// they hold the same data; the leader field is dropped.
func (s fullState) normalize() fullState {
	s.Leader = ""
	sortFw := func(fws []stateFramew) {
		for i := range fws {
			sort.Slice(fws[i].Tasks, func(a, b int) bool { return fws[i].Tasks[a].ID < fws[i].Tasks[b].ID })
			sort.Slice(fws[i].UnreachableTasks, func(a, b int) bool { return fws[i].UnreachableTasks[a].ID < fws[i].UnreachableTasks[b].ID })
			sort.Slice(fws[i].CompletedTasks, func(a, b int) bool { return fws[i].CompletedTasks[a].ID < fws[i].CompletedTasks[b].ID })
		}
		sort.Slice(fws, func(a, b int) bool { return fws[a].ID < fws[b].ID })
	}
	sortFw(s.Frameworks)
	sortFw(s.CompletedFrameworks)
	sort.Slice(s.Agents, func(a, b int) bool { return s.Agents[a].ID < s.Agents[b].ID })
	return s
}

// framework returns the framework (active or completed) named name.
func (s fullState) frameworks(name string) []stateFramew {
	var out []stateFramew
	for _, fw := range append(append([]stateFramew(nil), s.Frameworks...), s.CompletedFrameworks...) {
		if fw.Name == name {
			out = append(out, fw)
		}
	}
	return out
}

// waitOneHistory waits until every running server answers the same
// frameworks, tasks and agents, and returns that state.
func (c *testCluster) waitOneHistory(timeout time.Duration) fullState {
	c.t.Helper()
	var states []fullState
	ok := false
	deadline := time.Now().Add(timeout)
	for !ok && time.Now().Before(deadline) {
		states = states[:0]
		ok = true
		for _, s := range c.servers {
			var st fullState
			if !s.running() || getJSON(s.httpAddr, "/state", &st) != nil || st.Leader == "" {
				ok = false
				break
			}
			states = append(states, st.normalize())
		}
		for i := 1; ok && i < len(states); i++ {
			ok = reflect.DeepEqual(states[0], states[i])
		}
		if !ok {
			time.Sleep(50 * time.Millisecond)
		}
	}
	if !ok {
		var b strings.Builder
		for i, st := range states {
			j, _ := json.MarshalIndent(st, "", " ")
			fmt.Fprintf(&b, "%s:\n%s\n", c.servers[i].name, j)
		}
		c.t.Fatalf("servers did not converge on one history within %s:\n%s", timeout, b.String())
	}
	return states[0]
}

// postStatus POSTs body to http://addr/path without following redirects
// and returns the status code.
func postStatus(addr, path, body string) (int, error) {
	client := &http.Client{Timeout: 5 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Post("http://"+addr+path, "application/json", strings.NewReader(body))
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// runDirs maps each executor id (the task id for mesh execute) under an
// agent work dir to the number of run directories it has.
func runDirs(t testing.TB, workDir string) map[string]int {
	t.Helper()
	matches, err := filepath.Glob(filepath.Join(workDir, "frameworks", "*", "executors", "*", "runs", "*"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, m := range matches {
		fi, err := os.Lstat(m)
		if err != nil || !fi.IsDir() || strings.HasPrefix(filepath.Base(m), ".") {
			continue // runs/latest is a symlink
		}
		eid := filepath.Base(filepath.Dir(filepath.Dir(m)))
		out[eid]++
	}
	return out
}
