package mesos

// Mesos parses JSON into proto2 messages and answers 400 when a `required`
// field is missing anywhere in the message, or when a required enum field
// holds a name it does not know. The CheckRequired methods here find those
// problems in the Go types so that API handlers can answer the same way.
//
// Go cannot tell an absent string or a value-typed ID from an empty one,
// so an empty required string (a name, an ID's value) counts as missing.
// An optional enum with an unknown name is not an error (Mesos leaves it
// unset); callers that act on it decide.

import (
	"errors"
	"fmt"
	"strings"
)

// FieldError reports one field that Mesos' JSON parser would reject.
type FieldError struct {
	// Field is the path of proto field names, e.g. "task_infos[0].name".
	Field string
	// Problem says what is wrong; empty means the field is missing.
	Problem string
}

// Error says which field is missing or what is wrong with it.
func (e *FieldError) Error() string {
	if e.Problem == "" {
		return "expecting '" + e.Field + "' to be present"
	}
	return "'" + e.Field + "' " + e.Problem
}

// PrefixFieldError returns err with prefix put in front of its field path
// when err is a *FieldError, and err unchanged otherwise.
func PrefixFieldError(prefix string, err error) error {
	var fe *FieldError
	if err == nil || !errors.As(err, &fe) {
		return err
	}
	return &FieldError{Field: joinField(prefix, fe.Field), Problem: fe.Problem}
}

func joinField(prefix, field string) string {
	switch {
	case prefix == "":
		return field
	case field == "" || strings.HasPrefix(field, "["):
		return prefix + field
	}
	return prefix + "." + field
}

func missing(field string) error { return &FieldError{Field: field} }

func unknownEnum(field, value string) error {
	return &FieldError{Field: field, Problem: fmt.Sprintf("has unknown value %q", value)}
}

// requireEnum checks a required enum field against its known names.
func requireEnum(field, value string, known ...string) error {
	if value == "" {
		return missing(field)
	}
	for _, k := range known {
		if value == k {
			return nil
		}
	}
	return unknownEnum(field, value)
}

// in checks a nested message and prefixes its errors with field.
func in(field string, err error) error { return PrefixFieldError(field, err) }

// optionalID checks that an ID given as a pointer has its required value.
func optionalID(field string, present bool, value string) error {
	if present && value == "" {
		return missing(field + ".value")
	}
	return nil
}

// CheckRequired reports the first missing required field of the labels.
func (l *Labels) CheckRequired() error {
	if l == nil {
		return nil
	}
	for i, x := range l.Labels {
		if x.Key == "" {
			return missing(fmt.Sprintf("labels[%d].key", i))
		}
	}
	return nil
}

// CheckRequired reports the first missing required field of the framework
// info: user, name, an id's value, label keys.
func (f *FrameworkInfo) CheckRequired() error {
	switch {
	case f.User == "":
		return missing("user")
	case f.Name == "":
		return missing("name")
	}
	if err := optionalID("id", f.ID != nil, idValue(f.ID)); err != nil {
		return err
	}
	return in("labels", f.Labels.CheckRequired())
}

func idValue(id *FrameworkID) string {
	if id == nil {
		return ""
	}
	return id.Value
}

// CheckRequired reports the first missing required field of the resource
// (name, type and the required parts of its reservations and disk info),
// or a type that is not a known value type.
func (r *Resource) CheckRequired() error {
	if r.Name == "" {
		return missing("name")
	}
	if err := requireEnum("type", r.Type, ValueScalar, ValueRanges, ValueSet, ValueText); err != nil {
		return err
	}
	if r.Reservation != nil {
		if err := in("reservation.labels", r.Reservation.Labels.CheckRequired()); err != nil {
			return err
		}
	}
	for i := range r.Reservations {
		if err := in(fmt.Sprintf("reservations[%d].labels", i), r.Reservations[i].Labels.CheckRequired()); err != nil {
			return err
		}
	}
	if d := r.Disk; d != nil {
		if d.Persistence != nil && d.Persistence.ID == "" {
			return missing("disk.persistence.id")
		}
		if d.Volume != nil {
			if err := in("disk.volume", d.Volume.CheckRequired()); err != nil {
				return err
			}
		}
		if d.Source != nil {
			if err := requireEnum("disk.source.type", d.Source.Type, DiskSourceUnknown, DiskSourcePath,
				DiskSourceMount, DiskSourceBlock, DiskSourceRaw); err != nil {
				return err
			}
		}
	}
	if r.ProviderID != nil && r.ProviderID.Value == "" {
		return missing("provider_id.value")
	}
	return nil
}

func checkResources(field string, rs []Resource) error {
	for i := range rs {
		if err := in(fmt.Sprintf("%s[%d]", field, i), rs[i].CheckRequired()); err != nil {
			return err
		}
	}
	return nil
}

// CheckRequired reports the first missing required field of the command:
// URI values and environment variable names.
func (c *CommandInfo) CheckRequired() error {
	for i, u := range c.URIs {
		if u.Value == "" {
			return missing(fmt.Sprintf("uris[%d].value", i))
		}
	}
	if c.Environment != nil {
		for i, v := range c.Environment.Variables {
			if v.Name == "" {
				return missing(fmt.Sprintf("environment.variables[%d].name", i))
			}
		}
	}
	return nil
}

// CheckRequired reports the first missing required field of the image, or
// an unknown image type.
func (im *Image) CheckRequired() error {
	if err := requireEnum("type", im.Type, ImageTypeAppc, ImageTypeDocker); err != nil {
		return err
	}
	if im.Docker != nil && im.Docker.Name == "" {
		return missing("docker.name")
	}
	if im.Appc != nil && im.Appc.Name == "" {
		return missing("appc.name")
	}
	return nil
}

// CheckRequired reports the first missing required field of the volume
// (mode, container_path, its image), or an unknown mode.
func (v *Volume) CheckRequired() error {
	if err := requireEnum("mode", v.Mode, VolumeModeRW, VolumeModeRO); err != nil {
		return err
	}
	if v.ContainerPath == "" {
		return missing("container_path")
	}
	if v.Image != nil {
		return in("image", v.Image.CheckRequired())
	}
	return nil
}

// CheckRequired reports the first missing required field of the container
// (type, volumes, image), or an unknown container type.
func (c *ContainerInfo) CheckRequired() error {
	if err := requireEnum("type", c.Type, ContainerTypeDocker, ContainerTypeMesos); err != nil {
		return err
	}
	for i := range c.Volumes {
		if err := in(fmt.Sprintf("volumes[%d]", i), c.Volumes[i].CheckRequired()); err != nil {
			return err
		}
	}
	if c.Mesos != nil && c.Mesos.Image != nil {
		if err := in("mesos.image", c.Mesos.Image.CheckRequired()); err != nil {
			return err
		}
	}
	for i := range c.NetworkInfos {
		if err := in(fmt.Sprintf("network_infos[%d].labels", i), c.NetworkInfos[i].Labels.CheckRequired()); err != nil {
			return err
		}
	}
	return nil
}

// CheckRequired reports the first missing required field of the executor
// info and everything it contains.
func (e *ExecutorInfo) CheckRequired() error {
	if e.ExecutorID.Value == "" {
		return missing("executor_id")
	}
	if e.FrameworkID != nil && e.FrameworkID.Value == "" {
		return missing("framework_id.value")
	}
	if e.Command != nil {
		if err := in("command", e.Command.CheckRequired()); err != nil {
			return err
		}
	}
	if e.Container != nil {
		if err := in("container", e.Container.CheckRequired()); err != nil {
			return err
		}
	}
	if err := checkResources("resources", e.Resources); err != nil {
		return err
	}
	return in("labels", e.Labels.CheckRequired())
}

// CheckRequired reports the first missing required field of the task info
// (name, task_id, agent_id and everything nested).
func (t *TaskInfo) CheckRequired() error {
	switch {
	case t.Name == "":
		return missing("name")
	case t.TaskID.Value == "":
		return missing("task_id")
	case t.AgentID.Value == "":
		return missing("agent_id")
	}
	if err := checkResources("resources", t.Resources); err != nil {
		return err
	}
	if t.Executor != nil {
		if err := in("executor", t.Executor.CheckRequired()); err != nil {
			return err
		}
	}
	if t.Command != nil {
		if err := in("command", t.Command.CheckRequired()); err != nil {
			return err
		}
	}
	if t.Container != nil {
		if err := in("container", t.Container.CheckRequired()); err != nil {
			return err
		}
	}
	if t.HealthCheck != nil {
		if err := in("health_check", t.HealthCheck.CheckRequired()); err != nil {
			return err
		}
	}
	if t.Check != nil {
		if err := in("check", t.Check.CheckRequired()); err != nil {
			return err
		}
	}
	return in("labels", t.Labels.CheckRequired())
}

// CheckRequired reports the first missing required field of the health
// check: the port of its target, what its command requires. A port of 0
// counts as missing.
func (h *HealthCheck) CheckRequired() error {
	switch {
	case h.HTTP != nil && h.HTTP.Port == 0:
		return missing("http.port")
	case h.TCP != nil && h.TCP.Port == 0:
		return missing("tcp.port")
	case h.Command != nil:
		return in("command", h.Command.CheckRequired())
	}
	return nil
}

// CheckRequired reports the first missing required field of the check:
// the port of its target, what its command requires. A port of 0 counts
// as missing.
func (c *CheckInfo) CheckRequired() error {
	switch {
	case c.HTTP != nil && c.HTTP.Port == 0:
		return missing("http.port")
	case c.TCP != nil && c.TCP.Port == 0:
		return missing("tcp.port")
	case c.Command != nil:
		return in("command.command", c.Command.Command.CheckRequired())
	}
	return nil
}

// CheckRequired reports the first missing required field of the status
// (task_id, state), or a state that is not a known task state.
func (s *TaskStatus) CheckRequired() error {
	if s.TaskID.Value == "" {
		return missing("task_id")
	}
	if s.State == "" {
		return missing("state")
	}
	if !s.State.Valid() {
		return unknownEnum("state", string(s.State))
	}
	if s.AgentID != nil && s.AgentID.Value == "" {
		return missing("agent_id.value")
	}
	if s.ExecutorID != nil && s.ExecutorID.Value == "" {
		return missing("executor_id.value")
	}
	if s.Limitation != nil {
		if err := checkResources("limitation.resources", s.Limitation.Resources); err != nil {
			return err
		}
	}
	return in("labels", s.Labels.CheckRequired())
}

// CheckRequired reports the first missing required field of an offer
// operation's bodies. The operation type itself is optional in Mesos: an
// unknown type is left for the master to reject as an operation error.
func (o *OfferOperation) CheckRequired() error {
	if o.ID != nil && o.ID.Value == "" {
		return missing("id.value")
	}
	if o.Launch != nil {
		for i := range o.Launch.TaskInfos {
			if err := in(fmt.Sprintf("launch.task_infos[%d]", i), o.Launch.TaskInfos[i].CheckRequired()); err != nil {
				return err
			}
		}
	}
	if g := o.LaunchGroup; g != nil {
		if err := in("launch_group.executor", g.Executor.CheckRequired()); err != nil {
			return err
		}
		for i := range g.TaskGroup.Tasks {
			if err := in(fmt.Sprintf("launch_group.task_group.tasks[%d]", i), g.TaskGroup.Tasks[i].CheckRequired()); err != nil {
				return err
			}
		}
	}
	if o.Reserve != nil {
		if err := checkResources("reserve.resources", o.Reserve.Resources); err != nil {
			return err
		}
	}
	if o.Unreserve != nil {
		if err := checkResources("unreserve.resources", o.Unreserve.Resources); err != nil {
			return err
		}
	}
	if o.Create != nil {
		if err := checkResources("create.volumes", o.Create.Volumes); err != nil {
			return err
		}
	}
	if o.Destroy != nil {
		if err := checkResources("destroy.volumes", o.Destroy.Volumes); err != nil {
			return err
		}
	}
	return o.checkVolumeOps()
}

// checkVolumeOps checks the bodies whose fields are all required.
func (o *OfferOperation) checkVolumeOps() error {
	one := func(field string, r *Resource) error {
		if r == nil {
			return missing(field)
		}
		return in(field, r.CheckRequired())
	}
	if g := o.GrowVolume; g != nil {
		if err := one("grow_volume.volume", g.Volume); err != nil {
			return err
		}
		if err := one("grow_volume.addition", g.Addition); err != nil {
			return err
		}
	}
	if s := o.ShrinkVolume; s != nil {
		if err := one("shrink_volume.volume", s.Volume); err != nil {
			return err
		}
		if s.Subtract == nil {
			return missing("shrink_volume.subtract")
		}
	}
	if c := o.CreateDisk; c != nil {
		if err := one("create_disk.source", c.Source); err != nil {
			return err
		}
		if err := requireEnum("create_disk.target_type", c.TargetType, DiskSourceUnknown, DiskSourcePath,
			DiskSourceMount, DiskSourceBlock, DiskSourceRaw); err != nil {
			return err
		}
	}
	if d := o.DestroyDisk; d != nil {
		if err := one("destroy_disk.source", d.Source); err != nil {
			return err
		}
	}
	return nil
}
