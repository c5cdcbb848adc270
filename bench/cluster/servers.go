package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// server is one `mesh server` process of the benchmark's cluster.
type server struct {
	name     string
	httpAddr string
	raftAddr string
	dataDir  string
	logPath  string

	cmd  *exec.Cmd
	done chan struct{}
}

// cluster is three (or more) `mesh server` processes that -join each other,
// started with default flags apart from addresses and data dirs.
type cluster struct {
	servers []*server
	http    *http.Client
}

// freePorts returns n loopback addresses whose ports were free a moment
// ago, all different: each is held until every one is chosen. Chosen one
// at a time, two servers were once given the same port, and one of them
// could not start.
func freePorts(n int) ([]string, error) {
	addrs := make([]string, 0, n)
	for i := 0; i < n; i++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer ln.Close()
		addrs = append(addrs, ln.Addr().String())
	}
	return addrs, nil
}

// startCluster starts n servers from bin, each with its own data dir and
// log file under dir; extra flags go to every server.
func startCluster(bin, dir string, n int, extra []string) (*cluster, error) {
	c := &cluster{http: &http.Client{Timeout: 2 * time.Second}}
	ports, err := freePorts(2 * n)
	if err != nil {
		return nil, err
	}
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("server%d", i+1)
		s := &server{name: name, httpAddr: ports[2*i], raftAddr: ports[2*i+1],
			dataDir: filepath.Join(dir, name), logPath: filepath.Join(dir, name+".log")}
		// A data dir of an earlier run holds that cluster's raft
		// configuration, with ports no server listens on now.
		if entries, _ := os.ReadDir(s.dataDir); len(entries) > 0 {
			return nil, fmt.Errorf("%s holds the data of an earlier run; give -dir an empty directory", s.dataDir)
		}
		if err := os.MkdirAll(s.dataDir, 0o755); err != nil {
			return nil, err
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
		// -enable-debug only adds the profiler's endpoints: the benchmark
		// reads the leader's live heap there.
		args := append([]string{"server", "-data-dir", s.dataDir, "-http-addr", s.httpAddr, "-raft-addr", s.raftAddr,
			"-bootstrap-expect", strconv.Itoa(n), "-join", strings.Join(others, ","), "-enable-debug"}, extra...)
		if err := s.start(bin, args); err != nil {
			c.stop()
			return nil, err
		}
	}
	return c, nil
}

func (s *server) start(bin string, args []string) error {
	logf, err := os.Create(s.logPath)
	if err != nil {
		return err
	}
	s.cmd = exec.Command(bin, args...)
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start %s: %w", s.name, err)
	}
	s.done = make(chan struct{})
	go func() {
		_ = s.cmd.Wait()
		logf.Close()
		close(s.done)
	}()
	return nil
}

func (s *server) running() bool {
	select {
	case <-s.done:
		return false
	default:
		return s.cmd != nil
	}
}

// kill sends SIGKILL and waits for the process to be gone.
func (s *server) kill() {
	if !s.running() {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.done
}

// stop sends SIGTERM, then SIGKILL to the process group after a grace
// period.
func (s *server) stop() {
	if !s.running() {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(15 * time.Second):
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.done
	}
}

func (c *cluster) stop() {
	var wg sync.WaitGroup
	for _, s := range c.servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.stop()
		}()
	}
	wg.Wait()
}

// addrs lists the servers' HTTP addresses.
func (c *cluster) addrs() []string {
	var out []string
	for _, s := range c.servers {
		out = append(out, s.httpAddr)
	}
	return out
}

// health is the answer of GET /health.
type health struct {
	Leader   string `json:"leader"`
	IsLeader bool   `json:"is_leader"`
}

func (c *cluster) health(s *server) (health, error) {
	var h health
	resp, err := c.http.Get("http://" + s.httpAddr + "/health")
	if err != nil {
		return h, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return h, fmt.Errorf("GET /health at %s: %s", s.httpAddr, resp.Status)
	}
	return h, json.NewDecoder(resp.Body).Decode(&h)
}

// leader returns the running server that says it leads (an established
// leader), or nil.
func (c *cluster) leader() *server {
	for _, s := range c.servers {
		if !s.running() {
			continue
		}
		if h, err := c.health(s); err == nil && h.IsLeader {
			return s
		}
	}
	return nil
}

// waitLeader polls until a running server leads, or ctx ends.
func (c *cluster) waitLeader(ctx context.Context) (*server, error) {
	return c.awaitLeader(ctx, func() error { return nil })
}

// waitUp waits for the first leader of a cluster just started: a server
// that exited meanwhile (a port taken, a bad flag) ends the wait at once
// with what its log says last, rather than at the run's time limit.
func (c *cluster) waitUp(ctx context.Context) (*server, error) {
	return c.awaitLeader(ctx, func() error {
		for _, s := range c.servers {
			if !s.running() {
				last := ""
				s.eachLogLine(func(line string) { last = line })
				return fmt.Errorf("%s exited as the cluster started: %s", s.name, last)
			}
		}
		return nil
	})
}

// awaitLeader polls until a running server leads, ctx ends, or check
// fails.
func (c *cluster) awaitLeader(ctx context.Context, check func() error) (*server, error) {
	for {
		if s := c.leader(); s != nil {
			return s, nil
		}
		if err := check(); err != nil {
			return nil, err
		}
		if err := pause(ctx, 20*time.Millisecond); err != nil {
			return nil, fmt.Errorf("no leader: %w", err)
		}
	}
}

// countLogLines counts the lines that contain substr in every server's
// log: "established leadership" once per term a server led and served,
// raft's "entering leader state" once per election won.
func (c *cluster) countLogLines(substr string) int {
	n := 0
	for _, s := range c.servers {
		n += s.countLogLines(substr)
	}
	return n
}

// countLogLines counts the lines of the server's log that hold substr.
func (s *server) countLogLines(substr string) int {
	n := 0
	s.eachLogLine(func(line string) {
		if strings.Contains(line, substr) {
			n++
		}
	})
	return n
}

// errorLines returns the server log lines at level ERROR logged before
// until (the servers' shutdown is not the benchmark's business).
func (c *cluster) errorLines(until time.Time) []string {
	var out []string
	for _, s := range c.servers {
		s.eachLogLine(func(line string) {
			if !strings.Contains(line, "[ERROR]") {
				return
			}
			if at, ok := logTime(line); ok && at.After(until) {
				return
			}
			out = append(out, s.name+": "+line)
		})
	}
	return out
}

// establishedAfter returns when the server's log says it established its
// leadership, the first time after t0. The log's own clock tells it: a
// request that asks the server is answered only once the server reaches
// it among thousands of agents registering, and the benchmark's own
// goroutines wait among the thousands of its simulated agents.
func (s *server) establishedAfter(t0 time.Time) (time.Time, bool) {
	var at time.Time
	s.eachLogLine(func(line string) {
		if !at.IsZero() || !strings.Contains(line, "established leadership") {
			return
		}
		if ts, ok := logTime(line); ok && !ts.Before(t0) {
			at = ts
		}
	})
	return at, !at.IsZero()
}

// eachLogLine calls fn with every line of the server's log.
func (s *server) eachLogLine(fn func(line string)) {
	f, err := os.Open(s.logPath)
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		fn(sc.Text())
	}
}

// logTime reads the timestamp that starts a server's log line.
func logTime(line string) (time.Time, bool) {
	ts, _, _ := strings.Cut(line, " ")
	at, err := time.Parse(logTimeLayout, ts)
	return at, err == nil
}

// logTimeLayout is the timestamp that starts a server's log line.
const logTimeLayout = "2006-01-02T15:04:05.000Z0700"

// procMemory is a process's resident memory, from /proc/<pid>/status.
type procMemory struct {
	RSS  int64 // VmRSS
	File int64 // RssFile: its binary's pages, and those of the raft log that the log store maps
	Peak int64 // VmHWM: the highest RSS since it started
}

// readProcMemory reads a process's resident memory from /proc. VmRSS is
// required; File and Peak stay 0 where the kernel does not give them.
func readProcMemory(pid int) (procMemory, error) {
	var m procMemory
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return m, err
	}
	if m.RSS, err = parseStatusBytes(string(b), "VmRSS"); err != nil {
		return m, err
	}
	m.File, _ = parseStatusBytes(string(b), "RssFile")
	m.Peak, _ = parseStatusBytes(string(b), "VmHWM")
	return m, nil
}

// liveHeapBytes asks a server started with -enable-debug for its live
// heap: Go's HeapAlloc right after a forced garbage collection, what the
// process really holds (its RSS also counts garbage not collected yet and
// free memory the runtime has not returned to the system).
func liveHeapBytes(ctx context.Context, addr string) (int64, error) {
	profile, err := debugProfile(ctx, addr, "heap?debug=1&gc=1", 64<<20)
	if err != nil {
		return 0, err
	}
	return parseHeapAlloc(profile)
}

// goroutines asks a server started with -enable-debug how many
// goroutines it runs (the first line of its goroutine profile).
func goroutines(ctx context.Context, addr string) (int64, error) {
	profile, err := debugProfile(ctx, addr, "goroutine?debug=1", 4096)
	if err != nil {
		return 0, err
	}
	line, _, _ := strings.Cut(profile, "\n")
	return parseGoroutineTotal(line)
}

// debugProfile reads at most limit bytes of the text profile
// /debug/pprof/<path> of a server started with -enable-debug.
func debugProfile(ctx context.Context, addr, path string, limit int64) (string, error) {
	return getText(ctx, addr, "/debug/pprof/"+path, limit)
}

// getText reads at most limit bytes of what a server answers a GET of
// path with; anything but 200 is an error.
func getText(ctx context.Context, addr, path string, limit int64) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+path, nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s of %s: %s", path, addr, resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit))
	if err != nil {
		return "", fmt.Errorf("%s of %s: %w", path, addr, err)
	}
	return string(b), nil
}

// keepHeapProfile writes the leader's heap profile into the run's
// directory, for `go tool pprof`; without -dir there is nowhere to keep it.
func (b *bench) keepHeapProfile(ctx context.Context, addr, name string) {
	if b.cfg.Dir == "" {
		return
	}
	profile, err := debugProfile(ctx, addr, "heap", 256<<20)
	if err == nil {
		err = os.WriteFile(filepath.Join(b.cfg.Dir, name), []byte(profile), 0o644)
	}
	if err != nil {
		b.log.Warn("heap profile not kept", "error", err)
	}
}

// parseGoroutineTotal reads "goroutine profile: total N".
func parseGoroutineTotal(line string) (int64, error) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(line), "goroutine profile: total ")
	if !ok {
		return 0, fmt.Errorf("unexpected goroutine profile line %q", line)
	}
	n, err := strconv.ParseInt(rest, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("unexpected goroutine profile line %q", line)
	}
	return n, nil
}

// gcPercent reads a server's GC target from its /metrics.
func gcPercent(ctx context.Context, addr string) (int64, error) {
	text, err := getText(ctx, addr, "/metrics", 16<<20)
	if err != nil {
		return 0, err
	}
	return parseGCPercent(text)
}

// parseGCPercent finds the sample of go_gc_gogc_percent in a Prometheus
// text exposition.
func parseGCPercent(text string) (int64, error) {
	for _, line := range strings.Split(text, "\n") {
		if rest, ok := strings.CutPrefix(line, "go_gc_gogc_percent "); ok {
			n, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			if err != nil || !(n >= 0 && n <= 1e9) {
				return 0, fmt.Errorf("unexpected go_gc_gogc_percent line %q", line)
			}
			return int64(n), nil
		}
	}
	return 0, errors.New("no go_gc_gogc_percent in /metrics")
}

// parseHeapAlloc finds "# HeapAlloc = N" in a text heap profile.
func parseHeapAlloc(profile string) (int64, error) {
	for _, line := range strings.Split(profile, "\n") {
		if rest, ok := strings.CutPrefix(line, "# HeapAlloc = "); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(rest), 10, 64)
			if err != nil || n < 0 {
				return 0, fmt.Errorf("unexpected HeapAlloc line %q", line)
			}
			return n, nil
		}
	}
	return 0, errors.New("no HeapAlloc in the heap profile")
}

// parseStatusBytes finds field (such as VmRSS) in the text of
// /proc/<pid>/status and returns it in bytes.
func parseStatusBytes(status, field string) (int64, error) {
	for _, line := range strings.Split(status, "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			f := strings.Fields(rest)
			if len(f) != 2 || f[1] != "kB" {
				return 0, fmt.Errorf("unexpected %s line %q", field, line)
			}
			kb, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil || kb < 0 || kb > 1<<40 {
				return 0, fmt.Errorf("unexpected %s line %q", field, line)
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("no %s in /proc status", field)
}

// loadAverage returns the 1-minute load average of the machine, -1 if
// unknown.
func loadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return -1
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return -1
	}
	return v
}

// pause waits d, or less when ctx ends first (then it returns ctx's error).
func pause(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
