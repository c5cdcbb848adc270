package agent

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"syscall"
	"time"

	"mesh/mesos"
	"mesh/mesos/agentop"
	mapi "mesh/mesos/master"
	"mesh/mesos/operator"
)

// agentOperator serves Mesos' v1 agent operator API (POST /api/v1) and
// the Mesos-shaped read endpoints (/state, /metrics/snapshot,
// /containers). The HTTP edge and the calls a server answers alike are
// mesh/mesos/operator's; this holds the agent's own.
type agentOperator struct {
	a      *Agent
	common *operator.Common
	// started is when the agent process began serving, for start_time
	// and slave/uptime_secs.
	started  time.Time
	counters *taskCounters
}

func newAgentOperator(a *Agent) *agentOperator {
	level := operator.NewLoggingLevel(a.log)
	// A level set for a while reverts when the agent stops.
	context.AfterFunc(a.ctx, level.Stop)
	op := &agentOperator{a: a, started: time.Now(), counters: &taskCounters{terminal: map[mesos.TaskState]uint64{}}}
	a.updates.accepted = op.counters.accepted
	op.common = &operator.Common{Healthy: a.healthy, Flags: a.flags, Metrics: op.metricsSnapshot, Level: level}
	return op
}

// healthy is true while the agent serves: until it begins to stop.
func (a *Agent) healthy() bool { return !a.stopping.Load() }

// handleAPI serves POST /api/v1.
func (op *agentOperator) handleAPI(w http.ResponseWriter, r *http.Request) {
	req, err := operator.Decode(w, r, operator.AgentAPI)
	if err != nil {
		operator.WriteError(w, err)
		return
	}
	resp, err := op.call(r.Context(), req.Call)
	if err != nil {
		operator.WriteError(w, err)
		return
	}
	operator.WriteResponse(w, req, resp)
}

// call carries out one call; a nil response is an empty 200.
func (op *agentOperator) call(ctx context.Context, c *mapi.Call) (*agentop.Response, error) {
	if c.Type == mapi.CallGetFlags {
		if err := op.a.authorizeFlags(ctx); err != nil {
			return nil, err
		}
	}
	if resp, ok := op.common.Answer(c); ok {
		return agentop.FromCommon(resp), nil
	}
	switch c.Type {
	case mapi.CallListFiles:
		return op.listFiles(ctx, *c.ListFiles.Path)
	case mapi.CallReadFile:
		return op.readFile(ctx, c.ReadFile)
	case mapi.CallGetState:
		v := op.a.viewFor(ctx)
		return &agentop.Response{Type: mapi.ResponseGetState, GetState: &agentop.GetState{
			GetTasks: v.getTasks(), GetExecutors: v.getExecutors(), GetFrameworks: v.getFrameworks()}}, nil
	case mapi.CallGetFrameworks:
		return &agentop.Response{Type: mapi.ResponseGetFrameworks, GetFrameworks: op.a.viewFor(ctx).getFrameworks()}, nil
	case mapi.CallGetExecutors:
		return &agentop.Response{Type: mapi.ResponseGetExecutors, GetExecutors: op.a.viewFor(ctx).getExecutors()}, nil
	case mapi.CallGetTasks:
		return &agentop.Response{Type: mapi.ResponseGetTasks, GetTasks: op.a.viewFor(ctx).getTasks()}, nil
	case agentop.CallGetContainers:
		return &agentop.Response{Type: agentop.ResponseGetContainers, GetContainers: op.getContainers()}, nil
	case agentop.CallGetAgent:
		return &agentop.Response{Type: agentop.ResponseGetAgent, GetAgent: &agentop.GetAgent{AgentInfo: op.a.currentAgentInfo()}}, nil
	case mapi.CallGetOperations:
		// mesh has no resource providers, so an agent holds no offer
		// operations of its own to list.
		return &agentop.Response{Type: mapi.ResponseGetOperations, GetOperations: &mapi.GetOperations{}}, nil
	}
	return nil, operator.Errorf(http.StatusNotImplemented, "mesh does not implement the agent operator call %s", c.Type)
}

// operatorFilesError codes a files error for the operator API as Mesos' agent
// does: a path that names nothing the agent serves is 404, one that
// cannot be served (a directory to read, a link out of the sandboxes,
// not a regular file) is 400.
func operatorFilesError(err error) error {
	switch {
	case errors.Is(err, errNoSuchPath):
		return operator.Errorf(http.StatusNotFound, "%v", err)
	case errors.Is(err, errForbidden):
		return operator.Errorf(http.StatusForbidden, "%v", err)
	case errors.Is(err, errBadPath), errors.Is(err, ErrPathOutside):
		return operator.Errorf(http.StatusBadRequest, "%v", err)
	}
	return err
}

// listFiles answers LIST_FILES from the sandboxes /files/browse serves.
func (op *agentOperator) listFiles(ctx context.Context, path string) (*agentop.Response, error) {
	entries, err := op.a.listSandboxDir(ctx, path)
	if err != nil {
		return nil, operatorFilesError(err)
	}
	out := &agentop.ListFiles{}
	for _, e := range entries {
		fi := agentop.FileInfo{Path: e.path, Size: uint64(max(e.info.Size(), 0)),
			Mtime: &mesos.TimeInfo{Nanoseconds: e.info.ModTime().UnixNano()}}
		if st, ok := e.info.Sys().(*syscall.Stat_t); ok {
			fi.Nlink = int32(min(uint64(st.Nlink), math.MaxInt32))
			fi.Mode = st.Mode
			fi.UID, fi.GID = names.user(st.Uid), names.group(st.Gid)
		}
		out.FileInfos = append(out.FileInfos, fi)
	}
	return &agentop.Response{Type: mapi.ResponseListFiles, ListFiles: out}, nil
}

// readFile answers READ_FILE from the sandboxes /files/read serves: at
// most maxFilesRead bytes from offset, with the file's size.
func (op *agentOperator) readFile(ctx context.Context, rf *mapi.ReadFileCall) (*agentop.Response, error) {
	if *rf.Offset > math.MaxInt64 || (rf.Length != nil && *rf.Length > math.MaxInt64) {
		return nil, operator.Errorf(http.StatusBadRequest, "read_file: offset and length must be below 2^63")
	}
	rq := readQuery{path: *rf.Path, offset: int64(*rf.Offset), length: -1}
	if rf.Length != nil {
		rq.length = int64(*rf.Length)
	}
	if rq.path == "" {
		return nil, operatorFilesError(fmt.Errorf("%w: expecting 'read_file.path' to name a file", errBadPath))
	}
	data, _, size, err := op.a.readSandboxFile(ctx, rq)
	if err != nil {
		return nil, operatorFilesError(err)
	}
	return &agentop.Response{Type: mapi.ResponseReadFile, ReadFile: &agentop.ReadFile{Size: uint64(size), Data: data}}, nil
}

// getContainers lists the live runs' containers with their usage.
func (op *agentOperator) getContainers() *agentop.GetContainers {
	out := &agentop.GetContainers{}
	for _, c := range op.containers() {
		r := c.run
		ct := agentop.Container{FrameworkID: &mesos.FrameworkID{Value: r.fwID}, ExecutorID: &mesos.ExecutorID{Value: r.id},
			ExecutorName: r.info.Name, ContainerID: mesos.ContainerID{Value: r.containerID}, ContainerStatus: r.containerStatus()}
		if c.stats != nil {
			ct.ResourceStatistics = resourceStatistics(*c.stats)
		}
		out.Containers = append(out.Containers, ct)
	}
	return out
}

// resourceStatistics is a measurement as mesos.v1.ResourceStatistics.
func resourceStatistics(s StatisticsJSON) *agentop.ResourceStatistics {
	st := s.Statistics
	sat := func(v uint64) uint32 { return uint32(min(v, math.MaxUint32)) }
	return &agentop.ResourceStatistics{Timestamp: st.Timestamp, Processes: sat(st.ProcessesCount),
		CPUsUserTimeSecs: st.CPUsUserTimeSecs, CPUsSystemTimeSecs: st.CPUsSystemTimeSecs, CPUsLimit: st.CPUsLimit,
		CPUsNrPeriods: sat(st.CPUsNrPeriods), CPUsNrThrottled: sat(st.CPUsNrThrottled), CPUsThrottledSecs: st.CPUsThrottledSecs,
		MemTotalBytes: st.MemTotalBytes, MemRSSBytes: st.MemRSSBytes, MemCacheBytes: st.MemCacheBytes,
		MemLimitBytes: st.MemLimitBytes, MemSwapBytes: st.MemSwapBytes}
}
