package allocator

import (
	"fmt"
	"math"
	"testing"
	"time"

	"mesh/mesos"
)

// task is the shape of every task a test framework launches.
type task struct{ cpus, mem float64 }

// launch has each framework launch, on each of its offers, as many tasks
// as fit (at most max, 0 for no limit) and decline the rest without a
// filter; an offer where no task fits is declined with a long filter, so
// that it goes to someone else. It returns how many tasks each launched,
// -1 for one offered what it could not use.
func launch(m *model, round []Allocation, shapes map[string]task, max int) map[string]int {
	launched := map[string]int{}
	for _, o := range round {
		s := shapes[o.FrameworkID]
		n := int(math.Min(math.Floor(o.Resources.Scalar("cpus")/s.cpus+1e-9), math.Floor(o.Resources.Scalar("mem")/s.mem+1e-9)))
		if max > 0 {
			n = min(n, max)
		}
		if n <= 0 {
			m.recover(o.FrameworkID, o.AgentID, o.Resources, time.Hour)
			launched[o.FrameworkID] = -1
			continue
		}
		keep := mesos.Resources{
			mesos.ScalarResource("cpus", float64(n)*s.cpus),
			mesos.ScalarResource("mem", float64(n)*s.mem),
		}.Allocate(o.Role)
		if rest := o.Resources.Subtract(keep...); !rest.IsEmpty() {
			m.recover(o.FrameworkID, o.AgentID, rest, 0)
		}
		if launched[o.FrameworkID] >= 0 {
			launched[o.FrameworkID] += n
		}
	}
	return launched
}

// share is a dominant share of the cluster.
func (m *model) share(rs mesos.Resources) float64 {
	return scalarsOf(rs).share(m.clusterVec())
}

// fillWhileBothGrow runs passes in which the frameworks launch tasks of
// their shape and returns each one's dominant share (through shareOf)
// after the last pass before one of them was offered what it could not
// use: the point up to which every one can still grow, and DRF keeps
// them equal. On one agent a framework launches one task per offer, so
// shares move a task at a time; on several, as many as fit, since an
// offer counts whole in the order of the rest of its pass. It returns
// the tolerance that granularity allows besides one task: nothing on one
// agent, one agent's dominant share on several.
func fillWhileBothGrow(t *testing.T, m *model, shapes map[string]task, shareOf func(fw string) float64) (map[string]float64, float64) {
	t.Helper()
	perOffer, slack := 1, 0.0
	if len(m.total) > 1 {
		perOffer, slack = 0, 1/float64(len(m.total))
	}
	var last map[string]float64
	for range 2000 {
		for _, n := range launch(m, m.pass(), shapes, perOffer) {
			if n < 0 {
				if last == nil {
					t.Fatal("the first pass offered a framework what it could not use")
				}
				return last, slack
			}
		}
		last = map[string]float64{}
		for fw := range shapes {
			last[fw] = shareOf(fw)
		}
	}
	t.Fatal("2000 passes and every framework can still grow")
	return nil, 0
}

// randomShapes returns a cpu-bound and a memory-bound task shape, each
// small against a 4-cpu, 4 GB agent and dividing it exactly in its
// dominant resource, so that no share is lost to leftovers.
func randomShapes(m *model) (cpuBound, memBound task) {
	pick := func(xs ...float64) float64 { return xs[m.rnd.IntN(len(xs))] }
	cpuBound = task{cpus: pick(0.1, 0.2, 0.25, 0.5), mem: pick(8, 16, 32, 64)}
	memBound = task{cpus: pick(0.01, 0.02, 0.04, 0.05), mem: pick(128, 256, 512, 1024)}
	return cpuBound, memBound
}

// taskShare is the larger dominant share of one task of either shape.
func (m *model) taskShare(shapes ...task) float64 {
	var s float64
	for _, sh := range shapes {
		s = max(s, m.share(agentRes(sh.cpus, sh.mem)))
	}
	return s
}

// TestSuite_DRF_DifferentDominantResourcesConvergeToEqualShares: a
// framework whose tasks need cpus and one whose tasks need memory, each
// launching a task per offer, hold equal dominant shares (within one
// task) for as long as both can still grow. DRF's own property.
func TestSuite_DRF_DifferentDominantResourcesConvergeToEqualShares(t *testing.T) {
	for seed := range uint64(suiteRounds) {
		m := newModel(t, "drf", seed)
		cpuBound, memBound := randomShapes(m)
		shapes := map[string]task{"fa": cpuBound, "fb": memBound}
		m.addFramework("fa", "web")
		m.addFramework("fb", "web")
		for i := range 1 + m.rnd.IntN(6) {
			m.addAgent(fmt.Sprintf("a%d", i), agentRes(4, 4096))
		}
		shares, slack := fillWhileBothGrow(t, m, shapes, func(fw string) float64 { return m.share(m.holds(fw)) })
		if d, tol := math.Abs(shares["fa"]-shares["fb"]), m.taskShare(cpuBound, memBound)+slack; d > tol+1e-9 {
			t.Fatalf("seed %d: %d agents, dominant shares %v differ by %v, more than %v", seed, len(m.total), shares, d, tol)
		}
	}
}

// TestSuite_DRF_WeightsScaleShares: roles of weights w1 and w2 hold
// dominant shares in the ratio w1:w2 (share/weight equal within one
// task). DRF's own property.
func TestSuite_DRF_WeightsScaleShares(t *testing.T) {
	for seed := range uint64(suiteRounds) {
		m := newModel(t, "drf", seed)
		w := map[string]float64{"r1": float64(1 + m.rnd.IntN(3)), "r2": float64(1+m.rnd.IntN(4)) / 2}
		m.a.SetWeight("r1", w["r1"])
		m.a.SetWeight("r2", w["r2"])
		cpuBound, memBound := randomShapes(m)
		shapes := map[string]task{"f1": cpuBound, "f2": memBound}
		m.addFramework("f1", "r1")
		m.addFramework("f2", "r2")
		for i := range 1 + m.rnd.IntN(6) {
			m.addAgent(fmt.Sprintf("a%d", i), agentRes(4, 4096))
		}
		role := map[string]string{"f1": "r1", "f2": "r2"}
		shares, slack := fillWhileBothGrow(t, m, shapes, func(fw string) float64 { return m.share(m.holds(fw)) / w[role[fw]] })
		tol := (m.taskShare(cpuBound, memBound) + slack) / math.Min(w["r1"], w["r2"])
		if d := math.Abs(shares["f1"] - shares["f2"]); d > tol+1e-9 {
			t.Fatalf("seed %d: %d agents, weights %v, share/weight %v differ by %v, more than %v", seed, len(m.total), w, shares, d, tol)
		}
	}
}

// TestSuite_DRF_HierarchicalSharesSum: eng/web and eng/db together hold
// the share ops holds alone, each about half of it: a parent's share is
// the sum of its children's. DRF's own property.
func TestSuite_DRF_HierarchicalSharesSum(t *testing.T) {
	for seed := range uint64(suiteRounds) {
		m := newModel(t, "drf", seed)
		cpuBound, _ := randomShapes(m)
		shapes := map[string]task{"web": cpuBound, "db": cpuBound, "ops": cpuBound}
		m.addFramework("web", "eng/web")
		m.addFramework("db", "eng/db")
		m.addFramework("ops", "ops")
		for i := range 1 + m.rnd.IntN(6) {
			m.addAgent(fmt.Sprintf("a%d", i), agentRes(4, 4096))
		}
		shares, slack := fillWhileBothGrow(t, m, shapes, func(fw string) float64 { return m.share(m.holds(fw)) })
		one := m.taskShare(cpuBound) + slack
		if d := math.Abs(shares["web"] + shares["db"] - shares["ops"]); d > 2*one+1e-9 {
			t.Fatalf("seed %d: shares %v: eng/web + eng/db differ from ops by %v, more than %v", seed, shares, d, 2*one)
		}
		if d := math.Abs(shares["web"] - shares["db"]); d > one+1e-9 {
			t.Fatalf("seed %d: shares %v: eng/web and eng/db differ by %v, more than %v", seed, shares, d, one)
		}
	}
}

// TestSuite_BinPack_FillsTheFewestAgents: frameworks launching 1-cpu
// tasks on 4-cpu agents end up on no more agents than their tasks need,
// give or take one per framework (each may open one agent while another
// is still filling its own). Binpack's own property; with one framework
// the count is exact.
func TestSuite_BinPack_FillsTheFewestAgents(t *testing.T) {
	for seed := range uint64(suiteRounds) {
		m := newModel(t, "binpack", seed)
		fws := 1 + m.rnd.IntN(3)
		want := map[string]int{}
		total := 0
		for i := range fws {
			fw := fmt.Sprintf("f%d", i)
			m.addFramework(fw, []string{"a", "b"}[m.rnd.IntN(2)])
			want[fw] = 1 + m.rnd.IntN(20)
			total += want[fw]
		}
		for i := range 30 {
			m.addAgent(fmt.Sprintf("a%02d", i), agentRes(4, 4096))
		}
		shape := task{cpus: 1, mem: 64}
		launched := map[string]int{}
		for range 100 {
			round := m.pass()
			var mine []Allocation
			for _, o := range round {
				if launched[o.FrameworkID] >= want[o.FrameworkID] {
					m.recover(o.FrameworkID, o.AgentID, o.Resources, time.Hour)
					continue
				}
				mine = append(mine, o)
			}
			for _, o := range mine {
				got := launch(m, []Allocation{o}, map[string]task{o.FrameworkID: shape}, want[o.FrameworkID]-launched[o.FrameworkID])
				launched[o.FrameworkID] += max(0, got[o.FrameworkID])
			}
			if len(round) == 0 {
				break
			}
		}
		used := map[string]bool{}
		for k := range m.held {
			used[k.agent] = true
		}
		least := (total + 3) / 4
		if len(used) > least+fws-1 || (fws == 1 && len(used) != least) {
			t.Fatalf("seed %d: %d tasks of %d frameworks on %d agents, want %d (at most %d)", seed, total, fws, len(used), least, least+fws-1)
		}
	}
}

// TestSuite_BinPack_NoFrameworkStarvedOfEmptyAgents: with at least as
// many empty agents as frameworks, one pass offers every framework an
// agent, each a different one. Binpack's own fairness property.
func TestSuite_BinPack_NoFrameworkStarvedOfEmptyAgents(t *testing.T) {
	for seed := range uint64(suiteRounds) {
		m := newModel(t, "binpack", seed)
		fws := 1 + m.rnd.IntN(8)
		for i := range fws {
			m.addFramework(fmt.Sprintf("f%d", i), []string{"a", "b", "c/d"}[m.rnd.IntN(3)])
		}
		for i := range fws + m.rnd.IntN(4) {
			m.addAgent(fmt.Sprintf("a%02d", i), agentRes(4, 4096))
		}
		got := map[string]int{}
		for _, o := range m.pass() {
			got[o.FrameworkID]++
		}
		if len(got) != fws {
			t.Fatalf("seed %d: %d frameworks, offers went to %v", seed, fws, got)
		}
		for fw, n := range got {
			if n != 1 {
				t.Fatalf("seed %d: %s was offered %d empty agents at once, want 1", seed, fw, n)
			}
		}
	}
}
