package tlsutil

import (
	"crypto/tls"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// handshake runs a TLS handshake over a loopback connection and returns the client's
// and the server's errors.
func handshake(t *testing.T, srv, cli *tls.Config) (clientErr, serverErr error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	a, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	b, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	defer b.Close()
	deadline := time.Now().Add(10 * time.Second)
	a.SetDeadline(deadline)
	b.SetDeadline(deadline)
	cli = cli.Clone()
	cli.ServerName = "127.0.0.1"
	done := make(chan error, 1)
	go func() {
		s := tls.Server(b, srv)
		err := s.Handshake()
		if err == nil {
			// TLS 1.3 checks the client certificate after the client's
			// handshake returns: read to see the server's verdict.
			_, err = s.Read(make([]byte, 1))
		}
		b.Close()
		done <- err
	}()
	c := tls.Client(a, cli)
	clientErr = c.Handshake()
	if clientErr == nil {
		_, err := c.Write([]byte{1})
		if err == nil {
			_, err = c.Read(make([]byte, 1))
		}
		if err != nil && err.Error() != "EOF" {
			clientErr = err
		}
	}
	a.Close()
	serverErr = <-done
	return clientErr, serverErr
}

func loadRole(t *testing.T, dir, role string) *TLS {
	t.Helper()
	f := Files{CA: filepath.Join(dir, CAFile)}
	if role != "" {
		f.Cert, f.Key = filepath.Join(dir, role+".pem"), filepath.Join(dir, role+"-key.pem")
	}
	tl, err := Load(f)
	if err != nil {
		t.Fatal(err)
	}
	return tl
}

func TestServerConfig_RolesAreChecked(t *testing.T) {
	dir, other := t.TempDir(), t.TempDir()
	for _, d := range []string{dir, other} {
		if err := Init(d, []string{"127.0.0.1"}); err != nil {
			t.Fatal(err)
		}
	}
	server := loadRole(t, dir, RoleServer)
	raft := server.ServerConfig(true, RoleServer)
	cases := []struct {
		name    string
		client  *TLS
		role    string // the server role the client wants
		srv     *TLS
		refused string // "" when the handshake succeeds
	}{
		{"server to server", server, RoleServer, server, ""},
		{"client cert joins raft", loadRole(t, dir, RoleClient), RoleServer, server, "for role client"},
		{"agent cert joins raft", loadRole(t, dir, RoleAgent), RoleServer, server, "for role agent"},
		{"no cert", loadRole(t, dir, ""), RoleServer, server, "certificate"},
		{"other CA", loadRole(t, other, RoleServer), RoleServer, server, "certificate"},
		{"agent posing as server", server, RoleServer, loadRole(t, dir, RoleAgent), "for role agent"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srvCfg := raft
			if tc.srv != server {
				srvCfg = tc.srv.ServerConfig(true, RoleServer)
			}
			cerr, serr := handshake(t, srvCfg, tc.client.ClientConfig(tc.role))
			if tc.refused == "" {
				if cerr != nil || serr != nil {
					t.Fatalf("handshake failed: client %v, server %v", cerr, serr)
				}
				return
			}
			if cerr == nil && serr == nil {
				t.Fatal("handshake succeeded")
			}
			if !strings.Contains(errString(cerr)+errString(serr), tc.refused) {
				t.Fatalf("refused with client %v, server %v; want %q", cerr, serr, tc.refused)
			}
		})
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestReload_SwapsTheServedCertificate(t *testing.T) {
	dir := t.TempDir()
	if err := Init(dir, []string{"127.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	server := loadRole(t, dir, RoleServer)
	before := server.Certificate().Leaf.SerialNumber
	// A broken file leaves the current certificate in place.
	certPath := filepath.Join(dir, "server.pem")
	if err := os.WriteFile(certPath, []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := server.Reload(); err == nil {
		t.Fatal("Reload of a broken certificate succeeded")
	}
	if server.Certificate().Leaf.SerialNumber.Cmp(before) != 0 {
		t.Fatal("a failed reload changed the certificate")
	}
	ca, err := LoadCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	c, k, err := ca.Issue(RoleServer, []string{"127.0.0.1"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(dir, "server-key.pem"))
	os.Remove(certPath)
	if err := WritePair(filepath.Join(dir, "server"), c, k); err != nil {
		t.Fatal(err)
	}
	if err := server.Reload(); err != nil {
		t.Fatal(err)
	}
	var served *tls.ConnectionState
	cli := loadRole(t, dir, RoleServer).ClientConfig(RoleServer)
	cli.VerifyConnection = func(cs tls.ConnectionState) error { served = &cs; return nil }
	if cerr, serr := handshake(t, server.ServerConfig(false), cli); cerr != nil || serr != nil {
		t.Fatalf("handshake: %v %v", cerr, serr)
	}
	got := served.PeerCertificates[0].SerialNumber
	if got.Cmp(before) == 0 {
		t.Fatal("the server still serves the old certificate after Reload")
	}
}
