package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runApp runs the mesh command line with args and returns its output and
// error.
func runApp(args ...string) (string, error) {
	app := newApp()
	var out bytes.Buffer
	app.Writer, app.ErrWriter = &out, &out
	err := app.Run(append([]string{"mesh"}, args...))
	return out.String(), err
}

// TestTLSCommand_InitCertAndTheirRefusals: mesh tls init and mesh tls
// cert write what they say, and refuse what they cannot do with a reason.
func TestTLSCommand_InitCertAndTheirRefusals(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tls")
	if _, err := runApp("tls", "init"); err == nil || !strings.Contains(err.Error(), "takes one directory") {
		t.Fatalf("tls init without a directory: %v", err)
	}
	if out, err := runApp("tls", "init", "-hosts", "127.0.0.1,node1.example", dir); err != nil || !strings.Contains(out, "wrote ca.pem") {
		t.Fatalf("tls init: %v\n%s", err, out)
	}
	if _, err := runApp("tls", "init", dir); err == nil || !strings.Contains(err.Error(), "does not overwrite") {
		t.Fatalf("tls init over an existing directory: %v", err)
	}
	out := filepath.Join(dir, "node2")
	if _, err := runApp("tls", "cert", "-ca", dir, "-role", "operator", "-out", out); err == nil || !strings.Contains(err.Error(), `unknown role "operator"`) {
		t.Fatalf("tls cert -role operator: %v", err)
	}
	if _, err := runApp("tls", "cert", "-ca", t.TempDir(), "-role", "agent", "-out", out); err == nil || !strings.Contains(err.Error(), "read CA certificate") {
		t.Fatalf("tls cert from a directory without a CA: %v", err)
	}
	if _, err := runApp("tls", "cert", "-ca", dir, "-role", "agent", "-hosts", "10.0.0.2", "-out", out); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(out + "-key.pem"); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("node2-key.pem: %v %v", fi, err)
	}
	// A server or an agent needs its own certificate.
	ca := filepath.Join(dir, "ca.pem")
	if _, err := runApp("server", "-data-dir", t.TempDir(), "-tls-ca", ca); err == nil || !strings.Contains(err.Error(), "mesh server needs -tls-cert and -tls-key") {
		t.Fatalf("server with -tls-ca alone: %v", err)
	}
	if _, err := runApp("agent", "-join", "127.0.0.1:1", "-work-dir", t.TempDir(), "-tls-ca", ca); err == nil || !strings.Contains(err.Error(), "mesh agent needs -tls-cert and -tls-key") {
		t.Fatalf("agent with -tls-ca alone: %v", err)
	}
	// A client given a CA file that is not one says so before dialing.
	if _, err := runApp("tasks", "-address", "127.0.0.1:1", "-tls-ca", out+"-key.pem"); err == nil || !strings.Contains(err.Error(), "want CERTIFICATE") {
		t.Fatalf("tasks -tls-ca KEY: %v", err)
	}
}
