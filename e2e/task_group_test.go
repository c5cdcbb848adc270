package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mesh/executor"
	"mesh/mesos"
	"mesh/mesos/scheduler"
	"mesh/mesos/scheduler/client"
)

// TestTaskGroup_SharedVolumeKillAndSandboxes is the acceptance test of
// task groups, against a real server and agent (processes of the built
// binary), under the posix containerizer and, where it runs (root,
// cgroups), the linux one: a group of three tasks shares its executor's
// volume (one writes a file into it, another reads it and prints it);
// the group keeps running across a kill -9 of the agent; each task's
// stdout is in its own sandbox under the executor's; killing one task
// kills the group. Bad groups (a duplicate task id, tasks on
// mixed agents, an executor not of type DEFAULT, a task with its own
// executor) get TASK_ERROR with Mesos' reason and message; the agent
// keeps serving, and the state keeps every committed task.
func TestTaskGroup_SharedVolumeKillAndSandboxes(t *testing.T) {
	isolations := []string{executor.IsolationPosix}
	if iso, why := executor.DefaultIsolation(); iso == executor.IsolationLinux {
		isolations = append(isolations, executor.IsolationLinux)
	} else {
		t.Logf("linux isolation not run: %s", why)
	}
	for _, iso := range isolations {
		t.Run(iso, func(t *testing.T) { taskGroupAcceptance(t, iso) })
	}
}

// groupScheduler is a framework for the task group test: its events,
// each update acknowledged.
type groupScheduler struct {
	t      *testing.T
	cl     *client.Client
	ctx    context.Context
	events chan *scheduler.Event
}

func (s *groupScheduler) next(typ string) *scheduler.Event {
	s.t.Helper()
	for {
		select {
		case ev, ok := <-s.events:
			if !ok {
				s.t.Fatalf("stream ended while waiting for %s", typ)
			}
			if ev.Type == scheduler.EventUpdate {
				st := ev.Update.Status
				if len(st.UUID) > 0 {
					if err := s.cl.Call(s.ctx, client.AcknowledgeCall(&st)); err != nil {
						s.t.Fatal(err)
					}
				}
			}
			if ev.Type == typ {
				return ev
			}
		case <-s.ctx.Done():
			s.t.Fatalf("no %s before the deadline", typ)
		}
	}
}

// updates waits for one update of each task in want, in that state,
// and returns them; an update of one of them in another terminal state
// fails the test.
func (s *groupScheduler) updates(want map[string]mesos.TaskState) map[string]mesos.TaskStatus {
	s.t.Helper()
	got := map[string]mesos.TaskStatus{}
	for len(got) < len(want) {
		st := s.next(scheduler.EventUpdate).Update.Status
		w, ok := want[st.TaskID.Value]
		switch {
		case !ok:
		case st.State == w:
			got[st.TaskID.Value] = st
		case st.State.IsTerminal():
			s.t.Fatalf("task %s ended %s (%s): %q, want %s", st.TaskID.Value, st.State, st.Reason, st.Message, w)
		}
	}
	return got
}

func groupOp(exec mesos.ExecutorInfo, tasks ...mesos.TaskInfo) mesos.OfferOperation {
	op := mesos.OfferOperation{Type: mesos.OperationLaunchGroup}
	op.LaunchGroup = &struct {
		Executor  mesos.ExecutorInfo  `json:"executor"`
		TaskGroup mesos.TaskGroupInfo `json:"task_group"`
	}{Executor: exec, TaskGroup: mesos.TaskGroupInfo{Tasks: tasks}}
	return op
}

func taskGroupAcceptance(t *testing.T, iso string) {
	c := newCluster(t, 1)
	c.startAll()
	work, agentAddr := t.TempDir(), freePort(t)
	agentArgs := []string{"agent", "-allow-root-tasks", "-isolation", iso, "-join", c.addrs(), "-http-addr", agentAddr,
		"-work-dir", work, "-resources", "cpus:4;mem:2048;disk:1000;ports:[31000-31100]", "-kill-tasks-on-shutdown"}
	agent := start(t, agentArgs...)
	waitAgents(t, c.waitStable(30*time.Second).httpAddr, 1)

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cl := client.New(client.Config{Masters: strings.Split(c.addrs(), ",")})
	sub, err := cl.Subscribe(ctx, client.SubscribeCall(&mesos.FrameworkInfo{User: "root", Name: "groups"}))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	s := &groupScheduler{t: t, cl: cl, ctx: ctx, events: make(chan *scheduler.Event, 256)}
	go func() {
		defer close(s.events)
		for {
			ev, err := sub.Next()
			if err != nil {
				return
			}
			s.events <- ev
		}
	}()
	s.next(scheduler.EventSubscribed)
	fid := cl.FrameworkID()
	accept := func(ops ...mesos.OfferOperation) {
		t.Helper()
		o := s.next(scheduler.EventOffers).Offers.Offers[0]
		for i := range ops {
			var tasks []mesos.TaskInfo
			switch {
			case ops[i].LaunchGroup != nil:
				tasks = ops[i].LaunchGroup.TaskGroup.Tasks
			case ops[i].Launch != nil:
				tasks = ops[i].Launch.TaskInfos
			}
			for j := range tasks {
				if tasks[j].AgentID.Value == "" {
					tasks[j].AgentID = o.AgentID
				}
			}
		}
		refuse := 0.0
		if err := cl.Call(ctx, client.AcceptCall([]mesos.OfferID{o.ID}, ops, &mesos.Filters{RefuseSeconds: &refuse})); err != nil {
			t.Fatal(err)
		}
	}
	task := func(id, cmd string) mesos.TaskInfo {
		return mesos.TaskInfo{Name: id, TaskID: mesos.TaskID{Value: id},
			Resources: []mesos.Resource{mesos.ScalarResource("cpus", 0.2), mesos.ScalarResource("mem", 32)},
			Command:   &mesos.CommandInfo{Value: cmd}}
	}
	src, _ := json.Marshal(map[string]any{"type": "SANDBOX_PATH", "sandbox_path": map[string]string{"type": "SELF", "path": "shared"}})
	exec := mesos.ExecutorInfo{Type: mesos.ExecutorTypeDefault, ExecutorID: mesos.ExecutorID{Value: "pod"},
		Resources: []mesos.Resource{mesos.ScalarResource("cpus", 0.1), mesos.ScalarResource("mem", 32), mesos.ScalarResource("disk", 10)},
		Container: &mesos.ContainerInfo{Type: mesos.ContainerTypeMesos, Volumes: []mesos.Volume{{Mode: "RW", ContainerPath: "shared", Source: src}}}}

	// Bad groups first: each fails whole with Mesos' answer.
	custom := exec
	custom.Type = mesos.ExecutorTypeCustom
	custom.Command = &mesos.CommandInfo{Value: "/bin/true"}
	own := task("own-2", "true")
	other := exec
	other.ExecutorID = mesos.ExecutorID{Value: "other"}
	own.Executor = &other
	mixed := task("mixed-2", "true")
	mixed.AgentID = mesos.AgentID{Value: "another-agent"}
	accept(groupOp(exec, task("dup", "true"), task("dup", "true")),
		groupOp(exec, task("mixed-1", "true"), mixed),
		groupOp(custom, task("custom-1", "true")),
		groupOp(exec, task("own-1", "true"), own))
	wantErr := map[string]string{
		"dup":      "Task 'dup' is invalid: Task has duplicate ID: dup",
		"mixed-1":  "Task 'mixed-2' is invalid: Task uses invalid agent another-agent while agent",
		"mixed-2":  "Task 'mixed-2' is invalid: Task uses invalid agent another-agent while agent",
		"custom-1": "'ExecutorInfo.type' must be 'DEFAULT'",
		"own-1":    "The `ExecutorInfo` of task 'own-2' is different from executor 'pod'",
		"own-2":    "The `ExecutorInfo` of task 'own-2' is different from executor 'pod'",
	}
	seen := 0
	for seen < len(wantErr)+1 { // "dup" is answered twice, once per task
		st := s.next(scheduler.EventUpdate).Update.Status
		want, ok := wantErr[st.TaskID.Value]
		if !ok {
			continue
		}
		if st.State != mesos.TaskError || st.Reason != mesos.ReasonTaskGroupInvalid || !strings.Contains(st.Message, want) {
			t.Fatalf("task %s: %s %s %q, want TASK_ERROR REASON_TASK_GROUP_INVALID %q", st.TaskID.Value, st.State, st.Reason, st.Message, want)
		}
		seen++
	}

	// The group: the writer's file in the executor's volume is the
	// reader's output.
	accept(groupOp(exec,
		task("writer", "echo written-by-writer > shared/msg; echo writer-out"),
		task("reader", "for i in $(seq 600); do [ -s shared/msg ] && break; sleep 0.05; done; cat shared/msg; exec sleep 1000"),
		task("sleeper", "echo sleeper-out; exec sleep 1000")))
	s.updates(map[string]mesos.TaskState{"writer": mesos.TaskFinished, "reader": mesos.TaskRunning, "sleeper": mesos.TaskRunning})
	runs := filepath.Join(work, "frameworks", fid, "executors", "pod", "runs", "latest")
	stdout := func(tid string) string {
		b, _ := os.ReadFile(filepath.Join(executor.TaskSandbox(runs, tid), "stdout"))
		return string(b)
	}
	waitFor(t, 30*time.Second, "the reader to print the writer's file", func() bool {
		return strings.Contains(stdout("reader"), "written-by-writer")
	})
	// kill -9 of the agent: the group's tasks keep running, and the
	// default executor resubscribes to the next agent.
	agent.kill(t)
	start(t, agentArgs...)
	waitFor(t, 30*time.Second, "the default executor to resubscribe to the restarted agent", func() bool {
		var st struct {
			Frameworks []struct {
				Executors []struct {
					ID, State string
					Tasks     []struct{ ID, State string }
				}
			}
		}
		if getJSON(agentAddr, "/state", &st) != nil || len(st.Frameworks) != 1 {
			return false
		}
		for _, e := range st.Frameworks[0].Executors {
			if e.ID == "pod" && e.State == "RUNNING" {
				return true
			}
		}
		return false
	})
	if err := cl.Call(ctx, client.KillCall("sleeper", "")); err != nil {
		t.Fatal(err)
	}
	ended := s.updates(map[string]mesos.TaskState{"sleeper": mesos.TaskKilled, "reader": mesos.TaskKilled})
	if st := ended["reader"]; st.Source != mesos.SourceExecutor {
		t.Errorf("reader ended by %s, want its executor killing the group", st.Source)
	}
	for id, want := range map[string]string{"writer": "writer-out", "reader": "written-by-writer", "sleeper": "sleeper-out"} {
		out := stdout(id)
		if !strings.Contains(out, want) {
			t.Errorf("%s's stdout %q, want %q", id, out, want)
		}
		for other, theirs := range map[string]string{"writer": "writer-out", "sleeper": "sleeper-out"} {
			if other != id && strings.Contains(out, theirs) {
				t.Errorf("%s's stdout holds %s's output: %q", id, other, out)
			}
		}
	}

	// The agent keeps serving, and the state holds every committed task.
	accept(client.LaunchOp(mesos.TaskInfo{Name: "after", TaskID: mesos.TaskID{Value: "after"},
		Resources: []mesos.Resource{mesos.ScalarResource("cpus", 0.1), mesos.ScalarResource("mem", 32)},
		Command:   &mesos.CommandInfo{Value: "true"}}))
	s.updates(map[string]mesos.TaskState{"after": mesos.TaskFinished})
	st := c.waitOneHistory(30 * time.Second)
	fws := st.frameworks("groups")
	if len(fws) != 1 {
		t.Fatalf("frameworks named groups: %d", len(fws))
	}
	states := map[string]string{}
	for _, tk := range fws[0].allTasks() {
		states[tk.ID] = tk.State
	}
	for id, want := range map[string]string{"writer": "TASK_FINISHED", "reader": "TASK_KILLED", "sleeper": "TASK_KILLED", "after": "TASK_FINISHED"} {
		if states[id] != want {
			t.Errorf("state has task %s %q, want %s (tasks %v)", id, states[id], want, states)
		}
	}
	for id := range wantErr {
		if _, ok := states[id]; ok {
			t.Errorf("state has task %s of a refused group", id)
		}
	}
}
