package fsm

import (
	"testing"

	"mesh/mesos"
)

// TestFSM_ObserverSeesCommittedCommands: the observer is told of each
// committed command with its request and the state before and after it;
// a rejected command is not reported.
func TestFSM_ObserverSeesCommittedCommands(t *testing.T) {
	f := seed(t)
	type seen struct {
		t             MessageType
		before, after bool // whether task t1 existed
	}
	var got []seen
	f.SetObserver(&funcObserver{perCommand: true, command: func(typ MessageType, req any, before, after *State) {
		if typ == TaskLaunchRequestType {
			if r, ok := req.(*TaskLaunchRequest); !ok || len(r.Tasks) == 0 {
				t.Errorf("launch reported with request %T %+v", req, req)
			}
		}
		got = append(got, seen{typ, before.Task("c1-0000", "t1") != nil, after.Task("c1-0000", "t1") != nil})
	}})
	launch(t, f, "o1", "t1")
	launch(t, f, "o1", "t2") // rejected: the offer is gone
	apply(t, f, StatusUpdateRequestType, &StatusUpdateRequest{Updates: []StatusUpdate{{FrameworkID: "c1-0000",
		Status: mesos.TaskStatus{TaskID: mesos.TaskID{Value: "t1"}, State: mesos.TaskRunning, UUID: []byte("0123456789abcdef")}}}})
	want := []seen{{TaskLaunchRequestType, false, true}, {StatusUpdateRequestType, true, true}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("observed %+v, want %+v", got, want)
	}
	f.SetObserver(nil)
	launch(t, f, "o2", "t3")
	if len(got) != 2 {
		t.Fatalf("observer still called after removal: %+v", got)
	}
}

// funcObserver is an Observer that wants each command (perCommand) or
// only the end of each batch, and counts the batches.
type funcObserver struct {
	perCommand bool
	command    func(t MessageType, req any, before, after *State)
	begun      int
	ended      []*State
}

func (o *funcObserver) Begin() bool { o.begun++; return o.perCommand }

func (o *funcObserver) Command(t MessageType, req any, before, after *State) {
	if o.command != nil {
		o.command(t, req, before, after)
	}
}

func (o *funcObserver) End(after *State) { o.ended = append(o.ended, after) }
