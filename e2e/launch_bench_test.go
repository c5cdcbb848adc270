package e2e

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"mesh/executor"
	"mesh/mesos"
	"mesh/mesos/scheduler"
	"mesh/mesos/scheduler/client"
)

// BenchmarkLaunchLatency measures ACCEPT → TASK_RUNNING through the whole
// stack: a `mesh server` and a `mesh agent` (linux isolation) as
// processes, and a framework on mesh/mesos/scheduler/client that launches
// one task (`true`, 0.1 cpus, 32 MB) on an offer, declines offers while
// that task is not yet running, and then revives to get the next offer. The time runs from just before
// the ACCEPT call to the arrival of the task's TASK_RUNNING update: the
// ACCEPT committed through raft, the LAUNCH sent to the agent, the
// container started, the executor subscribed and reporting, the update
// committed and forwarded. MESH_BENCH_N sets the number of tasks (30),
// MESH_BENCH_GAP a pause between a task running and the REVIVE that asks
// for the next offer (a framework whose work arrives over time),
// MESH_BENCH_AGENT_FLAGS and MESH_BENCH_SERVER_FLAGS add agent and server
// flags. MESH_BENCH_WAVE launches that
// many tasks per ACCEPT (1): the next wave is asked for once the whole
// wave runs, and each task's latency runs from its wave's ACCEPT; with
// MESH_BENCH_WAVE=MESH_BENCH_N=1000 this is the time to launch 1,000 tasks
// on one agent. MESH_BENCH_CPUS sets each task's cpus (0.1; the agent
// offers enough for all the tasks), MESH_BENCH_CMD the tasks' command
// (`true`; e.g. `sleep 600` for tasks that stay running, which the
// harness's `mesh agent -recover cleanup` kills afterwards).
//
//	go build -o bin/mesh . && MESH_BIN=$PWD/bin/mesh go test -run '^$' -bench LaunchLatency -benchtime 1x ./e2e/
//
// It measures; it asserts nothing about time.
func BenchmarkLaunchLatency(b *testing.B) {
	if iso, why := executor.DefaultIsolation(); iso != executor.IsolationLinux {
		b.Skipf("linux isolation unavailable here (%s)", why)
	}
	n := 30
	if v, err := strconv.Atoi(os.Getenv("MESH_BENCH_N")); err == nil && v > 0 {
		n = v
	}
	gap, _ := time.ParseDuration(os.Getenv("MESH_BENCH_GAP"))
	wave := 1
	if v, err := strconv.Atoi(os.Getenv("MESH_BENCH_WAVE")); err == nil && v > 0 {
		wave = v
	}
	cpus := 0.1
	if v, err := strconv.ParseFloat(os.Getenv("MESH_BENCH_CPUS"), 64); err == nil && v > 0 {
		cpus = v
	}
	const mem = 32
	command := "true"
	if v := os.Getenv("MESH_BENCH_CMD"); v != "" {
		command = v
	}
	// Enough for every task at once: the tasks of a wave may still hold
	// theirs when the next is launched.
	resources := fmt.Sprintf("cpus:%g;mem:%d;disk:1000;ports:[31000-31100]", max(2, float64(n)*cpus), max(4096, n*mem))
	// MESH_BENCH_SERVER_FLAGS adds server flags (e.g. -enable-debug).
	c := newCluster(b, 1, strings.Fields(os.Getenv("MESH_BENCH_SERVER_FLAGS"))...)
	c.startAll()
	args := []string{"agent", "-allow-root-tasks", "-join", c.addrs(), "-http-addr", freePort(b), "-work-dir", b.TempDir(), "-resources", resources}
	if command == "true" {
		// The last tasks' executors wait for acknowledgements the
		// benchmark no longer sends: the agent ends them when it stops.
		// Tasks that stay running are left to the cleanup after the
		// agent stops, rather than delay its stop.
		args = append(args, "-kill-tasks-on-shutdown")
	}
	// MESH_BENCH_AGENT_FLAGS adds agent flags (e.g. -prestart-containers 0).
	start(b, append(args, strings.Fields(os.Getenv("MESH_BENCH_AGENT_FLAGS"))...)...)
	waitAgents(b, c.waitStable(30*time.Second).httpAddr, 1)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cl := client.New(client.Config{Masters: strings.Split(c.addrs(), ",")})
	info := mesos.FrameworkInfo{User: "root", Name: "launch-bench", Roles: []string{"*"},
		Capabilities: []mesos.FrameworkCapability{{Type: mesos.CapabilityMultiRole}}}
	sub, err := cl.Subscribe(ctx, client.SubscribeCall(&info))
	if err != nil {
		b.Fatal(err)
	}
	defer sub.Close()

	var lat []time.Duration
	pending := map[string]bool{} // the wave's tasks not yet running
	var acceptedAt, firstAccept time.Time
	b.ResetTimer()
	for len(lat) < n {
		ev, err := sub.Next()
		if err != nil {
			b.Fatalf("event stream: %v", err)
		}
		switch ev.Type {
		case scheduler.EventOffers:
			for _, o := range ev.Offers.Offers {
				if len(pending) > 0 {
					// Nothing to launch: decline for the default 5 s; a
					// REVIVE asks for offers again once there is.
					decline := &scheduler.Call{Type: scheduler.CallDecline, Decline: &scheduler.Decline{OfferIDs: []mesos.OfferID{o.ID}}}
					if err := cl.Call(ctx, decline); err != nil {
						b.Fatalf("decline: %v", err)
					}
					continue
				}
				var tasks []mesos.TaskInfo
				for i := len(lat); i < len(lat)+wave && i < n; i++ {
					id := fmt.Sprintf("t%d", i)
					pending[id] = true
					tasks = append(tasks, mesos.TaskInfo{
						Name: id, TaskID: mesos.TaskID{Value: id}, AgentID: o.AgentID,
						Resources: []mesos.Resource{mesos.ScalarResource("cpus", cpus), mesos.ScalarResource("mem", mem)},
						Command:   &mesos.CommandInfo{Value: command},
					})
				}
				op := mesos.OfferOperation{Type: mesos.OperationLaunch}
				op.Launch = &struct {
					TaskInfos []mesos.TaskInfo `json:"task_infos,omitempty"`
				}{TaskInfos: tasks}
				accept := &scheduler.Call{Type: scheduler.CallAccept, Accept: &scheduler.Accept{
					OfferIDs:   []mesos.OfferID{o.ID},
					Operations: []mesos.OfferOperation{op},
				}}
				acceptedAt = time.Now()
				if firstAccept.IsZero() {
					firstAccept = acceptedAt
				}
				if err := cl.Call(ctx, accept); err != nil {
					b.Fatalf("accept: %v", err)
				}
			}
		case scheduler.EventUpdate:
			st := ev.Update.Status
			if pending[st.TaskID.Value] && st.State == mesos.TaskRunning {
				lat = append(lat, time.Since(acceptedAt))
				delete(pending, st.TaskID.Value)
				if len(pending) == 0 && len(lat) < n {
					if gap > 0 {
						time.Sleep(gap)
					}
					if err := cl.Call(ctx, &scheduler.Call{Type: scheduler.CallRevive}); err != nil {
						b.Fatalf("revive: %v", err)
					}
				}
			}
			if st.State.IsTerminal() && st.State != mesos.TaskFinished {
				b.Fatalf("task %s: %s %s", st.TaskID.Value, st.State, st.Message)
			}
			if len(st.UUID) > 0 {
				ack := &scheduler.Call{Type: scheduler.CallAcknowledge, Acknowledge: &scheduler.Acknowledge{AgentID: st.AgentID, TaskID: &st.TaskID, UUID: st.UUID}}
				if err := cl.Call(ctx, ack); err != nil {
					b.Fatalf("acknowledge: %v", err)
				}
			}
		}
	}
	total := time.Since(firstAccept)
	b.StopTimer()
	b.ReportMetric(float64(percentile(lat, 50).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(percentile(lat, 90).Microseconds())/1000, "p90-ms")
	b.ReportMetric(total.Seconds(), "total-s")
	b.Logf("%d tasks, %d per ACCEPT, ACCEPT → TASK_RUNNING: p50 %v p90 %v max %v; first ACCEPT to last TASK_RUNNING %v", n, wave, percentile(lat, 50), percentile(lat, 90), percentile(lat, 100), total)
}
