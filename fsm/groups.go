package fsm

import "mesh/mesos"

// groupExecutorEnded returns the resources of t's executor when it is a
// default executor (task groups) and t, just terminal, was its last live
// task on its agent; nil otherwise. Apply decides it, in log order, so
// that the executor's resources are freed exactly once however the
// updates of its tasks are batched.
func (s *State) groupExecutorEnded(t *Task) mesos.Resources {
	e := t.Info.Executor
	if e == nil || e.Type != mesos.ExecutorTypeDefault {
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
