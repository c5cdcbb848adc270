package client

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"mesh/mesos"
	"mesh/mesos/codec"
	"mesh/mesos/recordio"
	"mesh/mesos/scheduler"
)

// TestClient_ProtobufEncoding: with Encoding protobuf the client sends
// SUBSCRIBE and later calls as protobuf, asks for a protobuf stream and
// decodes its records; a stream in another encoding is a protocol error.
func TestClient_ProtobufEncoding(t *testing.T) {
	calls := make(chan *scheduler.Call, 4)
	var answerJSON atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ct, acc := r.Header.Get("Content-Type"), r.Header.Get("Accept"); ct != codec.Protobuf || acc != codec.Protobuf {
			t.Errorf("request Content-Type %q, Accept %q; want protobuf", ct, acc)
		}
		body, _ := io.ReadAll(r.Body)
		var call scheduler.Call
		if err := codec.Unmarshal(codec.Protobuf, body, &call); err != nil {
			t.Errorf("request body is not a protobuf Call: %v", err)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		calls <- &call
		if call.Type != scheduler.CallSubscribe {
			w.WriteHeader(http.StatusAccepted)
			return
		}
		mt := codec.Protobuf
		if answerJSON.Load() {
			mt = codec.JSON
		}
		w.Header().Set("Content-Type", mt)
		w.Header().Set("Mesos-Stream-Id", "s1")
		w.WriteHeader(http.StatusOK)
		rw := recordio.NewWriter(w)
		for _, ev := range []*scheduler.Event{subscribedEvent("fw-1", 15), heartbeat()} {
			b, err := codec.Marshal(mt, ev)
			if err != nil {
				t.Errorf("encode event: %v", err)
				return
			}
			if rw.WriteRecord(b) != nil {
				return
			}
		}
		<-r.Context().Done()
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	cl := New(Config{Masters: []string{host(srv)}, Encoding: codec.Protobuf, Logger: testLogger(t)})
	sub, err := cl.Subscribe(ctx, subscribeCall())
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if c := <-calls; c.Type != scheduler.CallSubscribe || c.Subscribe.FrameworkInfo.Name != "test" {
		t.Fatalf("server got %+v", c)
	}
	if ev := mustNext(t, sub, scheduler.EventSubscribed); ev.Subscribed.FrameworkID.Value != "fw-1" || ev.Subscribed.HeartbeatIntervalSeconds != 15 {
		t.Fatalf("SUBSCRIBED %+v", ev.Subscribed)
	}
	mustNext(t, sub, scheduler.EventHeartbeat)
	if err := cl.Call(ctx, &scheduler.Call{Type: scheduler.CallRevive, Revive: &scheduler.Revive{Roles: []string{"r"}}}); err != nil {
		t.Fatal(err)
	}
	if c := <-calls; c.Type != scheduler.CallRevive || c.FrameworkID == nil || c.FrameworkID.Value != "fw-1" || c.Revive.Roles[0] != "r" {
		t.Fatalf("server got %+v", c)
	}

	answerJSON.Store(true)
	cl2 := New(Config{Masters: []string{host(srv)}, Encoding: codec.Protobuf, Logger: testLogger(t)})
	if _, err := cl2.Subscribe(ctx, SubscribeCall(&mesos.FrameworkInfo{User: "u", Name: "json"})); !errors.Is(err, ErrProtocol) {
		t.Fatalf("a JSON stream for a protobuf client: %v, want ErrProtocol", err)
	}
	// The refused stream was closed at once, not when ctx ran out.
	if ctx.Err() != nil {
		t.Fatal("Subscribe returned only when its context ended: it waited for the refused stream to end")
	}
}
