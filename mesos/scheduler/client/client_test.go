package client

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"mesh/mesos"
	"mesh/mesos/recordio"
	"mesh/mesos/scheduler"
)

func testLogger(t *testing.T) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{Name: t.Name(), Level: hclog.Debug, Output: tWriter{t}})
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func host(srv *httptest.Server) string { return strings.TrimPrefix(srv.URL, "http://") }

func subscribeCall() *scheduler.Call {
	return SubscribeCall(&mesos.FrameworkInfo{User: "u", Name: "test"})
}

func subscribedEvent(fid string, hb float64) *scheduler.Event {
	return &scheduler.Event{Type: scheduler.EventSubscribed, Subscribed: &scheduler.Subscribed{
		FrameworkID: &mesos.FrameworkID{Value: fid}, HeartbeatIntervalSeconds: hb}}
}

func heartbeat() *scheduler.Event { return &scheduler.Event{Type: scheduler.EventHeartbeat} }

// startStream answers a SUBSCRIBE with 200 and writes events as records.
func startStream(t *testing.T, w http.ResponseWriter, streamID string, events ...*scheduler.Event) {
	t.Helper()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Mesos-Stream-Id", streamID)
	w.WriteHeader(http.StatusOK)
	rw := recordio.NewWriter(w)
	for _, ev := range events {
		b, err := json.Marshal(ev)
		if err != nil {
			t.Errorf("marshal event: %v", err)
			return
		}
		if err := rw.WriteRecord(b); err != nil {
			return
		}
	}
}

func decodeCall(t *testing.T, r *http.Request) *scheduler.Call {
	t.Helper()
	var call scheduler.Call
	if err := json.NewDecoder(r.Body).Decode(&call); err != nil {
		t.Errorf("decode call: %v", err)
	}
	return &call
}

func mustNext(t *testing.T, sub *Subscription, want string) *scheduler.Event {
	t.Helper()
	ev, err := sub.Next()
	if err != nil {
		t.Fatalf("Next: %v, want a %s event", err, want)
	}
	if ev.Type != want {
		t.Fatalf("Next: got %s, want %s", ev.Type, want)
	}
	return ev
}

func TestSubscribe_FollowsRedirect(t *testing.T) {
	leader := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Mesos-Stream-Id") != "" {
			t.Errorf("SUBSCRIBE carried a Mesos-Stream-Id")
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type = %q", ct)
		}
		if r.URL.Path != DefaultPath {
			t.Errorf("path = %q", r.URL.Path)
		}
		if call := decodeCall(t, r); call.Type != scheduler.CallSubscribe || call.Subscribe.FrameworkInfo.Name != "test" {
			t.Errorf("leader got %+v", call)
		}
		startStream(t, w, "stream-1", subscribedEvent("F1", 15), heartbeat())
	}))
	defer leader.Close()
	var followerHits atomic.Int32
	follower := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		followerHits.Add(1)
		w.Header().Set("Location", "//"+host(leader)+"/api/v1/scheduler")
		w.WriteHeader(http.StatusTemporaryRedirect)
	}))
	defer follower.Close()

	c := New(Config{Masters: []string{host(follower)}, Logger: testLogger(t)})
	sub, err := c.Subscribe(context.Background(), subscribeCall())
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	defer sub.Close()
	if got := c.Master(); got != host(leader) {
		t.Errorf("Master() = %q, want the leader %q", got, host(leader))
	}
	if followerHits.Load() != 1 {
		t.Errorf("follower hit %d times, want 1", followerHits.Load())
	}
	if sub.StreamID() != "stream-1" || c.StreamID() != "stream-1" {
		t.Errorf("stream id = %q / %q, want stream-1", sub.StreamID(), c.StreamID())
	}
	mustNext(t, sub, scheduler.EventSubscribed)
	if c.FrameworkID() != "F1" {
		t.Errorf("FrameworkID() = %q, want F1", c.FrameworkID())
	}
	mustNext(t, sub, scheduler.EventHeartbeat)
	if _, err := sub.Next(); err != io.EOF {
		t.Errorf("Next at end of stream: %v, want io.EOF", err)
	}
}

func TestSubscribe_RetriesUnavailableAndDeadServers(t *testing.T) {
	// A port nobody listens on.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := l.Addr().String()
	l.Close()

	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits.Add(1) <= 2 {
			http.Error(w, "no leader", http.StatusServiceUnavailable)
			return
		}
		startStream(t, w, "stream-2", subscribedEvent("F2", 15))
	}))
	defer srv.Close()

	c := New(Config{
		Masters: []string{dead, host(srv)}, Logger: testLogger(t),
		MinBackoff: time.Millisecond, MaxBackoff: 4 * time.Millisecond,
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sub, err := c.Subscribe(ctx, subscribeCall())
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	defer sub.Close()
	if hits.Load() < 3 {
		t.Errorf("server hit %d times, want at least 3 (two 503s, then 200)", hits.Load())
	}
	mustNext(t, sub, scheduler.EventSubscribed)
}

func TestSubscribe_StopsRetryingWhenContextDone(t *testing.T) {
	var hits atomic.Int32
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits.Add(1) == 3 {
			cancel()
		}
		http.Error(w, "no leader", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	c := New(Config{Masters: []string{host(srv)}, Logger: testLogger(t), MinBackoff: time.Millisecond, MaxBackoff: time.Millisecond})
	_, err := c.Subscribe(ctx, subscribeCall())
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Subscribe: %v, want context.Canceled", err)
	}
}

func TestSubscribe_ReturnsStatusErrorWithoutRetrying(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.Error(w, "Expecting 'framework_info.user' to be present", http.StatusBadRequest)
	}))
	defer srv.Close()
	c := New(Config{Masters: []string{host(srv)}, Logger: testLogger(t)})
	_, err := c.Subscribe(context.Background(), subscribeCall())
	var se *StatusError
	if !errors.As(err, &se) {
		t.Fatalf("Subscribe: %v, want a *StatusError", err)
	}
	if se.Code != http.StatusBadRequest || se.Message != "Expecting 'framework_info.user' to be present" {
		t.Errorf("StatusError = %+v", se)
	}
	if hits.Load() != 1 {
		t.Errorf("server hit %d times, want 1", hits.Load())
	}
}

func TestSubscribe_ChecksResponseHeaders(t *testing.T) {
	cases := map[string]func(w http.ResponseWriter){
		"wrong content type": func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "text/html")
			w.Header().Set("Mesos-Stream-Id", "s")
			w.WriteHeader(http.StatusOK)
		},
		"no stream id": func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusOK)
		},
	}
	for name, answer := range cases {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { answer(w) }))
			defer srv.Close()
			c := New(Config{Masters: []string{host(srv)}, Logger: testLogger(t)})
			if _, err := c.Subscribe(context.Background(), subscribeCall()); !errors.Is(err, ErrProtocol) {
				t.Fatalf("Subscribe: %v, want ErrProtocol", err)
			}
		})
	}
}

func TestNext_ReassemblesRecordsAcrossChunks(t *testing.T) {
	events := []*scheduler.Event{
		subscribedEvent("F3", 15),
		heartbeat(),
		{Type: scheduler.EventError, Error: &scheduler.Error{Message: "framework «ünïcode» failed over"}},
	}
	var stream []byte
	for _, ev := range events {
		b, _ := json.Marshal(ev)
		stream = append(stream, []byte(strconv.Itoa(len(b))+"\n")...)
		stream = append(stream, b...)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Mesos-Stream-Id", "s")
		w.WriteHeader(http.StatusOK)
		f := w.(http.Flusher)
		// Chunks of 1..7 bytes, so that lengths, newlines and payloads are
		// all split.
		for i, n := 0, 1; i < len(stream); n = n%7 + 1 {
			end := min(i+n, len(stream))
			if _, err := w.Write(stream[i:end]); err != nil {
				return
			}
			f.Flush()
			i = end
		}
	}))
	defer srv.Close()
	c := New(Config{Masters: []string{host(srv)}, Logger: testLogger(t)})
	sub, err := c.Subscribe(context.Background(), subscribeCall())
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	defer sub.Close()
	mustNext(t, sub, scheduler.EventSubscribed)
	mustNext(t, sub, scheduler.EventHeartbeat)
	ev := mustNext(t, sub, scheduler.EventError)
	if ev.Error.Message != events[2].Error.Message {
		t.Errorf("error message = %q", ev.Error.Message)
	}
	if _, err := sub.Next(); err != io.EOF {
		t.Errorf("Next at end: %v, want io.EOF", err)
	}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func TestNext_MalformedRecordIsProtocolError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Mesos-Stream-Id", "s")
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, "2x\n{}")
	}))
	defer srv.Close()
	c := New(Config{Masters: []string{host(srv)}, Logger: testLogger(t)})
	sub, err := c.Subscribe(context.Background(), subscribeCall())
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	defer sub.Close()
	if _, err := sub.Next(); !errors.Is(err, ErrProtocol) {
		t.Fatalf("Next: %v, want ErrProtocol", err)
	}
}

// silentStream sends SUBSCRIBED with the given interval, then nothing until
// the client goes away.
func silentStream(t *testing.T, hb float64) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		startStream(t, w, "s", subscribedEvent("F4", hb))
		<-r.Context().Done()
	}))
}

func TestNext_HeartbeatWatchdog(t *testing.T) {
	srv := silentStream(t, 0.01) // 5 × 10 ms of silence ends the stream
	defer srv.Close()
	c := New(Config{Masters: []string{host(srv)}, Logger: testLogger(t)})
	sub, err := c.Subscribe(context.Background(), subscribeCall())
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	defer sub.Close()
	mustNext(t, sub, scheduler.EventSubscribed)
	if _, err := sub.Next(); !errors.Is(err, ErrHeartbeatTimeout) {
		t.Fatalf("Next on a silent stream: %v, want ErrHeartbeatTimeout", err)
	}
}

func TestSubscription_CloseUnblocksNext(t *testing.T) {
	srv := silentStream(t, 15)
	defer srv.Close()
	c := New(Config{Masters: []string{host(srv)}, Logger: testLogger(t)})
	sub, err := c.Subscribe(context.Background(), subscribeCall())
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	mustNext(t, sub, scheduler.EventSubscribed)
	done := make(chan error, 1)
	go func() {
		_, err := sub.Next()
		done <- err
	}()
	sub.Close()
	if err := <-done; !errors.Is(err, ErrClosed) {
		t.Fatalf("Next after Close: %v, want ErrClosed", err)
	}
	sub.Close() // idempotent
}

// callServer streams SUBSCRIBED on SUBSCRIBE and hands every other call
// to answer.
type callServer struct {
	*httptest.Server
	mu    sync.Mutex
	calls []*http.Request
	bods  []*scheduler.Call
}

func newCallServer(t *testing.T, answer func(w http.ResponseWriter, call *scheduler.Call)) *callServer {
	cs := &callServer{}
	cs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		call := decodeCall(t, r)
		if call.Type == scheduler.CallSubscribe {
			startStream(t, w, "stream-9", subscribedEvent("F9", 15))
			<-r.Context().Done()
			return
		}
		cs.mu.Lock()
		cs.calls = append(cs.calls, r)
		cs.bods = append(cs.bods, call)
		cs.mu.Unlock()
		answer(w, call)
	}))
	return cs
}

func TestCall_SendsStreamIDAndFrameworkID(t *testing.T) {
	srv := newCallServer(t, func(w http.ResponseWriter, call *scheduler.Call) { w.WriteHeader(http.StatusAccepted) })
	defer srv.Close()
	c := New(Config{Masters: []string{host(srv.Server)}, Logger: testLogger(t)})
	if err := c.Call(context.Background(), TeardownCall()); !errors.Is(err, ErrNotSubscribed) {
		t.Errorf("Call before Subscribe: %v, want ErrNotSubscribed", err)
	}
	sub, err := c.Subscribe(context.Background(), subscribeCall())
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	defer sub.Close()
	mustNext(t, sub, scheduler.EventSubscribed)

	decline := DeclineCall(Filters(30), mesos.OfferID{Value: "O1"})
	if err := c.Call(context.Background(), decline); err != nil {
		t.Fatalf("DECLINE: %v", err)
	}
	if decline.FrameworkID != nil {
		t.Errorf("Call modified the caller's call")
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if len(srv.calls) != 1 {
		t.Fatalf("server saw %d calls, want 1", len(srv.calls))
	}
	if got := srv.calls[0].Header.Get("Mesos-Stream-Id"); got != "stream-9" {
		t.Errorf("Mesos-Stream-Id = %q, want stream-9", got)
	}
	got := srv.bods[0]
	if got.FrameworkID == nil || got.FrameworkID.Value != "F9" {
		t.Errorf("framework_id = %+v, want F9", got.FrameworkID)
	}
	if got.Decline == nil || len(got.Decline.OfferIDs) != 1 || got.Decline.Filters.RefuseSecondsOrDefault() != 30 {
		t.Errorf("decline body = %+v", got.Decline)
	}
}

func TestCall_Non202IsStatusError(t *testing.T) {
	srv := newCallServer(t, func(w http.ResponseWriter, call *scheduler.Call) {
		http.Error(w, "Framework cannot be found", http.StatusBadRequest)
	})
	defer srv.Close()
	c := New(Config{Masters: []string{host(srv.Server)}, Logger: testLogger(t)})
	sub, err := c.Subscribe(context.Background(), subscribeCall())
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	defer sub.Close()
	err = c.Call(context.Background(), KillCall("t1", ""))
	var se *StatusError
	if !errors.As(err, &se) {
		t.Fatalf("Call: %v, want a *StatusError", err)
	}
	if se.Code != http.StatusBadRequest || se.Message != "Framework cannot be found" {
		t.Errorf("StatusError = %+v", se)
	}
}

func TestAcknowledgeCall_OnlyWithUUID(t *testing.T) {
	st := mesos.TaskStatus{TaskID: mesos.TaskID{Value: "t1"}, State: mesos.TaskRunning, AgentID: &mesos.AgentID{Value: "A1"}}
	if AcknowledgeCall(&st) != nil {
		t.Errorf("AcknowledgeCall of a status without uuid is not nil")
	}
	st.UUID = mesos.Bytes("0123456789abcdef")
	call := AcknowledgeCall(&st)
	if call == nil || call.Acknowledge.TaskID.Value != "t1" || call.Acknowledge.AgentID.Value != "A1" ||
		string(call.Acknowledge.UUID) != "0123456789abcdef" {
		t.Errorf("AcknowledgeCall = %+v", call)
	}
}

func TestSubscribeCall_SetsTopLevelFrameworkID(t *testing.T) {
	call := SubscribeCall(&mesos.FrameworkInfo{User: "u", Name: "n", ID: &mesos.FrameworkID{Value: "F"}})
	b := string(mustJSON(call))
	if !strings.Contains(b, `"framework_id":{"value":"F"}`) || !strings.Contains(b, `"id":{"value":"F"}`) {
		t.Errorf("resubscribe call = %s", b)
	}
}
