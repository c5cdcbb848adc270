package agent

import (
	"bytes"
	"encoding/json"
	"fmt"

	"mesh/executor"
	"mesh/mesos"
)

// A custom executor (kindCustom) is the framework's own program, given by
// ExecutorInfo.command: the agent fetches its URIs into the sandbox
// before it starts the container (the command executor fetches its task's
// URIs itself), and gives it the environment Mesos gives an executor.

// fetchExecutorURIs fetches the run's ExecutorInfo.command.uris into its
// sandbox; it does nothing for other kinds of run.
func (r *runner) fetchExecutorURIs() error {
	if r.kind != kindCustom || r.info.Command == nil || len(r.info.Command.URIs) == 0 {
		return nil
	}
	cache := ""
	if usesFetcherCache(r.info.Command) {
		dir, err := r.a.userFetcherCache(r.user)
		if err != nil {
			return fmt.Errorf("Failed to fetch all URIs for container '%s': %w", r.containerID, err)
		}
		cache = dir
		r.a.trimFetcherCache()
	}
	r.log.Info("fetching the executor's URIs", "uris", len(r.info.Command.URIs))
	if err := executor.FetchURIs(r.a.ctx, r.directory, cache, r.user, r.info.Command.URIs); err != nil {
		return fmt.Errorf("Failed to fetch all URIs for container '%s': %w", r.containerID, err)
	}
	return nil
}

// Environment variables Mesos gives every executor beside those of
// executor.Config.
const (
	envAgentID             = "MESOS_AGENT_ID"
	envSlaveID             = "MESOS_SLAVE_ID"
	envHTTPCommandExecutor = "MESOS_HTTP_COMMAND_EXECUTOR"
)

// agentEnv is what executorEnv adds for every kind of run: the agent's
// id (under both names), and whether the executor is the command
// executor speaking the HTTP API (mesh's always does; a custom executor
// is told 0, as Mesos tells it). There is no MESOS_SLAVE_PID: mesh has no
// libprocess endpoint for a driver-based executor to reach.
func (a *Agent) agentEnv(run *runner) []string {
	http := "0"
	if run.commandExecutor() {
		http = "1"
	}
	env := []string{envHTTPCommandExecutor + "=" + http}
	if id := a.knownID(); id != "" {
		env = append(env, envAgentID+"="+id, envSlaveID+"="+id)
	}
	return env
}

// shutdownExecutor carries out a framework's SHUTDOWN of one executor:
// the executor is sent SHUTDOWN and destroyed after its shutdown grace
// period; tasks it leaves unfinished are killed.
func (a *Agent) shutdownExecutor(fid, eid string) {
	run, _ := a.lookupRun(fid, eid)
	if run == nil {
		a.log.Warn("ignoring the shutdown of an executor the agent does not run", "framework_id", fid, "executor_id", eid)
		return
	}
	run.log.Info("shutting down executor as its framework asked", "grace", run.shutdownGrace)
	run.shutdown(termination{state: mesos.TaskKilled, reason: mesos.ReasonExecutorTerminated, message: "Executor shut down by its framework"})
}

// compatible checks that a task launched to the run's executor names it
// with the ExecutorInfo it was started with, as the leader checks it
// against the executors it records; the agent checks it again, for a
// leader that lost the record (an agent of an older version that did not
// list its executors when it registered).
func (r *runner) compatible(fid string, info mesos.ExecutorInfo) error {
	info.FrameworkID = &mesos.FrameworkID{Value: fid}
	a, errA := json.Marshal(info)
	b, errB := json.Marshal(r.info)
	if errA != nil || errB != nil || !bytes.Equal(a, b) {
		return fmt.Errorf("ExecutorInfo is not compatible with the ExecutorInfo executor %s is running with", r.id)
	}
	return nil
}
