package fsm

import "mesh/mesos"

// executorEnded returns the resources of t's executor (a framework's own,
// or the default executor of task groups) when t, just terminal, was its
// last live task on its agent; nil otherwise. Apply decides it, in log order, so
// that the executor's resources are freed exactly once however the
// updates of its tasks are batched.
func (s *State) executorEnded(t *Task) mesos.Resources {
	e := t.Info.Executor
	if e == nil {
		return nil
	}
	for _, o := range s.TasksByAgent(t.AgentID) {
		if o.FrameworkID == t.FrameworkID && !o.Completed && !o.State.IsTerminal() &&
			o.Info.Executor != nil && o.Info.Executor.ExecutorID == e.ExecutorID {
			return nil
		}
	}
	return append(mesos.Resources(nil), e.Resources...)
}
