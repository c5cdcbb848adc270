package master

import "mesh/mesos"

// MaintenanceWindow is a set of machines and the time they may be
// unavailable (mesos.v1.maintenance.Window).
type MaintenanceWindow struct {
	MachineIDs     []mesos.MachineID     `json:"machine_ids,omitempty"`
	Unavailability *mesos.Unavailability `json:"unavailability"`
}

// MaintenanceSchedule is the cluster's maintenance windows
// (mesos.v1.maintenance.Schedule). A machine appears in one window at most.
type MaintenanceSchedule struct {
	Windows []MaintenanceWindow `json:"windows,omitempty"`
}

// DrainingMachine is a machine in DRAINING mode and the latest answer of
// each framework that was sent inverse offers for it.
type DrainingMachine struct {
	ID       mesos.MachineID            `json:"id"`
	Statuses []mesos.InverseOfferStatus `json:"statuses,omitempty"`
}

// MaintenanceClusterStatus is where each machine of the schedule stands
// (mesos.v1.maintenance.ClusterStatus).
type MaintenanceClusterStatus struct {
	DrainingMachines []DrainingMachine `json:"draining_machines,omitempty"`
	DownMachines     []mesos.MachineID `json:"down_machines,omitempty"`
}

// UpdateMaintenanceSchedule replaces the maintenance schedule.
type UpdateMaintenanceSchedule struct {
	Schedule *MaintenanceSchedule `json:"schedule"`
}

// Machines lists machines to take DOWN (START_MAINTENANCE) or bring UP
// (STOP_MAINTENANCE).
type Machines struct {
	Machines []mesos.MachineID `json:"machines,omitempty"`
}

// GetMaintenanceStatus answers GET_MAINTENANCE_STATUS.
type GetMaintenanceStatus struct {
	Status MaintenanceClusterStatus `json:"status"`
}

// GetMaintenanceSchedule answers GET_MAINTENANCE_SCHEDULE.
type GetMaintenanceSchedule struct {
	Schedule MaintenanceSchedule `json:"schedule"`
}

// missingUnavailability reports a window without its unavailability.
func (u *UpdateMaintenanceSchedule) missingUnavailability() bool {
	for _, w := range u.Schedule.Windows {
		if w.Unavailability == nil {
			return true
		}
	}
	return false
}
