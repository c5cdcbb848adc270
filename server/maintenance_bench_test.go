package server

import (
	"fmt"
	"testing"

	"mesh/fsm"
	"mesh/mesos"
)

// maintState is a state of n agents, one per machine, with the first m
// machines in a maintenance window.
func maintState(b *testing.B, n, m int) *fsm.State {
	b.Helper()
	f := fsm.New(nil)
	apply := applier(b, f)
	batch := &fsm.AgentRegisterBatchRequest{}
	w := fsm.MaintenanceWindow{Start: 1}
	for i := 0; i < n; i++ {
		host := fmt.Sprintf("node%05d", i)
		batch.Agents = append(batch.Agents, fsm.AgentRegisterRequest{New: true, Seq: uint64(i), Agent: fsm.Agent{
			ID: fmt.Sprintf("c-S%d", i), State: fsm.AgentActive, Address: "10.0.0.1:5051", Info: mesos.AgentInfo{Hostname: host}}})
		if i < m {
			w.Machines = append(w.Machines, mesos.MachineID{Hostname: host, IP: "10.0.0.1"})
		}
	}
	apply(fsm.AgentRegisterBatchRequestType, batch)
	apply(fsm.MaintenanceScheduleRequestType, &fsm.MaintenanceScheduleRequest{Windows: []fsm.MaintenanceWindow{w}})
	return f.State()
}

// BenchmarkDrainingAgents is what the inverse offer pass does for every
// agent: find whether its machine is DRAINING, through the index (built
// once per schedule) and, for comparison, by scanning the schedule.
func BenchmarkDrainingAgents(b *testing.B) {
	for _, size := range []struct{ agents, machines int }{{1000, 100}, {10000, 2000}} {
		st := maintState(b, size.agents, size.machines)
		agents := st.Agents()
		name := fmt.Sprintf("agents=%d/machines=%d", size.agents, size.machines)
		b.Run(name+"/index", func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				idx := indexMaintenance(st.Maintenance())
				n := 0
				for _, a := range agents {
					if idx.draining(fsm.AgentMachine(a)) {
						n++
					}
				}
				if n != size.machines {
					b.Fatalf("%d draining, want %d", n, size.machines)
				}
			}
		})
		b.Run(name+"/scan", func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				maint := st.Maintenance()
				n := 0
				for _, a := range agents {
					if maint.Mode(fsm.AgentMachine(a)) == fsm.MachineDraining {
						n++
					}
				}
				if n != size.machines {
					b.Fatalf("%d draining, want %d", n, size.machines)
				}
			}
		})
	}
}
