package server

import (
	"errors"
	"net/http"

	"mesh/fsm"
	"mesh/mesos"
	"mesh/mesos/agentapi"
	mapi "mesh/mesos/master"
)

// Maintenance (Mesos' maintenance primitives): the operator posts a
// schedule of windows, each a set of machines (hostname and IP) and an
// unavailability; scheduled machines are DRAINING, their agents' offers
// carry the unavailability and the frameworks with tasks there get
// inverse offers (master_inverse.go). START_MAINTENANCE takes machines
// DOWN: their agents are drained (each task killed with its grace
// period), then cut off and refused while DOWN. STOP_MAINTENANCE brings
// them UP: out of the schedule, their agents register and are offered
// again. The schedule, the modes and the frameworks' answers are in the
// replicated state (fsm/maintenance.go).

// maintenanceCall carries out the calls that change maintenance. It is
// the one place those calls pass before they act: an authorization check
// of UPDATE_MAINTENANCE_SCHEDULE, START_MAINTENANCE and STOP_MAINTENANCE
// belongs here.
func (m *master) maintenanceCall(c *mapi.Call) error {
	switch c.Type {
	case mapi.CallUpdateMaintenanceSchedule:
		return m.updateMaintenanceSchedule(c.UpdateMaintenanceSchedule.Schedule)
	case mapi.CallStartMaintenance:
		return m.startMaintenance(c.StartMaintenance.Machines)
	case mapi.CallStopMaintenance:
		return m.stopMaintenance(c.StopMaintenance.Machines)
	}
	return httpErrorf(http.StatusBadRequest, "%s is not a maintenance call", c.Type)
}

// updateMaintenanceSchedule replaces the schedule: its machines become
// DRAINING, offers of their agents are made again with the new
// unavailability, and inverse offers for a window that changed are
// rescinded and made again.
func (m *master) updateMaintenanceSchedule(s *mapi.MaintenanceSchedule) error {
	req := &fsm.MaintenanceScheduleRequest{Windows: fromV1Schedule(s)}
	m.inv.passMu.Lock()
	defer m.inv.passMu.Unlock()
	before := m.s.fsm.State().Maintenance()
	if err := fsm.ValidateSchedule(req.Windows, before); err != nil {
		return maintenanceError(err)
	}
	if _, err := m.apply(fsm.MaintenanceScheduleRequestType, req); err != nil {
		return maintenanceError(err)
	}
	after := m.s.fsm.State().Maintenance()
	m.logger.Info("maintenance schedule updated", "windows", len(req.Windows), "machines", len(after.Machines()))
	m.maintenanceChanged(before)
	return nil
}

// maintenanceChanged re-offers the agents whose machine's window changed
// (their offers carry it) and rescinds inverse offers made for a window
// that is no longer the machine's, then asks for inverse offers.
func (m *master) maintenanceChanged(before *fsm.Maintenance) {
	st := m.s.fsm.State()
	old, now := indexMaintenance(before), m.maintenanceIndex(st)
	for _, a := range st.Agents() {
		id := fsm.AgentMachine(a)
		if !fsm.SameWindow(old.window(id), now.window(id)) {
			m.removeOffers(st.OffersByAgent(a.ID), true, 0)
		}
	}
	m.rescindInverseOffers(func(o *inverseOffer) bool {
		return !now.draining(o.machine) || !fsm.SameWindow(&o.window, now.window(o.machine))
	})
	m.inv.trigger()
}

// startMaintenance takes DRAINING machines DOWN. The same log entry
// drains their agents; here each is kept out of the offers, its tasks are
// killed with their grace periods, and it is cut off once drained.
func (m *master) startMaintenance(machines []mesos.MachineID) error {
	before := m.s.fsm.State().Maintenance()
	if err := fsm.ValidateMachines(machines, before, fsm.MachineDraining); err != nil {
		return maintenanceError(err)
	}
	if err := m.startMaintenanceCommit(machines); err != nil {
		return err
	}
	for _, a := range agentsOn(m.s.fsm.State(), machines) {
		m.logger.Info("agent's machine is going DOWN for maintenance: draining it", "agent_id", a.ID,
			"machine", fsm.MachineString(fsm.AgentMachine(a)))
		m.stopOffering(a.ID)
		m.killDrainingTasks(a.ID)
		m.checkDrained(a.ID)
		m.cutOffIfDown(a.ID)
	}
	return nil
}

// startMaintenanceCommit commits the machines DOWN and rescinds their
// inverse offers, with no inverse offer pass in between.
func (m *master) startMaintenanceCommit(machines []mesos.MachineID) error {
	m.inv.passMu.Lock()
	defer m.inv.passMu.Unlock()
	if _, err := m.apply(fsm.MaintenanceStartRequestType, &fsm.MaintenanceMachinesRequest{Machines: machines}); err != nil {
		return maintenanceError(err)
	}
	after := m.s.fsm.State().Maintenance()
	m.rescindInverseOffers(func(o *inverseOffer) bool { return after.Mode(o.machine) != fsm.MachineDraining })
	return nil
}

// stopMaintenance brings DOWN machines UP: they leave the schedule and
// their agents are active again, offered once they register.
func (m *master) stopMaintenance(machines []mesos.MachineID) error {
	if err := fsm.ValidateMachines(machines, m.s.fsm.State().Maintenance(), fsm.MachineDown); err != nil {
		return maintenanceError(err)
	}
	if _, err := m.apply(fsm.MaintenanceStopRequestType, &fsm.MaintenanceMachinesRequest{Machines: machines}); err != nil {
		return maintenanceError(err)
	}
	for _, a := range agentsOn(m.s.fsm.State(), machines) {
		m.logger.Info("agent's machine is UP again", "agent_id", a.ID, "machine", fsm.MachineString(fsm.AgentMachine(a)))
		m.alloc.SetAgentActive(a.ID, true)
	}
	return nil
}

// agentsOn lists the agents, not gone, on any of the machines.
func agentsOn(st *fsm.State, machines []mesos.MachineID) []*fsm.Agent {
	want := map[string]bool{}
	for _, id := range machines {
		want[fsm.MachineKey(id)] = true
	}
	var out []*fsm.Agent
	for _, a := range st.Agents() {
		if a.State != fsm.AgentGone && want[fsm.MachineKey(fsm.AgentMachine(a))] {
			out = append(out, a)
		}
	}
	return out
}

// maintenanceError turns a refused maintenance command into the answer:
// a 400 that says what was wrong, or a 503 to retry.
func maintenanceError(err error) error {
	switch {
	case errors.Is(err, fsm.ErrBadMaintenance):
		return httpErrorf(http.StatusBadRequest, "%v", err)
	case transient(err):
		return httpErrorf(http.StatusServiceUnavailable, "maintenance change not committed: %v; retry", err)
	}
	return httpErrorf(http.StatusConflict, "maintenance change refused: %v", err)
}

// cutOffIfDown ends the stream of a drained agent whose machine is DOWN
// and records it unreachable, as Mesos removes the agents of a machine
// it takes down; the agent's registrations are refused until the
// machine is UP (agentSubscribe).
func (m *master) cutOffIfDown(aid string) {
	st := m.s.fsm.State()
	a := st.Agent(aid)
	if a == nil || a.State != fsm.AgentActive || st.AgentMode(a) != fsm.MachineDown || a.Drain == nil || a.Drain.State != fsm.DrainDrained {
		return
	}
	m.mu.Lock()
	ac := m.agents[aid]
	m.mu.Unlock()
	if ac != nil {
		ac.send(&agentapi.Event{Type: agentapi.EventError, Term: m.term,
			Error: &agentapi.Error{Message: downMessage(fsm.AgentMachine(a))}})
	}
	m.markAgentUnreachable(aid, "Agent's machine is DOWN for maintenance")
}

// refuseIfDown refuses the registration of an agent whose machine is
// DOWN, with a 403 that says so; an agent still DRAINING there (away when
// its machine went down, or when the leader changed) may come back to
// finish its drain, and is cut off once drained.
func refuseIfDown(st *fsm.State, info mesos.AgentInfo, host string) error {
	machine := fsm.NormalizeMachine(mesos.MachineID{Hostname: info.Hostname, IP: host})
	if st.Maintenance().Mode(machine) != fsm.MachineDown {
		return nil
	}
	if info.ID != nil && draining(st, info.ID.Value) {
		return nil
	}
	return httpErrorf(http.StatusForbidden, "%s", downMessage(machine))
}

// downMessage is why an agent of a DOWN machine is refused.
func downMessage(id mesos.MachineID) string {
	return "machine " + fsm.MachineString(id) + " is DOWN for maintenance: its agents may register again once STOP_MAINTENANCE brings it UP"
}

// getMaintenanceSchedule answers GET_MAINTENANCE_SCHEDULE.
func (s *Server) getMaintenanceSchedule() *mapi.Response {
	return &mapi.Response{Type: mapi.ResponseGetMaintenanceSchedule,
		GetMaintenanceSchedule: &mapi.GetMaintenanceSchedule{Schedule: toV1Schedule(s.fsm.State().Maintenance())}}
}

// getMaintenanceStatus answers GET_MAINTENANCE_STATUS: the DRAINING
// machines with each framework's latest answer, and the DOWN machines.
func (s *Server) getMaintenanceStatus() *mapi.Response {
	maint := s.fsm.State().Maintenance()
	var out mapi.MaintenanceClusterStatus
	for _, id := range maint.Machines() {
		if maint.Mode(id) == fsm.MachineDown {
			out.DownMachines = append(out.DownMachines, id)
			continue
		}
		dm := mapi.DrainingMachine{ID: id}
		for _, a := range maint.Answers[fsm.MachineKey(id)] {
			dm.Statuses = append(dm.Statuses, mesos.InverseOfferStatus{Status: a.Status,
				FrameworkID: mesos.FrameworkID{Value: a.FrameworkID}, Timestamp: mesos.TimeInfo{Nanoseconds: a.At}})
		}
		out.DrainingMachines = append(out.DrainingMachines, dm)
	}
	return &mapi.Response{Type: mapi.ResponseGetMaintenanceStatus, GetMaintenanceStatus: &mapi.GetMaintenanceStatus{Status: out}}
}

// fromV1Schedule is a posted schedule as the replicated state keeps it.
func fromV1Schedule(s *mapi.MaintenanceSchedule) []fsm.MaintenanceWindow {
	out := make([]fsm.MaintenanceWindow, 0, len(s.Windows))
	for _, w := range s.Windows {
		fw := fsm.MaintenanceWindow{Machines: w.MachineIDs, Start: w.Unavailability.Start.Nanoseconds}
		if d := w.Unavailability.Duration; d != nil {
			n := d.Nanoseconds
			fw.Duration = &n
		}
		out = append(out, fw)
	}
	return out
}

// toV1Schedule renders the schedule for GET_MAINTENANCE_SCHEDULE.
func toV1Schedule(m *fsm.Maintenance) mapi.MaintenanceSchedule {
	var out mapi.MaintenanceSchedule
	if m == nil {
		return out
	}
	for _, w := range m.Windows {
		u := w.Unavailability()
		out.Windows = append(out.Windows, mapi.MaintenanceWindow{MachineIDs: w.Machines, Unavailability: &u})
	}
	return out
}
