package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"mesh/fsm"
	"mesh/mesos"
)

// A task with its own ExecutorInfo runs in the framework's custom
// executor. The replicated state records each executor (fsm.Executor)
// from the launch of its first task until the agent reports it exited,
// re-registers without it, or is lost, or its framework is removed; its
// resources are held on the agent all that time, once for all its tasks
// and also while it has none.

// executorKey names an executor of a framework on an agent.
func executorKey(aid, fid, eid string) string { return aid + "/" + fid + "/" + eid }

// launchExecutors checks the executors of the tasks of one ACCEPT: each
// is either running on the agent already (and the task's ExecutorInfo
// must be the same) or new, and then its resources come out of the offer
// with the first of its tasks.
type launchExecutors struct {
	st       *fsm.State
	fid, aid string
	role     string
	// known holds the executors running on the agent and those this
	// ACCEPT starts, filled on first use.
	known map[string]mesos.ExecutorInfo
}

func newLaunchExecutors(st *fsm.State, fid, aid, role string) *launchExecutors {
	return &launchExecutors{st: st, fid: fid, aid: aid, role: role}
}

// running returns the ExecutorInfo of executor eid running on the agent
// for the framework (or started by this ACCEPT).
func (l *launchExecutors) running(eid string) (mesos.ExecutorInfo, bool) {
	if l.known == nil {
		l.known = map[string]mesos.ExecutorInfo{}
		for _, e := range l.st.ExecutorsByAgent(l.aid) {
			if e.FrameworkID == l.fid {
				l.known[e.ExecutorID] = e.Info
			}
		}
	}
	info, ok := l.known[eid]
	return info, ok
}

// check validates task t's ExecutorInfo as the Mesos master does, fills
// in its framework id and its resources' allocation, and returns the
// resources the executor needs from the offer: none if it runs already.
// A nil executor (a command task) needs nothing.
func (l *launchExecutors) check(t *mesos.TaskInfo) (mesos.Resources, error) {
	e := t.Executor
	if e == nil {
		return nil, nil
	}
	info := *e
	if err := validExecutorID(info.ExecutorID.Value); err != nil {
		return nil, err
	}
	switch {
	case info.FrameworkID == nil:
		info.FrameworkID = &mesos.FrameworkID{Value: l.fid}
	case info.FrameworkID.Value != l.fid:
		return nil, fmt.Errorf("ExecutorInfo has an invalid FrameworkID (Actual: %s vs Expected: %s)", info.FrameworkID.Value, l.fid)
	}
	switch info.Type {
	case "", "CUSTOM":
		if info.Command == nil {
			return nil, errors.New("'ExecutorInfo.command' must be set for 'CUSTOM' executor")
		}
	case "DEFAULT":
		return nil, errors.New("'ExecutorInfo.type' must be 'CUSTOM' for a LAUNCH operation: the 'DEFAULT' executor runs task groups (LAUNCH_GROUP)")
	default:
		return nil, fmt.Errorf("'ExecutorInfo.type' %q is unknown", info.Type)
	}
	res := mesos.Resources(info.Resources).WithDefaultAllocation(l.role)
	if err := res.Validate(); err != nil {
		return nil, fmt.Errorf("Executor has invalid resources: %v", err)
	}
	info.Resources = res
	t.Executor = &info
	if old, ok := l.running(info.ExecutorID.Value); ok {
		if !sameExecutorInfo(old, info) {
			return nil, fmt.Errorf("ExecutorInfo is not compatible with existing ExecutorInfo with same ExecutorID %q", info.ExecutorID.Value)
		}
		return nil, nil
	}
	return res, nil
}

// started records that the ACCEPT launches task t, starting its executor
// if it is new.
func (l *launchExecutors) started(t *mesos.TaskInfo) {
	if t.Executor == nil {
		return
	}
	if _, ok := l.running(t.Executor.ExecutorID.Value); !ok {
		l.known[t.Executor.ExecutorID.Value] = *t.Executor
	}
}

// sameExecutorInfo reports whether two ExecutorInfos are equal, as Mesos
// compares them (every field).
func sameExecutorInfo(a, b mesos.ExecutorInfo) bool {
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && string(ja) == string(jb)
}

// validExecutorID applies Mesos' checks of an executor id.
func validExecutorID(id string) error {
	switch {
	case id == "":
		return errors.New("ExecutorID must not be empty")
	case id == "." || id == "..":
		return fmt.Errorf("ExecutorID %q is disallowed", id)
	case strings.ContainsAny(id, "/\\") || strings.IndexFunc(id, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0:
		return fmt.Errorf("ExecutorID %q contains '/', '\\' or a control character", id)
	}
	return nil
}

// executorsResources sums the resources of executors.
func executorsResources(execs []*fsm.Executor) mesos.Resources {
	var out mesos.Resources
	for _, e := range execs {
		out = out.Add(e.Info.Resources...)
	}
	return out
}

// recoverExecutors gives the resources of removed executors back to the
// allocator.
func (m *master) recoverExecutors(removed []fsm.Executor) {
	for _, e := range removed {
		m.logger.Info("executor removed", "framework_id", e.FrameworkID, "agent_id", e.AgentID, "executor_id", e.ExecutorID)
		m.alloc.Recover(e.FrameworkID, e.AgentID, e.Info.Resources, 0)
	}
}

// validReportedExecutors checks the executors an agent reports when it
// registers: each names its framework and has a valid id and resources.
func validReportedExecutors(execs []mesos.ExecutorInfo) error {
	for i, e := range execs {
		if e.FrameworkID == nil || e.FrameworkID.Value == "" {
			return httpErrorf(http.StatusBadRequest, "executor_infos[%d]: framework_id is required", i)
		}
		if err := validExecutorID(e.ExecutorID.Value); err != nil {
			return httpErrorf(http.StatusBadRequest, "executor_infos[%d]: %v", i, err)
		}
		if err := mesos.Resources(e.Resources).Validate(); err != nil {
			return httpErrorf(http.StatusBadRequest, "executor_infos[%d]: invalid resources: %v", i, err)
		}
	}
	return nil
}
