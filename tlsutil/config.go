package tlsutil

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"sync/atomic"
	"time"
)

// Files names the PEM files of -tls-cert, -tls-key and -tls-ca.
type Files struct {
	Cert, Key, CA string
}

// Enabled reports whether any TLS flag was given.
func (f Files) Enabled() bool { return f.Cert != "" || f.Key != "" || f.CA != "" }

// TLS is a process's TLS material: the CA its peers must be signed by
// and, when it has one, its own certificate, swapped in place by Reload.
type TLS struct {
	files Files
	pool  *x509.CertPool
	caPEM []byte
	// cert is the current certificate: handshakes read it, Reload
	// replaces it whole, so a handshake never sees half of a new pair.
	cert atomic.Pointer[tls.Certificate]
}

// Load reads the files. -tls-ca is required; -tls-cert and -tls-key go
// together. It returns nil, nil when no file is named (TLS off).
func Load(f Files) (*TLS, error) {
	if !f.Enabled() {
		return nil, nil
	}
	if f.CA == "" {
		return nil, errors.New("-tls-ca is required with -tls-cert and -tls-key: it names the CA peers are verified against")
	}
	if (f.Cert == "") != (f.Key == "") {
		return nil, errors.New("-tls-cert and -tls-key go together")
	}
	data, err := os.ReadFile(f.CA)
	if err != nil {
		return nil, fmt.Errorf("-tls-ca: %w", err)
	}
	certs, err := ParseCertificates(data)
	if err != nil {
		return nil, fmt.Errorf("-tls-ca %s: %w", f.CA, err)
	}
	t := &TLS{files: f, pool: x509.NewCertPool(), caPEM: data}
	for _, c := range certs {
		t.pool.AddCert(c)
	}
	if f.Cert != "" {
		if err := t.Reload(); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// Reload reads -tls-cert and -tls-key again and, when they form a valid
// pair signed by the CA, serves and presents the new certificate from the
// next handshake on. On error the current certificate stays.
func (t *TLS) Reload() error {
	if t.files.Cert == "" {
		return nil
	}
	pair, err := tls.LoadX509KeyPair(t.files.Cert, t.files.Key)
	if err != nil {
		return fmt.Errorf("-tls-cert %s, -tls-key %s: %w", t.files.Cert, t.files.Key, err)
	}
	leaf := pair.Leaf
	if leaf == nil {
		if leaf, err = x509.ParseCertificate(pair.Certificate[0]); err != nil {
			return fmt.Errorf("-tls-cert %s: %w", t.files.Cert, err)
		}
		pair.Leaf = leaf
	}
	inter := x509.NewCertPool()
	for _, der := range pair.Certificate[1:] {
		if c, err := x509.ParseCertificate(der); err == nil {
			inter.AddCert(c)
		}
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: t.pool, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		return fmt.Errorf("-tls-cert %s is not signed by -tls-ca %s: %w", t.files.Cert, t.files.CA, err)
	}
	t.cert.Store(&pair)
	return nil
}

// CAPEM is the CA file's content, for a child process to verify peers
// with.
func (t *TLS) CAPEM() []byte { return t.caPEM }

// Certificate returns the current certificate, nil when there is none.
func (t *TLS) Certificate() *tls.Certificate { return t.cert.Load() }

// Role is the role of this process's own certificate, "" without one.
func (t *TLS) Role() string {
	if c := t.cert.Load(); c != nil {
		return Role(c.Leaf)
	}
	return ""
}

// ServerConfig is the tls.Config of a listener. A peer certificate is
// verified against the CA when given; requirePeer makes one mandatory.
// peerRoles, when not empty, are the roles a peer certificate may carry.
func (t *TLS) ServerConfig(requirePeer bool, peerRoles ...string) *tls.Config {
	auth := tls.VerifyClientCertIfGiven
	if requirePeer {
		auth = tls.RequireAndVerifyClientCert
	}
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			if c := t.cert.Load(); c != nil {
				return c, nil
			}
			return nil, errors.New("no certificate: give -tls-cert and -tls-key")
		},
		ClientCAs:  t.pool,
		ClientAuth: auth,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 || len(peerRoles) == 0 {
				return nil
			}
			return checkRole(cs.PeerCertificates[0], "client", peerRoles)
		},
	}
}

// ClientConfig is the tls.Config of a process dialing a peer whose
// certificate must carry serverRole ("" for any mesh role). It presents
// this process's certificate when it has one.
func (t *TLS) ClientConfig(serverRole string) *tls.Config {
	cfg := &tls.Config{
		MinVersion: tls.VersionTLS12,
		RootCAs:    t.pool,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if serverRole == "" || len(cs.PeerCertificates) == 0 {
				return nil
			}
			return checkRole(cs.PeerCertificates[0], "server", []string{serverRole})
		},
	}
	if t.files.Cert != "" {
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			if c := t.cert.Load(); c != nil {
				return c, nil
			}
			return &tls.Certificate{}, nil
		}
	}
	return cfg
}

// checkRole refuses a peer certificate without one of roles.
func checkRole(cert *x509.Certificate, side string, roles []string) error {
	got := Role(cert)
	for _, r := range roles {
		if got == r {
			return nil
		}
	}
	if got == "" {
		return fmt.Errorf("the %s certificate %q carries no mesh role; want %v", side, cert.Subject.CommonName, roles)
	}
	return fmt.Errorf("the %s certificate %q is for role %s; want %v", side, cert.Subject.CommonName, got, roles)
}

// HTTPTransport is an HTTP transport dialing peers of serverRole over TLS,
// with no proxy from the environment.
func (t *TLS) HTTPTransport(serverRole string) *http.Transport {
	return &http.Transport{
		Proxy:               nil,
		TLSClientConfig:     t.ClientConfig(serverRole),
		TLSHandshakeTimeout: 10 * time.Second,
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     90 * time.Second,
	}
}

// Scheme is "https" with TLS on, "http" without (t nil).
func (t *TLS) Scheme() string {
	if t == nil {
		return "http"
	}
	return "https"
}

// ClientConfigPEM is the tls.Config of a process that holds only a CA's
// PEM (an executor given it by its agent) dialing a peer of serverRole.
func ClientConfigPEM(caPEM []byte, serverRole string) (*tls.Config, error) {
	certs, err := ParseCertificates(caPEM)
	if err != nil {
		return nil, err
	}
	t := &TLS{pool: x509.NewCertPool(), caPEM: caPEM}
	for _, c := range certs {
		t.pool.AddCert(c)
	}
	return t.ClientConfig(serverRole), nil
}

// RequestRole is the role of the verified client certificate of r, ""
// when it presented none (or TLS is off).
func RequestRole(r *http.Request) string {
	if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || len(r.TLS.VerifiedChains[0]) == 0 {
		return ""
	}
	return Role(r.TLS.VerifiedChains[0][0])
}
