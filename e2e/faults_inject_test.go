package e2e

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// fleet starts the suite's mesh processes, each with its output in a log
// file of its own, and remembers every one of them.
type fleet struct {
	t      testing.TB
	logDir string

	mu    sync.Mutex
	n     int
	procs []*proc
	logs  map[*proc]string
}

func newFleet(t testing.TB, logDir string) *fleet {
	return &fleet{t: t, logDir: logDir, logs: map[*proc]string{}}
}

// start runs mesh with args in its own process group; name names its log.
func (f *fleet) start(name string, args ...string) *proc {
	f.t.Helper()
	f.mu.Lock()
	f.n++
	path := filepath.Join(f.logDir, fmt.Sprintf("%04d-%s.log", f.n, name))
	f.mu.Unlock()
	file, err := os.Create(path)
	if err != nil {
		f.t.Fatal(err)
	}
	p := &proc{cmd: exec.Command(meshBin, args...), out: &syncBuffer{}, done: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = file, file
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		file.Close()
		f.t.Fatalf("start mesh %v: %v", args, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		file.Close()
		close(p.done)
	}()
	f.mu.Lock()
	f.procs = append(f.procs, p)
	f.logs[p] = path
	f.mu.Unlock()
	return p
}

// logOf returns the path of p's log.
func (f *fleet) logOf(p *proc) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.logs[p]
}

// logFiles lists every log, in the order the processes started.
func (f *fleet) logFiles() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, p := range f.procs {
		out = append(out, f.logs[p])
	}
	return out
}

// stop sends SIGCONT and SIGTERM to p and waits up to grace, then kills
// its process group.
func (f *fleet) stop(p *proc, grace time.Duration) {
	if p.exited() {
		return
	}
	p.cmd.Process.Signal(syscall.SIGCONT)
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		f.t.Errorf("mesh %s did not stop within %s of SIGTERM; killing it", strings.Join(p.cmd.Args[1:3], " "), grace)
		syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
}

// killAll kills every process still running: the last resort when a run
// ends early.
func (f *fleet) killAll() {
	f.mu.Lock()
	procs := append([]*proc(nil), f.procs...)
	f.mu.Unlock()
	for _, p := range procs {
		if !p.exited() {
			p.cmd.Process.Signal(syscall.SIGCONT)
			syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
			<-p.done
		}
	}
}

// faultKind is one kind of fault the suite injects.
type faultKind int

const (
	faultKillLeader faultKind = iota
	faultKillFollower
	faultKillAgent
	faultStopLeader
	numFaultKinds
)

var faultKindNames = [numFaultKinds]string{"kill-leader", "kill-follower", "kill-agent", "stop-leader"}

func (k faultKind) String() string { return faultKindNames[k] }

// defaultFaultMix weighs the fault kinds as the runs did: each
// target kind about as often.
const defaultFaultMix = "kill-leader=1,kill-follower=1,kill-agent=1,stop-leader=1"

// parseFaultMix reads "kind=weight,..." (kinds not named weigh 0); at least
// one weight must be positive.
func parseFaultMix(s string) ([numFaultKinds]int, error) {
	var mix [numFaultKinds]int
	total := 0
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, w, ok := strings.Cut(part, "=")
		if !ok {
			return mix, fmt.Errorf("%q: want kind=weight", part)
		}
		k := -1
		for i, n := range faultKindNames {
			if n == strings.TrimSpace(name) {
				k = i
			}
		}
		if k < 0 {
			return mix, fmt.Errorf("unknown fault kind %q: want one of %s", name, strings.Join(faultKindNames[:], ", "))
		}
		n, err := strconv.Atoi(strings.TrimSpace(w))
		if err != nil || n < 0 || n > 1000 {
			return mix, fmt.Errorf("weight %q of %s: want an integer from 0 to 1000", w, name)
		}
		mix[k] = n
		total += n
	}
	if total == 0 {
		return mix, fmt.Errorf("%q: no fault kind has a positive weight", s)
	}
	return mix, nil
}

// plannedFault is one step of the schedule.
type plannedFault struct {
	kind faultKind
	gap  time.Duration // wait before the fault
	down time.Duration // how long the target stays killed or stopped
	pick int           // which follower or agent
}

// planFaults draws the schedule from seed: the same seed, flags and mix
// give the same sequence of kinds, gaps, down times and picks.
func planFaults(seed uint64, n int, gapMin, gapMax time.Duration, mix [numFaultKinds]int) []plannedFault {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	total := 0
	for _, w := range mix {
		total += w
	}
	plan := make([]plannedFault, 0, n)
	for range n {
		x := rng.IntN(total)
		k := faultKind(0)
		for x >= mix[k] {
			x -= mix[k]
			k++
		}
		f := plannedFault{kind: k, pick: rng.IntN(1 << 16)}
		f.gap = gapMin + time.Duration(rng.Int64N(int64(gapMax-gapMin)+1))
		f.down = time.Second + time.Duration(rng.Int64N(int64(2*time.Second)+1))
		if k == faultStopLeader {
			f.down = 2 * time.Second
		}
		plan = append(plan, f)
	}
	return plan
}

// faultRecord is what happened when a planned fault was applied.
type faultRecord struct {
	kind   faultKind
	target string
	at     time.Time
	// elected is how long after a leader's kill another server was the
	// established leader (0 if not measured).
	elected time.Duration
	note    string
}

// inject applies the plan in order until enough reports that enough
// faults were injected; before each fault, a process that died on its own
// is restarted (and reported).
func (s *faultSuite) inject(plan []plannedFault, enough func(done int) bool) []faultRecord {
	var recs []faultRecord
	for i, pf := range plan {
		if enough(i) {
			break
		}
		time.Sleep(pf.gap) // the schedule's own spacing, not a wait for an event
		for _, note := range s.restartDead() {
			recs = append(recs, faultRecord{kind: -1, target: note, at: time.Now(), note: "exited on its own"})
		}
		rec := s.applyFault(pf)
		s.t.Logf("fault %d: %s %s %s", i+1, rec.kind, rec.target, rec.note)
		recs = append(recs, rec)
	}
	for _, note := range s.restartDead() {
		recs = append(recs, faultRecord{kind: -1, target: note, at: time.Now(), note: "exited on its own"})
	}
	return recs
}

// restartDead restarts every server or agent whose process has ended and
// names them.
func (s *faultSuite) restartDead() []string {
	var names []string
	for _, srv := range s.cluster.servers {
		if srv.p.exited() {
			names = append(names, srv.name)
			srv.p = s.fleet.start(srv.name, srv.args...)
		}
	}
	for _, a := range s.agents {
		if a.p.exited() {
			names = append(names, a.name)
			a.p = s.fleet.start(a.name, a.args...)
		}
	}
	return names
}

// leader waits (bounded) for an established leader.
func (s *faultSuite) leader(timeout time.Duration) *testServer {
	deadline := time.Now().Add(timeout)
	for {
		for _, srv := range s.cluster.servers {
			var h health
			if srv.running() && getJSONWithin(srv.httpAddr, "/health", &h, 2*time.Second) == nil && h.IsLeader {
				return srv
			}
		}
		if time.Now().After(deadline) {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// applyFault injects one fault and restores its target.
func (s *faultSuite) applyFault(pf plannedFault) faultRecord {
	rec := faultRecord{kind: pf.kind, at: time.Now()}
	if pf.kind == faultKillAgent {
		a := s.agents[pf.pick%len(s.agents)]
		rec.target = a.name
		a.p.kill(s.t)
		time.Sleep(pf.down)
		a.p = s.fleet.start(a.name, a.args...)
		return rec
	}
	l := s.leader(30 * time.Second)
	if l == nil {
		rec.note = "no established leader within 30s; fault skipped"
		return rec
	}
	switch pf.kind {
	case faultKillLeader:
		rec.target = l.name
		l.p.kill(s.t)
		killed := time.Now()
		if nl := s.leader(30 * time.Second); nl != nil {
			rec.elected = time.Since(killed)
			rec.note = fmt.Sprintf("new leader %s after %s", nl.name, rec.elected.Round(time.Millisecond))
		} else {
			rec.note = "no new leader within 30s"
		}
		if rest := pf.down - time.Since(killed); rest > 0 {
			time.Sleep(rest)
		}
		l.p = s.fleet.start(l.name, l.args...)
	case faultKillFollower:
		fs := s.cluster.others(l)
		sort.Slice(fs, func(i, j int) bool { return fs[i].name < fs[j].name })
		f := fs[pf.pick%len(fs)]
		rec.target = f.name
		f.p.kill(s.t)
		time.Sleep(pf.down)
		f.p = s.fleet.start(f.name, f.args...)
	case faultStopLeader:
		rec.target = l.name
		pid := l.p.cmd.Process.Pid
		syscall.Kill(pid, syscall.SIGSTOP)
		time.Sleep(pf.down)
		syscall.Kill(pid, syscall.SIGCONT)
	}
	return rec
}

// TestFaults_PlanIsFixedBySeed: the same seed gives the same schedule, and
// every kind the mix weighs is drawn.
func TestFaults_PlanIsFixedBySeed(t *testing.T) {
	mix, err := parseFaultMix(defaultFaultMix)
	if err != nil {
		t.Fatal(err)
	}
	a := planFaults(42, 200, time.Second, 3*time.Second, mix)
	b := planFaults(42, 200, time.Second, 3*time.Second, mix)
	c := planFaults(43, 200, time.Second, 3*time.Second, mix)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two plans from seed 42 differ")
	}
	if reflect.DeepEqual(a, c) {
		t.Fatal("seeds 42 and 43 gave the same plan")
	}
	var seen [numFaultKinds]int
	for _, f := range a {
		seen[f.kind]++
		if f.gap < time.Second || f.gap > 3*time.Second || f.down < time.Second || f.down > 3*time.Second {
			t.Fatalf("fault %+v outside its bounds", f)
		}
	}
	for k, n := range seen {
		if n == 0 {
			t.Errorf("no %s in 200 faults", faultKind(k))
		}
	}
	only, err := parseFaultMix("kill-agent=3")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range planFaults(1, 50, time.Second, time.Second, only) {
		if f.kind != faultKillAgent {
			t.Fatalf("mix kill-agent=3 drew %s", f.kind)
		}
	}
}

// TestFaults_MixRejectsBadInput: a mix that names no known kind or gives a
// bad weight is refused with a message that says what was wrong.
func TestFaults_MixRejectsBadInput(t *testing.T) {
	for in, want := range map[string]string{
		"":                 "no fault kind has a positive weight",
		"kill-leader=0":    "no fault kind has a positive weight",
		"kill-leader":      "want kind=weight",
		"kill-server=1":    "unknown fault kind",
		"kill-leader=-1":   "want an integer from 0 to 1000",
		"kill-leader=many": "want an integer from 0 to 1000",
	} {
		if _, err := parseFaultMix(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("parseFaultMix(%q) = %v, want an error saying %q", in, err, want)
		}
	}
}

// FuzzParseFaultMix: any input is either refused or gives a mix with a
// positive total that planFaults can draw from.
func FuzzParseFaultMix(f *testing.F) {
	for _, s := range []string{defaultFaultMix, "kill-agent=3", "stop-leader=1,,", "x=1", "kill-leader=1000,kill-follower=0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		mix, err := parseFaultMix(s)
		if err != nil {
			return
		}
		for _, pf := range planFaults(7, 20, time.Millisecond, 2*time.Millisecond, mix) {
			if mix[pf.kind] == 0 {
				t.Fatalf("mix %q drew %s, which weighs 0", s, pf.kind)
			}
		}
	})
}
