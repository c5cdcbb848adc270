package server_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"mesh/mesos/agentapi"
	"mesh/server"
	"mesh/server/servertest"
)

// rawPongStream is a pong stream written by hand, byte by byte as an
// agent's HTTP client would send it.
type rawPongStream struct {
	t    *testing.T
	conn net.Conn
	br   *bufio.Reader
	resp *http.Response
}

const pongStreamHead = "POST " + agentapi.Path + " HTTP/1.1\r\nHost: mesh\r\n" +
	"Content-Type: " + agentapi.PongStreamContentType + "\r\n" +
	"Message-Content-Type: " + agentapi.PongStreamMessageType + "\r\n" +
	"Transfer-Encoding: chunked\r\n\r\n"

// openRawPongStream sends head and then body on a new connection.
func openRawPongStream(t *testing.T, addr, head, body string) *rawPongStream {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	p := &rawPongStream{t: t, conn: conn, br: bufio.NewReader(conn)}
	p.write(head + body)
	return p
}

func (p *rawPongStream) write(s string) {
	p.t.Helper()
	if _, err := io.WriteString(p.conn, s); err != nil {
		p.t.Fatal(err)
	}
}

// pong sends one PONG record naming id, as a chunk of its own.
func (p *rawPongStream) pong(id string) { p.write(pongChunk(id)) }

func pongChunk(id string) string {
	return callChunk(fmt.Sprintf(`{"type":"PONG","agent_id":{"value":%q}}`, id))
}

// callChunk is one chunk holding call as a RecordIO record.
func callChunk(call string) string {
	rec := fmt.Sprintf("%d\n%s", len(call), call)
	return fmt.Sprintf("%x\r\n%s\r\n", len(rec), rec)
}

// response reads the leader's answer (its header).
func (p *rawPongStream) response() *http.Response {
	p.t.Helper()
	if p.resp == nil {
		_ = p.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		resp, err := http.ReadResponse(p.br, nil)
		if err != nil {
			p.t.Fatalf("reading the answer: %v", err)
		}
		p.resp = resp
	}
	return p.resp
}

// ending reads the answer's body to its end and returns it: what the
// leader said when it ended the stream.
func (p *rawPongStream) ending() string {
	p.t.Helper()
	resp := p.response()
	_ = p.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		p.t.Fatalf("reading the answer's body: %v (got %q)", err, b)
	}
	return string(b)
}

// pongStreamServer is a leader with fast pings and an agent that answers
// them with calls until a test mutes it and answers for it on pong
// streams.
func pongStreamServer(t *testing.T) (*servertest.Server, *servertest.SimAgent) {
	srv := servertest.NewServer(t, servertest.Options{Tweak: func(c *server.Config) {
		c.AgentPingTimeout = 100 * time.Millisecond
		c.MaxAgentPingTimeouts = 3
		c.AgentReregisterTimeout = time.Hour
	}})
	agent := servertest.NewSimAgent(srv.HTTPAddr(), agentResources())
	agent.Pings = true
	agent.Start(t)
	return srv, agent
}

// TestPongStream_RefusesWhatIsNotOne: each wrong request is answered
// with a status and a message saying what is wrong, and the leader goes
// on serving.
func TestPongStream_RefusesWhatIsNotOne(t *testing.T) {
	srv, agent := pongStreamServer(t)
	longRecord := strings.Repeat("x", 2000)
	for _, tc := range []struct {
		name, head, body string
		code             int
		msg              string
	}{
		{"not a POST", strings.Replace(pongStreamHead, "POST", "PUT", 1), pongChunk(agent.ID), 405, "expecting a 'POST' request"},
		{"messages not JSON", strings.Replace(pongStreamHead, "application/json", "application/x-protobuf", 1), pongChunk(agent.ID), 415, "Message-Content-Type"},
		{"not chunked", strings.Replace(pongStreamHead, "Transfer-Encoding: chunked", "Content-Length: 2", 1), "0\n", 400, "chunked transfer coding"},
		{"not JSON", pongStreamHead, callChunk(`{"type":`), 400, "failed to parse a record as JSON"},
		{"a SUBSCRIBE", pongStreamHead, callChunk(`{"type":"SUBSCRIBE"}`), 400, `expecting PONG calls on a pong stream, got "SUBSCRIBE"`},
		{"no agent id", pongStreamHead, callChunk(`{"type":"PONG"}`), 400, "expecting 'agent_id'"},
		{"an agent not subscribed", pongStreamHead, pongChunk("nobody"), 403, "agent nobody is not subscribed to this leader"},
		{"a bad chunk size", pongStreamHead, "zz\r\n", 400, "malformed chunked body"},
		{"a record too long", pongStreamHead, fmt.Sprintf("%x\r\n%d\n%s\r\n", len(longRecord)+5, len(longRecord), longRecord), 400, "over the limit of 1024"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := openRawPongStream(t, srv.HTTPAddr(), tc.head, tc.body)
			resp := p.response()
			if resp.StatusCode != tc.code {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.code)
			}
			if msg := p.ending(); !strings.Contains(msg, tc.msg) {
				t.Fatalf("message %q, want it to say %q", msg, tc.msg)
			}
		})
	}
	resp, err := http.Get("http://" + srv.HTTPAddr() + "/health")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("health after the refusals: %d", resp.StatusCode)
	}
}

// TestPongStream_KeepsTheAgentAndEndsWithIt: PONGs on a pong stream
// count as the agent's answers; when they stop the agent is marked
// unreachable, and the end of its command stream ends the pong stream.
func TestPongStream_KeepsTheAgentAndEndsWithIt(t *testing.T) {
	srv, agent := pongStreamServer(t)
	p := openRawPongStream(t, srv.HTTPAddr(), pongStreamHead, pongChunk(agent.ID))
	if resp := p.response(); resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d, want 200", resp.StatusCode)
	}
	agent.Mute(true) // from here only the stream answers
	start := agent.PingsReceived()
	pace := time.NewTicker(80 * time.Millisecond) // a record per ping or so
	defer pace.Stop()
	for agent.PingsReceived() < start+8 { // 8 pings, where 3 unanswered end the agent
		p.pong(agent.ID)
		<-pace.C
	}
	if a := srv.FSM().State().Agent(agent.ID); a.State != "active" {
		t.Fatalf("an agent answering on its pong stream is %s", a.State)
	}
	servertest.WaitFor(t, 10*time.Second, "the agent marked unreachable once the PONGs stop", func() bool {
		a := srv.FSM().State().Agent(agent.ID)
		return a != nil && a.State == "unreachable"
	})
	if msg := p.ending(); msg != "" {
		t.Fatalf("the stream ended with %q, want nothing said", msg)
	}
}

// TestPongStream_EndsWhenTheAgentSaysSo: a newer stream of the agent
// replaces an older one; a stream over its pace is ended saying so; a
// stream whose body ends is ended without a word; a record naming
// another agent ends the stream.
func TestPongStream_EndsWhenTheAgentSaysSo(t *testing.T) {
	srv, agent := pongStreamServer(t) // its calls keep it subscribed throughout
	older := openRawPongStream(t, srv.HTTPAddr(), pongStreamHead, pongChunk(agent.ID))
	if resp := older.response(); resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d, want 200", resp.StatusCode)
	}
	newer := openRawPongStream(t, srv.HTTPAddr(), pongStreamHead, pongChunk(agent.ID))
	if resp := newer.response(); resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d, want 200", resp.StatusCode)
	}
	if msg := older.ending(); !strings.Contains(msg, "a newer pong stream") {
		t.Fatalf("the older stream ended with %q", msg)
	}

	newer.write(strings.Repeat(pongChunk(agent.ID), 20))
	if msg := newer.ending(); !strings.Contains(msg, "more than 16 PONGs in a second") {
		t.Fatalf("a flooding stream ended with %q", msg)
	}

	ended := openRawPongStream(t, srv.HTTPAddr(), pongStreamHead, pongChunk(agent.ID))
	if resp := ended.response(); resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d, want 200", resp.StatusCode)
	}
	ended.write("0\r\n\r\n")
	if msg := ended.ending(); msg != "" {
		t.Fatalf("a stream whose body ended was ended with %q", msg)
	}

	other := openRawPongStream(t, srv.HTTPAddr(), pongStreamHead, pongChunk(agent.ID)+pongChunk("someone-else"))
	if msg := other.ending(); !strings.Contains(msg, "names agent someone-else") {
		t.Fatalf("a stream naming another agent ended with %q", msg)
	}
	// Split anywhere, records still arrive whole.
	split := openRawPongStream(t, srv.HTTPAddr(), pongStreamHead, "")
	chunk := pongChunk(agent.ID)
	for i := range chunk {
		split.write(chunk[i : i+1])
	}
	if resp := split.response(); resp.StatusCode != http.StatusOK {
		t.Fatalf("a stream sent a byte at a time: status %d", resp.StatusCode)
	}
}
