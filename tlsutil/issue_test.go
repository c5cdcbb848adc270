package tlsutil

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestInit_WritesCAAndRoleCertificates(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tls")
	if err := Init(dir, []string{"127.0.0.1", "node1.example", "::1"}); err != nil {
		t.Fatal(err)
	}
	ca, err := LoadCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := time.Until(ca.Cert.NotAfter); got < CAValidity-time.Hour || got > CAValidity+time.Hour {
		t.Fatalf("CA valid for %s, want about %s", got, CAValidity)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	for _, role := range Roles {
		cert := readCert(t, filepath.Join(dir, role+".pem"))
		if got := Role(cert); got != role {
			t.Errorf("%s.pem carries role %q", role, got)
		}
		if got := cert.Subject.OrganizationalUnit; len(got) != 1 || got[0] != role {
			t.Errorf("%s.pem OU = %v", role, got)
		}
		if !cert.IPAddresses[0].Equal(net.ParseIP("127.0.0.1")) || !cert.IPAddresses[1].Equal(net.ParseIP("::1")) || len(cert.IPAddresses) != 2 {
			t.Errorf("%s.pem IP SANs = %v", role, cert.IPAddresses)
		}
		if len(cert.DNSNames) != 1 || cert.DNSNames[0] != "node1.example" {
			t.Errorf("%s.pem DNS SANs = %v", role, cert.DNSNames)
		}
		if got := time.Until(cert.NotAfter); got < CertValidity-time.Hour || got > CertValidity+time.Hour {
			t.Errorf("%s.pem valid for %s, want about %s", role, got, CertValidity)
		}
		if _, err := cert.Verify(x509.VerifyOptions{Roots: pool, DNSName: "node1.example", KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
			t.Errorf("%s.pem does not verify against the CA: %v", role, err)
		}
		fi, err := os.Stat(filepath.Join(dir, role+"-key.pem"))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s-key.pem mode %v, want 0600", role, fi.Mode().Perm())
		}
		if _, err := tls.LoadX509KeyPair(filepath.Join(dir, role+".pem"), filepath.Join(dir, role+"-key.pem")); err != nil {
			t.Errorf("%s pair: %v", role, err)
		}
	}
	if fi, _ := os.Stat(filepath.Join(dir, CAKeyFile)); fi.Mode().Perm() != 0o600 {
		t.Errorf("ca-key.pem mode %v, want 0600", fi.Mode().Perm())
	}
	// The client certificate cannot serve.
	client := readCert(t, filepath.Join(dir, "client.pem"))
	if _, err := client.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err == nil {
		t.Error("client.pem verifies for server auth")
	}
}

func TestInit_RefusesToOverwrite(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "agent-key.pem"), []byte("mine"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := Init(dir, []string{"127.0.0.1"})
	if err == nil || !strings.Contains(err.Error(), "agent-key.pem exists") {
		t.Fatalf("Init over an existing key: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, CAFile)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Init wrote the CA before refusing: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "agent-key.pem")); string(b) != "mine" {
		t.Fatalf("agent-key.pem changed to %q", b)
	}
}

func TestIssue_RoleAndHostsAndRefusals(t *testing.T) {
	dir := t.TempDir()
	if err := Init(dir, []string{"127.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	ca, err := LoadCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := ca.Issue("admin", nil, time.Hour); err == nil || !strings.Contains(err.Error(), `unknown role "admin"`) {
		t.Fatalf("Issue(admin): %v", err)
	}
	if _, _, err := ca.Issue(RoleAgent, []string{"http://x"}, time.Hour); err == nil {
		t.Fatal("Issue accepted a URL as a host")
	}
	c, k, err := ca.Issue(RoleAgent, []string{"10.1.2.3", "a.example"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	prefix := filepath.Join(dir, "agent2")
	if err := WritePair(prefix, c, k); err != nil {
		t.Fatal(err)
	}
	if err := WritePair(prefix, c, k); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Fatalf("second WritePair: %v", err)
	}
	cert := readCert(t, prefix+".pem")
	if Role(cert) != RoleAgent || cert.DNSNames[0] != "a.example" || !cert.IPAddresses[0].Equal(net.ParseIP("10.1.2.3")) {
		t.Fatalf("issued %v %v %v", Role(cert), cert.DNSNames, cert.IPAddresses)
	}
	if d := time.Until(cert.NotAfter); d > time.Hour || d < 50*time.Minute {
		t.Fatalf("valid for %s, want an hour", d)
	}
}

func TestLoad_ChecksFlagsAndCA(t *testing.T) {
	dir := t.TempDir()
	other := t.TempDir()
	for _, d := range []string{dir, other} {
		if err := Init(d, []string{"127.0.0.1"}); err != nil {
			t.Fatal(err)
		}
	}
	p := func(d, n string) string { return filepath.Join(d, n) }
	cases := []struct {
		name string
		f    Files
		want string
	}{
		{"no ca", Files{Cert: p(dir, "server.pem"), Key: p(dir, "server-key.pem")}, "-tls-ca is required"},
		{"cert without key", Files{Cert: p(dir, "server.pem"), CA: p(dir, CAFile)}, "go together"},
		{"ca not pem", Files{CA: p(dir, "server-key.pem")}, "want CERTIFICATE"},
		{"other ca", Files{Cert: p(dir, "server.pem"), Key: p(dir, "server-key.pem"), CA: p(other, CAFile)}, "not signed by -tls-ca"},
		{"key of another cert", Files{Cert: p(dir, "server.pem"), Key: p(dir, "agent-key.pem"), CA: p(dir, CAFile)}, "private key does not match"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(tc.f)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Load: %v, want %q", err, tc.want)
			}
		})
	}
	if tl, err := Load(Files{}); tl != nil || err != nil {
		t.Fatalf("Load of no files: %v %v", tl, err)
	}
}

func readCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	certs, err := ParseCertificates(b)
	if err != nil {
		t.Fatal(err)
	}
	return certs[0]
}

func FuzzParseCertificates(f *testing.F) {
	ca, err := NewCA(time.Hour)
	if err != nil {
		f.Fatal(err)
	}
	c, k, err := ca.Issue(RoleServer, []string{"127.0.0.1"}, time.Hour)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(ca.PEM)
	f.Add(append(append([]byte{}, c...), ca.PEM...))
	f.Add(k)
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, data []byte) {
		certs, err := ParseCertificates(data)
		if err != nil {
			if certs != nil {
				t.Fatal("certificates returned with an error")
			}
			return
		}
		if len(certs) == 0 {
			t.Fatal("no certificates and no error")
		}
		for _, c := range certs {
			if r := Role(c); r != "" && !validRole(r) {
				t.Fatalf("role %q", r)
			}
		}
	})
}
