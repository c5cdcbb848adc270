package executor

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"mesh/mesos"
	execapi "mesh/mesos/executor"
)

// recordingHandler records what a session hands its executor.
type recordingHandler struct {
	calls []string
	tasks []mesos.TaskInfo
}

func (h *recordingHandler) unackedTasks() []mesos.TaskInfo { return h.tasks }
func (h *recordingHandler) launch(info mesos.TaskInfo) {
	h.calls = append(h.calls, "launch "+info.TaskID.Value)
}
func (h *recordingHandler) launchGroup(tasks []mesos.TaskInfo) {
	h.calls = append(h.calls, fmt.Sprintf("launch_group %d", len(tasks)))
}
func (h *recordingHandler) kill(k *execapi.Kill) { h.calls = append(h.calls, "kill "+k.TaskID.Value) }
func (h *recordingHandler) shutdownTasks()       { h.calls = append(h.calls, "shutdown") }
func (h *recordingHandler) acknowledged(task mesos.TaskID) {
	h.calls = append(h.calls, "acknowledged "+task.Value)
}
func (h *recordingHandler) abandon(err error) { h.calls = append(h.calls, "abandon") }

// newTestSession is a session that is not connected (nothing is posted);
// its timers are stopped when the test ends.
func newTestSession(t *testing.T, cfg CommandExecutorConfig) (*agentSession, *recordingHandler) {
	cfg.FrameworkID, cfg.ExecutorID, cfg.AgentEndpoint = "fw", "ex", "127.0.0.1:1"
	cfg.Logger = hclog.NewNullLogger()
	cfg.setDefaults()
	h := &recordingHandler{}
	s := newAgentSession(cfg, cfg.Logger, h)
	t.Cleanup(s.stop)
	return s, h
}

func wantCalls(t *testing.T, h *recordingHandler, want ...string) {
	t.Helper()
	if fmt.Sprint(h.calls) != fmt.Sprint(want) {
		t.Fatalf("handler calls %q, want %q", h.calls, want)
	}
}

// TestAgentSession_HandsTaskEventsToItsHandler: the events of the current
// subscription reach the handler; those of an older one do not.
func TestAgentSession_HandsTaskEventsToItsHandler(t *testing.T) {
	s, h := newTestSession(t, CommandExecutorConfig{})
	s.gen = 2
	t1 := mesos.TaskInfo{TaskID: mesos.TaskID{Value: "t1"}}
	for _, it := range []streamItem{
		{gen: 2, ev: &execapi.Event{Type: execapi.EventSubscribed, Subscribed: &execapi.Subscribed{
			FrameworkInfo: mesos.FrameworkInfo{Name: "fw"}, ExecutorInfo: mesos.ExecutorInfo{Name: "ex"}}}},
		{gen: 2, ev: &execapi.Event{Type: execapi.EventLaunch, Launch: &execapi.Launch{Task: t1}}},
		{gen: 1, ev: &execapi.Event{Type: execapi.EventKill, Kill: &execapi.Kill{TaskID: t1.TaskID}}},
		{gen: 2, ev: &execapi.Event{Type: execapi.EventLaunchGroup, LaunchGroup: &execapi.LaunchGroup{
			TaskGroup: mesos.TaskGroupInfo{Tasks: []mesos.TaskInfo{t1, t1}}}}},
		{gen: 2, ev: &execapi.Event{Type: execapi.EventHeartbeat}},
		{gen: 2, ev: &execapi.Event{Type: execapi.EventMessage}},
		{gen: 2, ev: &execapi.Event{Type: execapi.EventKill, Kill: &execapi.Kill{TaskID: t1.TaskID}}},
		{gen: 2, ev: &execapi.Event{Type: execapi.EventShutdown}},
	} {
		s.handleItem(it)
	}
	wantCalls(t, h, "launch t1", "launch_group 2", "kill t1", "shutdown")
	if !s.connected || s.frameworkInfo.Name != "fw" || s.executorInfo.Name != "ex" {
		t.Fatalf("after SUBSCRIBED: connected %v, framework %q, executor %q", s.connected, s.frameworkInfo.Name, s.executorInfo.Name)
	}
}

// TestAgentSession_AcknowledgementTakesTheUpdateOff: an acknowledgement
// takes its update off the unacknowledged ones and tells the handler; one
// of an unknown update changes nothing.
func TestAgentSession_AcknowledgementTakesTheUpdateOff(t *testing.T) {
	s, h := newTestSession(t, CommandExecutorConfig{})
	a := s.status(mesos.TaskID{Value: "a"}, mesos.TaskRunning, "", "")
	b := s.status(mesos.TaskID{Value: "b"}, mesos.TaskFinished, "done", "")
	s.send(a)
	s.send(b)
	ack := func(st mesos.TaskStatus, id string) streamItem {
		return streamItem{gen: s.gen, ev: &execapi.Event{Type: execapi.EventAcknowledged,
			Acknowledged: &execapi.Acknowledged{TaskID: mesos.TaskID{Value: id}, UUID: st.UUID}}}
	}
	s.handleItem(ack(b, "a")) // b's uuid, a's task: not an update sent
	s.handleItem(ack(b, "b"))
	wantCalls(t, h, "acknowledged b")
	if len(s.unacked) != 1 || !s.isUnacked(a.UUID) || s.isUnacked(b.UUID) {
		t.Fatalf("unacknowledged %+v, want only a's", s.unacked)
	}
	if b.Source != mesos.SourceExecutor || b.ExecutorID == nil || b.ExecutorID.Value != "ex" || b.Message != "done" {
		t.Fatalf("status %+v", b)
	}
}

// TestAgentSession_GivesUpOnAnAgentAwayTooLong: a lost subscription is
// retried while the agent has been away for less than the recovery
// timeout; past it, or at once when checkpointing is off, the session
// gives up and has the handler kill the tasks.
func TestAgentSession_GivesUpOnAnAgentAwayTooLong(t *testing.T) {
	lost := errors.New("stream ended")

	s, h := newTestSession(t, CommandExecutorConfig{Checkpoint: true, RecoveryTimeout: time.Hour})
	s.everSubbed = true
	s.disconnect(lost)
	if s.abandoned != nil || s.reconnect == nil {
		t.Fatalf("within the recovery timeout: abandoned %v, resubscription armed %v", s.abandoned, s.reconnect != nil)
	}
	s.lostAt = time.Now().Add(-2 * time.Hour)
	s.disconnect(lost)
	if !errors.Is(s.abandoned, lost) {
		t.Fatalf("past the recovery timeout: abandoned %v", s.abandoned)
	}
	wantCalls(t, h, "abandon")

	s, h = newTestSession(t, CommandExecutorConfig{RecoveryTimeout: time.Hour})
	s.everSubbed = true
	s.disconnect(lost)
	if !errors.Is(s.abandoned, lost) {
		t.Fatalf("without checkpointing: abandoned %v", s.abandoned)
	}
	wantCalls(t, h, "abandon")
}
