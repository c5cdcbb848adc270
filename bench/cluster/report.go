package main

import (
	"fmt"
	"io"
	"math"
	"runtime"
	"sort"
	"strings"
	"time"
)

// result is what one run measured. Durations are in seconds; a negative
// duration means the moment never came within the run's time limit.
type result struct {
	Agents            int     `json:"agents"`
	Frameworks        int     `json:"frameworks"`
	TasksPerFramework int     `json:"tasks_per_framework"`
	TaskCPUs          float64 `json:"task_cpus"`
	TaskMem           float64 `json:"task_mem"`
	TimedOut          bool    `json:"timed_out"`
	// LoadAverage is the machine's 1-minute load average at the start and
	// the end: the machine may be shared.
	LoadAverage [2]float64 `json:"load_average"`

	Placement placement `json:"placement"`
	Freed     freed     `json:"freed_to_offer"`
	Failover  *failover `json:"failover,omitempty"`
	// Churn is the sustained churn after placement; nil without -churn.
	Churn     *churnReport `json:"churn,omitempty"`
	LeaderRSS leaderRSS    `json:"leader_rss"`
	Counts    counts       `json:"counts"`
	// Pipeline is where status updates waited on their way from agent
	// to acknowledgement.
	Pipeline  pipelineReport `json:"pipeline"`
	Problems  []string       `json:"problems"`
	ErrorLogs []string       `json:"server_error_logs,omitempty"`
	Elapsed   float64        `json:"elapsed_seconds"`
}

// placement is the time from the frameworks' start until the first, 50%,
// 95%, 99% and every task was RUNNING at its framework.
type placement struct {
	Tasks      int     `json:"tasks"`
	Running    int     `json:"running"`
	First      float64 `json:"first_s"`
	P50        float64 `json:"p50_s"`
	P95        float64 `json:"p95_s"`
	P99        float64 `json:"p99_s"`
	All        float64 `json:"all_s"`
	PerSecond  float64 `json:"placements_per_s"`
	Registered float64 `json:"agents_registered_s"` // from the agents' start
	// AgentsRegistered is how many agents had registered when the
	// frameworks started.
	AgentsRegistered int `json:"agents_registered"`
}

// freed is the time from a task's end at its agent (its terminal update
// sent) until an offer of that agent reached a waiting framework.
type freed struct {
	Samples  int     `json:"samples"`
	TimedOut int     `json:"timed_out"`
	P50      float64 `json:"p50_s"`
	P99      float64 `json:"p99_s"`
	Max      float64 `json:"max_s"`
}

// failover is measured from kill -9 of the leader.
type failover struct {
	Killed       string `json:"killed"`
	RunningTasks int    `json:"running_tasks"`
	// Reaped is when the benchmark had reaped the killed process: at the
	// latest, as the benchmark's own goroutines can be late.
	Reaped          float64 `json:"killed_process_reaped_s"`
	NewLeaderServes float64 `json:"new_leader_serves_s"` // by its log
	// LeaderAnswered is when the new leader first answered the
	// benchmark's poll of the servers' health.
	LeaderAnswered  float64 `json:"new_leader_answered_s"`
	FreshOffer      float64 `json:"fresh_offer_s"`
	AllReregistered float64 `json:"all_agents_reregistered_s"`
	Reregistered    int     `json:"agents_reregistered"`
	// When the first, half and 90% of the agents had re-registered.
	FirstReregistered float64 `json:"first_agent_reregistered_s"`
	HalfReregistered  float64 `json:"half_agents_reregistered_s"`
	P90Reregistered   float64 `json:"p90_agents_reregistered_s"`
	// CPU is what the processes used from the kill until every agent was
	// back: on one machine they share its cores, and the new leader's
	// share is what re-registrations cost where agents run elsewhere.
	CPU failoverCPUSecs `json:"cpu_until_all_reregistered"`
	// Frameworks is when the frameworks saw their streams end and were
	// subscribed again, the way to the fresh offer.
	Frameworks fwFailover `json:"frameworks"`
	// Observer is the same failover seen by a framework in a process of
	// its own (observer.go); nil when it could not run.
	Observer *observerFailover `json:"observer,omitempty"`
}

// observerFailover is when, after the kill, the observer's stream ended,
// it read its new SUBSCRIBED and its first OFFERS, in seconds; -1 for
// none.
type observerFailover struct {
	Ended      float64 `json:"stream_ended_s"`
	Subscribed float64 `json:"subscribed_again_s"`
	FreshOffer float64 `json:"fresh_offer_s"`
}

// fwFailover is when, after the kill, the frameworks' old streams ended
// and their new subscriptions were answered (SUBSCRIBED read), in
// seconds; -1 for none. Offered is the subscription of the framework that
// had the first fresh offer.
type fwFailover struct {
	FirstEnded      float64 `json:"first_stream_ended_s"`
	LastEnded       float64 `json:"last_stream_ended_s"`
	FirstSubscribed float64 `json:"first_resubscribed_s"`
	HalfSubscribed  float64 `json:"half_resubscribed_s"`
	Offered         float64 `json:"offered_framework_resubscribed_s"`
}

// failoverCPUSecs is cpu time in seconds.
type failoverCPUSecs struct {
	Leader    float64 `json:"new_leader_s"`
	Followers float64 `json:"other_servers_s"`
	Benchmark float64 `json:"benchmark_s"`
}

// leaderRSS is the leader's resident memory after placement and at the end.
type leaderRSS struct {
	Baseline       int64   `json:"baseline_bytes"` // before any agent
	AfterPlacement int64   `json:"after_placement_bytes"`
	End            int64   `json:"end_bytes"`
	PerTask        float64 `json:"per_task_bytes"`  // (after placement - baseline) / tasks
	PerAgent       float64 `json:"per_agent_bytes"` // (after placement - baseline) / agents
	// The file-backed part of AfterPlacement and End (RssFile): the
	// binary's pages and the raft log's the log store maps.
	FileAfterPlacement int64 `json:"file_after_placement_bytes"`
	FileEnd            int64 `json:"file_end_bytes"`
	// OthersEnd and OthersFileEnd are the RSS, and its file-backed part,
	// of every other running server at the end.
	OthersEnd     []int64 `json:"others_end_bytes,omitempty"`
	OthersFileEnd []int64 `json:"others_file_end_bytes,omitempty"`
	// PeakEnd is the highest RSS since it started of the leader at the
	// end (VmHWM): after a failover, the new leader's, through the
	// re-registrations.
	PeakEnd int64 `json:"peak_end_bytes"`
	// GCPercentEnd is the end's leader's GC target (go_gc_gogc_percent):
	// lower than the process' own once the leader is at rest, when it
	// also compacts its state and returns its free memory. 0: not read.
	GCPercentEnd int64 `json:"gc_percent_end,omitempty"`
	// The live heap (HeapAlloc after a forced collection) before the
	// agents and after placement, and its growth per task; 0: unknown.
	HeapBaseline       int64   `json:"heap_baseline_bytes"`
	HeapAfterPlacement int64   `json:"heap_after_placement_bytes"`
	HeapEnd            int64   `json:"heap_end_bytes"`
	HeapPerTask        float64 `json:"heap_per_task_bytes"`
	// The live heap and goroutines once every agent registered, before
	// any framework: what the leader keeps per connected agent.
	HeapAfterAgents       int64   `json:"heap_after_agents_bytes"`
	HeapPerAgent          float64 `json:"heap_per_agent_bytes"`
	GoroutinesBaseline    int64   `json:"goroutines_baseline"`
	GoroutinesAfterAgents int64   `json:"goroutines_after_agents"`
}

// counts are errors and events counted at the simulators.
type counts struct {
	UnplannedLeaderChanges int    `json:"unplanned_leader_changes"`
	RaftElections          int    `json:"raft_elections"`
	Reregistrations        int64  `json:"agent_reregistrations"`
	NoLeaderAnswers        int64  `json:"agent_calls_answered_no_leader"`
	AgentErrorEvents       int64  `json:"agent_error_events"`
	AgentUpdateFailures    int64  `json:"agent_update_call_failures"`
	AgentResends           int64  `json:"agent_update_resends"`
	Pongs                  int64  `json:"agent_pongs"`
	PongFailures           int64  `json:"agent_pong_failures"`
	StreamPongs            int64  `json:"agent_stream_pongs"`
	PongStreamsFailed      int64  `json:"agent_pong_streams_failed"`
	PongStreamError        string `json:"agent_pong_stream_error,omitempty"`
	Launches               int64  `json:"launches"`
	DuplicateLaunches      int64  `json:"duplicate_launches"`
	FrameworkErrorEvents   int64  `json:"framework_error_events"`
	FrameworkCallFailures  int64  `json:"framework_call_failures"`
	Subscribed             int64  `json:"framework_subscribed_events"`
	Offers                 int64  `json:"offers"`
	Updates                int64  `json:"updates"`
	Acknowledged           int64  `json:"acknowledged"`
	UpdatesWithoutUUID     int64  `json:"updates_without_uuid"`
	Redelivered            int64  `json:"updates_redelivered"`
	DuplicateRunning       int64  `json:"duplicate_running"`
	UnexpectedTerminal     int64  `json:"unexpected_terminal_updates"`
	Relaunched             int64  `json:"relaunched"`
	LaunchesFailed         int64  `json:"launches_failed"`
	Reconciles             int64  `json:"reconcile_calls"`
	Revives                int64  `json:"revive_calls"`
	LostSilently           int64  `json:"launches_lost_without_update"`
	UnacknowledgedAtEnd    int    `json:"unacknowledged_updates_at_end"`
	NotRunningAtEnd        int    `json:"tasks_not_running_at_end"`
	ServerErrorLogLines    int    `json:"server_error_log_lines"`
}

// percentile returns the p-th percentile of ds by nearest rank; ds must be
// sorted.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return -1
	}
	k := int(math.Ceil(p/100*float64(len(ds)))) - 1
	return ds[max(0, min(k, len(ds)-1))]
}

func sortDurations(ds []time.Duration) {
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
}

func secs(d time.Duration) float64 {
	if d < 0 {
		return -1
	}
	return math.Round(d.Seconds()*1000) / 1000
}

func fmtSecs(s float64) string {
	if s < 0 {
		return "never"
	}
	return fmt.Sprintf("%.3fs", s)
}

func mib(b int64) string {
	if b <= 0 {
		return "unknown"
	}
	return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20))
}

// mibList is mib of each, comma-separated.
func mibList(bs []int64) string {
	out := make([]string, len(bs))
	for i, b := range bs {
		out[i] = mib(b)
	}
	return strings.Join(out, ", ")
}

// writeText prints the report for people.
func (r *result) writeText(w io.Writer) {
	p := func(format string, a ...any) { fmt.Fprintf(w, format+"\n", a...) }
	p("mesh cluster benchmark: 3 servers, %d agents, %d frameworks x %d tasks (cpus %g, mem %g each)",
		r.Agents, r.Frameworks, r.TasksPerFramework, r.TaskCPUs, r.TaskMem)
	if r.TimedOut {
		p("THE RUN HIT ITS TIME LIMIT; figures below are what it got to")
	}
	pl := r.Placement
	p("agents registered: %d of %d, all of them %s after they started", pl.AgentsRegistered, r.Agents, fmtSecs(pl.Registered))
	p("placement: %d of %d tasks RUNNING at their frameworks", pl.Running, pl.Tasks)
	p("  first %s  50%% %s  95%% %s  99%% %s  all %s  (%.0f tasks/s)",
		fmtSecs(pl.First), fmtSecs(pl.P50), fmtSecs(pl.P95), fmtSecs(pl.P99), fmtSecs(pl.All), pl.PerSecond)
	if r.Freed.Samples+r.Freed.TimedOut > 0 {
		p("resources freed -> OFFERS at a waiting framework: p50 %s  p99 %s  max %s  (%d samples, %d without an offer)",
			fmtSecs(r.Freed.P50), fmtSecs(r.Freed.P99), fmtSecs(r.Freed.Max), r.Freed.Samples, r.Freed.TimedOut)
	}
	if c := r.Churn; c != nil {
		p("churn for %.0fs: %d finished tasks replaced, %d replacements RUNNING (%.0f a second)", c.Window, c.Replaced, c.Running, c.PerSec)
		p("  leader RSS %s -> %s, live heap %s -> %s", mib(c.RSS[0]), mib(c.RSS[1]), mib(c.Heap[0]), mib(c.Heap[1]))
		for i := range c.RaftDB {
			role := "follower"
			if i == c.Leader {
				role = "leader"
			}
			p("  server %d (%s): raft log file %s -> %s, %d snapshots, %.2f cores busy", i+1, role, mib(c.RaftDB[i][0]), mib(c.RaftDB[i][1]), c.Snapshots[i], c.CPU[i])
		}
		p("  the benchmark (agents and frameworks): %.2f cores busy", c.BenchmarkCPU)
	}
	if f := r.Failover; f != nil {
		p("failover: kill -9 of the leader (%s) with %d tasks running; the benchmark had reaped it %s after", f.Killed, f.RunningTasks, fmtSecs(f.Reaped))
		p("  new leader serves %s (by its log; answered a health poll at %s)  fresh offer at a framework %s  every agent re-registered %s (%d of %d)",
			fmtSecs(f.NewLeaderServes), fmtSecs(f.LeaderAnswered), fmtSecs(f.FreshOffer), fmtSecs(f.AllReregistered), f.Reregistered, r.Agents)
		p("  agents re-registered: first %s  50%% %s  90%% %s",
			fmtSecs(f.FirstReregistered), fmtSecs(f.HalfReregistered), fmtSecs(f.P90Reregistered))
		fw := f.Frameworks
		p("  frameworks: streams ended first %s  last %s; subscribed again first %s  50%% %s; the one offered first subscribed again at %s",
			fmtSecs(fw.FirstEnded), fmtSecs(fw.LastEnded), fmtSecs(fw.FirstSubscribed), fmtSecs(fw.HalfSubscribed), fmtSecs(fw.Offered))
		if o := f.Observer; o != nil {
			p("  a framework in a process of its own: stream ended %s  subscribed again %s  fresh offer %s",
				fmtSecs(o.Ended), fmtSecs(o.Subscribed), fmtSecs(o.FreshOffer))
		}
		if f.AllReregistered >= 0 {
			p("  cpu from the kill until every agent was back: new leader %.2fs (%.2f ms per agent), other servers %.2fs, benchmark %.2fs",
				f.CPU.Leader, 1000*f.CPU.Leader/float64(max(r.Agents, 1)), f.CPU.Followers, f.CPU.Benchmark)
		}
	}
	m := r.LeaderRSS
	if m.AfterPlacement == 0 {
		m.AfterPlacement = -1
	}
	p("leader RSS: %s before agents, %s after placement (%.0f bytes per task, %.0f per agent), %s at the end",
		mib(m.Baseline), mib(m.AfterPlacement), m.PerTask, m.PerAgent, mib(m.End))
	if m.FileAfterPlacement > 0 {
		p("  of these file-backed (the binary, the raft log's mapped pages): %s after placement, %s at the end",
			mib(m.FileAfterPlacement), mib(m.FileEnd))
	}
	if m.PeakEnd > 0 {
		p("  the end's leader's highest RSS since it started (VmHWM): %s", mib(m.PeakEnd))
	}
	if m.GCPercentEnd > 0 {
		p("  the end's leader's GC target: %d (the server's own, else lowered at rest)", m.GCPercentEnd)
	}
	if len(m.OthersEnd) > 0 {
		p("  the other servers' RSS at the end: %s (file-backed %s)", mibList(m.OthersEnd), mibList(m.OthersFileEnd))
	}
	if m.HeapAfterAgents > 0 {
		p("leader per agent, all registered and no task: %s live heap (%.0f bytes per agent), %d goroutines (%d before agents)",
			mib(m.HeapAfterAgents), m.HeapPerAgent, m.GoroutinesAfterAgents, m.GoroutinesBaseline)
	}
	if m.HeapAfterPlacement > 0 {
		p("leader live heap (after a forced GC): %s before agents, %s after placement (%.0f bytes per task), %s at the end",
			mib(m.HeapBaseline), mib(m.HeapAfterPlacement), m.HeapPerTask, mib(m.HeapEnd))
	}
	c := r.Counts
	p("unplanned leader changes %d (raft elections %d in all), agent re-registrations %d, agent calls answered 'no leader' %d",
		c.UnplannedLeaderChanges, c.RaftElections, c.Reregistrations, c.NoLeaderAnswers)
	p("errors: ERROR events %d at frameworks, %d at agents; failed calls %d (frameworks), %d (agent UPDATEs); server ERROR log lines %d",
		c.FrameworkErrorEvents, c.AgentErrorEvents, c.FrameworkCallFailures, c.AgentUpdateFailures, c.ServerErrorLogLines)
	p("tasks: %d launched at agents (%d twice), %d running twice, %d unexpected terminal updates",
		c.Launches, c.DuplicateLaunches, c.DuplicateRunning, c.UnexpectedTerminal)
	p("launches: %d failed (terminal before RUNNING; %d of them found only by RECONCILE, no update came) and %d relaunched by frameworks; %d RECONCILE calls, %d REVIVE calls for queued tasks, %d offers",
		c.LaunchesFailed, c.LostSilently, c.Relaunched, c.Reconciles, c.Revives, c.Offers)
	p("updates: %d delivered (%d again, %d without uuid), %d acknowledged, %d resent by agents, %d unacknowledged at the end",
		c.Updates, c.Redelivered, c.UpdatesWithoutUUID, c.Acknowledged, c.AgentResends, c.UnacknowledgedAtEnd)
	p("pings: %d answered on pong streams, %d with a PONG call, %d PONG calls failed; %d pong streams given up", c.StreamPongs, c.Pongs, c.PongFailures, c.PongStreamsFailed)
	if c.PongStreamError != "" {
		p("  the last pong stream given up: %s", c.PongStreamError)
	}
	up := r.Pipeline
	p("update pipeline, p50 / p99 / max: agent first sends → acknowledged back %s; agent UPDATE call %s; framework holds the update before its ACKNOWLEDGE goes %s; ACKNOWLEDGE call %s; ACCEPT call %s",
		up.RoundTrip, up.UpdateCall, up.AckWait, up.AckCall, up.AcceptCall)
	if len(r.Problems) == 0 {
		p("correctness: OK")
	} else {
		p("correctness: %d problem(s):\n  %s", len(r.Problems), strings.Join(r.Problems, "\n  "))
	}
	p("elapsed %.1fs; load average %.1f at the start, %.1f at the end (%d cpus)", r.Elapsed, r.LoadAverage[0], r.LoadAverage[1], runtime.NumCPU())
}
