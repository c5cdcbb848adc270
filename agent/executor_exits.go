package agent

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"mesh/executor"
	"mesh/mesos"
	"mesh/mesos/agentapi"
)

// The leader records the executors it places (custom executors and the
// default executors of task groups; not mesh's command executors, as the
// Mesos master does not know those) and holds their resources until it
// learns that they ended. It learns it from EXECUTOR_EXITED, which the
// agent sends until the leader answers, and, should the agent restart
// before that, from the executors the agent lists when it registers
// again (subscribeCall). Until the leader has answered an exit, the
// executor is listed as exiting: a registration meanwhile (the stream to
// the leader broke, a new leader was elected) leaves its record for the
// exit to remove, and the framework gets its FAILURE, but does not make
// it again if the leader had removed it.

// Bounds of the wait between two sends of an executor's exit.
const (
	exitRetryMin = 250 * time.Millisecond
	exitRetryMax = 10 * time.Second
)

// executorExited notes that run r's executor ended, listing it as
// exiting from now on, and returns what tells the leader (so that its
// resources are freed and its framework gets a FAILURE event), to call
// once the run has left the registry.
func (a *Agent) executorExited(r *runner, st executor.ExitStatus) (report func()) {
	if r.kind == kindCommand || a.stopping.Load() {
		return func() {}
	}
	return a.executorExit(r.info, r.fwID, waitStatus(st), r.log)
}

// executorNotStarted reports the executor of a launch the agent refused
// before it made a run for it: the leader recorded the executor with the
// launch. It does nothing for a command task, or when the executor runs.
func (a *Agent) executorNotStarted(fid string, exec *mesos.ExecutorInfo) {
	if exec == nil || fid == "" || exec.ExecutorID.Value == "" {
		return
	}
	if r, _ := a.lookupRun(fid, exec.ExecutorID.Value); r != nil {
		return
	}
	if a.stopping.Load() {
		return
	}
	a.executorExit(*exec, fid, -1, a.log.With("framework_id", fid, "executor_id", exec.ExecutorID.Value))()
}

// executorExit lists executor info of framework fid as exiting and
// returns what posts its EXECUTOR_EXITED in the background until the
// leader answers it, waiting longer after each failure; that gives up
// only when the agent stops (the next agent on the work directory lists
// its executors when it registers) or the leader refuses the call as bad.
func (a *Agent) executorExit(info mesos.ExecutorInfo, fid string, status int32, log hclog.Logger) (report func()) {
	eid := info.ExecutorID.Value
	info.FrameworkID = &mesos.FrameworkID{Value: fid}
	call := &agentapi.Call{Type: agentapi.CallExecutorExited, ExecutorExited: &agentapi.ExecutorExited{
		FrameworkID: mesos.FrameworkID{Value: fid}, ExecutorID: mesos.ExecutorID{Value: eid}, Status: status}}
	key := a.exits.add(info)
	return func() {
		if a.stopping.Load() {
			a.exits.remove(key)
			return
		}
		a.goNamed("executor_exited", func() { a.postExit(key, call, log) })
	}
}

// postExit posts an executor's exit until the leader answers it, then
// stops listing the executor as exiting.
func (a *Agent) postExit(key string, call *agentapi.Call, log hclog.Logger) {
	defer a.exits.remove(key)
	wait := exitRetryMin
	for attempt := 1; ; attempt++ {
		err := a.postToLeader(call)
		if err == nil {
			log.Debug("leader told of the executor's exit", "attempts", attempt)
			return
		}
		var answer *answerError
		if errors.As(err, &answer) && answer.code != http.StatusForbidden && answer.code < 500 {
			log.Error("the leader refused the executor's exit", "error", err)
			return
		}
		log.Warn("cannot tell the leader of the executor's exit yet; retrying", "error", err, "attempt", attempt, "retry_in", wait)
		t := time.NewTimer(wait)
		select {
		case <-a.ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		wait = min(2*wait, exitRetryMax)
	}
}

// postToLeader posts call, with the agent's id, to the leader it is
// registered with.
func (a *Agent) postToLeader(call *agentapi.Call) error {
	addr, id := a.conn.leaderAddr(), a.knownID()
	if addr == "" || id == "" {
		return errNotRegistered
	}
	c := *call
	c.AgentID = &mesos.AgentID{Value: id}
	ctx, cancel := context.WithTimeout(a.ctx, relayTimeout)
	defer cancel()
	_, resp, err := a.conn.post(ctx, addr, &c)
	if err != nil {
		return err
	}
	drain(resp)
	return nil
}

var errNotRegistered = errors.New("the agent is not registered with a leader")

// reportedExecutors lists the executors the agent runs, for its
// registration: every run of a custom or default executor that has not
// ended, with its framework id.
func (a *Agent) reportedExecutors() []mesos.ExecutorInfo {
	var out []mesos.ExecutorInfo
	for _, r := range a.liveRuns() {
		if r.kind == kindCommand {
			continue
		}
		r.mu.Lock()
		ended := r.state == runTerminal
		r.mu.Unlock()
		if ended {
			continue
		}
		info := r.info
		info.FrameworkID = &mesos.FrameworkID{Value: r.fwID}
		out = append(out, info)
	}
	return out
}

// pendingExits holds the executors whose exit is being sent, each with
// the number of exits of it being sent (an executor id may be reused by
// a later run of the framework).
type pendingExits struct {
	mu sync.Mutex
	m  map[string]*pendingExit
}

type pendingExit struct {
	info mesos.ExecutorInfo
	n    int
}

// add notes that the exit of info (with its framework id) is being sent
// and returns its key.
func (p *pendingExits) add(info mesos.ExecutorInfo) string {
	key := info.FrameworkID.Value + "/" + info.ExecutorID.Value
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.m == nil {
		p.m = map[string]*pendingExit{}
	}
	if e := p.m[key]; e != nil {
		e.n++
	} else {
		p.m[key] = &pendingExit{info: info, n: 1}
	}
	return key
}

// remove notes that an exit of key is no longer being sent.
func (p *pendingExits) remove(key string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if e := p.m[key]; e != nil {
		if e.n--; e.n <= 0 {
			delete(p.m, key)
		}
	}
}

// list returns the executors whose exit is being sent.
func (p *pendingExits) list() []mesos.ExecutorInfo {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]mesos.ExecutorInfo, 0, len(p.m))
	for _, e := range p.m {
		out = append(out, e.info)
	}
	return out
}
