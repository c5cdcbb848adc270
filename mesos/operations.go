package mesos

import (
	"errors"
	"fmt"
	"strings"
)

// A Conversion is what one offer operation (RESERVE, UNRESERVE, CREATE,
// DESTROY, GROW_VOLUME, SHRINK_VOLUME) does to an agent's resources, as
// Mesos' Resources::apply: From is taken away and To put in its place.
// Both are equal in quantity except for SHRINK_VOLUME and GROW_VOLUME,
// whose From and To still add up to the same disk.
type Conversion struct {
	From Resources `json:"from"`
	To   Resources `json:"to"`
}

// IsDynamicallyReserved reports whether the resource's newest reservation
// is dynamic (made by RESERVE, undone by UNRESERVE).
func (r *Resource) IsDynamicallyReserved() bool {
	n := len(r.Reservations)
	return n > 0 && r.Reservations[n-1].Type == ReservationDynamic
}

// IsPersistentVolume reports whether the resource is a persistent volume.
func (r *Resource) IsPersistentVolume() bool {
	return r.Disk != nil && r.Disk.Persistence != nil
}

// PersistenceID returns the persistent volume's id, "" for other resources.
func (r *Resource) PersistenceID() string {
	if !r.IsPersistentVolume() {
		return ""
	}
	return r.Disk.Persistence.ID
}

// IsStrictSubrole reports whether child lies under parent in the role
// tree ("eng/web" under "eng").
func IsStrictSubrole(child, parent string) bool {
	return strings.HasPrefix(child, parent+"/")
}

// popReservation returns a copy of r without its newest reservation.
func popReservation(r Resource) Resource {
	c := r.Clone()
	if n := len(c.Reservations); n > 0 {
		c.Reservations = c.Reservations[:n-1]
		if len(c.Reservations) == 0 {
			c.Reservations = nil
		}
	}
	return c
}

// withoutVolume returns a copy of r that is plain disk: no persistence,
// no volume; a disk source is kept.
func withoutVolume(r Resource) Resource {
	c := r.Clone()
	if c.Disk == nil {
		return c
	}
	if c.Disk.Source == nil {
		c.Disk = nil
		return c
	}
	c.Disk = &DiskInfo{Source: c.Disk.Source}
	return c
}

// reservationKey renders what tells apart two reservation stacks that end
// in the same role: the type, principal and labels of each level. A plain
// static reservation (the agent's cpus(role):n) renders as nothing so the
// common case stays cheap.
func reservationKey(rs []ReservationInfo) string {
	if len(rs) == 0 || (len(rs) == 1 && rs[0].Type != ReservationDynamic && rs[0].Principal == "" && rs[0].Labels == nil) {
		return ""
	}
	var b strings.Builder
	for _, rv := range rs {
		b.WriteString("|r:")
		b.WriteString(rv.Type)
		b.WriteByte(':')
		b.WriteString(rv.Role)
		b.WriteByte(':')
		b.WriteString(rv.Principal)
		if rv.Labels != nil {
			for _, l := range rv.Labels.Labels {
				b.WriteString(":" + l.Key + "=" + l.Value)
			}
		}
	}
	return b.String()
}

// volumeKey renders a disk's persistence and volume.
func volumeKey(d *DiskInfo) string {
	if d == nil {
		return ""
	}
	var b strings.Builder
	if d.Persistence != nil {
		b.WriteString("|vol:" + d.Persistence.ID + ":" + d.Persistence.Principal)
	}
	if d.Volume != nil {
		b.WriteString("|at:" + d.Volume.Mode + ":" + d.Volume.ContainerPath)
	}
	if d.Source != nil {
		b.WriteString("|src:" + d.Source.Type)
	}
	return b.String()
}

// UpgradeResources turns resources written in the format from before
// reservation refinement (a "role" and one "reservation") into the
// reservations stack mesh keeps, as the Mesos master does with what
// frameworks and operators send: a role alone is a static reservation,
// a role with a reservation a dynamic one on top of nothing.
func UpgradeResources(rs Resources) Resources {
	out := rs.Clone()
	for i := range out {
		r := &out[i]
		if len(r.Reservations) == 0 && r.Role != "" && r.Role != "*" {
			rv := ReservationInfo{Type: ReservationStatic, Role: r.Role}
			if r.Reservation != nil {
				rv = ReservationInfo{Type: ReservationDynamic, Role: r.Role, Principal: r.Reservation.Principal, Labels: r.Reservation.Labels}
			}
			r.Reservations = []ReservationInfo{rv}
		}
		for j := range r.Reservations {
			if r.Reservations[j].Type == "" {
				r.Reservations[j].Type = ReservationStatic
			}
		}
		r.Role, r.Reservation = "", nil
	}
	return out
}

// ReserveConversion is RESERVE of res: each resource's newest reservation
// (which must be dynamic) is put on top of what it is without it.
func ReserveConversion(res Resources) (Conversion, error) {
	if len(res) == 0 {
		return Conversion{}, errors.New("no resources to reserve")
	}
	var c Conversion
	for _, r := range res {
		switch {
		case !r.IsDynamicallyReserved():
			return Conversion{}, fmt.Errorf("resource %s is not dynamically reserved: its newest reservation must be of type DYNAMIC", Resources{r}.String())
		case r.IsPersistentVolume():
			return Conversion{}, fmt.Errorf("persistent volume %s cannot be reserved", r.PersistenceID())
		}
		if n := len(r.Reservations); n > 1 {
			parent, role := r.Reservations[n-2].Role, r.Reservations[n-1].Role
			if !IsStrictSubrole(role, parent) {
				return Conversion{}, fmt.Errorf("resource %s refines a reservation for role %q with one for role %q, which is not a child of it", Resources{r}.String(), parent, role)
			}
		}
		c.From = append(c.From, popReservation(r))
		c.To = append(c.To, r.Clone())
	}
	return c, nil
}

// UnreserveConversion is UNRESERVE of res: each resource loses its newest
// reservation, which must be dynamic.
func UnreserveConversion(res Resources) (Conversion, error) {
	if len(res) == 0 {
		return Conversion{}, errors.New("no resources to unreserve")
	}
	var c Conversion
	for _, r := range res {
		switch {
		case !r.IsReserved():
			return Conversion{}, fmt.Errorf("resource %s is not reserved: only dynamically reserved resources can be unreserved", Resources{r}.String())
		case !r.IsDynamicallyReserved():
			return Conversion{}, fmt.Errorf("resource %s is statically reserved (by the agent's -resources): only dynamic reservations can be unreserved", Resources{r}.String())
		case r.IsPersistentVolume():
			return Conversion{}, fmt.Errorf("resource %s is the persistent volume %s: destroy the volume before unreserving its disk", Resources{r}.String(), r.PersistenceID())
		}
		c.From = append(c.From, r.Clone())
		c.To = append(c.To, popReservation(r))
	}
	return c, nil
}

// CreateConversion is CREATE of volumes: reserved disk becomes persistent
// volumes.
func CreateConversion(volumes Resources) (Conversion, error) {
	if len(volumes) == 0 {
		return Conversion{}, errors.New("no volumes to create")
	}
	var c Conversion
	seen := map[string]bool{}
	for _, v := range volumes {
		if err := checkVolume(&v); err != nil {
			return Conversion{}, err
		}
		if !v.IsReserved() {
			return Conversion{}, fmt.Errorf("persistent volume %s cannot be created from unreserved disk: reserve the disk first", v.PersistenceID())
		}
		if seen[v.PersistenceID()] {
			return Conversion{}, fmt.Errorf("persistence id %q is used twice in one CREATE", v.PersistenceID())
		}
		seen[v.PersistenceID()] = true
		c.From = append(c.From, withoutVolume(v))
		c.To = append(c.To, v.Clone())
	}
	return c, nil
}

// DestroyConversion is DESTROY of volumes: each becomes plain reserved
// disk again.
func DestroyConversion(volumes Resources) (Conversion, error) {
	if len(volumes) == 0 {
		return Conversion{}, errors.New("no volumes to destroy")
	}
	var c Conversion
	for _, v := range volumes {
		if !v.IsPersistentVolume() {
			return Conversion{}, fmt.Errorf("resource %s is not a persistent volume", Resources{v}.String())
		}
		c.From = append(c.From, v.Clone())
		c.To = append(c.To, withoutVolume(v))
	}
	return c, nil
}

// GrowConversion is GROW_VOLUME: the volume takes addition, plain disk of
// the same reservation, into itself.
func GrowConversion(volume, addition *Resource) (Conversion, error) {
	if volume == nil || addition == nil {
		return Conversion{}, errors.New("GROW_VOLUME needs a volume and an addition")
	}
	if !volume.IsPersistentVolume() || volume.Name != "disk" || volume.Scalar == nil {
		return Conversion{}, errors.New("the volume to grow is not a persistent volume")
	}
	if addition.Name != "disk" || addition.Type != ValueScalar || addition.Scalar == nil || addition.Scalar.Value <= 0 {
		return Conversion{}, errors.New("the addition must be a positive amount of disk")
	}
	if addition.IsPersistentVolume() {
		return Conversion{}, errors.New("the addition must be plain disk, not a persistent volume")
	}
	base := withoutVolume(*volume)
	base.Scalar = addition.Scalar
	if base.key() != addition.key() {
		return Conversion{}, errors.New("the addition must have the same reservation and source as the volume")
	}
	grown := volume.Clone()
	grown.Scalar = &Scalar{Value: roundScalar(volume.Scalar.Value + addition.Scalar.Value)}
	return Conversion{From: Resources{volume.Clone(), addition.Clone()}, To: Resources{grown}}, nil
}

// ShrinkConversion is SHRINK_VOLUME: the volume gives subtract of its disk
// back as plain disk of the same reservation.
func ShrinkConversion(volume *Resource, subtract *Scalar) (Conversion, error) {
	if volume == nil || subtract == nil {
		return Conversion{}, errors.New("SHRINK_VOLUME needs a volume and an amount to subtract")
	}
	if !volume.IsPersistentVolume() || volume.Name != "disk" || volume.Scalar == nil {
		return Conversion{}, errors.New("the volume to shrink is not a persistent volume")
	}
	if !(subtract.Value > 0) || roundScalar(subtract.Value) >= volume.Scalar.Value {
		return Conversion{}, fmt.Errorf("the amount to subtract (%g) must be positive and less than the volume's size (%g)", subtract.Value, volume.Scalar.Value)
	}
	shrunk := volume.Clone()
	shrunk.Scalar = &Scalar{Value: roundScalar(volume.Scalar.Value - subtract.Value)}
	freed := withoutVolume(*volume)
	freed.Scalar = &Scalar{Value: roundScalar(subtract.Value)}
	return Conversion{From: Resources{volume.Clone()}, To: Resources{shrunk, freed}}, nil
}

// checkVolume checks what CREATE needs of a volume.
func checkVolume(v *Resource) error {
	switch {
	case v.Name != "disk" || v.Type != ValueScalar:
		return fmt.Errorf("resource %s is not disk: only disk can become a persistent volume", Resources{*v}.String())
	case !v.IsPersistentVolume() || v.Disk.Persistence.ID == "":
		return fmt.Errorf("resource %s has no disk.persistence.id", Resources{*v}.String())
	case v.Disk.Volume == nil || v.Disk.Volume.ContainerPath == "":
		return fmt.Errorf("persistent volume %s has no disk.volume.container_path", v.PersistenceID())
	case v.Disk.Volume.HostPath != "":
		return fmt.Errorf("persistent volume %s cannot have a host_path", v.PersistenceID())
	case v.Disk.Volume.Mode != VolumeModeRW:
		return fmt.Errorf("persistent volume %s must be mode RW", v.PersistenceID())
	case v.Shared != nil:
		return fmt.Errorf("persistent volume %s is shared: mesh does not support shared volumes", v.PersistenceID())
	}
	id := v.PersistenceID()
	if id == "." || id == ".." || strings.ContainsAny(id, "/\\ ") || strings.IndexFunc(id, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 {
		return fmt.Errorf("persistence id %q is invalid: it names a directory on the agent", id)
	}
	return nil
}

// Apply returns rs with the conversion applied, or an error saying what
// of c.From rs does not hold. rs is not modified.
func (rs Resources) Apply(c Conversion) (Resources, error) {
	if !rs.Contains(c.From) {
		return nil, fmt.Errorf("%s is not available in %s", c.From.String(), rs.String())
	}
	return rs.Subtract(c.From...).Add(c.To...), nil
}

// Checkpointed returns the resources of an agent's total that its own
// -resources do not give it: dynamic reservations (at any level) and
// persistent volumes. The replicated state keeps these per agent and the
// agent checkpoints them.
func (rs Resources) Checkpointed() Resources {
	var out Resources
	for i := range rs {
		if rs[i].IsPersistentVolume() || dynamicLevel(&rs[i]) >= 0 {
			out = append(out, rs[i].Clone())
		}
	}
	return out
}

// dynamicLevel returns the index of the oldest dynamic reservation, -1
// when there is none.
func dynamicLevel(r *Resource) int {
	for i, rv := range r.Reservations {
		if rv.Type == ReservationDynamic {
			return i
		}
	}
	return -1
}

// WithCheckpointed returns an agent's total: its static resources with the
// checkpointed ones (Checkpointed of an earlier total) put in place of
// the static resources they were made from. A checkpointed resource the
// static ones cannot hold (the agent was restarted with less) is listed
// in missing and left out.
func WithCheckpointed(static, checkpointed Resources) (total, missing Resources) {
	total = Resources(nil).Add(static...)
	for _, r := range checkpointed {
		base := withoutVolume(r)
		if i := dynamicLevel(&base); i >= 0 {
			base.Reservations = base.Reservations[:i]
			if len(base.Reservations) == 0 {
				base.Reservations = nil
			}
		}
		if !total.Contains(Resources{base}) {
			missing = append(missing, r.Clone())
			continue
		}
		total = total.Subtract(base).Add(r)
	}
	return total, missing
}
