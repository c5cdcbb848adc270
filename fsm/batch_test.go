package fsm

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/hashicorp/go-memdb"
	"github.com/hashicorp/raft"

	"mesh/mesos"
)

// writeThenRefuseType is a command, known only to these tests, that
// writes a server row and then refuses: what a command that finds its
// error half-way does.
const writeThenRefuseType MessageType = 63

func init() {
	applyTable[writeThenRefuseType] = decodeApply(func(txn *memdb.Txn, req *ServerAnnounceRequest) any {
		s := req.Server
		mustInsert(txn, tableServers, &s)
		return errors.New("refused after writing")
	})
}

// batchEntries is a run of entries as a leader commits them: a launch
// refused for an offer already used, updates, an acknowledgement, and
// a command that writes before it refuses.
func batchEntries(t *testing.T) []*raft.Log {
	t.Helper()
	u1, u2 := mesos.Bytes("0123456789abcdef"), mesos.Bytes("fedcba9876543210")
	task := func(id string) Task {
		return Task{FrameworkID: "c1-0000", TaskID: id, AgentID: "c1-S0", State: mesos.TaskStaging,
			Info: mesos.TaskInfo{Name: id, TaskID: mesos.TaskID{Value: id}, Resources: cpusMem(1, 128).Allocate("*")}}
	}
	update := func(id string, state mesos.TaskState, uuid []byte) *StatusUpdateRequest {
		return &StatusUpdateRequest{Updates: []StatusUpdate{{FrameworkID: "c1-0000", Status: mesos.TaskStatus{
			TaskID: mesos.TaskID{Value: id}, State: state, UUID: uuid, Timestamp: 1.7e9}}}}
	}
	entries := []struct {
		t   MessageType
		req any
	}{
		{ClusterInitRequestType, &ClusterInitRequest{ClusterID: "c1"}},
		{ServerAnnounceRequestType, &ServerAnnounceRequest{Server: Server{ID: "s1", RaftAddr: "127.0.0.1:1", HTTPAddr: "127.0.0.1:2"}}},
		{FrameworkRegisterRequestType, &FrameworkRegisterRequest{Framework: Framework{ID: "c1-0000", Info: mesos.FrameworkInfo{User: "u", Name: "n"}, Connected: true}, New: true}},
		{AgentRegisterRequestType, &AgentRegisterRequest{Agent: Agent{ID: "c1-S0", State: AgentActive, Info: mesos.AgentInfo{Hostname: "h", Resources: cpusMem(4, 4096)}}, New: true}},
		{OffersCreateRequestType, &OffersCreateRequest{Offers: []Offer{
			{ID: "o1", FrameworkID: "c1-0000", AgentID: "c1-S0", Role: "*", Resources: cpusMem(2, 2048).Allocate("*")},
			{ID: "o2", FrameworkID: "c1-0000", AgentID: "c1-S0", Role: "*", Resources: cpusMem(2, 2048).Allocate("*")},
		}}},
		{TaskLaunchRequestType, &TaskLaunchRequest{FrameworkID: "c1-0000", AgentID: "c1-S0", OfferIDs: []string{"o1"}, Tasks: []Task{task("t1")}}},
		{TaskLaunchRequestType, &TaskLaunchRequest{FrameworkID: "c1-0000", AgentID: "c1-S0", OfferIDs: []string{"o1"}, Tasks: []Task{task("t2")}}},
		{StatusUpdateRequestType, update("t1", mesos.TaskRunning, u1)},
		{writeThenRefuseType, &ServerAnnounceRequest{Server: Server{ID: "s-refused", RaftAddr: "127.0.0.1:3", HTTPAddr: "127.0.0.1:4"}}},
		{StatusAckRequestType, &StatusAckRequest{Acks: []StatusAck{{FrameworkID: "c1-0000", TaskID: "t1", UUID: u1}}}},
		{TaskLaunchRequestType, &TaskLaunchRequest{FrameworkID: "c1-0000", AgentID: "c1-S0", OfferIDs: []string{"o2"}, Tasks: []Task{task("t3")}}},
		{writeThenRefuseType, &ServerAnnounceRequest{Server: Server{ID: "s-refused-2", RaftAddr: "127.0.0.1:5", HTTPAddr: "127.0.0.1:6"}}},
		{StatusUpdateRequestType, update("t3", mesos.TaskFinished, u2)},
		{StatusUpdateRequestType, update("t1", mesos.TaskRunning, u1)},
	}
	logs := make([]*raft.Log, 0, len(entries)+1)
	for i, e := range entries {
		buf, err := Encode(e.t, e.req)
		if err != nil {
			t.Fatal(err)
		}
		logs = append(logs, &raft.Log{Index: uint64(i + 1), Type: raft.LogCommand, Data: buf})
		if i == 3 {
			// raft hands configuration changes over in batches too
			logs = append(logs, &raft.Log{Index: uint64(100 + i), Type: raft.LogConfiguration})
		}
	}
	return logs
}

// TestFSM_ApplyBatchEqualsApplyingEachEntry: applied in batches of any
// size, entries leave the state and give the results that applying them
// one by one does; a command refused half-way leaves nothing behind, in
// the middle of a batch as at its end.
func TestFSM_ApplyBatchEqualsApplyingEachEntry(t *testing.T) {
	logs := batchEntries(t)
	one := New(nil)
	var want []any
	for _, l := range logs {
		want = append(want, one.Apply(l))
	}
	refused := 0
	for _, r := range want {
		if _, ok := r.(error); ok {
			refused++
		}
	}
	if refused != 3 {
		t.Fatalf("%d entries refused one by one, want 3 (the second launch and two write-then-refuse): %v", refused, want)
	}
	wantState := persist(t, one)
	if bytes.Contains(wantState, []byte("s-refused")) {
		t.Fatal("a refused command's write is in the state")
	}
	for _, size := range []int{1, 2, 3, 5, 8, len(logs)} {
		t.Run(fmt.Sprintf("batch=%d", size), func(t *testing.T) {
			f := New(nil)
			var got []any
			for i := 0; i < len(logs); i += size {
				got = append(got, f.ApplyBatch(logs[i:min(i+size, len(logs))])...)
			}
			if len(got) != len(want) {
				t.Fatalf("%d results for %d entries", len(got), len(want))
			}
			for i := range want {
				if fmt.Sprint(got[i]) != fmt.Sprint(want[i]) || !reflect.DeepEqual(got[i], want[i]) && !isError(want[i]) {
					t.Errorf("entry %d: batch result %#v, one by one %#v", i, got[i], want[i])
				}
			}
			if s := persist(t, f); !bytes.Equal(s, wantState) {
				t.Errorf("state after batches differs from one by one:\n%s\nwant\n%s", s, wantState)
			}
			if f.LastIndex() != one.LastIndex() && f.LastIndex() != logs[len(logs)-1].Index {
				t.Errorf("last index %d", f.LastIndex())
			}
		})
	}
}

// TestFSM_ApplyBatchTellsTheObserverAsItAsks: an observer that wants each
// command is told of each committed one with its own before and after;
// one that does not is told only of each batch's end, with the state
// after it.
func TestFSM_ApplyBatchTellsTheObserverAsItAsks(t *testing.T) {
	logs := batchEntries(t)
	for _, perCommand := range []bool{true, false} {
		t.Run(fmt.Sprint("perCommand=", perCommand), func(t *testing.T) {
			f := New(nil)
			var types []MessageType
			obs := &funcObserver{perCommand: perCommand, command: func(typ MessageType, req any, before, after *State) {
				types = append(types, typ)
				if typ == TaskLaunchRequestType {
					id := req.(*TaskLaunchRequest).Tasks[0].TaskID
					if before.Task("c1-0000", id) != nil || after.Task("c1-0000", id) == nil {
						t.Errorf("launch of %s: before and after do not frame it", id)
					}
				}
			}}
			f.SetObserver(obs)
			f.ApplyBatch(logs[:6])
			f.ApplyBatch(logs[6:])
			if obs.begun != 2 || len(obs.ended) != 2 {
				t.Fatalf("%d batches begun, %d ended, want 2 and 2", obs.begun, len(obs.ended))
			}
			if obs.ended[1].Task("c1-0000", "t3") == nil {
				t.Error("the state at the end of the batch lacks its launch")
			}
			if perCommand && len(types) != 11 {
				t.Errorf("told of %d commands (%v), want the 11 committed", len(types), types)
			}
			if !perCommand && len(types) != 0 {
				t.Errorf("told of commands %v without asking", types)
			}
		})
	}
}
