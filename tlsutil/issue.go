// Package tlsutil is mesh's TLS: a small certificate authority for
// `mesh tls init` and `mesh tls cert`, the roles certificates carry, and
// the tls.Configs servers, agents and clients use, with certificates
// reloaded in place.
//
// A certificate's role (server, agent or client) is a URI SAN
// spiffe://mesh/ROLE. Servers present server certificates, agents agent
// certificates, the CLI and frameworks client certificates (optional).
package tlsutil

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// The roles a mesh certificate may carry.
const (
	RoleServer = "server"
	RoleAgent  = "agent"
	RoleClient = "client"
)

// Roles lists the roles in the order `mesh tls init` issues them.
var Roles = []string{RoleServer, RoleAgent, RoleClient}

// Validity of what `mesh tls init` and `mesh tls cert` issue.
const (
	CAValidity   = 10 * 365 * 24 * time.Hour
	CertValidity = 2 * 365 * 24 * time.Hour
)

// File names in a directory written by Init.
const (
	CAFile    = "ca.pem"
	CAKeyFile = "ca-key.pem"
)

// roleScheme and roleHost make a role's URI: spiffe://mesh/ROLE.
const (
	roleScheme = "spiffe"
	roleHost   = "mesh"
)

// RoleURI is the URI SAN that records role in a certificate.
func RoleURI(role string) *url.URL {
	return &url.URL{Scheme: roleScheme, Host: roleHost, Path: "/" + role}
}

// Role returns the role a certificate carries, "" when it carries none
// (or more than one).
func Role(cert *x509.Certificate) string {
	role := ""
	for _, u := range cert.URIs {
		if u.Scheme != roleScheme || u.Host != roleHost {
			continue
		}
		r := strings.TrimPrefix(u.Path, "/")
		if !validRole(r) || (role != "" && role != r) {
			return ""
		}
		role = r
	}
	return role
}

func validRole(r string) bool {
	return r == RoleServer || r == RoleAgent || r == RoleClient
}

// CA is a certificate authority able to issue mesh certificates.
type CA struct {
	Cert *x509.Certificate
	Key  *ecdsa.PrivateKey
	// PEM is Cert, PEM encoded.
	PEM []byte
}

// NewCA creates a self-signed ECDSA P-256 CA valid for validity.
func NewCA(validity time.Duration) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "mesh CA", Organization: []string{"mesh"}},
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              now.Add(validity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &CA{Cert: cert, Key: key, PEM: pemBlock("CERTIFICATE", der)}, nil
}

// Issue signs a new certificate and key for role, valid for the given
// hosts (IP addresses and DNS names) for validity. It returns both PEM
// encoded.
func (ca *CA) Issue(role string, hosts []string, validity time.Duration) (certPEM, keyPEM []byte, err error) {
	if !validRole(role) {
		return nil, nil, fmt.Errorf("unknown role %q: want server, agent or client", role)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := newSerial()
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "mesh " + role, Organization: []string{"mesh"}, OrganizationalUnit: []string{role}},
		NotBefore:    now.Add(-time.Minute),
		NotAfter:     now.Add(validity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		// Servers dial each other and agents dial servers: server and
		// agent certificates serve and present themselves as clients.
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		URIs:        []*url.URL{RoleURI(role)},
	}
	if role == RoleClient {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	for _, h := range hosts {
		h = strings.TrimSpace(h)
		switch {
		case h == "":
		case net.ParseIP(h) != nil:
			tmpl.IPAddresses = append(tmpl.IPAddresses, net.ParseIP(h))
		default:
			if strings.ContainsAny(h, " /:@") {
				return nil, nil, fmt.Errorf("host %q is neither an IP address nor a DNS name", h)
			}
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.Key)
	if err != nil {
		return nil, nil, err
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pemBlock("CERTIFICATE", der), pemBlock("EC PRIVATE KEY", kder), nil
}

func newSerial() (*big.Int, error) {
	return rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
}

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

// LoadCA reads the CA Init wrote in dir.
func LoadCA(dir string) (*CA, error) {
	certPEM, err := os.ReadFile(filepath.Join(dir, CAFile))
	if err != nil {
		return nil, fmt.Errorf("read CA certificate: %w", err)
	}
	keyPEM, err := os.ReadFile(filepath.Join(dir, CAKeyFile))
	if err != nil {
		return nil, fmt.Errorf("read CA key: %w", err)
	}
	certs, err := ParseCertificates(certPEM)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, CAFile), err)
	}
	if !certs[0].IsCA {
		return nil, fmt.Errorf("%s is not a CA certificate", filepath.Join(dir, CAFile))
	}
	blk, _ := pem.Decode(keyPEM)
	if blk == nil || blk.Type != "EC PRIVATE KEY" {
		return nil, fmt.Errorf("%s holds no EC PRIVATE KEY block", filepath.Join(dir, CAKeyFile))
	}
	key, err := x509.ParseECPrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, CAKeyFile), err)
	}
	if !key.PublicKey.Equal(certs[0].PublicKey) {
		return nil, fmt.Errorf("%s is not the key of %s", CAKeyFile, CAFile)
	}
	return &CA{Cert: certs[0], Key: key, PEM: certPEM}, nil
}

// ParseCertificates decodes every CERTIFICATE block of a PEM file; other
// blocks are an error, and so is a file without any.
func ParseCertificates(data []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for {
		var blk *pem.Block
		blk, data = pem.Decode(data)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("unexpected PEM block %q: want CERTIFICATE", blk.Type)
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate %d: %w", len(out)+1, err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, errors.New("no PEM CERTIFICATE block found")
	}
	return out, nil
}

// writeNew writes data to a file that must not exist yet, with mode.
func writeNew(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("%s exists; mesh does not overwrite certificates or keys", path)
		}
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// WritePair writes PREFIX.pem (0644) and PREFIX-key.pem (0600), refusing
// to overwrite either.
func WritePair(prefix string, certPEM, keyPEM []byte) error {
	for _, p := range []string{prefix + ".pem", prefix + "-key.pem"} {
		if _, err := os.Lstat(p); err == nil {
			return fmt.Errorf("%s exists; mesh does not overwrite certificates or keys", p)
		}
	}
	if err := writeNew(prefix+"-key.pem", keyPEM, 0o600); err != nil {
		return err
	}
	return writeNew(prefix+".pem", certPEM, 0o644)
}

// Init creates dir (if needed) and writes a new CA (ca.pem, ca-key.pem)
// and a server, an agent and a client certificate signed by it
// (ROLE.pem, ROLE-key.pem), each valid for hosts. It refuses a directory
// that already holds any of these files.
func Init(dir string, hosts []string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	names := []string{CAFile, CAKeyFile}
	for _, r := range Roles {
		names = append(names, r+".pem", r+"-key.pem")
	}
	for _, n := range names {
		if _, err := os.Lstat(filepath.Join(dir, n)); err == nil {
			return fmt.Errorf("%s exists; mesh does not overwrite certificates or keys", filepath.Join(dir, n))
		}
	}
	ca, err := NewCA(CAValidity)
	if err != nil {
		return err
	}
	kder, err := x509.MarshalECPrivateKey(ca.Key)
	if err != nil {
		return err
	}
	if err := writeNew(filepath.Join(dir, CAKeyFile), pemBlock("EC PRIVATE KEY", kder), 0o600); err != nil {
		return err
	}
	if err := writeNew(filepath.Join(dir, CAFile), ca.PEM, 0o644); err != nil {
		return err
	}
	for _, r := range Roles {
		c, k, err := ca.Issue(r, hosts, CertValidity)
		if err != nil {
			return err
		}
		if err := WritePair(filepath.Join(dir, r), c, k); err != nil {
			return err
		}
	}
	return nil
}
