package e2e

import (
	"context"
	"flag"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"mesh/mesos"
	"mesh/mesos/scheduler"
	"mesh/mesos/scheduler/client"
	"mesh/server/servertest"
)

var webuiTasks = flag.Int("webui.tasks", 10000, "tasks BenchmarkWebUI_LoadWithManyTasks launches")

// launchSleepers runs a framework that launches n tasks on the simulated
// agents (a command with "sleep" keeps running there) and acknowledges
// their updates; it returns once all n run.
func launchSleepers(tb testing.TB, masters []string, n int) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	tb.Cleanup(cancel)
	cl := client.New(client.Config{Masters: masters})
	sub, err := cl.Subscribe(ctx, client.SubscribeCall(&mesos.FrameworkInfo{User: "root", Name: "sleepers"}))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { sub.Close() })
	acks := make(chan mesos.TaskStatus, 1024)
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for st := range acks {
				_ = cl.Call(ctx, client.AcknowledgeCall(&st))
			}
		}()
	}
	defer func() {
		close(acks)
		wg.Wait()
	}()
	task := []mesos.Resource{mesos.ScalarResource("cpus", 0.01), mesos.ScalarResource("mem", 1)}
	launched, running := 0, map[string]bool{}
	for len(running) < n {
		ev, err := sub.Next()
		if err != nil {
			tb.Fatalf("framework stream after %d running: %v", len(running), err)
		}
		switch ev.Type {
		case scheduler.EventOffers:
			for _, o := range ev.Offers.Offers {
				var tasks []mesos.TaskInfo
				for fit := fitCount(o.Resources); fit > 0 && launched < n; fit-- {
					id := fmt.Sprintf("sleeper-%05d", launched)
					launched++
					tasks = append(tasks, mesos.TaskInfo{Name: "sleeper", TaskID: mesos.TaskID{Value: id}, AgentID: o.AgentID,
						Resources: task, Command: &mesos.CommandInfo{Value: "sleep 3600"}})
				}
				ops := []mesos.OfferOperation{}
				if len(tasks) > 0 {
					ops = append(ops, client.LaunchOp(tasks...))
				}
				if err := cl.Call(ctx, client.AcceptCall([]mesos.OfferID{o.ID}, ops, nil)); err != nil {
					tb.Fatalf("accept: %v", err)
				}
			}
		case scheduler.EventUpdate:
			st := ev.Update.Status
			if st.State == mesos.TaskRunning {
				running[st.TaskID.Value] = true
			}
			if len(st.UUID) > 0 {
				acks <- st
			}
		}
	}
}

// fitCount is how many tasks of 0.01 cpus and 1 MB fit in res.
func fitCount(res []mesos.Resource) int {
	var cpus, mem float64
	for _, r := range res {
		if r.Scalar == nil {
			continue
		}
		switch r.Name {
		case "cpus":
			cpus += r.Scalar.Value
		case "mem":
			mem += r.Scalar.Value
		}
	}
	return min(int(cpus/0.01+1e-6), int(mem))
}

// BenchmarkWebUI_LoadWithManyTasks measures the web UI with -webui.tasks
// running tasks (10,000 by default) on 10 simulated agents of one
// server: how long the tasks page takes from navigation to showing its
// first page of rows and the full count (load-ms; of which state-ms
// until the operator stream's SUBSCRIBED was read and applied, and
// drawn-ms until the page was drawn from it), how long the filter
// box takes to narrow the list to one task (filter-ms, with its 80 ms
// debounce), and the page's JavaScript heap afterwards.
//
//	go build -o bin/mesh . && MESH_BIN=$PWD/bin/mesh go test ./e2e -run '^$' \
//	  -bench BenchmarkWebUI_LoadWithManyTasks -benchtime 3x
func BenchmarkWebUI_LoadWithManyTasks(b *testing.B) {
	exe := chromiumPath()
	if exe == "" {
		b.Skip("no chromium found on PATH (as root, `make deps-ui` installs Debian's chromium)")
	}
	n := *webuiTasks
	c := newClusterWith(b, 1, false, testRaftTiming...)
	addr := c.startAll().httpAddr
	const agents = 10
	per := (n + agents - 1) / agents
	for i := 0; i < agents; i++ {
		sim := servertest.NewSimAgent(addr, mesos.Resources{mesos.ScalarResource("cpus", float64(per)*0.01+1), mesos.ScalarResource("mem", float64(per)+64)})
		sim.Hostname = fmt.Sprintf("sim%02d", i)
		sim.Start(b)
		b.Cleanup(sim.Stop)
	}
	t0 := time.Now()
	launchSleepers(b, []string{addr}, n)
	b.Logf("%d tasks running after %s", n, time.Since(t0).Round(time.Millisecond))

	br := newBrowser(b, exe)
	var load, loaded, shown, filter float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		br.do(b, "open the tasks page", 2*time.Minute, chromedp.Navigate("about:blank"), chromedp.Navigate("http://"+addr+"/#/tasks"), visible("main#view"))
		ctx, cancel := context.WithTimeout(br.ctx, 2*time.Minute)
		ms, err := chromedp.Run(ctx, chromedp.Poll[float64](fmt.Sprintf(
			`(document.getElementById('nav-tasks').textContent === '%d' && document.querySelectorAll('tbody tr[data-task]').length === 50) ? performance.now() : 0`, n)))
		cancel()
		if err != nil {
			b.Fatalf("the tasks page did not show %d tasks: %v", n, err)
		}
		load += ms
		loaded += eval[float64](b, br, `performance.getEntriesByName('mesh-state-loaded')[0].startTime`)
		shown += eval[float64](b, br, `performance.getEntriesByName('mesh-state-shown')[0].startTime`)
		filter += eval[float64](b, br, fmt.Sprintf(`new Promise((done) => {
			const input = document.querySelector('input[data-filter=tasks]');
			const t0 = performance.now();
			input.value = 'sleeper-%05d';
			input.dispatchEvent(new Event('input'));
			const check = () => document.querySelectorAll('tbody tr[data-task]').length === 1 ? done(performance.now() - t0) : requestAnimationFrame(check);
			check();
		})`, n-1))
	}
	b.StopTimer()
	heap := eval[float64](b, br, `performance.memory ? performance.memory.usedJSHeapSize : 0`)
	br.screenshot(b, "tasks-many")
	br.checkConsole(b, "tasks")
	b.ReportMetric(load/float64(b.N), "load-ms")
	b.ReportMetric(loaded/float64(b.N), "state-ms")
	b.ReportMetric(shown/float64(b.N), "drawn-ms")
	b.ReportMetric(filter/float64(b.N), "filter-ms")
	b.ReportMetric(heap/(1<<20), "heap-MB")
}
