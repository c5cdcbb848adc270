package agent

import (
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/google/uuid"

	"mesh/executor"
	"mesh/mesos"
	execapi "mesh/mesos/executor"
)

// Task groups (LAUNCH_GROUP) run in a run of kind kindGroup: one
// container whose first process is mesh's default executor (`mesh
// executor` with executor.EnvDefaultExecutor set). The agent hands it each
// group whole, in one LAUNCH_GROUP event; the executor starts the group's
// tasks together, each in its own sandbox under the executor's
// (executor.TaskSandbox), and kills the rest of a group when one of its
// tasks fails or is killed. A later group for the same executor id joins
// the run while it lives. The run's container is given the executor's
// resources and those of its tasks, raised as groups join it (where the
// containerizer can change a running container's limits).

// launchGroup carries out a LAUNCH of a task group for executor exec.
func (a *Agent) launchGroup(fwInfo mesos.FrameworkInfo, exec mesos.ExecutorInfo, tasks []mesos.TaskInfo) {
	if len(tasks) == 0 {
		a.log.Error("ignoring a task group without tasks")
		return
	}
	for _, t := range tasks {
		if err := safeID(t.TaskID.Value); err != nil {
			a.log.Error("ignoring a task group with an unusable task id", "task_id", t.TaskID.Value, "error", err)
			return
		}
	}
	fid, ok := a.admitLaunch(fwInfo, len(tasks))
	if !ok {
		return
	}
	a.metrics.launches.Add(float64(len(tasks)))
	fail := func(reason, msg string) {
		a.metrics.launchFailures.Add(float64(len(tasks)))
		a.log.Warn("cannot launch task group", "framework_id", fid, "executor_id", exec.ExecutorID.Value, "reason", reason, "message", msg)
		for _, t := range tasks {
			a.agentUpdate(fid, nil, t.TaskID, mesos.TaskFailed, reason, msg)
		}
		a.executorNotStarted(fid, &exec)
	}
	if err := a.checkGroup(fid, exec, tasks); err != nil {
		fail(mesos.ReasonTaskInvalid, err.Error())
		return
	}
	for i := range tasks {
		if err := a.checkGroupTask(exec, &tasks[i]); err != nil {
			fail(mesos.ReasonContainerLaunchFailed, fmt.Sprintf("Task %s: %v", tasks[i].TaskID.Value, err))
			return
		}
	}
	if r, _ := a.lookupRun(fid, exec.ExecutorID.Value); r != nil {
		if r.kind != kindGroup {
			fail(mesos.ReasonTaskInvalid, fmt.Sprintf("Executor %s is running and is not a default executor", r.id))
			return
		}
		if err := r.launchGroup(tasks); err != nil {
			fail(mesos.ReasonExecutorTerminated, err.Error())
		}
		return
	}
	plan, err := a.planContainer(kindGroup, exec, tasks[0], fwInfo.User)
	if err != nil {
		fail(mesos.ReasonContainerLaunchFailed, err.Error())
		return
	}
	a.startGroupRun(fwInfo, plan, tasks)
}

// checkGroup refuses a group the agent cannot take: its executor is not a
// default one, or one of its tasks is already known here.
func (a *Agent) checkGroup(fid string, exec mesos.ExecutorInfo, tasks []mesos.TaskInfo) error {
	if err := safeID(exec.ExecutorID.Value); err != nil {
		return fmt.Errorf("Task group's executor has an invalid id: %w", err)
	}
	if exec.Type != mesos.ExecutorTypeDefault {
		return fmt.Errorf("Task group's executor is of type %q; this agent runs task groups in the DEFAULT executor only", exec.Type)
	}
	seen := map[string]bool{}
	for _, t := range tasks {
		tid := t.TaskID.Value
		if seen[tid] {
			return fmt.Errorf("Task %s appears twice in the task group", tid)
		}
		seen[tid] = true
		for _, r := range a.runsOf(fid, false) {
			if r.hasLiveTask(tid) {
				return fmt.Errorf("Task %s is already running on this agent", tid)
			}
		}
		if st, ok := a.updates.Latest(fid, tid); ok && !st.IsTerminal() {
			return fmt.Errorf("Task %s is already known to this agent (in state %s)", tid, st)
		}
	}
	return nil
}

// checkGroupTask refuses a task of a group the default executor cannot
// run as asked.
func (a *Agent) checkGroupTask(exec mesos.ExecutorInfo, t *mesos.TaskInfo) error {
	if t.Command == nil {
		return fmt.Errorf("a task of a task group needs a command")
	}
	if img := imageOf(t.Container); img != "" {
		return fmt.Errorf("a task of a task group runs in its executor's container and cannot have %s", img)
	}
	if err := resolvableEnv(t.Command); err != nil {
		return err
	}
	_, err := executor.GroupTaskVolumes(exec.Container, t.Container)
	return err
}

// startGroupRun makes the run of a new default executor with its first
// task group, registers it and starts it.
func (a *Agent) startGroupRun(fwInfo mesos.FrameworkInfo, plan containerPlan, tasks []mesos.TaskInfo) {
	fid := fwInfo.ID.Value
	cid := uuid.NewString()
	plan.info.FrameworkID = &mesos.FrameworkID{Value: fid}
	r := a.newRunner(runnerSpec{
		kind:        kindGroup,
		fwID:        fid,
		info:        plan.info,
		containerID: cid,
		directory:   a.sandboxDir(fid, plan.info.ExecutorID.Value, cid),
		user:        plan.user,
		token:       newExecutorToken(),
		state:       runLaunching,
	})
	r.mu.Lock()
	r.deliverGroup(r.addGroup(tasks))
	r.mu.Unlock()
	if !a.registerRun(fwInfo, r) {
		a.log.Warn("ignoring a task group while shutting down", "framework_id", fid, "executor_id", r.id)
		a.executorNotStarted(fid, &plan.info)
		return
	}
	r.launchedAt = time.Now()
	a.goNamed("launch_container", func() { r.start(true, tasks[0]) })
}

// addGroup adds a task group to the run. Caller holds r.mu.
func (r *runner) addGroup(tasks []mesos.TaskInfo) []*taskEntry {
	r.groups++
	out := make([]*taskEntry, len(tasks))
	for i, t := range tasks {
		out[i] = r.addTask(t)
		out[i].group = r.groups
	}
	return out
}

// deliverGroup hands a task group to the default executor now or at its
// next subscription. Caller holds r.mu.
func (r *runner) deliverGroup(tasks []*taskEntry) {
	infos := make([]mesos.TaskInfo, len(tasks))
	for i, t := range tasks {
		infos[i] = t.info
	}
	ev := execapi.Event{Type: execapi.EventLaunchGroup, LaunchGroup: &execapi.LaunchGroup{TaskGroup: mesos.TaskGroupInfo{Tasks: infos}}}
	if r.stream != nil && r.stream.send(ev) {
		for _, t := range tasks {
			t.launched = true
		}
		return
	}
	r.outbox = append(r.outbox, ev)
}

// launchGroup adds a task group to a running default executor: it is
// checkpointed, then handed to the executor.
func (r *runner) launchGroup(tasks []mesos.TaskInfo) error {
	r.mu.Lock()
	if r.state >= runKilling {
		r.mu.Unlock()
		return fmt.Errorf("Executor %s is shutting down", r.id)
	}
	entries := r.addGroup(tasks)
	r.mu.Unlock()
	r.persist()
	r.resize()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.state < runKilling {
		r.deliverGroup(entries)
	}
	return nil
}

// resize gives the run's container the resources of its executor and of
// all its tasks, once a group joined it. A container still being created
// keeps the resources its spec was built with.
func (r *runner) resize() {
	u, ok := r.a.containerizer.(executor.ResourceUpdater)
	if !ok {
		return
	}
	res := r.groupResources()
	if err := u.UpdateResources(r.containerID, res); err != nil && !errors.Is(err, executor.ErrUnknownContainer) {
		r.log.Warn("cannot give the executor's container the resources of its new task group; the group runs within the old limits",
			"resources", res.String(), "error", err)
	}
}

// redeliverGroups hands the executor again every group of which a live
// task was never delivered (after an agent restart, or a relaunch).
// Caller holds r.mu.
func (r *runner) redeliverGroups() {
	byGroup := map[int][]*taskEntry{}
	var order []int
	for _, t := range r.liveTasks() {
		if t.launched {
			continue
		}
		if byGroup[t.group] == nil {
			order = append(order, t.group)
		}
		byGroup[t.group] = append(byGroup[t.group], t)
	}
	for _, g := range order {
		r.deliverGroup(byGroup[g])
	}
}

// killUndelivered kills the group of task, which the executor has not
// received: the group's LAUNCH_GROUP is taken back and its tasks end
// KILLED, as a kill of one task of a group kills the group. Caller holds
// r.mu.
func (r *runner) killUndelivered(task *taskEntry) {
	for i, ev := range r.outbox {
		if ev.LaunchGroup != nil && groupHas(ev.LaunchGroup.TaskGroup, task.info.TaskID.Value) {
			r.outbox = append(r.outbox[:i:i], r.outbox[i+1:]...)
			break
		}
	}
	for _, t := range r.liveTasks() {
		if t.group == task.group && !t.launched {
			r.agentUpdate(t.info.TaskID, mesos.TaskKilled, mesos.ReasonTaskKilledDuringLaunch,
				"Task group killed before it was delivered to its executor")
		}
	}
	if r.awaitingExecutor() && len(r.liveTasks()) == 0 {
		r.log.Info("destroying an executor that has nothing left to run")
		r.destroy(0)
	}
}

func groupHas(g mesos.TaskGroupInfo, tid string) bool {
	for _, t := range g.Tasks {
		if t.TaskID.Value == tid {
			return true
		}
	}
	return false
}

// markDelivered records that the tasks of a LAUNCH or LAUNCH_GROUP event
// reached the executor. Caller holds r.mu.
func (r *runner) markDelivered(ev execapi.Event) {
	var infos []mesos.TaskInfo
	switch {
	case ev.Launch != nil:
		infos = []mesos.TaskInfo{ev.Launch.Task}
	case ev.LaunchGroup != nil:
		infos = ev.LaunchGroup.TaskGroup.Tasks
	}
	for _, ti := range infos {
		if t := r.tasks[ti.TaskID.Value]; t != nil {
			t.launched = true
		}
	}
}

// taskSandbox is where task t's executor records its end: the run's
// sandbox, or for a task of a group its own under it.
func (r *runner) taskSandbox(tid string) string {
	if r.kind == kindGroup {
		return executor.TaskSandbox(r.directory, tid)
	}
	return r.directory
}

// groupResources are the resources of a default executor's container:
// the executor's and those of the tasks it starts with.
func (r *runner) groupResources() mesos.Resources {
	r.mu.Lock()
	defer r.mu.Unlock()
	res := append(mesos.Resources{}, r.info.Resources...)
	for _, id := range r.taskOrder {
		res = append(res, r.tasks[id].info.Resources...)
	}
	return res
}

// groupContainer is the ContainerInfo of a default executor's container.
// Under an isolation that mounts nothing (posix), the executor's volumes
// inside its sandbox are left to the executor, which makes them
// directories of its sandbox shared with every task; the others stay, to
// be refused.
func groupContainer(c *mesos.ContainerInfo, iso string) *mesos.ContainerInfo {
	if c == nil || iso == executor.IsolationLinux {
		return c
	}
	out := *c
	out.Volumes = nil
	for _, v := range c.Volumes {
		if !filepath.IsLocal(v.ContainerPath) {
			out.Volumes = append(out.Volumes, v)
		}
	}
	return &out
}
