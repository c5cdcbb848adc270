package fsm

import (
	"sort"
)

// HistoryBeyond lists the history to drop so that at most maxTasks
// completed tasks remain per framework and at most maxFrameworks removed
// frameworks (each with its tasks): the oldest first, by the time of the
// task's last status update or of the framework's removal. It returns
// nil when there is nothing to drop. The leader commits what it returns
// as a HistoryPruneRequest.
func (s *State) HistoryBeyond(maxTasks, maxFrameworks int) *HistoryPruneRequest {
	req := &HistoryPruneRequest{}
	var removed []*Framework
	for _, fw := range s.Frameworks() {
		if fw.Removed {
			removed = append(removed, fw)
		}
	}
	sort.Slice(removed, func(i, j int) bool {
		a, b := removed[i], removed[j]
		return a.RemovedAt < b.RemovedAt || a.RemovedAt == b.RemovedAt && a.ID < b.ID
	})
	dropped := map[string]bool{}
	if n := len(removed) - maxFrameworks; n > 0 {
		for _, fw := range removed[:n] {
			req.Frameworks = append(req.Frameworks, fw.ID)
			dropped[fw.ID] = true
		}
	}
	completed := map[string][]*Task{}
	for _, t := range s.Tasks() {
		if t.Completed && !dropped[t.FrameworkID] {
			completed[t.FrameworkID] = append(completed[t.FrameworkID], t)
		}
	}
	fids := make([]string, 0, len(completed))
	for fid := range completed {
		fids = append(fids, fid)
	}
	sort.Strings(fids)
	for _, fid := range fids {
		tasks := completed[fid]
		n := len(tasks) - maxTasks
		if n <= 0 {
			continue
		}
		sort.Slice(tasks, func(i, j int) bool {
			a, b := completedAt(tasks[i]), completedAt(tasks[j])
			return a < b || a == b && tasks[i].TaskID < tasks[j].TaskID
		})
		for _, t := range tasks[:n] {
			req.Tasks = append(req.Tasks, TaskRef{FrameworkID: t.FrameworkID, TaskID: t.TaskID})
		}
	}
	if len(req.Tasks) == 0 && len(req.Frameworks) == 0 {
		return nil
	}
	return req
}

// completedAt is when a completed task's last status update was made.
func completedAt(t *Task) float64 {
	switch n := len(t.Statuses); {
	case t.status == noStatus:
		return 0
	case t.status != nil:
		return t.status.Timestamp
	case n > 0:
		return t.Statuses[n-1].timestamp
	}
	return 0
}
