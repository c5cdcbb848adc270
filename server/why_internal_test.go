package server

import (
	"strings"
	"testing"

	"mesh/allocator"
	"mesh/fsm"
	"mesh/mesos"
)

// TestWhy_InactiveAgentOfADownMachineIsNamedDown: an agent the allocator
// holds back is explained by its machine being DOWN for maintenance when
// it is, before its drain or deactivation.
func TestWhy_InactiveAgentOfADownMachineIsNamedDown(t *testing.T) {
	f := fsm.New(nil)
	machine := mesos.MachineID{Hostname: "rack1-a", IP: "127.0.0.5"}
	agent := fsm.Agent{ID: "a1", Address: "127.0.0.5:5051", State: fsm.AgentActive, Drain: &fsm.DrainInfo{},
		Info: mesos.AgentInfo{Hostname: "rack1-a"}}
	apply := applier(t, f)
	if r, _ := inactiveAgentReason(f.State(), &agent); r != allocator.ReasonAgentInactive {
		t.Fatalf("draining agent of a machine in no schedule: %s, want %s", r, allocator.ReasonAgentInactive)
	}
	apply(fsm.MaintenanceScheduleRequestType, &fsm.MaintenanceScheduleRequest{Windows: []fsm.MaintenanceWindow{{Machines: []mesos.MachineID{machine}, Start: 1}}})
	if r, _ := inactiveAgentReason(f.State(), &agent); r != allocator.ReasonAgentInactive {
		t.Fatalf("draining agent of a scheduled machine: %s, want %s", r, allocator.ReasonAgentInactive)
	}
	apply(fsm.MaintenanceStartRequestType, &fsm.MaintenanceMachinesRequest{Machines: []mesos.MachineID{machine}})
	r, detail := inactiveAgentReason(f.State(), &agent)
	if r != allocator.ReasonAgentDown || !strings.Contains(detail, "DOWN") {
		t.Fatalf("agent of a DOWN machine: %s %q, want %s", r, detail, allocator.ReasonAgentDown)
	}
}
