package server

import (
	"fmt"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"mesh/fsm"
	"mesh/mesos"
)

// loadedState is a state of agents agents with perAgent tasks each, of
// one framework.
func loadedState(b *testing.B, agents, perAgent int) *fsm.State {
	f := fsm.New(nil)
	apply := applier(b, f)
	apply(fsm.ClusterInitRequestType, &fsm.ClusterInitRequest{ClusterID: "c1"})
	apply(fsm.FrameworkRegisterRequestType, &fsm.FrameworkRegisterRequest{Framework: fsm.Framework{ID: "c1-0000",
		Info: mesos.FrameworkInfo{User: "u", Name: "n"}, Connected: true}, New: true})
	batch := &fsm.AgentRegisterBatchRequest{}
	for i := 0; i < agents; i++ {
		batch.Agents = append(batch.Agents, fsm.AgentRegisterRequest{New: true, Seq: uint64(i), Agent: fsm.Agent{
			ID: fmt.Sprintf("c1-S%d", i), State: fsm.AgentActive, Address: "10.0.0.1:5051",
			Info: mesos.AgentInfo{Hostname: fmt.Sprintf("node%05d", i), Resources: mesos.Resources{scalarResource("cpus", 32), scalarResource("mem", 65536)}}}})
	}
	apply(fsm.AgentRegisterBatchRequestType, batch)
	res := mesos.Resources{scalarResource("cpus", 0.01), scalarResource("mem", 1)}.Allocate("*")
	for i := 0; i < agents; i++ {
		aid := fmt.Sprintf("c1-S%d", i)
		req := &fsm.TaskLaunchRequest{FrameworkID: "c1-0000", AgentID: aid, At: 1}
		for j := 0; j < perAgent; j++ {
			id := fmt.Sprintf("t-%d-%d", i, j)
			req.Tasks = append(req.Tasks, fsm.Task{FrameworkID: "c1-0000", TaskID: id, AgentID: aid, State: mesos.TaskStaging,
				Info: mesos.TaskInfo{Name: id, TaskID: mesos.TaskID{Value: id}, AgentID: mesos.AgentID{Value: aid}, Resources: res,
					Command: &mesos.CommandInfo{Value: "sleep 1000"}}})
		}
		apply(fsm.TaskLaunchRequestType, req)
	}
	return f.State()
}

// BenchmarkResourceMetrics_Collect is the resource part of one scrape of
// /metrics at 5,000 agents and 100,000 tasks.
func BenchmarkResourceMetrics_Collect(b *testing.B) {
	st := loadedState(b, 5000, 20)
	m := newResourceMetrics(factory{reg: prometheus.NewRegistry()})
	ch := make(chan prometheus.Metric, 64)
	done := make(chan int)
	go func() {
		n := 0
		for range ch {
			n++
		}
		done <- n
	}()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m.collect(ch, st, nil)
	}
	b.StopTimer()
	close(ch)
	if n := <-done; n != b.N*2*len(scalarKinds) {
		b.Fatalf("%d metrics, want %d", n, b.N*2*len(scalarKinds))
	}
}
