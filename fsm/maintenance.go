package fsm

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"

	"github.com/hashicorp/go-memdb"

	"mesh/mesos"
)

// Machine modes, as Mesos' MachineInfo.Mode names them. A machine not in
// the schedule is UP.
const (
	MachineUp       = "UP"
	MachineDraining = "DRAINING"
	MachineDown     = "DOWN"
)

// ErrBadMaintenance marks a schedule or a list of machines that is not
// valid; the rest of the message says what was wrong.
var ErrBadMaintenance = errors.New("invalid maintenance request")

func badMaintenance(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrBadMaintenance}, args...)...)
}

// Maintenance is the maintenance schedule and where its machines stand.
// Every machine of a window is DRAINING unless it is listed in Down.
// Machines are kept normalized (see NormalizeMachine).
type Maintenance struct {
	Windows []MaintenanceWindow `json:",omitempty"`
	Down    []mesos.MachineID   `json:",omitempty"`
	// Answers are the frameworks' latest answers to the inverse offers of
	// each DRAINING machine, by MachineKey.
	Answers map[string][]InverseOfferAnswer `json:",omitempty"`
}

// MaintenanceWindow is a set of machines and when they may be
// unavailable (unix nanoseconds; no duration: for good).
type MaintenanceWindow struct {
	Machines []mesos.MachineID
	Start    int64
	Duration *int64 `json:",omitempty"`
}

// Unavailability is the window as the v1 API shows it.
func (w *MaintenanceWindow) Unavailability() mesos.Unavailability {
	u := mesos.Unavailability{Start: mesos.TimeInfo{Nanoseconds: w.Start}}
	if w.Duration != nil {
		u.Duration = &mesos.DurationInfo{Nanoseconds: *w.Duration}
	}
	return u
}

// InverseOfferAnswer is a framework's latest answer to a machine's
// inverse offers: UNKNOWN (sent, not answered), ACCEPT or DECLINE. A
// framework that answered with a filter gets no inverse offer for the
// machine again before RefuseUntil (unix nanoseconds).
type InverseOfferAnswer struct {
	FrameworkID string
	Status      string
	At          int64
	RefuseUntil int64 `json:",omitempty"`
}

// MaintenanceScheduleRequest replaces the schedule (UPDATE_MAINTENANCE_SCHEDULE).
type MaintenanceScheduleRequest struct {
	Windows []MaintenanceWindow
}

// MaintenanceMachinesRequest takes machines DOWN (START_MAINTENANCE) or
// brings them UP (STOP_MAINTENANCE).
type MaintenanceMachinesRequest struct {
	Machines []mesos.MachineID
}

// InverseOfferStatusRequest records frameworks' answers to the inverse
// offers of a machine (also UNKNOWN when they are sent).
type InverseOfferStatusRequest struct {
	Machine mesos.MachineID
	Answers []InverseOfferAnswer
}

// NormalizeMachine lower-cases the hostname: Mesos compares hostnames
// without regard to case.
func NormalizeMachine(m mesos.MachineID) mesos.MachineID {
	return mesos.MachineID{Hostname: strings.ToLower(m.Hostname), IP: m.IP}
}

// MachineKey identifies a normalized machine.
func MachineKey(m mesos.MachineID) string {
	m = NormalizeMachine(m)
	return m.Hostname + "|" + m.IP
}

// MachineString renders a machine for messages.
func MachineString(m mesos.MachineID) string {
	return fmt.Sprintf("(hostname %q, ip %q)", m.Hostname, m.IP)
}

// AgentMachine is the machine an agent runs on: its hostname and the IP
// it registered from.
func AgentMachine(a *Agent) mesos.MachineID {
	host, _, err := net.SplitHostPort(a.Address)
	if err != nil {
		host = ""
	}
	return NormalizeMachine(mesos.MachineID{Hostname: a.Info.Hostname, IP: host})
}

// validMachine checks one machine as Mesos does: a hostname or an IP,
// and an IP that is a well-formed IPv4 address.
func validMachine(m mesos.MachineID) error {
	if m.Hostname == "" && m.IP == "" {
		return badMaintenance("a machine needs a hostname or an IP; one has neither")
	}
	if m.IP != "" {
		if ip := net.ParseIP(m.IP); ip == nil || ip.To4() == nil {
			return badMaintenance("machine %s: %q is not a valid IPv4 address", MachineString(m), m.IP)
		}
	}
	return nil
}

// ValidateSchedule checks a new schedule against the current state as
// Mesos does: every window has machines, a non-negative duration, every
// machine is valid and appears once in the whole schedule, and no DOWN
// machine is left out (only STOP_MAINTENANCE brings one UP). Machines
// need not have registered: an operator may schedule a machine before
// its agent starts.
func ValidateSchedule(windows []MaintenanceWindow, cur *Maintenance) error {
	seen := map[string]bool{}
	for i, w := range windows {
		if len(w.Machines) == 0 {
			return badMaintenance("maintenance window %d lists no machine", i)
		}
		if w.Duration != nil && *w.Duration < 0 {
			return badMaintenance("maintenance window %d: the unavailability's duration %dns is negative", i, *w.Duration)
		}
		for _, m := range w.Machines {
			if err := validMachine(m); err != nil {
				return err
			}
			k := MachineKey(m)
			if seen[k] {
				return badMaintenance("machine %s appears more than once in the schedule: a machine may be in one window only", MachineString(m))
			}
			seen[k] = true
		}
	}
	if cur != nil {
		for _, d := range cur.Down {
			if !seen[MachineKey(d)] {
				return badMaintenance("machine %s is DOWN and cannot be removed from the schedule; STOP_MAINTENANCE brings it UP first", MachineString(d))
			}
		}
	}
	return nil
}

// ValidateMachines checks the machines of a START_MAINTENANCE (want
// DRAINING: they go DOWN) or a STOP_MAINTENANCE (want DOWN: they go UP):
// a non-empty list of valid machines, each once, each in the schedule and
// in the wanted mode.
func ValidateMachines(ms []mesos.MachineID, cur *Maintenance, want string) error {
	if len(ms) == 0 {
		return badMaintenance("the list of machines is empty")
	}
	seen := map[string]bool{}
	for _, m := range ms {
		if err := validMachine(m); err != nil {
			return err
		}
		k := MachineKey(m)
		if seen[k] {
			return badMaintenance("machine %s appears more than once in the list", MachineString(m))
		}
		seen[k] = true
		mode := cur.Mode(m)
		switch {
		case mode == MachineUp:
			return badMaintenance("machine %s is not in the maintenance schedule", MachineString(m))
		case mode != want && want == MachineDraining:
			return badMaintenance("machine %s is %s, not %s: it cannot be brought down", MachineString(m), mode, MachineDraining)
		case mode != want:
			return badMaintenance("machine %s is %s, not %s: it cannot be brought up", MachineString(m), mode, MachineDown)
		}
	}
	return nil
}

// Mode is a machine's mode: UP when it is in no window. A nil
// Maintenance has every machine UP.
func (m *Maintenance) Mode(id mesos.MachineID) string {
	if m.Window(id) == nil {
		return MachineUp
	}
	k := MachineKey(id)
	for _, d := range m.Down {
		if MachineKey(d) == k {
			return MachineDown
		}
	}
	return MachineDraining
}

// Window is the window a machine is in, nil when none.
func (m *Maintenance) Window(id mesos.MachineID) *MaintenanceWindow {
	if m == nil {
		return nil
	}
	k := MachineKey(id)
	for i := range m.Windows {
		for _, x := range m.Windows[i].Machines {
			if MachineKey(x) == k {
				return &m.Windows[i]
			}
		}
	}
	return nil
}

// Machines lists every machine of the schedule, in window order.
func (m *Maintenance) Machines() []mesos.MachineID {
	if m == nil {
		return nil
	}
	var out []mesos.MachineID
	for _, w := range m.Windows {
		out = append(out, w.Machines...)
	}
	return out
}

// Answer is a framework's latest answer for a machine, nil when none.
func (m *Maintenance) Answer(id mesos.MachineID, fid string) *InverseOfferAnswer {
	if m == nil {
		return nil
	}
	for i, a := range m.Answers[MachineKey(id)] {
		if a.FrameworkID == fid {
			return &m.Answers[MachineKey(id)][i]
		}
	}
	return nil
}

// Copy returns a deep copy safe to mutate (nil for nil).
func (m *Maintenance) Copy() *Maintenance {
	if m == nil {
		return &Maintenance{}
	}
	c := &Maintenance{Down: slices.Clone(m.Down)}
	for _, w := range m.Windows {
		w.Machines = slices.Clone(w.Machines)
		if w.Duration != nil {
			d := *w.Duration
			w.Duration = &d
		}
		c.Windows = append(c.Windows, w)
	}
	if m.Answers != nil {
		c.Answers = map[string][]InverseOfferAnswer{}
		for k, v := range m.Answers {
			c.Answers[k] = slices.Clone(v)
		}
	}
	return c
}

// normalizeWindows copies windows with their machines normalized.
func normalizeWindows(ws []MaintenanceWindow) []MaintenanceWindow {
	out := make([]MaintenanceWindow, len(ws))
	for i, w := range ws {
		out[i] = w
		out[i].Machines = make([]mesos.MachineID, len(w.Machines))
		for j, x := range w.Machines {
			out[i].Machines[j] = NormalizeMachine(x)
		}
	}
	return out
}

// SameWindow reports whether two windows (nil: none) have the same
// unavailability.
func SameWindow(a, b *MaintenanceWindow) bool {
	if a == nil || b == nil {
		return a == b
	}
	if a.Start != b.Start || (a.Duration == nil) != (b.Duration == nil) {
		return false
	}
	return a.Duration == nil || *a.Duration == *b.Duration
}

// putMaintenance stores m, or nothing when no machine is scheduled.
func putMaintenance(txn *memdb.Txn, m *Maintenance) {
	meta := getMeta(txn)
	meta.Maintenance = m
	if len(m.Windows) == 0 {
		meta.Maintenance = nil
	}
	putMeta(txn, meta)
}

// applyMaintenanceSchedule replaces the schedule. A machine keeps its
// frameworks' answers only while its window is unchanged: an answer is
// to a given unavailability.
func applyMaintenanceSchedule(txn *memdb.Txn, req *MaintenanceScheduleRequest) any {
	cur := getMeta(txn).Maintenance
	if err := ValidateSchedule(req.Windows, cur); err != nil {
		return err
	}
	next := &Maintenance{Windows: normalizeWindows(req.Windows)}
	if cur != nil {
		next.Down = slices.Clone(cur.Down)
		for _, id := range next.Machines() {
			old, now := cur.Window(id), next.Window(id)
			if a := cur.Answers[MachineKey(id)]; len(a) > 0 && old != nil && SameWindow(old, now) {
				if next.Answers == nil {
					next.Answers = map[string][]InverseOfferAnswer{}
				}
				next.Answers[MachineKey(id)] = slices.Clone(a)
			}
		}
	}
	putMaintenance(txn, next)
	return nil
}

// applyMaintenanceStart takes DRAINING machines DOWN. Their agents are
// deactivated and drained in the same entry: each live task is killed
// with its own grace period, and the leader refuses those agents while
// their machine is DOWN.
func applyMaintenanceStart(txn *memdb.Txn, req *MaintenanceMachinesRequest) any {
	cur := getMeta(txn).Maintenance
	if err := ValidateMachines(req.Machines, cur, MachineDraining); err != nil {
		return err
	}
	next := cur.Copy()
	down := map[string]bool{}
	for _, id := range req.Machines {
		next.Down = append(next.Down, NormalizeMachine(id))
		down[MachineKey(id)] = true
		delete(next.Answers, MachineKey(id))
	}
	putMaintenance(txn, next)
	st := &State{txn: txn}
	for _, old := range st.Agents() {
		if old.State == AgentGone || !down[MachineKey(AgentMachine(old))] {
			continue
		}
		a := *old
		a.Deactivated = true
		if a.Drain == nil {
			// An agent drained or draining already keeps its drain.
			a.Drain = &DrainInfo{State: DrainDraining}
		}
		mustInsert(txn, tableAgents, &a)
	}
	return nil
}

// applyMaintenanceStop brings DOWN machines UP: they leave the schedule
// (a window left without machines goes too) and their agents are active
// again, to be offered once they register.
func applyMaintenanceStop(txn *memdb.Txn, req *MaintenanceMachinesRequest) any {
	cur := getMeta(txn).Maintenance
	if err := ValidateMachines(req.Machines, cur, MachineDown); err != nil {
		return err
	}
	up := map[string]bool{}
	for _, id := range req.Machines {
		up[MachineKey(id)] = true
	}
	next := cur.Copy()
	next.Down = slices.DeleteFunc(next.Down, func(m mesos.MachineID) bool { return up[MachineKey(m)] })
	var windows []MaintenanceWindow
	for _, w := range next.Windows {
		w.Machines = slices.DeleteFunc(w.Machines, func(m mesos.MachineID) bool { return up[MachineKey(m)] })
		if len(w.Machines) > 0 {
			windows = append(windows, w)
		}
	}
	next.Windows = windows
	for k := range up {
		delete(next.Answers, k)
	}
	putMaintenance(txn, next)
	st := &State{txn: txn}
	for _, old := range st.Agents() {
		if old.State == AgentGone || !up[MachineKey(AgentMachine(old))] {
			continue
		}
		a := *old
		a.Deactivated, a.Drain = false, nil
		mustInsert(txn, tableAgents, &a)
	}
	return nil
}

// ErrMachineNotDraining refuses answers for a machine that is no longer
// DRAINING (its schedule changed, or it went DOWN, meanwhile).
var ErrMachineNotDraining = errors.New("machine is not draining")

// applyInverseOfferStatus records frameworks' answers for a machine, each
// replacing the framework's earlier one.
func applyInverseOfferStatus(txn *memdb.Txn, req *InverseOfferStatusRequest) any {
	cur := getMeta(txn).Maintenance
	if cur.Mode(req.Machine) != MachineDraining {
		return ErrMachineNotDraining
	}
	for _, a := range req.Answers {
		switch a.Status {
		case mesos.InverseOfferUnknown, mesos.InverseOfferAccept, mesos.InverseOfferDecline:
		default:
			return fmt.Errorf("%w: inverse offer status %q", ErrUnknownOp, a.Status)
		}
	}
	next := cur.Copy()
	if next.Answers == nil {
		next.Answers = map[string][]InverseOfferAnswer{}
	}
	k := MachineKey(req.Machine)
	for _, a := range req.Answers {
		list := slices.DeleteFunc(next.Answers[k], func(x InverseOfferAnswer) bool { return x.FrameworkID == a.FrameworkID })
		next.Answers[k] = append(list, a)
	}
	putMaintenance(txn, next)
	return nil
}

// Maintenance is the maintenance schedule and where its machines stand;
// nil when no machine is scheduled. Never mutate it: Copy first.
func (s *State) Maintenance() *Maintenance {
	return s.Meta().Maintenance
}

// AgentMode is the mode of the machine an agent runs on.
func (s *State) AgentMode(a *Agent) string {
	return s.Maintenance().Mode(AgentMachine(a))
}
