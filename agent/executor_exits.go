package agent

import (
	"context"
	"errors"
	"net/http"
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
// again (subscribeCall).

// Bounds of the wait between two sends of an executor's exit.
const (
	exitRetryMin = 250 * time.Millisecond
	exitRetryMax = 10 * time.Second
)

// reportExecutorExited tells the leader that run r's executor ended, so
// that its resources are freed and its framework gets a FAILURE event.
func (a *Agent) reportExecutorExited(r *runner, st executor.ExitStatus) {
	if r.kind == kindCommand {
		return
	}
	a.sendExecutorExited(r.fwID, r.id, waitStatus(st), r.log)
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
	a.sendExecutorExited(fid, exec.ExecutorID.Value, -1, a.log.With("framework_id", fid, "executor_id", exec.ExecutorID.Value))
}

// sendExecutorExited posts EXECUTOR_EXITED in the background until the
// leader answers it, waiting longer after each failure; it gives up only
// when the agent stops (the next agent on the work directory lists its
// executors when it registers) or the leader refuses the call as bad.
func (a *Agent) sendExecutorExited(fid, eid string, status int32, log hclog.Logger) {
	if a.stopping.Load() {
		return
	}
	call := &agentapi.Call{Type: agentapi.CallExecutorExited, ExecutorExited: &agentapi.ExecutorExited{
		FrameworkID: mesos.FrameworkID{Value: fid}, ExecutorID: mesos.ExecutorID{Value: eid}, Status: status}}
	a.goNamed("executor_exited", func() {
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
	})
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
