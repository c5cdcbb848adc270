package server_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"mesh/mesos"
	"mesh/mesos/recordio"
	"mesh/mesos/scheduler"
)

// rawPost posts body to the scheduler endpoint with the given headers.
func rawPost(t *testing.T, addr, body string, headers map[string]string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, "http://"+addr+"/api/v1/scheduler", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

var jsonCT = map[string]string{"Content-Type": "application/json"}

// framework is a test scheduler speaking raw JSON over real HTTP.
type framework struct {
	t        *testing.T
	addr     string
	id       string
	streamID string
	resp     *http.Response
	events   chan *scheduler.Event
	raw      chan []byte
	// authorization is the Authorization header of its calls ("": none).
	authorization string
}

// subscribeBody builds a SUBSCRIBE call.
func subscribeBody(name, id string, extra string) string {
	fi := `"user":"tester","name":"` + name + `"`
	top := ""
	if id != "" {
		fi += `,"id":{"value":"` + id + `"}`
		top = `"framework_id":{"value":"` + id + `"},`
	}
	if extra != "" {
		fi += "," + extra
	}
	return `{` + top + `"type":"SUBSCRIBE","subscribe":{"framework_info":{` + fi + `}}}`
}

// subscribe opens a stream; it fails the test unless the server answers
// 200 with a JSON stream and a UUID stream id.
func subscribe(t *testing.T, addr, body string) *framework {
	t.Helper()
	return subscribeAs(t, addr, body, "")
}

// subscribeAs is subscribe with an Authorization header (none when ""),
// which the framework's calls carry too.
func subscribeAs(t *testing.T, addr, body, authorization string) *framework {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/api/v1/scheduler", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		t.Fatalf("subscribe: status %d: %s", resp.StatusCode, b)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("stream Content-Type %q", ct)
	}
	f := &framework{t: t, addr: addr, streamID: resp.Header.Get("Mesos-Stream-Id"), resp: resp, authorization: authorization,
		events: make(chan *scheduler.Event, 1024), raw: make(chan []byte, 1024)}
	go func() {
		defer close(f.events)
		rd := recordio.NewReader(resp.Body)
		for {
			rec, err := rd.ReadRecord()
			if err != nil {
				return
			}
			var ev scheduler.Event
			if err := json.Unmarshal(rec, &ev); err != nil {
				return
			}
			select {
			case f.raw <- rec:
			default:
			}
			f.events <- &ev
		}
	}()
	t.Cleanup(f.close)
	return f
}

func (f *framework) close() { f.resp.Body.Close() }

// next returns the next event that is not a HEARTBEAT.
func (f *framework) next(timeout time.Duration) *scheduler.Event {
	f.t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case ev, ok := <-f.events:
			if !ok {
				return nil
			}
			if ev.Type == scheduler.EventHeartbeat {
				continue
			}
			return ev
		case <-deadline:
			f.t.Fatalf("no event within %s", timeout)
		}
	}
}

// await returns the next event of type typ, skipping others.
func (f *framework) await(typ string, timeout time.Duration) *scheduler.Event {
	f.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			f.t.Fatalf("no %s event within %s", typ, timeout)
		}
		ev := f.next(left)
		if ev == nil {
			f.t.Fatalf("stream ended while waiting for %s", typ)
		}
		if ev.Type == typ {
			return ev
		}
	}
}

// subscribed waits for SUBSCRIBED and records the framework id.
func (f *framework) subscribed() *scheduler.Subscribed {
	f.t.Helper()
	ev := f.next(10 * time.Second)
	if ev == nil || ev.Type != scheduler.EventSubscribed {
		f.t.Fatalf("first event %+v, want SUBSCRIBED", ev)
	}
	f.id = ev.Subscribed.FrameworkID.Value
	return ev.Subscribed
}

// call posts a call with the framework id and stream id.
func (f *framework) call(typ, bodyKey, body string) (int, string) {
	f.t.Helper()
	s := `{"framework_id":{"value":"` + f.id + `"},"type":"` + typ + `"`
	if bodyKey != "" {
		s += `,"` + bodyKey + `":` + body
	}
	s += `}`
	h := map[string]string{"Content-Type": "application/json", "Mesos-Stream-Id": f.streamID}
	if f.authorization != "" {
		h["Authorization"] = f.authorization
	}
	code, msg, _ := rawPost(f.t, f.addr, s, h)
	return code, msg
}

// mustCall posts a call and requires 202.
func (f *framework) mustCall(typ, bodyKey, body string) {
	f.t.Helper()
	if code, msg := f.call(typ, bodyKey, body); code != http.StatusAccepted {
		f.t.Fatalf("%s: status %d: %s", typ, code, msg)
	}
}

func (f *framework) ack(st mesos.TaskStatus) {
	f.t.Helper()
	b, _ := json.Marshal(map[string]any{"agent_id": st.AgentID, "task_id": st.TaskID, "uuid": st.UUID})
	f.mustCall("ACKNOWLEDGE", "acknowledge", string(b))
}

// launch accepts offer o with command tasks of 0.1 cpus and 32 MB.
func (f *framework) launch(o mesos.Offer, cmd string, ids ...string) {
	f.t.Helper()
	var tasks []mesos.TaskInfo
	for _, id := range ids {
		tasks = append(tasks, mesos.TaskInfo{Name: id, TaskID: mesos.TaskID{Value: id}, AgentID: o.AgentID,
			Resources: []mesos.Resource{mesos.ScalarResource("cpus", 0.1), mesos.ScalarResource("mem", 32)},
			Command:   &mesos.CommandInfo{Value: cmd}})
	}
	f.accept([]mesos.OfferID{o.ID}, tasks)
}

// runToFinish launches one task on the next offer and acknowledges its
// updates until it is TASK_FINISHED.
func (f *framework) runToFinish(cmd, id string) {
	f.t.Helper()
	o := f.await(scheduler.EventOffers, 10*time.Second).Offers.Offers[0]
	f.launch(o, cmd, id)
	for {
		st := f.await(scheduler.EventUpdate, 10*time.Second).Update.Status
		f.ack(st)
		if st.State == mesos.TaskFinished {
			return
		}
	}
}

func (f *framework) accept(ids []mesos.OfferID, tasks []mesos.TaskInfo) {
	f.t.Helper()
	b, _ := json.Marshal(scheduler.Accept{OfferIDs: ids, Operations: []mesos.OfferOperation{{
		Type: mesos.OperationLaunch, Launch: &struct {
			TaskInfos []mesos.TaskInfo `json:"task_infos,omitempty"`
		}{TaskInfos: tasks}}}})
	f.mustCall("ACCEPT", "accept", string(b))
}

func jsonEq(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return bytes.Equal(xa, ya)
}
