package server_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"mesh/server"
	"mesh/server/servertest"
)

// TestScheduler_SubscriptionsBeyondTheLimitRefused: with two framework
// event streams open and a limit of two, a third SUBSCRIBE is answered
// 429 with Retry-After and a message naming the limit; once a stream
// closes, the SUBSCRIBE is served.
func TestScheduler_SubscriptionsBeyondTheLimitRefused(t *testing.T) {
	srv := servertest.NewServer(t, servertest.Options{Tweak: func(c *server.Config) { c.MaxFrameworkStreams = 2 }})
	a := subscribe(t, srv.HTTPAddr(), subscribeBody("a", "", ""))
	a.subscribed()
	b := subscribe(t, srv.HTTPAddr(), subscribeBody("b", "", ""))
	b.subscribed()

	resp, err := http.Post("http://"+srv.HTTPAddr()+"/api/v1/scheduler", "application/json", strings.NewReader(subscribeBody("c", "", "")))
	if err != nil {
		t.Fatal(err)
	}
	msg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" ||
		!strings.Contains(string(msg), "the limit is 2 (-max-framework-streams)") {
		t.Fatalf("a third SUBSCRIBE: %d (Retry-After %q) %q", resp.StatusCode, resp.Header.Get("Retry-After"), msg)
	}

	a.close()
	servertest.WaitFor(t, 10*time.Second, "the closed stream's slot to be free", func() bool {
		resp, err := http.Post("http://"+srv.HTTPAddr()+"/api/v1/scheduler", "application/json", strings.NewReader(subscribeBody("c", "", "")))
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// TestServer_DeeplyNestedJSONRefused: a call whose JSON nests deeper than
// any Mesos call does is refused with 400 saying so, before it is
// decoded, on the scheduler, agent and operator APIs; the server keeps
// serving.
func TestServer_DeeplyNestedJSONRefused(t *testing.T) {
	srv := servertest.NewServer(t, servertest.Options{})
	deep := `{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"u","name":"n","labels":` +
		strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + `}}}`
	for _, path := range []string{"/api/v1/scheduler", "/internal/v1/agent", "/api/v1"} {
		resp, err := http.Post("http://"+srv.HTTPAddr()+path, "application/json", strings.NewReader(deep))
		if err != nil {
			t.Fatal(err)
		}
		msg, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(msg), "nests deeper than 64 levels") {
			t.Errorf("%s: %d %q", path, resp.StatusCode, msg)
		}
	}
	f := subscribe(t, srv.HTTPAddr(), subscribeBody("after", "", ""))
	f.subscribed()
}
