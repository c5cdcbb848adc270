package server

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"mesh/allocator"
	"mesh/fsm"
	"mesh/mesos"
	"mesh/mesos/agentapi"
	"mesh/mesos/scheduler"
)

// offerRound turns one allocation round into offers: it commits them all
// in one log entry, then sends each framework its OFFERS event.
func (m *master) offerRound(round []allocator.Allocation) {
	if h := m.beforeOfferRound.Load(); h != nil {
		(*h)(round)
	}
	m.roundMu.Lock()
	defer m.roundMu.Unlock()
	if !m.leading() {
		return
	}
	st := m.s.fsm.State()
	now := time.Now().UnixNano()
	var offers []fsm.Offer
	roles := frameworkRoles{st: st, roles: map[string][]string{}}
	m.mu.Lock()
	for _, a := range round {
		agent := st.Agent(a.AgentID)
		if m.frameworks[a.FrameworkID] == nil || m.agents[a.AgentID] == nil || agent == nil || agent.State != fsm.AgentActive || agent.Deactivated ||
			!roles.subscribed(a.FrameworkID, a.Role) {
			m.mu.Unlock()
			m.alloc.Recover(a.FrameworkID, a.AgentID, a.Resources, 0)
			m.mu.Lock()
			continue
		}
		offers = append(offers, fsm.Offer{
			ID:          fmt.Sprintf("%s-O%d-%d", m.clusterID, m.term, m.offerSeq.Add(1)),
			FrameworkID: a.FrameworkID, AgentID: a.AgentID, Role: a.Role, Term: m.term,
			Resources: a.Resources, CreatedAt: now,
		})
	}
	m.mu.Unlock()
	if len(offers) == 0 {
		return
	}
	if _, err := m.apply(fsm.OffersCreateRequestType, &fsm.OffersCreateRequest{Offers: offers}); err != nil {
		m.logger.Warn("failed to commit offers", "count", len(offers), "error", err)
		for _, o := range offers {
			m.alloc.Recover(o.FrameworkID, o.AgentID, o.Resources, 0)
		}
		return
	}
	m.s.metrics.offersMade.Add(float64(len(offers)))
	m.armOfferTimeout(offers)
	st = m.s.fsm.State()
	byFramework := map[string][]mesos.Offer{}
	for i := range offers {
		o := &offers[i]
		m.s.metrics.res.countOffer(o)
		byFramework[o.FrameworkID] = append(byFramework[o.FrameworkID], m.toMesosOffer(st, o))
	}
	for fid, list := range byFramework {
		if !m.sendToFramework(fid, &scheduler.Event{Type: scheduler.EventOffers, Offers: &scheduler.Offers{Offers: list}}) {
			m.discardOffers(fid, false)
		}
	}
}

// frameworkRoles answers, for the allocations of one round, whether a
// framework is still subscribed to a role: a round computed before an
// UPDATE_FRAMEWORK took a role away must not offer it (each framework's
// roles are read once a round).
type frameworkRoles struct {
	st    *fsm.State
	roles map[string][]string
}

func (r *frameworkRoles) subscribed(fid, role string) bool {
	roles, ok := r.roles[fid]
	if !ok {
		if fw := r.st.Framework(fid); fw != nil {
			roles = fw.Info.AllRoles()
		}
		r.roles[fid] = roles
	}
	return slices.Contains(roles, role)
}

// toMesosOffer renders an offer with every field Mesos fills.
func (m *master) toMesosOffer(st *fsm.State, o *fsm.Offer) mesos.Offer {
	agent := st.Agent(o.AgentID)
	out := mesos.Offer{
		ID:             mesos.OfferID{Value: o.ID},
		FrameworkID:    mesos.FrameworkID{Value: o.FrameworkID},
		AgentID:        mesos.AgentID{Value: o.AgentID},
		AllocationInfo: &mesos.AllocationInfo{Role: o.Role},
		Resources:      o.Resources.ForWire(),
	}
	if agent != nil {
		out.Hostname = agent.Info.Hostname
		out.Attributes = agent.Info.Attributes
		host, portStr, _ := net.SplitHostPort(agent.Address)
		port, _ := strconv.Atoi(portStr)
		out.URL = &mesos.URL{
			Scheme:  "http",
			Address: mesos.Address{Hostname: agent.Info.Hostname, IP: host, Port: int32(port)},
			Path:    "/slave(1)",
		}
		out.Unavailability = m.unavailabilityOf(st, agent)
	}
	seen := map[string]bool{}
	for _, e := range st.ExecutorsByAgent(o.AgentID) {
		if e.FrameworkID == o.FrameworkID {
			seen[e.ExecutorID] = true
			out.ExecutorIDs = append(out.ExecutorIDs, mesos.ExecutorID{Value: e.ExecutorID})
		}
	}
	for _, t := range st.TasksByAgent(o.AgentID) {
		if t.FrameworkID != o.FrameworkID || t.Completed || t.State.IsTerminal() {
			continue
		}
		eid := t.TaskID
		if t.Info.Executor != nil {
			eid = t.Info.Executor.ExecutorID.Value
		}
		if !seen[eid] {
			seen[eid] = true
			out.ExecutorIDs = append(out.ExecutorIDs, mesos.ExecutorID{Value: eid})
		}
	}
	sort.Slice(out.ExecutorIDs, func(i, j int) bool { return out.ExecutorIDs[i].Value < out.ExecutorIDs[j].Value })
	return out
}

// discardOffers removes every outstanding offer of a framework and returns
// the resources; with rescind the framework is told (RESCIND events).
func (m *master) discardOffers(fid string, rescind bool) {
	offers := m.s.fsm.State().OffersByFramework(fid)
	m.removeOffers(offers, rescind, 0)
}

// removeOffers commits the removal of offers and recovers their
// resources, installing a decline filter of refuse when positive. It
// returns how many it removed.
func (m *master) removeOffers(offers []*fsm.Offer, rescind bool, refuse time.Duration) int {
	if len(offers) == 0 {
		return 0
	}
	ids := make([]string, len(offers))
	for i, o := range offers {
		ids[i] = o.ID
	}
	res, err := m.apply(fsm.OffersRemoveRequestType, &fsm.OffersRemoveRequest{OfferIDs: ids, Filter: declineFilter(refuse)})
	if err != nil {
		m.logger.Warn("failed to remove offers", "count", len(ids), "error", err)
		return 0
	}
	removed := res.([]fsm.Offer)
	for _, o := range removed {
		m.alloc.Recover(o.FrameworkID, o.AgentID, o.Resources, refuse)
		if rescind {
			m.s.metrics.offersRescinded.Inc()
			m.sendToFramework(o.FrameworkID, &scheduler.Event{Type: scheduler.EventRescind,
				Rescind: &scheduler.Rescind{OfferID: mesos.OfferID{Value: o.ID}}})
		}
	}
	return len(removed)
}

// masterUpdate sends a framework a status update generated by the master
// (no uuid: frameworks must not acknowledge it).
func (m *master) masterUpdate(fid string, taskID mesos.TaskID, agentID string, state mesos.TaskState, reason, msg string) {
	s := mesos.TaskStatus{TaskID: taskID, State: state, Source: mesos.SourceMaster, Reason: reason,
		Message: msg, Timestamp: float64(time.Now().UnixNano()) / 1e9}
	if agentID != "" {
		s.AgentID = &mesos.AgentID{Value: agentID}
	}
	m.sendToFramework(fid, &scheduler.Event{Type: scheduler.EventUpdate, Update: &scheduler.Update{Status: s}})
}

// dropOperation answers an offer operation mesh does not perform as the
// Mesos master answers one that fails validation: an
// UPDATE_OPERATION_STATUS OPERATION_ERROR when the framework gave the
// operation an id (no agent id, no uuid: nothing to acknowledge), a
// warning in the log otherwise. Either way the offer is consumed by the
// ACCEPT and its resources go back to the pool.
func (m *master) dropOperation(fid string, op mesos.OfferOperation, msg string) {
	m.logger.Warn("dropping offer operation", "framework_id", fid, "type", operationName(op.Type), "reason", msg)
	if op.ID == nil || op.ID.Value == "" {
		return
	}
	id := *op.ID
	m.sendToFramework(fid, &scheduler.Event{Type: scheduler.EventUpdateOperationStatus,
		UpdateOperationStatus: &scheduler.UpdateOperationStatus{Status: mesos.OperationStatus{
			OperationID: &id, State: mesos.OperationError, Message: msg}}})
}

// operationName is an operation type as Mesos names it; a type it does
// not know reads as UNKNOWN, as it does after Mesos parses the call.
func operationName(t string) string {
	switch t {
	case mesos.OperationLaunch, mesos.OperationLaunchGroup, mesos.OperationReserve, mesos.OperationUnreserve,
		mesos.OperationCreate, mesos.OperationDestroy, mesos.OperationGrowVolume, mesos.OperationShrinkVolume,
		mesos.OperationCreateDisk, mesos.OperationDestroyDisk:
		return t
	}
	return "UNKNOWN"
}

// decline returns offers to the pool with a filter.
func (m *master) decline(fid string, ids []mesos.OfferID, filters *mesos.Filters) {
	st := m.s.fsm.State()
	var offers []*fsm.Offer
	for _, id := range ids {
		if o := st.Offer(id.Value); o != nil && o.FrameworkID == fid {
			offers = append(offers, o)
		}
	}
	n := m.removeOffers(offers, false, secondsToDuration(filters.RefuseSecondsOrDefault()))
	m.s.metrics.offersDeclined.Add(float64(n))
}

// accept handles ACCEPT: it validates the offers and every task, commits
// "offers consumed + tasks launched" as one entry — re-checked by Apply
// against the latest state — and only then tells the agent. A launch that
// could not be committed (leadership lost, no quorum) is an error the
// call answers 503: the framework hears of it rather than waiting for
// tasks nobody will ever start, and reconciles them.
func (m *master) accept(fw *fsm.Framework, acc *scheduler.Accept) error {
	fid := fw.ID
	pa := fw.Info.HasCapability(mesos.CapabilityPartitionAware)
	lostState := mesos.TaskLost
	if pa {
		lostState = mesos.TaskDropped
	}
	st := m.s.fsm.State()
	offers, agentID, role, problem := acceptedOffers(st, fid, acc.OfferIDs)
	if problem != "" {
		m.removeOffers(offers, false, 0)
		for _, op := range acc.Operations {
			for _, t := range operationTasks(&op) {
				m.masterUpdate(fid, t.TaskID, t.AgentID.Value, lostState, mesos.ReasonInvalidOffers,
					"Task launched with invalid offers: "+problem)
			}
			if op.Type != mesos.OperationLaunch && op.Type != mesos.OperationLaunchGroup {
				m.dropOperation(fid, op, "Operation attempted with invalid offers: "+problem)
			}
		}
		return nil
	}
	refuse := secondsToDuration(acc.Filters.RefuseSecondsOrDefault())
	var offered mesos.Resources
	offerIDs := make([]string, len(offers))
	for i, o := range offers {
		offered = offered.Add(o.Resources...)
		offerIDs[i] = o.ID
	}
	// Operations apply in order: a task may use what an earlier RESERVE
	// or CREATE of the same ACCEPT made, as in Mesos.
	b := &acceptBatch{m: m, st: st, fid: fid, agentID: agentID, role: role, remaining: offered,
		seen: map[string]bool{}, execs: newLaunchExecutors(st, fid, agentID, role)}
	oc := &opContext{st: st, agentID: agentID, fw: fw, role: role, principal: fw.Info.Principal}
	var groups []groupLaunch
	var applied []fsm.AppliedOperation
	for i := range acc.Operations {
		op := &acc.Operations[i]
		switch {
		case op.Type == mesos.OperationLaunch:
			if op.Launch != nil {
				for j := range op.Launch.TaskInfos {
					b.task(&op.Launch.TaskInfos[j])
				}
			}
		case op.Type == mesos.OperationLaunchGroup:
			if op.LaunchGroup != nil {
				groups = append(groups, groupLaunch{executor: op.LaunchGroup.Executor, tasks: op.LaunchGroup.TaskGroup.Tasks,
					withID: op.ID != nil})
			}
		case isVolumeOperation(op.Type):
			oc.available = b.remaining
			conv, err := oc.convert(op)
			if err != nil {
				m.dropOperation(fid, *op, err.Error())
				continue
			}
			b.remaining, _ = b.remaining.Apply(conv)
			applied = append(applied, appliedOperation(op, conv))
		default:
			m.dropOperation(fid, *op, "mesh does not perform "+operationName(op.Type)+" operations")
		}
	}
	groupTasks, validGroups, remaining := m.launchGroups(st, &groupBatch{fid: fid, agentID: agentID, role: role,
		seen: b.seen, started: map[string]mesos.ExecutorInfo{}}, groups, b.remaining)
	plain := len(b.launch)
	ids := launchedIDs(b.launch, groupTasks)
	now := time.Now().UnixNano()
	err := m.commitLaunch(&fsm.TaskLaunchRequest{
		FrameworkID: fid, AgentID: agentID, OfferIDs: offerIDs, Tasks: append(b.launch, groupTasks...), At: now,
		Filters: acceptFilters(fid, agentID, role, remaining, refuse, now),
	}, applied)
	if err != nil {
		m.logger.Info("launch rejected", "framework_id", fid, "error", err)
		if transient(err) {
			return httpErrorf(http.StatusServiceUnavailable,
				"the launch of %d task(s) and %d operation(s) may not have been committed (%v): reconcile them and retry",
				len(ids), len(applied), err)
		}
		for _, id := range ids {
			m.masterUpdate(fid, mesos.TaskID{Value: id}, agentID, lostState, mesos.ReasonInvalidOffers,
				"Task launched with invalid offers: "+err.Error())
		}
		for _, op := range applied {
			if op.OperationID != "" {
				m.dropOperation(fid, mesos.OfferOperation{Type: op.Type, ID: &mesos.OperationID{Value: op.OperationID}},
					"Operation could not be applied: "+err.Error())
			}
		}
		return nil
	}
	if len(applied) > 0 {
		m.operationsCommitted(fid, agentID, applied)
	}
	if infos := committedInfos(m.s.fsm.State(), fid, ids[:plain]); len(infos) > 0 {
		fwInfo := fw.Info
		if !m.sendToAgent(agentID, &agentapi.Event{Type: agentapi.EventLaunch, Launch: &agentapi.Launch{FrameworkInfo: fwInfo, Tasks: infos}}) {
			m.logger.Warn("agent disconnected before launch; its tasks are reconciled when it re-registers", "agent_id", agentID)
		}
		m.logger.Debug("launched tasks", "framework_id", fid, "agent_id", agentID, "count", len(ids))
	}
	m.sendGroups(fw.Info, agentID, validGroups)
	// Whatever the tasks did not use goes back, filtered for refuse_seconds.
	if !remaining.IsEmpty() {
		m.alloc.Recover(fid, agentID, remaining, refuse)
	}
	return nil
}

// commitLaunch commits an ACCEPT's launches (and operations, when it has
// any) while holding the agent's gate. While it waits for the commit, the
// ACCEPT holds its log entry and nothing else of its tasks: under a burst
// of launches, the calls waiting for their commits held the decoded call
// and the tasks built from it beside the entry, a fifth of the leader's
// live heap at its peak. What follows the commit reads the committed
// tasks back (committedInfos).
func (m *master) commitLaunch(lr *fsm.TaskLaunchRequest, applied []fsm.AppliedOperation) error {
	gate := m.agentGate(lr.AgentID)
	gate.RLock()
	defer gate.RUnlock()
	var err error
	if len(applied) > 0 {
		_, err = m.apply(fsm.AcceptOperationsRequestType, &fsm.AcceptOperationsRequest{Launch: *lr, Operations: applied})
	} else {
		_, err = m.apply(fsm.TaskLaunchRequestType, lr)
	}
	return err
}

// launchedIDs lists the ids of an ACCEPT's tasks, plain ones first.
func launchedIDs(plain, group []fsm.Task) []string {
	ids := make([]string, 0, len(plain)+len(group))
	for _, ts := range [][]fsm.Task{plain, group} {
		for i := range ts {
			ids = append(ids, ts[i].TaskID)
		}
	}
	return ids
}

// committedInfos is what the agent is to launch of the tasks just
// committed: each one's TaskInfo as the state holds it (the same, its
// strings and parts shared with other tasks). One the state no longer
// holds is not sent.
func committedInfos(st *fsm.State, fid string, ids []string) []mesos.TaskInfo {
	infos := make([]mesos.TaskInfo, 0, len(ids))
	for _, id := range ids {
		if t := st.Task(fid, id); t != nil {
			infos = append(infos, t.Info)
		}
	}
	return infos
}

// acceptedOffers looks an ACCEPT's offers up: those found, their agent and
// role, and what makes the ACCEPT invalid ("" when nothing does).
func acceptedOffers(st *fsm.State, fid string, ids []mesos.OfferID) (offers []*fsm.Offer, agentID, role, problem string) {
	for _, id := range ids {
		o := st.Offer(id.Value)
		switch {
		case o == nil:
			problem = fmt.Sprintf("Offer %s is no longer valid", id.Value)
		case o.FrameworkID != fid:
			problem = fmt.Sprintf("Offer %s is not for this framework", id.Value)
		case agentID != "" && o.AgentID != agentID:
			problem = "Aggregated offers must belong to one agent"
		case role != "" && o.Role != role:
			problem = "Aggregated offers must be allocated to one role"
		default:
			agentID, role = o.AgentID, o.Role
			offers = append(offers, o)
		}
	}
	if len(ids) == 0 {
		problem = "No offers specified"
	}
	return offers, agentID, role, problem
}

// operationTasks lists the tasks an operation launches.
func operationTasks(op *mesos.OfferOperation) []mesos.TaskInfo {
	switch {
	case op.Type == mesos.OperationLaunch && op.Launch != nil:
		return op.Launch.TaskInfos
	case op.Type == mesos.OperationLaunchGroup && op.LaunchGroup != nil:
		return op.LaunchGroup.TaskGroup.Tasks
	}
	return nil
}

// acceptBatch is the tasks of one ACCEPT's LAUNCH operations, checked one
// by one against what is left of the offers.
type acceptBatch struct {
	m                  *master
	st                 *fsm.State
	fid, agentID, role string
	remaining          mesos.Resources
	seen               map[string]bool
	execs              *launchExecutors
	launch             []fsm.Task
}

// task checks one task of a LAUNCH and, when it is valid, takes its
// resources; an invalid task gets TASK_ERROR.
func (b *acceptBatch) task(t *mesos.TaskInfo) {
	res := legacyUpgraded(t.Resources).WithDefaultAllocation(b.role)
	if err := validateTask(b.st, b.fid, b.agentID, t, res, b.remaining, b.seen); err != nil {
		b.m.masterUpdate(b.fid, t.TaskID, t.AgentID.Value, mesos.TaskError, mesos.ReasonTaskInvalid, err.Error())
		return
	}
	execRes, err := b.execs.check(t)
	if err == nil && !b.remaining.Contains(res.Add(execRes...)) {
		err = fmt.Errorf("Total resources %s required by task and its executor is more than available %s",
			res.Add(execRes...).String(), b.remaining.String())
	}
	if err != nil {
		b.m.masterUpdate(b.fid, t.TaskID, t.AgentID.Value, mesos.TaskError, mesos.ReasonTaskInvalid, err.Error())
		return
	}
	b.execs.started(t)
	b.seen[t.TaskID.Value] = true
	b.remaining = b.remaining.Subtract(res.Add(execRes...)...)
	info := *t
	info.Resources = res
	b.launch = append(b.launch, fsm.Task{FrameworkID: b.fid, TaskID: t.TaskID.Value, AgentID: b.agentID,
		Info: info, Role: b.role, State: mesos.TaskStaging})
}

// validateTask applies Mesos' per-task checks against the resources still
// available in the accepted offers.
func validateTask(st *fsm.State, fid, agentID string, t *mesos.TaskInfo, res, remaining mesos.Resources, seen map[string]bool) error {
	id := t.TaskID.Value
	switch {
	case id == "" || id == "." || id == "..":
		return fmt.Errorf("Task ID %q is invalid", id)
	case strings.ContainsAny(id, "/\\") || strings.IndexFunc(id, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0:
		return fmt.Errorf("Task ID %q contains '/', '\\' or a control character", id)
	case seen[id]:
		return fmt.Errorf("Task ID %q is duplicated in this ACCEPT", id)
	}
	if old := st.Task(fid, id); old != nil && !old.Completed {
		return fmt.Errorf("Task ID %q is already in use", id)
	}
	if t.AgentID.Value != agentID {
		return fmt.Errorf("Task uses agent %q but the offers are for agent %q", t.AgentID.Value, agentID)
	}
	if (t.Command == nil) == (t.Executor == nil) {
		return errors.New("Task must have exactly one of 'command' or 'executor'")
	}
	if err := validateTaskChecks(t); err != nil {
		return err
	}
	if err := res.Validate(); err != nil {
		return fmt.Errorf("Task has invalid resources: %v", err)
	}
	if res.IsEmpty() {
		return errors.New("Task uses no resources")
	}
	if !remaining.Contains(res) {
		return fmt.Errorf("Task uses more resources %s than available %s", res.String(), remaining.String())
	}
	return nil
}

// legacyUpgraded reads a task's resources written the way frameworks did
// before reservation refinement (a reserved "role", a "reservation") into
// the reservations stack; resources written the new way are left as they
// are.
func legacyUpgraded(rs mesos.Resources) mesos.Resources {
	for i := range rs {
		if rs[i].Reservation != nil || (len(rs[i].Reservations) == 0 && rs[i].Role != "" && rs[i].Role != "*") {
			return mesos.UpgradeResources(rs)
		}
	}
	return rs
}
