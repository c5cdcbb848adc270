package fsm

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"testing"

	"github.com/google/uuid"
	"github.com/hashicorp/raft"

	"mesh/mesos"
)

// benchState is a state with n tasks of one framework on one agent, as a
// leader holds after launching them, 100 per log entry.
func benchState(b *testing.B, n int) *FSM { return benchStateLaunching(b, n, 100) }

// benchStateLaunching is benchState with perEntry tasks per launch.
func benchStateLaunching(b *testing.B, n, perEntry int) *FSM {
	b.Helper()
	f := New(nil)
	do := func(typ MessageType, req any) any { return apply(b, f, typ, req) }
	do(ClusterInitRequestType, &ClusterInitRequest{ClusterID: "c1"})
	do(FrameworkRegisterRequestType, &FrameworkRegisterRequest{Framework: Framework{ID: "c1-0000", Info: mesos.FrameworkInfo{User: "u", Name: "n"}, Connected: true}, New: true})
	do(AgentRegisterRequestType, &AgentRegisterRequest{Agent: Agent{ID: "c1-S0", State: AgentActive, Info: mesos.AgentInfo{Hostname: "h", Resources: cpusMem(4, 4096)}}, New: true})
	for i := 0; i < n; i += perEntry {
		var tasks []Task
		for j := i; j < i+perEntry && j < n; j++ {
			id := fmt.Sprintf("task-%d", j)
			tasks = append(tasks, Task{FrameworkID: "c1-0000", TaskID: id, AgentID: "c1-S0", State: mesos.TaskStaging,
				Info: mesos.TaskInfo{Name: id, TaskID: mesos.TaskID{Value: id}, AgentID: mesos.AgentID{Value: "c1-S0"},
					Resources: cpusMem(0.01, 1).Allocate("*"), Command: &mesos.CommandInfo{Value: "sleep 1000"}}})
		}
		if res := do(TaskLaunchRequestType, &TaskLaunchRequest{FrameworkID: "c1-0000", AgentID: "c1-S0", Tasks: tasks}); res != nil {
			if err, ok := res.(error); ok {
				b.Fatal(err)
			}
		}
	}
	return f
}

// runningState is benchState with every task TASK_STARTING and then
// TASK_RUNNING.
func runningState(b *testing.B, n int) *FSM { return runningStateLaunching(b, n, 100) }

// runningStateLaunching is runningState with perEntry tasks per launch.
func runningStateLaunching(b *testing.B, n, perEntry int) *FSM {
	f := benchStateLaunching(b, n, perEntry)
	idx := uint64(1 << 20)
	for i := 0; i < n; i += 100 {
		for _, state := range []mesos.TaskState{mesos.TaskStarting, mesos.TaskRunning} {
			req := statusBatch(i)
			for j := range req.Updates {
				req.Updates[j].Status.State = state
			}
			buf, _ := Encode(StatusUpdateRequestType, req)
			idx++
			f.Apply(&raft.Log{Index: idx, Type: raft.LogCommand, Data: buf})
		}
	}
	return f
}

// statusBatch is one agent UPDATE's worth of status updates: 100 tasks
// going TASK_RUNNING, as an executor reports them.
func statusBatch(from int) *StatusUpdateRequest {
	req := &StatusUpdateRequest{}
	for j := from; j < from+100; j++ {
		u := uuid.New()
		id := fmt.Sprintf("task-%d", j)
		req.Updates = append(req.Updates, StatusUpdate{FrameworkID: "c1-0000", Status: mesos.TaskStatus{
			TaskID: mesos.TaskID{Value: id}, State: mesos.TaskRunning, Source: mesos.SourceExecutor, UUID: u[:],
			AgentID: &mesos.AgentID{Value: "c1-S0"}, ExecutorID: &mesos.ExecutorID{Value: id}, Timestamp: 1.7e9,
		}})
	}
	return req
}

// encodings are the two log entry encodings: JSON, which older binaries
// wrote, and MessagePack, which Encode writes.
var encodings = []struct {
	name string
	enc  func(MessageType, any) ([]byte, error)
}{{"json", EncodeJSON}, {"msgpack", Encode}}

// BenchmarkApply_StatusUpdates measures applying agents' status updates
// (100 per entry) to a state of 10,000 tasks, per entry, in each encoding.
func BenchmarkApply_StatusUpdates(b *testing.B) {
	for _, e := range encodings {
		b.Run("encoding="+e.name, func(b *testing.B) {
			f := benchState(b, 10000)
			bufs := make([][]byte, 100)
			for i := range bufs {
				buf, err := e.enc(StatusUpdateRequestType, statusBatch(i*100))
				if err != nil {
					b.Fatal(err)
				}
				bufs[i] = buf
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				f.Apply(&raft.Log{Index: uint64(1000 + i), Type: raft.LogCommand, Data: bufs[i%len(bufs)]})
			}
		})
	}
}

// BenchmarkDecode_StatusUpdates measures the decoding part of applying
// one entry of 100 status updates, and the entry's size, in each
// encoding.
func BenchmarkDecode_StatusUpdates(b *testing.B) {
	for _, e := range encodings {
		b.Run("encoding="+e.name, func(b *testing.B) {
			buf, err := e.enc(StatusUpdateRequestType, statusBatch(0))
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				var req StatusUpdateRequest
				if err := DecodeEntry(buf, &req); err != nil {
					b.Fatal(err)
				}
				if len(req.Updates) != 100 || len(req.Updates[99].Status.UUID) != 16 {
					b.Fatalf("decoded %d updates", len(req.Updates))
				}
			}
			b.ReportMetric(float64(len(buf)), "bytes/entry")
		})
	}
}

// BenchmarkEncode_StatusUpdates measures what the leader spends building
// that entry, in each encoding.
func BenchmarkEncode_StatusUpdates(b *testing.B) {
	req := statusBatch(0)
	for _, e := range encodings {
		b.Run("encoding="+e.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := e.enc(StatusUpdateRequestType, req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// discardSink is a snapshot sink that keeps nothing.
type discardSink struct{ n int }

func (s *discardSink) Write(p []byte) (int, error) { s.n += len(p); return len(p), nil }
func (s *discardSink) Close() error                { return nil }
func (s *discardSink) ID() string                  { return "discard" }
func (s *discardSink) Cancel() error               { return nil }

// BenchmarkSnapshot_Persist measures writing a snapshot of 20,000 running
// tasks (each with its STARTING and RUNNING updates), as every server
// does every few thousand log entries.
func BenchmarkSnapshot_Persist(b *testing.B) {
	const n = 20000
	f := runningState(b, n)
	b.ReportAllocs()
	b.ResetTimer()
	var size int
	for i := 0; i < b.N; i++ {
		snap, _ := f.Snapshot()
		sink := &discardSink{}
		if err := snap.Persist(sink); err != nil {
			b.Fatal(err)
		}
		size = sink.n
	}
	b.ReportMetric(float64(size)/n, "bytes/task")
}

// BenchmarkState_HeapPerTask reports the live heap a state holds per
// running task (launched, 100 per log entry, then STARTING and RUNNING),
// after a GC.
func BenchmarkState_HeapPerTask(b *testing.B) { heapPerTask(b, 100) }

// BenchmarkState_HeapPerTaskLaunchedAlone is BenchmarkState_HeapPerTask
// with every task launched in a log entry of its own, where tasks
// launched together have nothing to share.
func BenchmarkState_HeapPerTaskLaunchedAlone(b *testing.B) { heapPerTask(b, 1) }

func heapPerTask(b *testing.B, perEntry int) {
	const n = 20000
	for i := 0; i < b.N; i++ {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		f := runningStateLaunching(b, n, perEntry)
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "heap-bytes/task")
		b.ReportMetric(float64(after.HeapInuse-before.HeapInuse)/n, "inuse-bytes/task")
		runtime.KeepAlive(f)
	}
}

// BenchmarkApply_TaskLaunch measures applying a launch of one task
// (the usual resources and command) to a state of 10,000 tasks on one
// agent, per entry.
func BenchmarkApply_TaskLaunch(b *testing.B) {
	f := benchState(b, 10000)
	bufs := make([][]byte, b.N)
	for i := range bufs {
		id := fmt.Sprintf("new-%d", i)
		buf, err := Encode(TaskLaunchRequestType, &TaskLaunchRequest{FrameworkID: "c1-0000", AgentID: "c1-S0", Tasks: []Task{{
			FrameworkID: "c1-0000", TaskID: id, AgentID: "c1-S0", State: mesos.TaskStaging,
			Info: mesos.TaskInfo{Name: id, TaskID: mesos.TaskID{Value: id}, AgentID: mesos.AgentID{Value: "c1-S0"},
				Resources: cpusMem(0.01, 1).Allocate("*"), Command: &mesos.CommandInfo{Value: "sleep 1000"}}}}})
		if err != nil {
			b.Fatal(err)
		}
		bufs[i] = buf
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err, ok := f.Apply(&raft.Log{Index: uint64(1<<30 + i), Type: raft.LogCommand, Data: bufs[i]}).(error); ok {
			b.Fatal(err)
		}
	}
}

// BenchmarkApply_BatchOfAgentUpdates measures applying what raft hands
// over at once at a data center's load: 256 entries, each one agent's
// UPDATE of two tasks, to a state of 20,000 tasks on 1,000 agents; per
// batch, applied one entry at a time and as one batch. Each update is
// applied once: the state is built again when all have been.
func BenchmarkApply_BatchOfAgentUpdates(b *testing.B) {
	const agents, perAgent, entries = 1000, 20, 256
	for _, mode := range []string{"each", "batch"} {
		b.Run("apply="+mode, func(b *testing.B) {
			f := spreadState(b, agents, perAgent)
			idx := uint64(1 << 30)
			batches := make([][]*raft.Log, 0, 2*perAgent)
			for round := 0; round < perAgent; round += 2 {
				for _, state := range []mesos.TaskState{mesos.TaskStarting, mesos.TaskRunning} {
					for first := 0; first < agents; first += entries {
						var logs []*raft.Log
						for a := first; a < first+entries && a < agents; a++ {
							req := &StatusUpdateRequest{}
							for j := round; j < round+2; j++ {
								u := uuid.New()
								id := fmt.Sprintf("t-%d-%d", a, j)
								req.Updates = append(req.Updates, StatusUpdate{FrameworkID: "c1-0000", Status: mesos.TaskStatus{
									TaskID: mesos.TaskID{Value: id}, State: state, Source: mesos.SourceExecutor, UUID: u[:],
									AgentID: &mesos.AgentID{Value: fmt.Sprintf("c1-S%d", a)}, Timestamp: 1.7e9}})
							}
							buf, _ := Encode(StatusUpdateRequestType, req)
							idx++
							logs = append(logs, &raft.Log{Index: idx, Type: raft.LogCommand, Data: buf})
						}
						batches = append(batches, logs)
					}
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if i > 0 && i%len(batches) == 0 {
					// Every update has been applied: start again from a
					// state that has none of them.
					b.StopTimer()
					f = spreadState(b, agents, perAgent)
					b.StartTimer()
				}
				logs := batches[i%len(batches)]
				if mode == "each" {
					for _, l := range logs {
						f.Apply(l)
					}
				} else {
					f.ApplyBatch(logs)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/entries/1000, "µs/entry")
		})
	}
}

// spreadState is a state of perAgent tasks on each of agents agents, each
// agent's launched in one entry.
func spreadState(b *testing.B, agents, perAgent int) *FSM {
	b.Helper()
	f := New(nil)
	do := func(typ MessageType, req any) {
		if err, ok := apply(b, f, typ, req).(error); ok {
			b.Fatal(err)
		}
	}
	do(ClusterInitRequestType, &ClusterInitRequest{ClusterID: "c1"})
	do(FrameworkRegisterRequestType, &FrameworkRegisterRequest{Framework: Framework{ID: "c1-0000", Info: mesos.FrameworkInfo{User: "u", Name: "n"}, Connected: true}, New: true})
	for a := 0; a < agents; a++ {
		aid := fmt.Sprintf("c1-S%d", a)
		do(AgentRegisterRequestType, &AgentRegisterRequest{Agent: Agent{ID: aid, State: AgentActive, Info: mesos.AgentInfo{Hostname: "h", Resources: cpusMem(4, 4096)}}, New: true, Seq: uint64(a)})
		var tasks []Task
		for j := 0; j < perAgent; j++ {
			id := fmt.Sprintf("t-%d-%d", a, j)
			tasks = append(tasks, Task{FrameworkID: "c1-0000", TaskID: id, AgentID: aid, State: mesos.TaskStaging,
				Info: mesos.TaskInfo{Name: id, TaskID: mesos.TaskID{Value: id}, AgentID: mesos.AgentID{Value: aid},
					Resources: cpusMem(0.01, 1).Allocate("*"), Command: &mesos.CommandInfo{Value: "sleep 1000"}}})
		}
		do(TaskLaunchRequestType, &TaskLaunchRequest{FrameworkID: "c1-0000", AgentID: aid, Tasks: tasks})
	}
	return f
}

// BenchmarkState_TaskLookup measures finding one task by framework and
// task id in a state of 20,000 tasks on 1,000 agents, and listing an
// agent's 20 tasks.
func BenchmarkState_TaskLookup(b *testing.B) {
	f := spreadState(b, 1000, 20)
	st := f.State()
	b.Run("task", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if st.Task("c1-0000", fmt.Sprintf("t-%d-%d", i%1000, i%20)) == nil {
				b.Fatal("task not found")
			}
		}
	})
	b.Run("agent", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if len(st.TasksByAgent(fmt.Sprintf("c1-S%d", i%1000))) != 20 {
				b.Fatal("tasks not found")
			}
		}
	})
}

// BenchmarkFSM_Compact measures a compaction of 20,000 running tasks,
// each launched, STARTING, RUNNING and acknowledged, and reports the heap
// pages in use per task before and after it (after a forced collection
// and the freed memory returned), beside the live heap per task.
func BenchmarkFSM_Compact(b *testing.B) {
	const n = 20000
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		var start, before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&start)
		f := runningStateLaunching(b, n, 100)
		ackAll(b, f)
		runtime.GC()
		debug.FreeOSMemory()
		runtime.ReadMemStats(&before)
		b.StartTimer()
		if copied, ok := f.Compact(); !ok || copied != n {
			b.Fatalf("compacted %d records (ok %v), want %d", copied, ok, n)
		}
		b.StopTimer()
		runtime.GC()
		debug.FreeOSMemory()
		runtime.ReadMemStats(&after)
		perTask := func(v, base uint64) float64 { return float64(v-base) / n }
		b.ReportMetric(perTask(before.HeapAlloc, start.HeapAlloc), "live-bytes/task")
		b.ReportMetric(perTask(before.HeapInuse, start.HeapInuse), "inuse-before-bytes/task")
		b.ReportMetric(perTask(after.HeapAlloc, start.HeapAlloc), "live-after-bytes/task")
		b.ReportMetric(perTask(after.HeapInuse, start.HeapInuse), "inuse-after-bytes/task")
		runtime.KeepAlive(f)
		b.StartTimer()
	}
}

// ackAll acknowledges every pending update, 100 to an entry.
func ackAll(b *testing.B, f *FSM) {
	var acks []StatusAck
	for _, t := range f.State().Tasks() {
		if len(t.PendingAck) > 0 {
			acks = append(acks, StatusAck{FrameworkID: t.FrameworkID, TaskID: t.TaskID, UUID: t.PendingAck})
		}
	}
	idx := uint64(1 << 25)
	for len(acks) > 0 {
		k := min(100, len(acks))
		buf, err := Encode(StatusAckRequestType, &StatusAckRequest{Acks: acks[:k]})
		if err != nil {
			b.Fatal(err)
		}
		acks = acks[k:]
		idx++
		f.Apply(&raft.Log{Index: idx, Type: raft.LogCommand, Data: buf})
	}
}
