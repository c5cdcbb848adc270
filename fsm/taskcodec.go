package fsm

import (
	"encoding/json"
	"reflect"

	msgpack "github.com/hashicorp/go-msgpack/v2/codec"

	"mesh/mesos"
)

// noStatus marks a task that has a history but no latest status, which
// only a task decoded so can be.
var noStatus = &mesos.TaskStatus{}

// Status is the latest status update received (nil before any), a copy
// the caller may change.
func (t *Task) Status() *mesos.TaskStatus {
	switch n := len(t.Statuses); {
	case t.status == noStatus:
		return nil
	case t.status != nil:
		s := *t.status
		return &s
	case n > 0:
		s := t.Statuses[n-1].Status(t.ids())
		return &s
	}
	return nil
}

// SetStatus makes s the task's latest status without adding it to its
// history.
func (t *Task) SetStatus(s *mesos.TaskStatus) {
	n := len(t.Statuses)
	switch {
	case s == nil && n == 0:
		t.status = nil
	case s == nil:
		t.status = noStatus
	case n > 0 && len(s.Data) == 0 && reflect.DeepEqual(*s, t.Statuses[n-1].Status(t.ids())):
		t.status = nil
	default:
		c := *s
		t.status = &c
	}
}

// taskWire is a task as snapshots and log entries carry it: the latest
// status in full beside the history of full statuses.
type taskWire struct {
	FrameworkID string
	TaskID      string
	AgentID     string
	Info        mesos.TaskInfo
	Role        string
	State       mesos.TaskState
	Status      *mesos.TaskStatus
	Statuses    []mesos.TaskStatus
	PendingAck  mesos.Bytes
	Completed   bool
	LaunchedAt  int64
}

func (t *Task) wire() *taskWire {
	return &taskWire{FrameworkID: t.FrameworkID, TaskID: t.TaskID, AgentID: t.AgentID, Info: t.Info, Role: t.Role,
		State: t.State, Status: t.Status(), Statuses: t.History(), PendingAck: t.PendingAck, Completed: t.Completed,
		LaunchedAt: t.LaunchedAt}
}

func (t *Task) fromWire(w *taskWire) {
	*t = Task{FrameworkID: w.FrameworkID, TaskID: w.TaskID, AgentID: w.AgentID, Info: w.Info, Role: w.Role,
		State: w.State, Statuses: entries(w.Statuses, taskIDs{task: w.Info.TaskID.Value, agent: w.AgentID}), PendingAck: w.PendingAck, Completed: w.Completed, LaunchedAt: w.LaunchedAt}
	t.SetStatus(w.Status)
}

// MarshalJSON writes the task as taskWire.
func (t Task) MarshalJSON() ([]byte, error) { return json.Marshal(t.wire()) }

// UnmarshalJSON reads a taskWire.
func (t *Task) UnmarshalJSON(b []byte) error {
	var w taskWire
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	t.fromWire(&w)
	return nil
}

// CodecEncodeSelf writes the task in MessagePack as taskWire.
func (t *Task) CodecEncodeSelf(enc *msgpack.Encoder) { enc.MustEncode(t.wire()) }

// CodecDecodeSelf reads a taskWire in MessagePack.
func (t *Task) CodecDecodeSelf(dec *msgpack.Decoder) {
	var w taskWire
	dec.MustDecode(&w)
	t.fromWire(&w)
}
