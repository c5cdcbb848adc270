package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"mesh/fsm"
	"mesh/mesos"
	"mesh/mesos/agentapi"
)

// Task groups (LAUNCH_GROUP) are validated as the Mesos master validates
// them (src/master/validation.cpp, task::group): the first problem found
// fails every task of the group with TASK_ERROR and
// REASON_TASK_GROUP_INVALID. A valid group is committed in the same log
// entry as the ACCEPT's other launches, so either all of its tasks are
// launched or none is. Each task is stored with the group's ExecutorInfo,
// as Mesos stores it; the executor's record, added with its first group,
// holds its resources until it exits.

// Mesos' minimum resources of an executor (src/master/constants.hpp).
const (
	minExecutorCPUs  = 0.01
	minExecutorMemMB = 32
)

// groupLaunch is one LAUNCH_GROUP of an ACCEPT.
type groupLaunch struct {
	executor mesos.ExecutorInfo
	tasks    []mesos.TaskInfo
	// withID is set when the operation has an id, which a LAUNCH_GROUP
	// may not have (no operation feedback for launches).
	withID bool
}

// groupBatch is what the ACCEPT being handled has launched so far: task
// ids taken, and the executors it starts.
type groupBatch struct {
	fid, agentID, role string
	seen               map[string]bool
	// started are the executors this ACCEPT launches, by id.
	started map[string]mesos.ExecutorInfo
}

// validateGroup checks group g against the state and the resources still
// offered, and returns the tasks to commit (each with the group's
// executor, resources allocated to the role) and what they take from the
// offers.
func validateGroup(st *fsm.State, b *groupBatch, g groupLaunch, remaining mesos.Resources) ([]fsm.Task, mesos.Resources, error) {
	if g.withID {
		return nil, nil, errors.New("The `id` field cannot be set on LAUNCH_GROUP operations")
	}
	exec := g.executor
	exec.Resources = mesos.Resources(exec.Resources).WithDefaultAllocation(b.role)
	ids := map[string]bool{}
	for i := range g.tasks {
		t := &g.tasks[i]
		if err := validateGroupTask(st, b, t, ids); err != nil {
			return nil, nil, fmt.Errorf("Task '%s' is invalid: %w", t.TaskID.Value, err)
		}
		ids[t.TaskID.Value] = true
	}
	running, err := runningExecutor(st, b, exec.ExecutorID.Value)
	if err != nil {
		return nil, nil, err
	}
	if err := validateGroupExecutor(b.fid, exec, running, g.tasks); err != nil {
		return nil, nil, err
	}
	var total mesos.Resources
	for _, t := range g.tasks {
		total = total.Add(mesos.Resources(t.Resources).WithDefaultAllocation(b.role)...)
	}
	if running == nil {
		total = total.Add(exec.Resources...)
	}
	if !remaining.Contains(total) {
		return nil, nil, fmt.Errorf("Total resources %s required by task group and its executor are more than available %s",
			total.String(), remaining.String())
	}
	out := make([]fsm.Task, 0, len(g.tasks))
	for _, t := range g.tasks {
		info := t
		info.Resources = mesos.Resources(t.Resources).WithDefaultAllocation(b.role)
		e := exec
		info.Executor = &e
		out = append(out, fsm.Task{FrameworkID: b.fid, TaskID: t.TaskID.Value, AgentID: b.agentID,
			Info: info, Role: b.role, State: mesos.TaskStaging})
	}
	return out, total, nil
}

// validateGroupTask applies Mesos' checks of one task of a group. ids are
// the group's tasks checked before it.
func validateGroupTask(st *fsm.State, b *groupBatch, t *mesos.TaskInfo, ids map[string]bool) error {
	id := t.TaskID.Value
	if err := checkTaskID(id); err != nil {
		return err
	}
	if old := st.Task(b.fid, id); ids[id] || b.seen[id] || (old != nil && !old.Completed) {
		return fmt.Errorf("Task has duplicate ID: %s", id)
	}
	if t.AgentID.Value != b.agentID {
		return fmt.Errorf("Task uses invalid agent %s while agent %s is expected", t.AgentID.Value, b.agentID)
	}
	res := mesos.Resources(t.Resources)
	if err := res.Validate(); err != nil {
		return fmt.Errorf("Task has invalid resources: %v", err)
	}
	if res.IsEmpty() {
		return errors.New("Task uses no resources")
	}
	if t.Command == nil {
		// Mesos leaves this to the default executor, which fails the task;
		// mesh says so before anything is launched.
		return errors.New("'TaskInfo.command' must be set: the default executor runs each task's command")
	}
	if t.Container != nil && t.Container.Type == "DOCKER" {
		return errors.New("Docker ContainerInfo is not supported on the task")
	}
	return validateTaskChecks(t)
}

// runningExecutor is the ExecutorInfo of executor eid of the ACCEPT's
// framework when it runs on the agent (the state records it there, or
// this ACCEPT starts it), nil when it does not. An executor id that a
// running command executor holds is an error.
func runningExecutor(st *fsm.State, b *groupBatch, eid string) (*mesos.ExecutorInfo, error) {
	if e, ok := b.started[eid]; ok {
		return &e, nil
	}
	if e := st.Executor(b.agentID, b.fid, eid); e != nil {
		info := e.Info
		return &info, nil
	}
	for _, t := range st.TasksByAgent(b.agentID) {
		if t.FrameworkID != b.fid || !taskLive(t) {
			continue
		}
		switch {
		case t.Info.Executor == nil && t.TaskID == eid:
			return nil, fmt.Errorf("ExecutorInfo is not compatible with existing ExecutorInfo with same ExecutorID: "+
				"executor %s is the command executor of task %s", eid, t.TaskID)
		}
	}
	return nil, nil
}

// validateGroupExecutor applies Mesos' checks of a group's executor:
// its type, its fields for the DEFAULT type, the tasks' own ExecutorInfo,
// its minimum resources, and, when it runs already, that it is the same.
func validateGroupExecutor(fid string, exec mesos.ExecutorInfo, running *mesos.ExecutorInfo, tasks []mesos.TaskInfo) error {
	eid := exec.ExecutorID.Value
	if checkTaskID(eid) != nil {
		return fmt.Errorf("Executor ID %q is invalid: it must not be empty, '.' or '..', nor contain '/', '\\' or a control character", eid)
	}
	if exec.FrameworkID != nil && exec.FrameworkID.Value != fid {
		return fmt.Errorf("ExecutorInfo has an invalid FrameworkID (Actual: %s vs Expected: %s)", exec.FrameworkID.Value, fid)
	}
	switch exec.Type {
	case "":
		return errors.New("'ExecutorInfo.type' must be set")
	case mesos.ExecutorTypeDefault:
	case mesos.ExecutorTypeCustom:
		// Mesos hands a task group to a custom executor too; mesh runs
		// task groups in its default executor only.
		return errors.New("'ExecutorInfo.type' must be 'DEFAULT': this cluster runs task groups only in its default executor")
	default:
		return errors.New("Unknown executor type")
	}
	if exec.Command != nil {
		return errors.New("'ExecutorInfo.command' must not be set for 'DEFAULT' executor")
	}
	if c := exec.Container; c != nil {
		if c.Type != "" && c.Type != mesos.ContainerTypeMesos {
			return errors.New("'ExecutorInfo.container.type' must be 'MESOS' for 'DEFAULT' executor")
		}
		if c.Mesos != nil && c.Mesos.Image != nil {
			return errors.New("'ExecutorInfo.container.mesos.image' must not be set for 'DEFAULT' executor")
		}
	}
	if running != nil && !sameExecutor(*running, exec) {
		return errors.New("ExecutorInfo is not compatible with existing ExecutorInfo with same ExecutorID")
	}
	for _, t := range tasks {
		if t.Executor != nil && !sameExecutor(*t.Executor, exec) {
			return fmt.Errorf("The `ExecutorInfo` of task '%s' is different from executor '%s'", t.TaskID.Value, eid)
		}
	}
	res := mesos.Resources(exec.Resources)
	if err := res.Validate(); err != nil {
		return fmt.Errorf("Executor '%s' has invalid resources: %v", eid, err)
	}
	names := res.Names()
	if cpus := res.Scalar("cpus"); !slices.Contains(names, "cpus") || cpus < minExecutorCPUs {
		return fmt.Errorf("Executor '%s' uses less CPUs (%s) than the minimum required (%s)",
			eid, scalarOrNone(names, "cpus", cpus), strconv.FormatFloat(minExecutorCPUs, 'f', -1, 64))
	}
	if mem := res.Scalar("mem"); !slices.Contains(names, "mem") || mem < minExecutorMemMB {
		got := "None"
		if slices.Contains(names, "mem") {
			got = strconv.FormatFloat(mem, 'f', -1, 64) + "MB"
		}
		return fmt.Errorf("Executor '%s' uses less memory (%s) than the minimum required (%dMB)", eid, got, minExecutorMemMB)
	}
	if !slices.Contains(names, "disk") {
		return fmt.Errorf("Executor '%s' uses no disk", eid)
	}
	return nil
}

func scalarOrNone(names []string, name string, v float64) string {
	if !slices.Contains(names, name) {
		return "None"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// sameExecutor reports whether two ExecutorInfos are the same, leaving
// out what the master fills in (the framework id, the resources'
// allocation).
func sameExecutor(a, b mesos.ExecutorInfo) bool {
	a.FrameworkID, b.FrameworkID = nil, nil
	a.Resources = mesos.Resources(a.Resources).Unallocate()
	b.Resources = mesos.Resources(b.Resources).Unallocate()
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(ja) == string(jb)
}

// checkTaskID is the check of a task or executor id validateTask makes.
func checkTaskID(id string) error {
	switch {
	case id == "" || id == "." || id == "..":
		return fmt.Errorf("Task ID %q is invalid", id)
	case strings.ContainsAny(id, "/\\") || strings.IndexFunc(id, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0:
		return fmt.Errorf("Task ID %q contains '/', '\\' or a control character", id)
	}
	return nil
}

// launchGroups validates the ACCEPT's task groups in order against what
// its offers still hold, fails every task of an invalid group, and
// returns the tasks of the valid ones and the resources left.
func (m *master) launchGroups(st *fsm.State, b *groupBatch, groups []groupLaunch, remaining mesos.Resources) ([]fsm.Task, []groupLaunch, mesos.Resources) {
	var launch []fsm.Task
	var valid []groupLaunch
	for _, g := range groups {
		if len(g.tasks) == 0 {
			continue
		}
		tasks, used, err := validateGroup(st, b, g, remaining)
		if err != nil {
			m.logger.Info("task group refused", "framework_id", b.fid, "executor_id", g.executor.ExecutorID.Value, "error", err)
			for _, t := range g.tasks {
				m.masterUpdate(b.fid, t.TaskID, t.AgentID.Value, mesos.TaskError, mesos.ReasonTaskGroupInvalid, err.Error())
			}
			continue
		}
		remaining = remaining.Subtract(used...)
		for _, t := range tasks {
			b.seen[t.TaskID] = true
		}
		b.started[g.executor.ExecutorID.Value] = *tasks[0].Info.Executor
		launch = append(launch, tasks...)
		infos := make([]mesos.TaskInfo, len(tasks))
		for i := range tasks {
			infos[i] = tasks[i].Info
		}
		valid = append(valid, groupLaunch{executor: *tasks[0].Info.Executor, tasks: infos})
	}
	return launch, valid, remaining
}

// sendGroups tells the agent to launch committed task groups, one
// LAUNCH with its executor each.
func (m *master) sendGroups(fwInfo mesos.FrameworkInfo, agentID string, groups []groupLaunch) {
	for _, g := range groups {
		exec := g.executor
		ev := &agentapi.Event{Type: agentapi.EventLaunch, Launch: &agentapi.Launch{FrameworkInfo: fwInfo, Tasks: g.tasks, Executor: &exec}}
		if !m.sendToAgent(agentID, ev) {
			m.logger.Warn("agent disconnected before a task group's launch; its tasks are reconciled when it re-registers", "agent_id", agentID)
		}
	}
}
