package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"mesh/procstat"
)

// execRun is one `mesh execute` run of the workload.
type execRun struct {
	name      string
	instances int
	p         *proc
	log       string // its stdout and stderr
	exitCode  int
	hung      bool // still running at the settle deadline, then stopped
	// atDeadline is what a hung run had printed when it was declared
	// hung, before it was stopped.
	atDeadline string
}

// faultReport is what the checker found.
type faultReport struct {
	seed      uint64
	faults    [numFaultKinds]int
	elections []time.Duration
	runs      int
	tasks     int
	launched  int
	ends      map[string]int // the last state each framework printed, by state
	// Evidence, one line per finding, by column.
	lost, doubled, divergent, hung, gaveUp, panics, leaked []string
	// notes are things seen that are no column of their own: processes
	// that exited on their own, a cleanup that failed.
	notes []string
}

// terminalStates are the states after which a task never changes again.
var terminalStates = map[string]bool{
	"TASK_FINISHED": true, "TASK_FAILED": true, "TASK_KILLED": true, "TASK_LOST": true,
	"TASK_ERROR": true, "TASK_DROPPED": true, "TASK_GONE": true, "TASK_GONE_BY_OPERATOR": true,
}

var (
	launchLine = regexp.MustCompile(`launching tasks: task_ids="?([^"\s]+)`)
	errorLine  = regexp.MustCompile(`(?m)^mesh: execute: .*$`)
	panicLine  = regexp.MustCompile(`(?m)^(panic: |fatal error: |goroutine \d+ \[).*$`)
)

// check runs every check once the workload has ended: the servers'
// states, each run's view against them, run directories and markers, then
// stops the cluster and looks for panics and processes left behind.
func (s *faultSuite) check(runs []*execRun, recs []faultRecord) *faultReport {
	rep := &faultReport{ends: map[string]int{}, runs: len(runs)}
	for _, r := range recs {
		switch {
		case r.kind < 0:
			rep.notes = append(rep.notes, fmt.Sprintf("%s exited on its own before %s; restarted", r.target, r.at.Format("15:04:05.000")))
		case r.target == "":
			rep.notes = append(rep.notes, fmt.Sprintf("%s at %s: %s", r.kind, r.at.Format("15:04:05.000"), r.note))
		default:
			rep.faults[r.kind]++
			if r.elected > 0 {
				rep.elections = append(rep.elections, r.elected)
			}
		}
	}
	st, diverged := s.converged(90 * time.Second)
	rep.divergent = append(rep.divergent, diverged...)
	execs := s.executions()
	for _, r := range runs {
		rep.checkRun(r, st)
	}
	for id, e := range execs {
		if len(e.runDirs) > 1 || e.markers > 1 {
			rep.doubled = append(rep.doubled, fmt.Sprintf("task %s: %d run directories, %d executions: %s", id, len(e.runDirs), e.markers, strings.Join(e.runDirs, " ")))
		}
	}
	s.stopAll(rep)
	rep.panics = s.findPanics()
	rep.leaked = killLeaked(s.dir)
	sort.Strings(rep.doubled)
	return rep
}

// checkRun checks one run: every task it launched ended, as far as it
// printed, in the state the servers hold; it neither hung nor gave up.
func (rep *faultReport) checkRun(r *execRun, st fullState) {
	rep.tasks += r.instances
	b, err := os.ReadFile(r.log)
	if err != nil {
		rep.lost = append(rep.lost, fmt.Sprintf("run %s: no output: %v", r.name, err))
		return
	}
	out := string(b)
	printed := taskStates(out)
	if r.hung {
		// Ends printed only because the suite stopped the run do not
		// count as seen.
		printed = taskStates(r.atDeadline)
	}
	launched := map[string]bool{}
	for _, m := range launchLine.FindAllStringSubmatch(out, -1) {
		for _, id := range strings.Split(m[1], ",") {
			launched[id] = true
		}
	}
	for id := range printed {
		launched[id] = true
	}
	stateOf := map[string]string{}
	fws := st.frameworks(r.name)
	if len(fws) > 1 {
		rep.divergent = append(rep.divergent, fmt.Sprintf("run %s: /state holds %d frameworks of that name", r.name, len(fws)))
	}
	for _, fw := range fws {
		for _, tk := range fw.allTasks() {
			stateOf[tk.ID] = tk.State
			launched[tk.ID] = true
		}
	}
	rep.launched += len(launched)
	for id := range launched {
		last := ""
		if p := printed[id]; len(p) > 0 {
			last = p[len(p)-1]
		}
		if last != "" {
			rep.ends[last]++
		}
		sst, known := stateOf[id]
		switch {
		case !terminalStates[last]:
			rep.lost = append(rep.lost, fmt.Sprintf("task %s: the framework printed %v, never an end; /state: %q; run exit code %d, hung %v", id, printed[id], sst, r.exitCode, r.hung))
		case known && sst != last:
			rep.divergent = append(rep.divergent, fmt.Sprintf("task %s: the framework's last state is %s, /state says %s", id, last, sst))
		case !known && (last == "TASK_FINISHED" || last == "TASK_FAILED" || last == "TASK_KILLED"):
			rep.divergent = append(rep.divergent, fmt.Sprintf("task %s: the framework saw it end %s, /state does not know it", id, last))
		}
	}
	if r.hung {
		rep.hung = append(rep.hung, fmt.Sprintf("run %s: still running at the settle deadline, %d of %d tasks ended as it printed; log %s", r.name, countEnded(printed), r.instances, r.log))
	} else if r.exitCode != 0 && !strings.Contains(out, "not every task finished") {
		rep.gaveUp = append(rep.gaveUp, fmt.Sprintf("run %s exited %d: %s", r.name, r.exitCode, errorLine.FindString(out)))
	}
}

// countEnded counts the tasks whose last printed state is terminal.
func countEnded(printed map[string][]string) int {
	n := 0
	for _, p := range printed {
		if terminalStates[p[len(p)-1]] {
			n++
		}
	}
	return n
}

// getJSONWithin is getJSON bounded by timeout: a stopped server does not
// hold the suite up.
func getJSONWithin(addr, path string, v any, timeout time.Duration) error {
	c := http.Client{Timeout: timeout}
	resp, err := c.Get("http://" + addr + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// converged waits (bounded) until the three servers answer the same
// frameworks, tasks and agents, and returns that state; if they never do,
// the leader's state and one line per task they disagree on.
func (s *faultSuite) converged(timeout time.Duration) (fullState, []string) {
	var states []fullState
	deadline := time.Now().Add(timeout)
	for {
		states = states[:0]
		for _, srv := range s.cluster.servers {
			var st fullState
			if err := getJSONWithin(srv.httpAddr, "/state", &st, 10*time.Second); err != nil || st.Leader == "" {
				break
			}
			states = append(states, st.normalize())
		}
		same := len(states) == len(s.cluster.servers)
		for i := 1; same && i < len(states); i++ {
			same = reflect.DeepEqual(states[0], states[i])
		}
		if same {
			return states[0], nil
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if len(states) < len(s.cluster.servers) {
		return fullState{}, []string{fmt.Sprintf("only %d servers answered /state within %s", len(states), timeout)}
	}
	return states[0], stateDiff(states, s.cluster.servers)
}

// stateDiff lists the tasks whose state differs between servers.
func stateDiff(states []fullState, servers []*testServer) []string {
	all := map[string][]string{}
	for i, st := range states {
		for _, fw := range append(append([]stateFramew(nil), st.Frameworks...), st.CompletedFrameworks...) {
			for _, tk := range fw.allTasks() {
				if all[tk.ID] == nil {
					all[tk.ID] = make([]string, len(states))
				}
				all[tk.ID][i] = tk.State
			}
		}
	}
	var out []string
	for id, ss := range all {
		for _, x := range ss[1:] {
			if x != ss[0] {
				var parts []string
				for i, x := range ss {
					parts = append(parts, servers[i].name+"="+x)
				}
				out = append(out, fmt.Sprintf("task %s: servers disagree: %s", id, strings.Join(parts, " ")))
				break
			}
		}
	}
	sort.Strings(out)
	if len(out) == 0 {
		out = append(out, "servers disagree on frameworks or agents (not on tasks)")
	}
	return out
}

// execution is what the agents' work dirs hold of one task.
type execution struct {
	runDirs []string
	markers int
}

// executions reads every run directory of every agent: how many each
// task has, and how often it ran (lines in its marker).
func (s *faultSuite) executions() map[string]*execution {
	out := map[string]*execution{}
	for _, a := range s.agents {
		dirs, _ := filepath.Glob(filepath.Join(a.workDir, "frameworks", "*", "executors", "*", "runs", "*"))
		for _, d := range dirs {
			fi, err := os.Lstat(d)
			if err != nil || !fi.IsDir() || strings.HasPrefix(filepath.Base(d), ".") {
				continue // runs/latest is a symlink
			}
			id := filepath.Base(filepath.Dir(filepath.Dir(d)))
			e := out[id]
			if e == nil {
				e = &execution{}
				out[id] = e
			}
			e.runDirs = append(e.runDirs, a.name+":"+filepath.Base(d))
			if b, err := os.ReadFile(filepath.Join(d, faultMarker)); err == nil {
				e.markers += strings.Count(string(b), "ran\n")
			}
		}
	}
	return out
}

// stopAll stops the agents, runs `mesh agent -recover cleanup` on each
// work dir (it kills the executors a stopped agent leaves running), then
// stops the servers.
func (s *faultSuite) stopAll(rep *faultReport) {
	for _, a := range s.agents {
		s.fleet.stop(a.p, 30*time.Second)
	}
	for _, a := range s.agents {
		p := s.fleet.start("cleanup-"+a.name, "agent", "-recover", "cleanup", "-work-dir", a.workDir)
		select {
		case <-p.done:
		case <-time.After(2 * time.Minute):
			rep.notes = append(rep.notes, fmt.Sprintf("mesh agent -recover cleanup on %s did not end within 2m", a.name))
			s.fleet.stop(p, 10*time.Second)
		}
		if code := p.cmd.ProcessState.ExitCode(); code != 0 {
			b, _ := os.ReadFile(s.fleet.logOf(p))
			rep.notes = append(rep.notes, fmt.Sprintf("mesh agent -recover cleanup on %s exited %d: %s", a.name, code, lastLine(string(b))))
		}
	}
	for _, srv := range s.cluster.servers {
		s.fleet.stop(srv.p, 30*time.Second)
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// findPanics looks for a panic or a goroutine dump in the output of every
// mesh process: the suite's logs and the executors' files in the
// sandboxes.
func (s *faultSuite) findPanics() []string {
	files := s.fleet.logFiles()
	for _, a := range s.agents {
		for _, pat := range []string{"*", ".mesh/*"} {
			m, _ := filepath.Glob(filepath.Join(a.workDir, "frameworks", "*", "executors", "*", "runs", "*", pat))
			files = append(files, m...)
		}
	}
	var out []string
	for _, f := range files {
		fi, err := os.Lstat(f)
		if err != nil || !fi.Mode().IsRegular() || fi.Size() > 16<<20 || filepath.Base(f) == faultMarker {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if m := panicLine.FindString(string(b)); m != "" {
			out = append(out, fmt.Sprintf("%s: %s", f, m))
		}
	}
	return out
}

// killLeaked finds the processes, other than this test and its
// ancestors, whose command line, environment or working directory points
// into dir, once everything the suite started has stopped: executors or
// tasks that outlived their agents and the cleanup. It kills them and
// describes them.
func killLeaked(dir string) []string {
	skip := map[int]bool{}
	for pid := os.Getpid(); pid > 1 && !skip[pid]; pid = parentOf(pid) {
		skip[pid] = true
	}
	ents, _ := os.ReadDir("/proc")
	var out []string
	for _, e := range ents {
		var pid int
		if _, err := fmt.Sscanf(e.Name(), "%d", &pid); err != nil || skip[pid] {
			continue
		}
		base := filepath.Join("/proc", e.Name())
		cmdline, _ := os.ReadFile(filepath.Join(base, "cmdline"))
		environ, _ := os.ReadFile(filepath.Join(base, "environ"))
		cwd, _ := os.Readlink(filepath.Join(base, "cwd"))
		if !strings.Contains(string(cmdline), dir) && !strings.Contains(string(environ), dir) && !strings.HasPrefix(cwd, dir) {
			continue
		}
		out = append(out, fmt.Sprintf("pid %d (%s) cwd %s", pid, strings.ReplaceAll(strings.TrimRight(string(cmdline), "\x00"), "\x00", " "), cwd))
		_ = killPid(pid)
	}
	return out
}

// parentOf returns a process's parent pid, 0 if unknown.
func parentOf(pid int) int {
	f, err := procstat.Read(pid) // state ppid ...
	if err != nil || len(f) < 2 {
		return 0
	}
	ppid, err := strconv.Atoi(string(f[1]))
	if err != nil {
		return 0
	}
	return ppid
}

// table prints the results: faults by kind, tasks, and each failure column.
func (rep *faultReport) table() string {
	var b strings.Builder
	total := 0
	var kinds []string
	for k, n := range rep.faults {
		total += n
		kinds = append(kinds, fmt.Sprintf("%s %d", faultKind(k), n))
	}
	fmt.Fprintf(&b, "seed %d\nfaults %d: %s\n", rep.seed, total, strings.Join(kinds, ", "))
	if n := len(rep.elections); n > 0 {
		e := append([]time.Duration(nil), rep.elections...)
		sort.Slice(e, func(i, j int) bool { return e[i] < e[j] })
		fmt.Fprintf(&b, "new leader after a leader kill: n=%d p50 %s max %s\n", n, e[n/2].Round(time.Millisecond), e[n-1].Round(time.Millisecond))
	}
	var ends []string
	for s, n := range rep.ends {
		ends = append(ends, fmt.Sprintf("%s %d", strings.TrimPrefix(s, "TASK_"), n))
	}
	sort.Strings(ends)
	fmt.Fprintf(&b, "runs %d, tasks %d, launched %d; last state printed: %s\n", rep.runs, rep.tasks, rep.launched, strings.Join(ends, ", "))
	fmt.Fprintf(&b, "%-6s %-8s %-10s %-5s %-8s %-7s %-7s\n", "lost", "doubled", "divergent", "hung", "gave-up", "panics", "leaked")
	fmt.Fprintf(&b, "%-6d %-8d %-10d %-5d %-8d %-7d %-7d\n", len(rep.lost), len(rep.doubled), len(rep.divergent), len(rep.hung), len(rep.gaveUp), len(rep.panics), len(rep.leaked))
	for _, n := range rep.notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	return b.String()
}

// columns names each failure column with its evidence.
func (rep *faultReport) columns() []struct {
	name string
	ev   []string
} {
	return []struct {
		name string
		ev   []string
	}{{"lost", rep.lost}, {"doubled", rep.doubled}, {"divergent", rep.divergent}, {"hung", rep.hung},
		{"gave-up", rep.gaveUp}, {"panics", rep.panics}, {"leaked", rep.leaked}}
}

// evidenceText is every finding, column by column.
func (rep *faultReport) evidenceText() string {
	var b strings.Builder
	for _, c := range rep.columns() {
		sort.Strings(c.ev)
		for _, e := range c.ev {
			fmt.Fprintf(&b, "%s: %s\n", c.name, e)
		}
	}
	return b.String()
}

// assertZero fails the test for every non-empty column, with up to 20
// findings of each.
func (rep *faultReport) assertZero(t *testing.T) {
	t.Helper()
	for _, c := range rep.columns() {
		if len(c.ev) == 0 {
			continue
		}
		sort.Strings(c.ev)
		shown := c.ev[:min(len(c.ev), 20)]
		t.Errorf("%d %s (want 0):\n%s", len(c.ev), c.name, strings.Join(shown, "\n"))
	}
}

// killPid kills one leaked process.
func killPid(pid int) error { return syscall.Kill(pid, syscall.SIGKILL) }
