package server_test

import (
	"bytes"
	"net/http"
	"reflect"
	"testing"
	"time"

	"mesh/mesos"
	"mesh/mesos/codec"
	mapi "mesh/mesos/master"
	"mesh/mesos/recordio"
	"mesh/mesos/v1pb/masterpb"
	"mesh/server"
	"mesh/server/servertest"
)

// opStream is an operator SUBSCRIBE stream.
type opStream struct {
	t      *testing.T
	events chan *mapi.Event
}

func subscribeOperator(t *testing.T, addr string) *opStream {
	t.Helper()
	return subscribeOperatorAs(t, addr, codec.JSON)
}

// subscribeOperatorAs subscribes in encoding mt: the call and the
// stream's records.
func subscribeOperatorAs(t *testing.T, addr, mt string) *opStream {
	t.Helper()
	body, err := codec.MarshalAs(mt, &masterpb.Call{}, &mapi.Call{Type: mapi.CallSubscribe})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/api/v1", bytes.NewReader(body))
	req.Header.Set("Content-Type", mt)
	req.Header.Set("Accept", mt)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != mt {
		resp.Body.Close()
		t.Fatalf("SUBSCRIBE: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	t.Cleanup(func() { resp.Body.Close() })
	s := &opStream{t: t, events: make(chan *mapi.Event, 4096)}
	go func() {
		defer close(s.events)
		rd := recordio.NewReader(resp.Body)
		for {
			rec, err := rd.ReadRecord()
			if err != nil {
				return
			}
			var ev mapi.Event
			if codec.Unmarshal(mt, rec, &ev) != nil {
				return
			}
			s.events <- &ev
		}
	}()
	return s
}

// next returns the next event other than HEARTBEAT, nil if none comes
// within timeout or the stream ended.
func (s *opStream) next(timeout time.Duration) *mapi.Event {
	deadline := time.After(timeout)
	for {
		select {
		case ev, ok := <-s.events:
			if !ok {
				return nil
			}
			if ev.Type != mapi.EventHeartbeat {
				return ev
			}
		case <-deadline:
			return nil
		}
	}
}

// clusterView is what an operator knows of the cluster: task states,
// active agents, and live frameworks with whether they are active.
type clusterView struct {
	Tasks      map[string]mesos.TaskState
	Agents     map[string]bool
	Frameworks map[string]bool
}

func viewOf(gs *mapi.GetState) clusterView {
	v := clusterView{Tasks: map[string]mesos.TaskState{}, Agents: map[string]bool{}, Frameworks: map[string]bool{}}
	for _, list := range [][]mapi.Task{gs.GetTasks.Tasks, gs.GetTasks.UnreachableTasks, gs.GetTasks.CompletedTasks} {
		for _, t := range list {
			v.Tasks[t.TaskID.Value] = t.State
		}
	}
	for _, a := range gs.GetAgents.Agents {
		v.Agents[a.AgentInfo.ID.Value] = true
	}
	for _, f := range gs.GetFrameworks.Frameworks {
		v.Frameworks[f.FrameworkInfo.ID.Value] = f.Active
	}
	return v
}

// apply folds one event into the view.
func (v clusterView) apply(ev *mapi.Event) {
	switch ev.Type {
	case mapi.EventTaskAdded:
		v.Tasks[ev.TaskAdded.Task.TaskID.Value] = ev.TaskAdded.Task.State
	case mapi.EventTaskUpdated:
		v.Tasks[ev.TaskUpdated.Status.TaskID.Value] = ev.TaskUpdated.State
	case mapi.EventAgentAdded:
		v.Agents[ev.AgentAdded.Agent.AgentInfo.ID.Value] = true
	case mapi.EventAgentRemoved:
		delete(v.Agents, ev.AgentRemoved.AgentID.Value)
	case mapi.EventFrameworkAdded:
		v.Frameworks[ev.FrameworkAdded.Framework.FrameworkInfo.ID.Value] = ev.FrameworkAdded.Framework.Active
	case mapi.EventFrameworkUpdated:
		v.Frameworks[ev.FrameworkUpdated.Framework.FrameworkInfo.ID.Value] = ev.FrameworkUpdated.Framework.Active
	case mapi.EventFrameworkRemoved:
		delete(v.Frameworks, ev.FrameworkRemoved.FrameworkInfo.ID.Value)
	}
}

// TestOperator_SubscribeEventsAgreeWithState: SUBSCRIBED carries the
// whole state; after launches, a kill, a finished task, an agent that
// comes and leaves, a framework torn down and one that disconnects, the
// state SUBSCRIBED gave plus the events seen since equal GET_STATE, and
// every kind of event was sent, to a subscriber in JSON and to one in
// protobuf alike.
func TestOperator_SubscribeEventsAgreeWithState(t *testing.T) {
	srv := servertest.NewServer(t, servertest.Options{Tweak: func(c *server.Config) { c.AgentReregisterTimeout = 2 * time.Second }})
	addr := srv.HTTPAddr()
	a1 := servertest.NewSimAgent(addr, mesos.Resources{mesos.ScalarResource("cpus", 4), mesos.ScalarResource("mem", 4096)})
	a1.Start(t)

	encodings := []string{codec.JSON, codec.Protobuf}
	var streams []*opStream
	var views []clusterView
	for _, mt := range encodings {
		stream := subscribeOperatorAs(t, addr, mt)
		first := stream.next(10 * time.Second)
		if first == nil || first.Type != mapi.EventSubscribed || first.Subscribed.GetState == nil {
			t.Fatalf("%s: first event %+v, want SUBSCRIBED with the state", mt, first)
		}
		view := viewOf(first.Subscribed.GetState)
		if !view.Agents[a1.ID] {
			t.Fatalf("%s: SUBSCRIBED lacks agent %s: %+v", mt, a1.ID, view)
		}
		streams, views = append(streams, stream), append(views, view)
	}

	web := subscribe(t, addr, subscribeBody("web", "", `"failover_timeout":3600`))
	web.subscribed()
	o := web.await("OFFERS", 10*time.Second).Offers.Offers[0]
	web.launch(o, "sleep 1000", "b", "c")
	web.ackUntil(map[string]mesos.TaskState{"b": mesos.TaskRunning, "c": mesos.TaskRunning})
	web.mustCall("KILL", "kill", `{"task_id":{"value":"c"}}`)
	web.ackUntil(map[string]mesos.TaskState{"c": mesos.TaskKilled})

	a2 := servertest.NewSimAgent(addr, mesos.Resources{mesos.ScalarResource("cpus", 1), mesos.ScalarResource("mem", 512)})
	a2.Start(t)
	gone := subscribe(t, addr, subscribeBody("gone", "", ""))
	gone.subscribed()
	gone.mustCall("TEARDOWN", "", "")
	a2.Stop()   // unreachable after the 2 s re-register timeout
	web.close() // disconnected, kept for its failover timeout

	seen := []map[string]bool{{}, {}}
	var want clusterView
	deadline := time.Now().Add(30 * time.Second)
	for {
		var gs struct {
			GetState mapi.GetState `json:"get_state"`
		}
		operator(t, addr, `{"type":"GET_STATE"}`, &gs)
		want = viewOf(&gs.GetState)
		if reflect.DeepEqual(views[0], want) && reflect.DeepEqual(views[1], want) && !want.Agents[a2.ID] && len(want.Frameworks) == 1 && !want.Frameworks[web.id] && len(want.Agents) == 1 && want.Tasks["c"] == mesos.TaskKilled {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 30s the events seen give %+v (JSON) and %+v (protobuf); GET_STATE gives %+v; events seen %v", views[0], views[1], want, seen)
		}
		for i, stream := range streams {
			if ev := stream.next(250 * time.Millisecond); ev != nil {
				seen[i][ev.Type] = true
				views[i].apply(ev)
			}
		}
	}
	for i, mt := range encodings {
		for _, typ := range []string{mapi.EventTaskAdded, mapi.EventTaskUpdated, mapi.EventAgentAdded, mapi.EventAgentRemoved,
			mapi.EventFrameworkAdded, mapi.EventFrameworkUpdated, mapi.EventFrameworkRemoved} {
			if !seen[i][typ] {
				t.Errorf("%s: no %s event was sent; saw %v", mt, typ, seen[i])
			}
		}
	}
	if want.Tasks["b"] != mesos.TaskRunning {
		t.Errorf("final tasks %v; b should still run", want.Tasks)
	}
	var m map[string]float64
	getJSONAt(t, addr, "/metrics/snapshot", &m)
	if m["master/operator_event_stream_subscribers"] != 2 {
		t.Errorf("master/operator_event_stream_subscribers = %v, want 2", m["master/operator_event_stream_subscribers"])
	}
}

// TestOperator_SubscriberFollowsANewLeader: the event stream ends when
// its leader stops; subscribed again at the new leader, the subscriber's
// SUBSCRIBED holds what it saw before, and SUBSCRIBED plus the events
// that follow agree with GET_STATE.
func TestOperator_SubscriberFollowsANewLeader(t *testing.T) {
	c := servertest.NewCluster(t, 3, steadyRaft)
	old := c.WaitLeader()
	oldAddr := c.Servers[old].HTTPAddr()
	stream := subscribeOperator(t, oldAddr)
	if ev := stream.next(10 * time.Second); ev == nil || ev.Type != mapi.EventSubscribed {
		t.Fatalf("first event %+v, want SUBSCRIBED", ev)
	}
	a := subscribe(t, oldAddr, subscribeBody("before", "", `"failover_timeout":3600`))
	a.subscribed()
	if ev := stream.next(10 * time.Second); ev == nil || ev.Type != mapi.EventFrameworkAdded || ev.FrameworkAdded.Framework.FrameworkInfo.ID.Value != a.id {
		t.Fatalf("event %+v, want FRAMEWORK_ADDED of %s", ev, a.id)
	}

	c.Stop(old)
	for ev := stream.next(30 * time.Second); ev != nil; ev = stream.next(30 * time.Second) {
	} // the old leader's stream ends
	addr := c.Servers[c.WaitLeader()].HTTPAddr()
	again := subscribeOperator(t, addr)
	first := again.next(10 * time.Second)
	if first == nil || first.Type != mapi.EventSubscribed {
		t.Fatalf("first event at the new leader %+v, want SUBSCRIBED", first)
	}
	view := viewOf(first.Subscribed.GetState)
	if _, ok := view.Frameworks[a.id]; !ok {
		t.Fatalf("the new leader's SUBSCRIBED lacks framework %s: %+v", a.id, view)
	}
	b := subscribe(t, addr, subscribeBody("after", "", ""))
	b.subscribed()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var gs struct {
			GetState mapi.GetState `json:"get_state"`
		}
		operator(t, addr, `{"type":"GET_STATE"}`, &gs)
		want := viewOf(&gs.GetState)
		if _, ok := view.Frameworks[b.id]; ok && reflect.DeepEqual(view, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("events seen give %+v; GET_STATE gives %+v", view, want)
		}
		if ev := again.next(500 * time.Millisecond); ev != nil {
			view.apply(ev)
		}
	}
}
