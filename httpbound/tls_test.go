package httpbound

import (
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mesh/tlsutil"
)

// TestRefuseOverTLS_TheLimitIsSaidOverTLS: a TLS client beyond the
// connection limit reads the 429 and its reason, not a failed handshake.
func TestRefuseOverTLS_TheLimitIsSaidOverTLS(t *testing.T) {
	dir := t.TempDir()
	if err := tlsutil.Init(dir, []string{"127.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	server, err := tlsutil.Load(tlsutil.Files{CA: filepath.Join(dir, "ca.pem"),
		Cert: filepath.Join(dir, "server.pem"), Key: filepath.Join(dir, "server-key.pem")})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := server.ServerConfig(false)
	ln := tls.NewListener(RefuseOverTLS(LimitConnsPerIP(raw, 1, true, "-the-flag"), cfg), cfg)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "served") })}
	done := make(chan struct{})
	go func() { srv.Serve(ln); close(done) }()
	defer func() { srv.Close(); <-done }()

	// The first connection holds the client's one slot.
	first := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: server.ClientConfig(tlsutil.RoleServer)}}
	defer first.CloseIdleConnections()
	resp, err := first.Get("https://" + raw.Addr().String() + "/")
	if err != nil {
		t.Fatal(err)
	}
	io.ReadAll(resp.Body)
	resp.Body.Close()

	second := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: server.ClientConfig(tlsutil.RoleServer)}}
	defer second.CloseIdleConnections()
	resp, err = second.Get("https://" + raw.Addr().String() + "/")
	if err != nil {
		t.Fatalf("the connection beyond the limit: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(string(body), "the limit is 1 (-the-flag)") {
		t.Fatalf("beyond the limit: %d %q", resp.StatusCode, body)
	}
}
