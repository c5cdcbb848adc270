package fsm

import (
	"bytes"
	"io"
	"mesh/mesos"
	"testing"
)

// FuzzValidateSnapshot: whatever bytes an operator hands `snapshot
// restore`, decoding them never panics, and a file that validates
// restores into a state every read of which works.
func FuzzValidateSnapshot(f *testing.F) {
	f.Add([]byte(`{"t":"meta","v":{"Key":"meta","Meta":{"ClusterID":"c1","NextFramework":1}}}` + "\n" +
		`{"t":"frameworks","v":{"ID":"c1-0000","Info":{"user":"u","name":"n"}}}` + "\n" +
		`{"t":"agents","v":{"ID":"c1-S0","State":"active"}}` + "\n" +
		`{"t":"offers","v":{"ID":"o1","FrameworkID":"c1-0000","AgentID":"c1-S0"}}` + "\n" +
		`{"t":"tasks","v":{"FrameworkID":"c1-0000","TaskID":"t1","AgentID":"c1-S0","State":"TASK_RUNNING"}}` + "\n" +
		`{"t":"filters","v":{"FrameworkID":"c1-0000","AgentID":"c1-S0","Filters":[{"Role":"*","Until":5}]}}` + "\n"))
	f.Add([]byte(`{"t":"filters","v":{"FrameworkID":"","AgentID":"a"}}`))
	f.Add([]byte(`{"t":"executors","v":{"AgentID":"a","FrameworkID":"f","ExecutorID":"e","Info":{"executor_id":{"value":"e"}}}}`))
	f.Add([]byte(`{"t":"executors","v":{"AgentID":"a","FrameworkID":"f","ExecutorID":""}}`))
	f.Add([]byte(`{"t":"tasks","v":{"FrameworkID":"f","TaskID":"t1","AgentID":"a","State":"TASK_RUNNING","Info":{"executor":{"executor_id":{"value":""}}}}}`))
	f.Add([]byte(`{"t":"tasks","v":{"FrameworkID":"f","TaskID":"t1","AgentID":"a","State":"TASK_RUNNING","Info":{"executor":{"executor_id":{"value":"e"}}}}}`))
	f.Add([]byte(`{"t":"frameworks","v":{"ID":"x"}}`))
	f.Add([]byte(`{"t":"agents","v":{"ID":"a","State":"active","Deactivated":true,"Drain":{"State":"DRAINING","MaxGracePeriod":-1}}}`))
	f.Add([]byte(`{"t":"meta","v":{"Key":"meta","Meta":{"Maintenance":{"Windows":[{"Machines":[{"hostname":"h"}],"Start":1,"Duration":-5}],` +
		`"Down":[{"ip":"x"}],"Answers":{"h|":[{"FrameworkID":"f","Status":"ACCEPT"}]}}}}}` + "\n" +
		`{"t":"agents","v":{"ID":"a","State":"active","Address":"[::1","Info":{"hostname":"H"}}}`))
	f.Add([]byte(`{"t":"agents","v":{"ID":"a","State":"active","Checkpointed":[{"name":"disk","type":"SCALAR","scalar":{"value":5},"reservations":[{"type":"DYNAMIC","role":"db"}],"disk":{"persistence":{"id":"v"}}}]}}` + "\n" +
		`{"t":"operations","v":{"FrameworkID":"f","OperationID":"o","AgentID":"a","State":"OPERATION_FINISHED"}}`))
	f.Add([]byte(`{"t":"nonsense","v":{}}`))
	f.Add([]byte(`{"t":"tasks","v":[]}`))
	f.Add([]byte(`{"t":"offers","v":{}}`))
	f.Add([]byte("not json"))
	f.Add([]byte(oldTaskLine))
	f.Add([]byte(`{"t":"tasks","v":{"FrameworkID":"f","TaskID":"t","Statuses":[{"state":"TASK_X","source":"S"},{"task_id":{"value":"u"}}]}}`))
	f.Add([]byte(`{"t":"tasks","v":{"FrameworkID":"f","TaskID":"t","Statuses":[{"state":"TASK_RUNNING"}],"Status":{"state":"TASK_RUNNING","data":"eA=="}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if ValidateSnapshot(bytes.NewReader(data)) != nil {
			return
		}
		g := New(nil)
		if err := g.Restore(io.NopCloser(bytes.NewReader(data))); err != nil {
			t.Fatalf("validated snapshot does not restore: %v", err)
		}
		st := g.State()
		st.Meta()
		for _, fw := range st.Frameworks() {
			st.TasksByFramework(fw.ID)
			st.ExecutorsByFramework(fw.ID)
			st.OffersByFramework(fw.ID)
			st.Filters(fw.ID)
			st.OperationsByFramework(fw.ID)
		}
		st.FiltersExpired(0)
		for _, a := range st.Agents() {
			st.TasksByAgent(a.ID)
			st.ExecutorsByAgent(a.ID)
			st.Drained(a.ID)
			st.AgentMode(a)
			a.AgentTotal()
			st.VolumesInUse(a.ID)
		}
		m := st.Maintenance()
		for _, id := range m.Machines() {
			m.Mode(id)
			m.Answer(id, "f")
		}
		m.Copy()
		for _, tk := range st.Tasks() {
			tk.Status()
			tk.History()
		}
		st.Executors()
		st.Servers()
	})
}

// FuzzDecodeLaunchEntry: a launch entry's body, in either encoding,
// decodes or is refused; once decoded, its tasks (their latest status
// and history kept compactly) encode the same way every time.
func FuzzDecodeLaunchEntry(f *testing.F) {
	for _, enc := range encodings {
		for _, tk := range []oldTask{
			{FrameworkID: "f", TaskID: "t", State: mesos.TaskStaging},
			{FrameworkID: "f", TaskID: "t", Status: &mesos.TaskStatus{State: "TASK_X", Data: mesos.Bytes("d")},
				Statuses: []mesos.TaskStatus{{State: mesos.TaskRunning, Source: "S", UUID: mesos.Bytes("u")}}},
		} {
			buf, err := enc.enc(TaskLaunchRequestType, &oldLaunch{FrameworkID: "f", Tasks: []oldTask{tk}})
			if err != nil {
				f.Fatal(err)
			}
			f.Add(buf)
		}
	}
	f.Add([]byte{byte(TaskLaunchRequestType | MsgpackFlag), 0x81, 0xa5, 'T', 'a', 's', 'k', 's', 0x91, 0x01})
	f.Fuzz(func(t *testing.T, data []byte) {
		var req TaskLaunchRequest
		if DecodeEntry(data, &req) != nil {
			return
		}
		for _, tk := range req.Tasks {
			tk.Status()
			tk.History()
		}
		// JSON writes strings that are not UTF-8 anew once: compare the
		// second encoding with the third.
		for _, enc := range encodings {
			var encoded []string
			cur := req
			for range 3 {
				buf, err := enc.enc(TaskLaunchRequestType, &cur)
				if err != nil {
					break
				}
				encoded = append(encoded, string(buf))
				cur = TaskLaunchRequest{}
				if err := DecodeEntry(buf, &cur); err != nil {
					t.Fatalf("%s: an entry encoded from a decoded one does not decode: %v", enc.name, err)
				}
			}
			if len(encoded) == 3 && encoded[2] != encoded[1] {
				t.Fatalf("%s: decoded and encoded again:\n got %q\nwant %q", enc.name, encoded[2], encoded[1])
			}
		}
	})
}
