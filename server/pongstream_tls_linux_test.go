//go:build linux

package server

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"mesh/tlsutil"
)

// TestPongStream_ReadsThroughTLS: through TLS, the epoll watch sees the
// socket and the stream reads through the TLS connection, every TLS
// record that came at once included: a body sent a byte to a TLS record
// is decoded whole, up to the record that is wrong, which is answered.
func TestPongStream_ReadsThroughTLS(t *testing.T) {
	ca, err := tlsutil.NewCA(time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := ca.Issue(tlsutil.RoleServer, []string{"127.0.0.1"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(ca.PEM)
	rawSrv, rawCli := connPair(t, listen(t))
	srv := tls.Server(rawSrv, &tls.Config{Certificates: []tls.Certificate{cert}})
	cli := tls.Client(rawCli, &tls.Config{RootCAs: roots, ServerName: "127.0.0.1"})
	handshake := make(chan error, 1)
	go func() { handshake <- srv.Handshake() }()
	if err := cli.Handshake(); err != nil {
		t.Fatal(err)
	}
	if err := <-handshake; err != nil {
		t.Fatal(err)
	}

	p := &pongStream{conn: srv, dec: chunkedRecords{maxRecord: maxPongRecord}}
	rearm, stop, ok := watchReadable(srv, p.readable)
	if !ok {
		t.Fatal("a TLS connection's socket could not be watched")
	}
	p.rearm, p.stop = rearm, stop

	// A well-framed chunk whose record is not a PONG: the stream reads
	// all of it before it can say so.
	call := `{"type":"SUBSCRIBE"}`
	rec := fmt.Sprintf("%d\n%s", len(call), call)
	body := fmt.Sprintf("%x\r\n%s\r\n", len(rec), rec)
	go func() {
		for i := range body {
			if _, err := io.WriteString(cli, body[i:i+1]); err != nil {
				return
			}
		}
	}()
	_ = cli.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(cli), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), `got "SUBSCRIBE"`) {
		t.Fatalf("answer %d %q, want 400 naming the SUBSCRIBE", resp.StatusCode, b)
	}
}
