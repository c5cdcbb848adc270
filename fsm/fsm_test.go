package fsm

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"testing"

	"github.com/hashicorp/raft"

	"mesh/mesos"
)

var logIndex uint64

func apply(t testing.TB, f *FSM, typ MessageType, req any) any {
	t.Helper()
	buf, err := Encode(typ, req)
	if err != nil {
		t.Fatal(err)
	}
	logIndex++
	return f.Apply(&raft.Log{Index: logIndex, Type: raft.LogCommand, Data: buf})
}

func cpusMem(c, m float64) mesos.Resources {
	return mesos.Resources{mesos.ScalarResource("cpus", c), mesos.ScalarResource("mem", m)}
}

// seed builds a state with one of every record type.
func seed(t *testing.T) *FSM {
	f := New(nil)
	apply(t, f, ClusterInitRequestType, &ClusterInitRequest{ClusterID: "c1"})
	apply(t, f, ServerAnnounceRequestType, &ServerAnnounceRequest{Server: Server{ID: "s1", RaftAddr: "127.0.0.1:1", HTTPAddr: "127.0.0.1:2"}})
	apply(t, f, FrameworkRegisterRequestType, &FrameworkRegisterRequest{Framework: Framework{ID: "c1-0000", Info: mesos.FrameworkInfo{User: "u", Name: "n"}, Connected: true}, New: true, Seq: 0})
	apply(t, f, AgentRegisterRequestType, &AgentRegisterRequest{Agent: Agent{ID: "c1-S0", State: AgentActive, Info: mesos.AgentInfo{Hostname: "h", Resources: cpusMem(4, 4096)}}, New: true, Seq: 0})
	apply(t, f, OffersCreateRequestType, &OffersCreateRequest{Offers: []Offer{
		{ID: "o1", FrameworkID: "c1-0000", AgentID: "c1-S0", Role: "*", Resources: cpusMem(4, 4096).Allocate("*")},
		{ID: "o2", FrameworkID: "c1-0000", AgentID: "c1-S0", Role: "*", Resources: cpusMem(1, 1).Allocate("*")},
	}})
	return f
}

func launch(t *testing.T, f *FSM, offer string, taskIDs ...string) any {
	var tasks []Task
	for _, id := range taskIDs {
		tasks = append(tasks, Task{FrameworkID: "c1-0000", TaskID: id, AgentID: "c1-S0", State: mesos.TaskStaging,
			Info: mesos.TaskInfo{Name: id, TaskID: mesos.TaskID{Value: id}, Resources: cpusMem(1, 128).Allocate("*")}})
	}
	return apply(t, f, TaskLaunchRequestType, &TaskLaunchRequest{FrameworkID: "c1-0000", AgentID: "c1-S0", OfferIDs: []string{offer}, Tasks: tasks})
}

func TestFSM_SnapshotRoundTripEveryRecordType(t *testing.T) {
	f := seed(t)
	launch(t, f, "o1", "t1")
	apply(t, f, OffersCreateRequestType, &OffersCreateRequest{Offers: []Offer{
		{ID: "o5", FrameworkID: "c1-0000", AgentID: "c1-S0", Role: "*", Resources: cpusMem(1, 1).Allocate("*")}}})
	launchExec(t, f, "o5", Task{FrameworkID: "c1-0000", TaskID: "t2", AgentID: "c1-S0", Role: "*",
		Info: mesos.TaskInfo{TaskID: mesos.TaskID{Value: "t2"}, Executor: execTask("t2", "e1").Info.Executor}})
	apply(t, f, OffersCreateRequestType, &OffersCreateRequest{Offers: []Offer{
		{ID: "o3", FrameworkID: "c1-0000", AgentID: "c1-S0", Role: "*", Resources: cpusMem(1, 1).Allocate("*")}}})
	apply(t, f, OffersRemoveRequestType, &OffersRemoveRequest{OfferIDs: []string{"o3"}, Filter: &DeclineFilter{Now: 1, Until: 100}})
	if err, _ := reserveInOffer(t, f, "o2", "op1").(error); err != nil {
		t.Fatal(err)
	}
	apply(t, f, OffersCreateRequestType, &OffersCreateRequest{Offers: []Offer{
		{ID: "o4", FrameworkID: "c1-0000", AgentID: "c1-S0", Role: "*", Resources: cpusMem(1, 1).Allocate("*")}}})
	snap, err := f.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	sink := &memSink{}
	if err := snap.Persist(sink); err != nil {
		t.Fatal(err)
	}
	g := New(nil)
	if err := g.Restore(io.NopCloser(bytes.NewReader(sink.Bytes()))); err != nil {
		t.Fatal(err)
	}
	a, b := f.State(), g.State()
	checks := map[string][2]any{
		"meta":                   {a.Meta(), b.Meta()},
		"servers":                {a.Servers(), b.Servers()},
		"frameworks":             {a.Frameworks(), b.Frameworks()},
		"agents":                 {a.Agents(), b.Agents()},
		"offers":                 {a.Offers(), b.Offers()},
		"tasks":                  {a.Tasks(), b.Tasks()},
		"filters":                {a.AllFilters(), b.AllFilters()},
		"executors":              {a.Executors(), b.Executors()},
		"operations":             {a.OperationsByFramework("c1-0000"), b.OperationsByFramework("c1-0000")},
		"checkpointed resources": {a.Agent("c1-S0").Checkpointed, b.Agent("c1-S0").Checkpointed},
	}
	for name, pair := range checks {
		// Compared as JSON, the snapshot's own encoding, in which an empty
		// bytes field and an absent one read the same.
		ja, _ := json.Marshal(pair[0])
		jb, _ := json.Marshal(pair[1])
		if !bytes.Equal(ja, jb) {
			t.Errorf("%s differ after restore:\n%#v\n%#v", name, pair[0], pair[1])

		}
		if reflect.ValueOf(pair[0]).Kind() == reflect.Slice && reflect.ValueOf(pair[0]).Len() == 0 {
			t.Errorf("%s: seed state has none, the round trip proves nothing", name)
		}
	}
}

func TestFSM_FirstIDsAdvanceTheSequences(t *testing.T) {
	f := seed(t)
	if m := f.State().Meta(); m.NextFramework != 1 || m.NextAgent != 1 {
		t.Fatalf("after registering framework 0 and agent 0: next framework %d, next agent %d; want 1 and 1", m.NextFramework, m.NextAgent)
	}
}

func TestFSM_AgentRegisterBatchRegistersEachInOrder(t *testing.T) {
	f := seed(t)
	old := *f.State().Agent("c1-S0")
	old.Info.Hostname = "h2"
	apply(t, f, AgentRegisterBatchRequestType, &AgentRegisterBatchRequest{Agents: []AgentRegisterRequest{
		{Agent: Agent{ID: "c1-S2", State: AgentActive, Info: mesos.AgentInfo{Hostname: "x"}}, New: true, Seq: 2},
		{Agent: old},
		{Agent: Agent{ID: "c1-S1", State: AgentActive, Info: mesos.AgentInfo{Hostname: "y"}}, New: true, Seq: 1},
	}})
	st := f.State()
	if len(st.Agents()) != 3 || st.Agent("c1-S0").Info.Hostname != "h2" || st.Agent("c1-S1") == nil || st.Agent("c1-S2") == nil {
		t.Fatalf("agents after the batch: %+v", st.Agents())
	}
	if m := st.Meta(); m.NextAgent != 3 {
		t.Fatalf("next agent %d after new agents 2 and 1, want 3", m.NextAgent)
	}
}

func TestFSM_LaunchConsumesOfferOnce(t *testing.T) {
	f := seed(t)
	if res := launch(t, f, "o1", "t1", "t2"); res.(*LaunchResult) == nil {
		t.Fatalf("launch: %v", res)
	}
	if f.State().Offer("o1") != nil {
		t.Fatal("offer o1 still outstanding after launch")
	}
	res := launch(t, f, "o1", "t3")
	if err, ok := res.(error); !ok || !errors.Is(err, ErrUnknownOffer) {
		t.Fatalf("reusing an offer: got %v, want ErrUnknownOffer", res)
	}
	if f.State().Task("c1-0000", "t3") != nil {
		t.Fatal("rejected launch created a task")
	}
}

func TestFSM_LaunchRejectsMoreThanOffered(t *testing.T) {
	f := seed(t)
	res := launch(t, f, "o2", "big") // o2 holds 1 cpu, 1 MB
	if err, ok := res.(error); !ok || !errors.Is(err, ErrInsufficient) {
		t.Fatalf("got %v, want ErrInsufficient", res)
	}
	if f.State().Offer("o2") == nil {
		t.Fatal("a rejected launch consumed its offer")
	}
}

func TestFSM_StatusUpdatesAndAcks(t *testing.T) {
	f := seed(t)
	launch(t, f, "o1", "t1")
	u1 := mesos.Bytes(bytes.Repeat([]byte{1}, 16))
	u2 := mesos.Bytes(bytes.Repeat([]byte{2}, 16))
	upd := func(state mesos.TaskState, uuid mesos.Bytes) StatusUpdateResult {
		res := apply(t, f, StatusUpdateRequestType, &StatusUpdateRequest{Updates: []StatusUpdate{{
			FrameworkID: "c1-0000", Status: mesos.TaskStatus{TaskID: mesos.TaskID{Value: "t1"}, State: state, UUID: uuid},
		}}})
		return res.([]StatusUpdateResult)[0]
	}
	if r := upd(mesos.TaskRunning, u1); !r.Known || r.Duplicate || r.BecameTerminal {
		t.Fatalf("running: %+v", r)
	}
	if r := upd(mesos.TaskRunning, u1); !r.Duplicate {
		t.Fatalf("resent update not seen as duplicate: %+v", r)
	}
	if r := upd(mesos.TaskFinished, u2); !r.BecameTerminal || r.Resources.Scalar("cpus") != 1 {
		t.Fatalf("finished: %+v", r)
	}
	task := f.State().Task("c1-0000", "t1")
	if task.State != mesos.TaskFinished || task.Completed || !bytes.Equal(task.PendingAck, u2) {
		t.Fatalf("task after terminal update: %+v", task)
	}
	ack := apply(t, f, StatusAckRequestType, &StatusAckRequest{Acks: []StatusAck{{FrameworkID: "c1-0000", TaskID: "t1", UUID: u2}}})
	if !ack.([]AckResult)[0].Matched {
		t.Fatal("ack did not match the pending uuid")
	}
	if task := f.State().Task("c1-0000", "t1"); !task.Completed {
		t.Fatal("acknowledged terminal task not completed")
	}
}

func TestFSM_FrameworkRemoveKillsTasksAndDropsOffers(t *testing.T) {
	f := seed(t)
	launch(t, f, "o1", "t1")
	res := apply(t, f, FrameworkRemoveRequestType, &FrameworkRemoveRequest{FrameworkID: "c1-0000", At: 5})
	r := res.(*FrameworkRemoveResult)
	if len(r.Tasks) != 1 || len(r.Offers) != 1 {
		t.Fatalf("removal freed %d tasks and %d offers, want 1 and 1", len(r.Tasks), len(r.Offers))
	}
	st := f.State()
	if tk := st.Task("c1-0000", "t1"); tk.State != mesos.TaskKilled || !tk.Completed {
		t.Fatalf("task after removal: %+v", tk)
	}
	if !st.Framework("c1-0000").Removed || len(st.Offers()) != 0 {
		t.Fatal("framework not removed or offers left")
	}
	again := apply(t, f, FrameworkRegisterRequestType, &FrameworkRegisterRequest{Framework: Framework{ID: "c1-0000"}})
	if !errors.Is(again.(error), ErrFrameworkRemoved) {
		t.Fatalf("re-registering a removed framework: %v", again)
	}
}

func TestFSM_AgentUnreachableLosesTasks(t *testing.T) {
	f := seed(t)
	launch(t, f, "o1", "t1")
	res := apply(t, f, AgentStateRequestType, &AgentStateRequest{AgentID: "c1-S0", State: AgentUnreachable, At: 9,
		TaskState: mesos.TaskLost, Reason: mesos.ReasonAgentRemoved})
	if n := len(res.(*AgentStateResult).Tasks); n != 1 {
		t.Fatalf("%d tasks changed, want 1", n)
	}
	tk := f.State().Task("c1-0000", "t1")
	if tk.State != mesos.TaskLost || !tk.Completed {
		t.Fatalf("task: %+v", tk)
	}
}

func TestFSM_UnknownTypePanicsUnlessIgnorable(t *testing.T) {
	f := New(nil)
	if res := f.Apply(&raft.Log{Type: raft.LogCommand, Data: []byte{byte(IgnoreUnknownTypeFlag | 99), '{', '}'}}); res != nil {
		t.Fatalf("ignorable unknown entry: %v", res)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("unknown entry type did not panic")
		}
	}()
	f.Apply(&raft.Log{Type: raft.LogCommand, Data: []byte{99, '{', '}'}})
}

type memSink struct{ bytes.Buffer }

func (m *memSink) ID() string    { return "mem" }
func (m *memSink) Cancel() error { return nil }
func (m *memSink) Close() error  { return nil }

// TestState_TasksByFrameworkWhenOneIDPrefixesAnother checks that a
// framework's tasks, found by the prefix of the task key, never include
// those of a framework whose id starts with the same characters.
func TestState_TasksByFrameworkWhenOneIDPrefixesAnother(t *testing.T) {
	f := seed(t)
	for i, fid := range []string{"f1", "f10"} {
		apply(t, f, FrameworkRegisterRequestType, &FrameworkRegisterRequest{Framework: Framework{ID: fid, Connected: true}, New: true, Seq: uint64(i + 1)})
		apply(t, f, OffersCreateRequestType, &OffersCreateRequest{Offers: []Offer{
			{ID: "o-" + fid, FrameworkID: fid, AgentID: "c1-S0", Role: "*", Resources: cpusMem(1, 128).Allocate("*")}}})
		res := apply(t, f, TaskLaunchRequestType, &TaskLaunchRequest{FrameworkID: fid, AgentID: "c1-S0", OfferIDs: []string{"o-" + fid},
			Tasks: []Task{{FrameworkID: fid, TaskID: "t-" + fid, AgentID: "c1-S0", State: mesos.TaskStaging,
				Info: mesos.TaskInfo{Name: "t", TaskID: mesos.TaskID{Value: "t-" + fid}, Resources: cpusMem(1, 128).Allocate("*")}}}})
		if err, ok := res.(error); ok {
			t.Fatal(err)
		}
	}
	for _, fid := range []string{"f1", "f10"} {
		tasks := f.State().TasksByFramework(fid)
		if len(tasks) != 1 || tasks[0].TaskID != "t-"+fid {
			t.Fatalf("tasks of %s: %+v", fid, tasks)
		}
	}
}
