package server

import (
	"context"
	"net/http"

	mapi "mesh/mesos/master"
	"mesh/mesos/operator"
)

// handleOperator serves Mesos' v1 operator API (POST /api/v1). As Mesos'
// master does, a server that does not lead redirects every call to the
// leader (or answers 503 while there is none) before looking at it.
func (s *Server) handleOperator(w http.ResponseWriter, r *http.Request) {
	m := s.leaderOrRedirect(w, r)
	if m == nil {
		return
	}
	req, err := operator.Decode(w, r, operator.MasterAPI)
	if err != nil {
		writeError(w, err)
		return
	}
	if req.Call.Type == mapi.CallSubscribe {
		s.operatorSubscribe(m, w, r, req.Accept)
		return
	}
	if err := s.authorizeOperatorCall(r.Context(), req.Call); err != nil {
		writeError(w, err)
		return
	}
	if isVolumeCall(req.Call.Type) {
		if err := m.operatorVolumeCall(req.Call); err != nil {
			writeError(w, err)
			return
		}
		w.WriteHeader(http.StatusAccepted)
		return
	}
	resp, err := s.operatorCall(r.Context(), m, req.Call)
	if err != nil {
		writeError(w, err)
		return
	}
	operator.WriteResponse(w, req, s.filterRoles(r.Context(), resp))
}

// operatorCommon answers the calls servers and agents answer alike.
func (s *Server) operatorCommon() *operator.Common {
	return &operator.Common{Healthy: s.Healthy, Flags: s.flags, Metrics: s.metricsSnapshot, Level: s.logLevel}
}

// operatorCall carries out one call; a nil response is an empty 200.
func (s *Server) operatorCall(ctx context.Context, m *master, c *mapi.Call) (*mapi.Response, error) {
	if resp, ok := s.operatorCommon().Answer(c); ok {
		return resp, nil
	}
	switch c.Type {
	case mapi.CallListFiles:
		return nil, noFile(*c.ListFiles.Path)
	case mapi.CallReadFile:
		return nil, noFile(*c.ReadFile.Path)
	case mapi.CallTeardown:
		return nil, s.operatorTeardown(m, c.Teardown.FrameworkID.Value)
	case mapi.CallGetWeights:
		return s.getWeights(), nil
	case mapi.CallUpdateWeights:
		return nil, s.updateWeights(m, c.UpdateWeights)
	case mapi.CallGetQuota:
		return s.getQuota(), nil
	case mapi.CallUpdateQuota:
		return nil, s.updateQuota(m, c.UpdateQuota)
	case mapi.CallSetQuota:
		return nil, s.setQuota(m, c.SetQuota.QuotaRequest)
	case mapi.CallRemoveQuota:
		return nil, s.removeQuota(m, *c.RemoveQuota.Role)
	case mapi.CallMarkAgentGone:
		return nil, m.markAgentGone(c.MarkAgentGone.AgentID.Value)
	case mapi.CallDeactivateAgent:
		return nil, m.deactivateAgent(c.DeactivateAgent.AgentID.Value)
	case mapi.CallReactivateAgent:
		return nil, m.reactivateAgent(c.ReactivateAgent.AgentID.Value)
	case mapi.CallDrainAgent:
		return nil, m.drainAgent(c.DrainAgent)
	case mapi.CallUpdateMaintenanceSchedule, mapi.CallStartMaintenance, mapi.CallStopMaintenance:
		return nil, m.maintenanceCall(c)
	case mapi.CallGetMaintenanceSchedule:
		return s.getMaintenanceSchedule(), nil
	case mapi.CallGetMaintenanceStatus:
		return s.getMaintenanceStatus(), nil
	}
	v := s.viewFor(ctx)
	switch c.Type {
	case mapi.CallGetState:
		return &mapi.Response{Type: mapi.ResponseGetState, GetState: &mapi.GetState{GetTasks: v.getTasks(),
			GetExecutors: v.getExecutors(), GetFrameworks: v.getFrameworks(m), GetAgents: v.getAgents()}}, nil
	case mapi.CallGetAgents:
		agents := v.getAgents()
		return &mapi.Response{Type: mapi.ResponseGetAgents, GetAgents: &agents}, nil
	case mapi.CallGetFrameworks:
		fws := v.getFrameworks(m)
		return &mapi.Response{Type: mapi.ResponseGetFrameworks, GetFrameworks: &fws}, nil
	case mapi.CallGetExecutors:
		ex := v.getExecutors()
		return &mapi.Response{Type: mapi.ResponseGetExecutors, GetExecutors: &ex}, nil
	case mapi.CallGetTasks:
		tasks := v.getTasks()
		return &mapi.Response{Type: mapi.ResponseGetTasks, GetTasks: &tasks}, nil
	case mapi.CallGetOperations:
		// mesh applies reservation and volume operations as it commits
		// them and lists none here; those with an id awaiting their
		// framework's acknowledgement answer RECONCILE_OPERATIONS.
		return &mapi.Response{Type: mapi.ResponseGetOperations, GetOperations: &mapi.GetOperations{}}, nil
	case mapi.CallGetRoles:
		return &mapi.Response{Type: mapi.ResponseGetRoles, GetRoles: v.getRoles()}, nil
	case mapi.CallGetMaster:
		gm := &mapi.GetMaster{MasterInfo: m.info, StartTime: float64(s.started.UnixNano()) / 1e9,
			ElectedTime: float64(m.elected.UnixNano()) / 1e9}
		return &mapi.Response{Type: mapi.ResponseGetMaster, GetMaster: gm}, nil
	}
	return nil, httpErrorf(http.StatusNotImplemented, "mesh does not implement the operator call %s yet", c.Type)
}

// noFile answers LIST_FILES and READ_FILE: unlike Mesos' master, which
// serves its log file when it writes one, a mesh server logs only to
// stderr and holds no sandbox, so it serves no file at all.
func noFile(path string) error {
	return httpErrorf(http.StatusNotFound, "no file or directory %q: a mesh server serves no files (it logs to stderr, and sandboxes live on the agents)", path)
}

// operatorTeardown removes a framework as its own TEARDOWN would: its
// tasks are killed and its offers rescinded. An unknown or already
// removed framework is a 400, as in Mesos.
func (s *Server) operatorTeardown(m *master, fid string) error {
	if fw := s.fsm.State().Framework(fid); fw == nil || fw.Removed {
		return httpErrorf(http.StatusBadRequest, "No framework found with specified ID %q", fid)
	}
	m.removeFramework(fid, "Framework torn down by the operator")
	if fw := s.fsm.State().Framework(fid); fw == nil || !fw.Removed {
		return httpErrorf(http.StatusServiceUnavailable, "the teardown of framework %q was not committed; retry", fid)
	}
	return nil
}
