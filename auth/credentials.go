package auth

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync/atomic"
	"unicode"
)

// Credential is one principal and its secret, as in Mesos' credentials
// file.
type Credential struct {
	Principal string `json:"principal"`
	Secret    string `json:"secret"`
}

// maxCredentialsBytes bounds a credentials file.
const maxCredentialsBytes = 4 << 20

// ParseCredentials decodes a credentials file in either of the forms
// Mesos reads: JSON, {"credentials": [{"principal": "..", "secret": ".."}]},
// or text, one "principal secret" pair a line (blank lines and lines
// starting with # are skipped). Every principal must be named once and
// have a secret. An error says where the file is wrong and never quotes a
// secret.
func ParseCredentials(data []byte) ([]Credential, error) {
	if len(data) > maxCredentialsBytes {
		return nil, fmt.Errorf("credentials: %d bytes, more than the %d a credentials file may hold", len(data), maxCredentialsBytes)
	}
	trimmed := bytes.TrimLeftFunc(data, unicode.IsSpace)
	var creds []Credential
	var err error
	if len(trimmed) > 0 && trimmed[0] == '{' {
		creds, err = parseCredentialsJSON(trimmed)
	} else {
		creds, err = parseCredentialsText(data)
	}
	if err != nil {
		return nil, err
	}
	seen := make(map[string]bool, len(creds))
	for i, c := range creds {
		switch {
		case c.Principal == "":
			return nil, fmt.Errorf("credentials: entry %d has no principal", i+1)
		case c.Secret == "":
			return nil, fmt.Errorf("credentials: principal %q has no secret", c.Principal)
		case strings.ContainsFunc(c.Principal, unicode.IsControl) || strings.Contains(c.Principal, ":"):
			return nil, fmt.Errorf("credentials: entry %d: a principal may hold no ':' or control character (HTTP Basic could not carry it)", i+1)
		case seen[c.Principal]:
			return nil, fmt.Errorf("credentials: principal %q is named twice", c.Principal)
		}
		seen[c.Principal] = true
	}
	return creds, nil
}

func parseCredentialsJSON(data []byte) ([]Credential, error) {
	var f struct {
		Credentials *[]Credential `json:"credentials"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		// The decoder's message may quote the input (a secret): give
		// only where it failed.
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			return nil, fmt.Errorf("credentials: not valid JSON at byte %d", se.Offset)
		case errors.Is(err, io.ErrUnexpectedEOF):
			return nil, errors.New("credentials: not valid JSON: the file ends early")
		case errors.As(err, &te):
			return nil, fmt.Errorf("credentials: field %q must be a %s", te.Field, te.Type)
		case strings.HasPrefix(err.Error(), "json: unknown field"):
			return nil, fmt.Errorf("credentials: %s (want {\"credentials\": [{\"principal\": .., \"secret\": ..}]})", strings.TrimPrefix(err.Error(), "json: "))
		default:
			return nil, errors.New("credentials: not a JSON object of the form {\"credentials\": [{\"principal\": .., \"secret\": ..}]}")
		}
	}
	if dec.More() {
		return nil, errors.New("credentials: more than one JSON value in the file")
	}
	if f.Credentials == nil {
		return nil, errors.New("credentials: no \"credentials\" list")
	}
	return *f.Credentials, nil
}

func parseCredentialsText(data []byte) ([]Credential, error) {
	var creds []Credential
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), maxCredentialsBytes)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) != 2 {
			return nil, fmt.Errorf("credentials: line %d has %d fields; want \"principal secret\"", n, len(fields))
		}
		creds = append(creds, Credential{Principal: fields[0], Secret: fields[1]})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("credentials: %w", err)
	}
	return creds, nil
}

// Credentials holds the principals of a credentials file; Reload swaps
// them whole, so a request checked while a file is reloaded sees either
// the old set or the new one.
type Credentials struct {
	path string
	set  atomic.Pointer[credentialSet]
}

type credentialSet struct {
	// secrets maps a principal to its secret.
	secrets map[string]string
	// tokens maps the hash of a secret to its principal, for bearer
	// tokens; a secret two principals share is in ambiguous instead.
	tokens    map[[sha256.Size]byte]string
	ambiguous map[[sha256.Size]byte]bool
}

// NewCredentials holds creds (no file to reload).
func NewCredentials(creds []Credential) *Credentials {
	c := &Credentials{}
	c.set.Store(newCredentialSet(creds))
	return c
}

// LoadCredentials reads the credentials file at path.
func LoadCredentials(path string) (*Credentials, error) {
	c := &Credentials{path: path}
	if err := c.Reload(); err != nil {
		return nil, err
	}
	return c, nil
}

// Reload reads the file again; on error the current credentials stay.
func (c *Credentials) Reload() error {
	if c.path == "" {
		return nil
	}
	data, err := os.ReadFile(c.path)
	if err != nil {
		return fmt.Errorf("-credentials: %w", err)
	}
	creds, err := ParseCredentials(data)
	if err != nil {
		return fmt.Errorf("-credentials %s: %w", c.path, err)
	}
	c.set.Store(newCredentialSet(creds))
	return nil
}

// Path is the file the credentials are read from, "" without one.
func (c *Credentials) Path() string { return c.path }

// Len is how many principals there are.
func (c *Credentials) Len() int { return len(c.set.Load().secrets) }

func newCredentialSet(creds []Credential) *credentialSet {
	s := &credentialSet{
		secrets:   make(map[string]string, len(creds)),
		tokens:    make(map[[sha256.Size]byte]string, len(creds)),
		ambiguous: map[[sha256.Size]byte]bool{},
	}
	for _, c := range creds {
		s.secrets[c.Principal] = c.Secret
		h := sha256.Sum256([]byte(c.Secret))
		if _, dup := s.tokens[h]; dup {
			s.ambiguous[h] = true
		}
		s.tokens[h] = c.Principal
	}
	return s
}

// Verify reports whether secret is principal's secret. The comparison
// takes the same time whatever the secret, and for a principal that does
// not exist.
func (c *Credentials) Verify(principal, secret string) bool {
	if c == nil {
		return false
	}
	want, ok := c.set.Load().secrets[principal]
	a, b := sha256.Sum256([]byte(secret)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1 && ok
}

// Token returns the principal whose secret is token: a credential's
// secret is also its principal's bearer token. A secret two principals
// share names neither.
func (c *Credentials) Token(token string) (string, bool) {
	if c == nil || token == "" {
		return "", false
	}
	s := c.set.Load()
	h := sha256.Sum256([]byte(token))
	p, ok := s.tokens[h]
	if !ok || s.ambiguous[h] {
		return "", false
	}
	return p, true
}
