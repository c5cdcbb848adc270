package server

import (
	"net/http"

	"mesh/fsm"
	"mesh/httpbound"
	"mesh/mesos"
	"mesh/mesos/scheduler"
)

// handleScheduler serves POST /api/v1/scheduler following Mesos' decision
// order (spec §1.3): redirect, method, content type, parse, validate,
// Accept, stream id, framework checks, then the call.
func (s *Server) handleScheduler(w http.ResponseWriter, r *http.Request) {
	var call scheduler.Call
	// The status hook keeps the call's type, not the call: an ACCEPT
	// waiting for its commit holds its log entry, not the decoded call
	// (commitLaunch).
	var callType string
	onCallStatus(w, func(code int) { s.metrics.schedulerCall(callType, code) })
	m := s.leaderOrRedirect(w, r)
	if m == nil {
		return
	}
	if err := decodeCall(w, r, &call); err != nil {
		writeError(w, err)
		return
	}
	callType = call.Type
	if call.Type != scheduler.CallUnknown {
		if err := call.Validate(); err != nil {
			writeError(w, httpErrorf(http.StatusBadRequest, "failed to validate scheduler::Call: %v", err))
			return
		}
	}
	streamID := r.Header.Get("Mesos-Stream-Id")
	// Like the Mesos master, only the calls that answer with a body look
	// at Accept.
	var mediaType string
	if call.Type == scheduler.CallSubscribe || call.Type == scheduler.CallReconcileOperations {
		var err error
		if mediaType, err = responseEncoding(r); err != nil {
			writeError(w, err)
			return
		}
	}
	if call.Type == scheduler.CallSubscribe {
		if streamID != "" {
			writeError(w, httpErrorf(http.StatusBadRequest, "all non-subscribe calls should include the 'Mesos-Stream-Id' header; SUBSCRIBE must not"))
			return
		}
		if err := s.frameworkPrincipal(r, call.Subscribe.FrameworkInfo); err != nil {
			writeError(w, err)
			return
		}
		if err := s.authorizeSubscribe(r.Context(), call.Subscribe); err != nil {
			writeError(w, err)
			return
		}
		release, err := s.enterFrameworkStream()
		if err != nil {
			writeError(w, err)
			return
		}
		defer release()
		m.subscribe(w, r, &call, mediaType)
		return
	}
	if call.FrameworkID == nil || call.FrameworkID.Value == "" {
		writeError(w, httpErrorf(http.StatusBadRequest, "expecting 'framework_id' to be present"))
		return
	}
	fid := call.FrameworkID.Value
	fw := s.fsm.State().Framework(fid)
	if fw == nil || fw.Removed {
		writeError(w, httpErrorf(http.StatusBadRequest, "Framework cannot be found"))
		return
	}
	if err := s.callerOwns(r, fw); err != nil {
		writeError(w, err)
		return
	}
	fc := m.streamOf(fid)
	if fc == nil {
		writeError(w, httpErrorf(http.StatusForbidden, "Framework is not subscribed"))
		return
	}
	if streamID == "" {
		writeError(w, httpErrorf(http.StatusBadRequest, "all non-subscribe calls should include the 'Mesos-Stream-Id' header"))
		return
	}
	if streamID != fc.streamID {
		writeError(w, httpErrorf(http.StatusBadRequest, "the stream ID '%s' included in this request didn't match the stream ID currently associated with framework ID %s", streamID, fid))
		return
	}
	enter := func() (func(), error) { return m.fwAdm.enter(r.Context(), "framework "+fid, httpbound.BytesRead(r)) }
	if call.Type == scheduler.CallAcknowledge || call.Type == scheduler.CallReconcile {
		enter = func() (func(), error) { return m.fwAdm.enterLight("framework " + fid) }
	}
	release, err := enter()
	if err != nil {
		writeError(w, err)
		return
	}
	defer release()
	if err := m.authorizeCall(r.Context(), fw, &call); err != nil {
		writeError(w, err)
		return
	}
	// Nothing of the call is read after dispatch (commitLaunch).
	updateFramework := call.Type == scheduler.CallUpdateFramework
	if err := m.dispatch(fw, &call); err != nil {
		writeError(w, err)
		return
	}
	if updateFramework {
		w.WriteHeader(http.StatusOK) // as Mesos: the update is done
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

// dispatch runs a validated non-SUBSCRIBE call for a subscribed framework.
// A nil error means 202: semantic failures surface as events.
func (m *master) dispatch(fw *fsm.Framework, call *scheduler.Call) error {
	switch call.Type {
	case scheduler.CallTeardown:
		m.removeFramework(fw.ID, "Framework torn down")
	case scheduler.CallAccept:
		return m.accept(fw, call.Accept)
	case scheduler.CallDecline:
		m.decline(fw.ID, call.Decline.OfferIDs, call.Decline.Filters)
	case scheduler.CallRevive:
		var roles []string
		if call.Revive != nil {
			roles = call.Revive.Roles
		}
		m.revive(fw, roles)
	case scheduler.CallSuppress:
		var roles []string
		if call.Suppress != nil {
			roles = call.Suppress.Roles
		}
		m.suppress(fw, roles)
	case scheduler.CallKill:
		m.kill(fw, call.Kill)
	case scheduler.CallShutdown:
		m.shutdownExecutor(fw, call.Shutdown)
	case scheduler.CallAcknowledge:
		return m.acknowledge(fw.ID, call.Acknowledge)
	case scheduler.CallReconcile:
		m.reconcile(fw, call.Reconcile)
	case scheduler.CallUpdateFramework:
		return m.updateFramework(fw, call.UpdateFramework)
	case scheduler.CallReconcileOperations:
		m.reconcileOperations(fw, call.ReconcileOperations)
	case scheduler.CallAcknowledgeOperationStatus:
		m.acknowledgeOperationStatus(fw.ID, call.AcknowledgeOperationStatus)
	case scheduler.CallMessage:
		m.message(fw.ID, call.Message)
	case scheduler.CallRequest:
		// Accepted and ignored, as by Mesos' allocator.
		m.logger.Info("ignoring a resource request", "framework_id", fw.ID)
	case scheduler.CallAcceptInverseOffers:
		a := call.AcceptInverseOffers
		m.answerInverseOffers(fw.ID, a.InverseOfferIDs, a.Filters, mesos.InverseOfferAccept)
	case scheduler.CallDeclineInverseOffers:
		d := call.DeclineInverseOffers
		m.answerInverseOffers(fw.ID, d.InverseOfferIDs, d.Filters, mesos.InverseOfferDecline)
	case scheduler.CallUnknown:
		return httpErrorf(http.StatusNotImplemented, "call type UNKNOWN is not implemented")
	default:
		return httpErrorf(http.StatusNotImplemented, "call type %s is not implemented by mesh yet", call.Type)
	}
	return nil
}
