package server_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"mesh/mesos"
	"mesh/mesos/scheduler"
	"mesh/server/servertest"
)

// executorTask is a task of 0.5 cpus and 128 MB run by executor info,
// on the agent of offers.
func executorTask(offers []mesos.Offer, id string, info *mesos.ExecutorInfo) mesos.TaskInfo {
	return mesos.TaskInfo{Name: id, TaskID: mesos.TaskID{Value: id}, AgentID: offers[0].AgentID,
		Resources: []mesos.Resource{mesos.ScalarResource("cpus", 0.5), mesos.ScalarResource("mem", 128)},
		Executor:  info}
}

// acceptNoFilter accepts the offers held with tasks, returning what is left at
// once (refuse_seconds 0).
func (w *execWatch) acceptNoFilter(offers []mesos.Offer, tasks ...mesos.TaskInfo) {
	f := w.f
	w.held = nil
	f.t.Helper()
	zero := 0.0
	var ids []mesos.OfferID
	for _, o := range offers {
		ids = append(ids, o.ID)
	}
	b, _ := json.Marshal(scheduler.Accept{OfferIDs: ids, Filters: &mesos.Filters{RefuseSeconds: &zero},
		Operations: []mesos.OfferOperation{{Type: mesos.OperationLaunch, Launch: &struct {
			TaskInfos []mesos.TaskInfo `json:"task_infos,omitempty"`
		}{TaskInfos: tasks}}}})
	f.mustCall("ACCEPT", "accept", string(b))
}

// execWatch follows a framework's events: it acknowledges updates,
// notes TASK_ERRORs and holds offers until asked for one.
type execWatch struct {
	f        *framework
	errors   map[string]mesos.TaskStatus
	held     []mesos.Offer
	failures []scheduler.Failure
	messages int
}

func newExecWatch(f *framework) *execWatch {
	return &execWatch{f: f, errors: map[string]mesos.TaskStatus{}}
}

// step handles the next event.
func (w *execWatch) step(timeout time.Duration) {
	w.f.t.Helper()
	ev := w.f.next(timeout)
	if ev == nil {
		w.f.t.Fatal("the framework's stream ended")
	}
	switch ev.Type {
	case scheduler.EventOffers:
		w.held = append(w.held, ev.Offers.Offers...)
	case scheduler.EventRescind:
		for i, o := range w.held {
			if o.ID == ev.Rescind.OfferID {
				w.held = append(w.held[:i], w.held[i+1:]...)
				break
			}
		}
	case scheduler.EventFailure:
		w.failures = append(w.failures, *ev.Failure)
	case scheduler.EventMessage:
		w.messages++
	case scheduler.EventUpdate:
		st := ev.Update.Status
		if len(st.UUID) > 0 {
			w.f.ack(st)
		}
		if st.State == mesos.TaskError {
			w.errors[st.TaskID.Value] = st
		}
	}
}

// offers waits until the framework holds offers of want cpus in all
// (it is the only framework: whatever is free is offered to it), and
// returns them (still held: taken when accepted); it fails the test if more is offered, or want never is.
func (w *execWatch) offers(want float64) []mesos.Offer {
	w.f.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		var got float64
		for _, o := range w.held {
			got += mesos.Resources(o.Resources).Scalar("cpus")
		}
		if got > want {
			w.f.t.Fatalf("offered %v cpus, want %v", got, want)
		}
		if got == want {
			return w.held
		}
		w.step(time.Until(deadline))
	}
	w.f.t.Fatalf("no offers of %v cpus", want)
	return nil
}

// taskError waits for the TASK_ERROR of task id and returns its message.
func (w *execWatch) taskError(id string) string {
	w.f.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if st, ok := w.errors[id]; ok {
			if st.Reason != mesos.ReasonTaskInvalid || st.Source != mesos.SourceMaster {
				w.f.t.Fatalf("task %s: %s %s from %s, want REASON_TASK_INVALID from the master", id, st.State, st.Reason, st.Source)
			}
			return st.Message
		}
		if time.Now().After(deadline) {
			w.f.t.Fatalf("no TASK_ERROR for %s", id)
		}
		w.step(time.Until(deadline))
	}
}

// TestAccept_CustomExecutorResourcesCountedOnce: two tasks launched to
// one ExecutorInfo share one executor, whose resources come out of the
// offer once, stay held while it runs (with or without a task), and are
// offered again when its agent reports that it exited; a task that names the executor with a
// different ExecutorInfo, or an invalid one, gets TASK_ERROR as Mesos
// answers it.
func TestAccept_CustomExecutorResourcesCountedOnce(t *testing.T) {
	srv := servertest.NewServer(t, servertest.Options{})
	agent := servertest.NewSimAgent(srv.HTTPAddr(), mesos.Resources{mesos.ScalarResource("cpus", 2), mesos.ScalarResource("mem", 1024)})
	agent.Start(t)
	f := subscribe(t, srv.HTTPAddr(), subscribeBody("custom-exec", "", ""))
	f.subscribed()
	w := newExecWatch(f)
	exec := &mesos.ExecutorInfo{ExecutorID: mesos.ExecutorID{Value: "e1"}, Command: &mesos.CommandInfo{Value: "./executor --sleep"},
		Resources: []mesos.Resource{mesos.ScalarResource("cpus", 0.5), mesos.ScalarResource("mem", 64)}}

	o := w.offers(2)
	w.acceptNoFilter(o, executorTask(o, "t1", exec), executorTask(o, "t2", exec))
	// 2 - (0.5 + 0.5 for the tasks + 0.5 for their one executor).
	o = w.offers(0.5)
	if ids := o[len(o)-1].ExecutorIDs; len(ids) != 1 || ids[0].Value != "e1" {
		t.Errorf("offer's executor_ids %v, want [e1]", ids)
	}

	other := *exec
	other.Command = &mesos.CommandInfo{Value: "./another-executor"}
	w.acceptNoFilter(o, executorTask(o, "t3", &other))
	if msg := w.taskError("t3"); !strings.Contains(msg, "ExecutorInfo is not compatible") {
		t.Errorf("t3 with another ExecutorInfo for e1: %q", msg)
	}
	bad := []struct {
		id   string
		info mesos.ExecutorInfo
		want string
	}{
		{"t4", mesos.ExecutorInfo{ExecutorID: mesos.ExecutorID{Value: "a/b"}, Command: exec.Command}, "ExecutorID \"a/b\" contains"},
		{"t5", mesos.ExecutorInfo{ExecutorID: mesos.ExecutorID{Value: "e5"}}, "'ExecutorInfo.command' must be set"},
		{"t6", mesos.ExecutorInfo{ExecutorID: mesos.ExecutorID{Value: "e6"}, Command: exec.Command,
			FrameworkID: &mesos.FrameworkID{Value: "someone-else"}}, "invalid FrameworkID"},
		{"t7", mesos.ExecutorInfo{ExecutorID: mesos.ExecutorID{Value: "e7"}, Command: exec.Command,
			Resources: []mesos.Resource{mesos.ScalarResource("cpus", 0.5)}}, "required by task and its executor is more than available"},
	}
	for _, b := range bad {
		o = w.offers(0.5)
		w.acceptNoFilter(o, executorTask(o, b.id, &b.info))
		if msg := w.taskError(b.id); !strings.Contains(msg, b.want) {
			t.Errorf("%s: message %q, want it to say %q", b.id, msg, b.want)
		}
	}

	// The executor's resources stay held after its last task ended, until
	// the agent reports that it exited.
	f.mustCall("KILL", "kill", `{"task_id":{"value":"t1"}}`)
	w.offers(1)
	f.mustCall("KILL", "kill", `{"task_id":{"value":"t2"}}`)
	w.offers(1.5)
	if code, err := agent.ExitExecutor(context.Background(), f.id, "e1", 0); err != nil || code != 200 {
		t.Fatalf("EXECUTOR_EXITED: %d %v", code, err)
	}
	w.offers(2)
}
