package agent

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Recovery modes (Config.Recover), as Mesos' --recover.
const (
	RecoverReconnect = "reconnect"
	RecoverCleanup   = "cleanup"
)

// Stop messages: the status message of the tasks whose executors the agent
// destroys as it stops.
const (
	msgAgentShutDown  = "Agent shut down"
	msgAgentCleanedUp = "Agent killed its executors (mesh agent -recover cleanup)"
)

// CleanupSummary is what Cleanup did.
type CleanupSummary struct {
	// Executors is how many executors were still running and were killed.
	Executors int
	// Containers is how many containers no executor claimed were destroyed.
	Containers int
	// PendingUpdates is how many status updates wait in the work directory
	// for the next agent that runs on it to forward.
	PendingUpdates int
}

// Cleanup kills the executors an earlier agent process left running and
// returns once their containers are gone, without serving or contacting the
// servers, as Mesos' --recover=cleanup does: for an incompatible upgrade, a
// machine leaving the cluster, or a test that must not leave containers
// behind. Each executor gets SIGTERM, then SIGKILL after its shutdown grace
// period. Its unfinished tasks end TASK_KILLED, or as the sandbox records
// when a task ended before the agent could report it; those updates stay
// checkpointed, and an agent started later on the same work directory
// re-registers with the same id and forwards them. Cleanup is used instead
// of Run, on an agent whose Config.Recover is RecoverCleanup.
func (a *Agent) Cleanup(ctx context.Context) (CleanupSummary, error) {
	if a.cfg.Recover != RecoverCleanup {
		return CleanupSummary{}, errors.New("agent: Cleanup needs Config.Recover = cleanup")
	}
	started := false
	a.runOnce.Do(func() { started = true })
	if !started {
		return CleanupSummary{}, errors.New("agent already ran")
	}
	a.ln.Close()
	defer func() {
		a.cancel()
		a.wg.Wait()
		a.updates.Close()
		a.containerizer.Close()
		a.lock.release()
	}()

	a.stopMsg = msgAgentCleanedUp
	a.stopping.Store(true)
	a.mu.Lock()
	runs, orphans := append(a.recovered, a.unstarted...), a.orphans
	a.recovered, a.unstarted, a.orphans = nil, nil, nil
	a.mu.Unlock()
	for _, r := range runs {
		r.keepRecordedEnd()
	}
	sum := CleanupSummary{Executors: len(runs), Containers: len(orphans)}
	a.log.Info("cleaning up: killing the executors an earlier agent left", "executors", len(runs), "other_containers", len(orphans))

	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	destroy := func(cid string, grace time.Duration) {
		defer wg.Done()
		dctx, cancel := context.WithTimeout(ctx, grace+destroyTimeout)
		defer cancel()
		if err := a.containerizer.Destroy(dctx, cid, grace); err != nil {
			mu.Lock()
			errs = append(errs, err)
			mu.Unlock()
		}
	}
	for _, r := range runs {
		if !r.launchStarted() {
			continue // never launched: no container
		}
		wg.Add(1)
		go destroy(r.containerID, r.shutdownGrace)
	}
	for _, cid := range orphans {
		wg.Add(1)
		go destroy(cid, 0)
	}
	wg.Wait()

	for _, r := range runs {
		r.settle(unknownExit)
	}
	sum.PendingUpdates = a.updates.Pending()
	if err := errors.Join(errs...); err != nil {
		return sum, err
	}
	a.log.Info("cleaned up", "executors_killed", sum.Executors, "containers_destroyed", sum.Containers, "pending_updates", sum.PendingUpdates)
	return sum, nil
}

// stopMessage is the status message of tasks whose executors are destroyed
// because the agent stops; it is read once a.stopping is set.
func (a *Agent) stopMessage() string {
	if a.stopMsg != "" {
		return a.stopMsg
	}
	return msgAgentShutDown
}
