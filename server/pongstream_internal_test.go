package server

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
)

// TestPongStream_ReadsWithoutEpoll: where no epoll watch can be had (a
// connection that is not a socket, or a system without epoll), a
// goroutine reads the stream, and bad input is still answered with what
// is wrong.
func TestPongStream_ReadsWithoutEpoll(t *testing.T) {
	srv, cli := net.Pipe()
	defer cli.Close()
	p := &pongStream{conn: srv, dec: chunkedRecords{maxRecord: maxPongRecord}}
	if _, _, ok := watchReadable(srv, p.readable); ok {
		t.Fatal("a pipe was watched by epoll")
	}
	go p.readAll()
	go func() { _, _ = io.WriteString(cli, "zz\r\n") }()
	resp, err := http.ReadResponse(bufio.NewReader(cli), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), "malformed chunked body") {
		t.Fatalf("answer %d %q, want 400 saying the body is malformed", resp.StatusCode, b)
	}
}
