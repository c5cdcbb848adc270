package auth

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
)

// ErrBadCredential is the error of a request whose Authorization header
// is malformed or names a principal, secret or token that is not known.
var ErrBadCredential = errors.New("bad credential")

// RoleAgent is the Identity.Role of an agent that proved itself with the
// cluster's join token rather than a certificate.
const RoleAgent = "agent"

// Authorization is a parsed Authorization header: HTTP Basic (Principal
// and Secret) or Bearer (Token).
type Authorization struct {
	Scheme    string // "Basic" or "Bearer"
	Principal string
	Secret    string
	Token     string
}

// maxAuthorizationBytes bounds the header value parsed.
const maxAuthorizationBytes = 8 << 10

// ParseAuthorization decodes an Authorization header value. An error
// says what is wrong with it and never quotes a secret.
func ParseAuthorization(h string) (Authorization, error) {
	if len(h) > maxAuthorizationBytes {
		return Authorization{}, fmt.Errorf("%w: the Authorization header is longer than %d bytes", ErrBadCredential, maxAuthorizationBytes)
	}
	scheme, rest, _ := strings.Cut(strings.TrimSpace(h), " ")
	rest = strings.TrimSpace(rest)
	switch {
	case strings.EqualFold(scheme, "Basic"):
		raw, err := base64.StdEncoding.DecodeString(rest)
		if err != nil {
			return Authorization{}, fmt.Errorf("%w: the Basic credential is not base64", ErrBadCredential)
		}
		p, s, ok := strings.Cut(string(raw), ":")
		if !ok || p == "" {
			return Authorization{}, fmt.Errorf("%w: the Basic credential is not \"principal:secret\"", ErrBadCredential)
		}
		return Authorization{Scheme: "Basic", Principal: p, Secret: s}, nil
	case strings.EqualFold(scheme, "Bearer"):
		if rest == "" || strings.ContainsAny(rest, " \t") {
			return Authorization{}, fmt.Errorf("%w: the Bearer token is empty or holds a space", ErrBadCredential)
		}
		return Authorization{Scheme: "Bearer", Token: rest}, nil
	default:
		return Authorization{}, fmt.Errorf("%w: unsupported Authorization scheme (mesh takes Basic and Bearer)", ErrBadCredential)
	}
}

// BasicHeader is the Authorization header value of HTTP Basic for
// principal and secret.
func BasicHeader(principal, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(principal+":"+secret))
}

// Secret is a secret read from a file (a join token, a client's secret),
// reread by Reload; the zero value and nil hold none.
type Secret struct {
	path string
	v    atomic.Pointer[string]
}

// LoadSecret reads the secret of the file at path: its content without
// surrounding white space, which must not be empty.
func LoadSecret(path string) (*Secret, error) {
	s := &Secret{path: path}
	if err := s.Reload(); err != nil {
		return nil, err
	}
	return s, nil
}

// NewSecret holds v (no file to reload).
func NewSecret(v string) *Secret {
	s := &Secret{}
	s.v.Store(&v)
	return s
}

// Reload reads the file again; on error the current secret stays.
func (s *Secret) Reload() error {
	if s == nil || s.path == "" {
		return nil
	}
	data, err := os.ReadFile(s.path)
	if err != nil {
		return err
	}
	v := strings.TrimSpace(string(data))
	if v == "" {
		return fmt.Errorf("%s is empty", s.path)
	}
	if strings.ContainsFunc(v, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return fmt.Errorf("%s holds a control character: a secret must fit on one line", s.path)
	}
	s.v.Store(&v)
	return nil
}

// Value is the secret, "" without one.
func (s *Secret) Value() string {
	if s == nil {
		return ""
	}
	if v := s.v.Load(); v != nil {
		return *v
	}
	return ""
}

// Matches reports, in time independent of the secret, whether v is the
// secret. An empty secret matches nothing.
func (s *Secret) Matches(v string) bool {
	want := s.Value()
	a, b := sha256.Sum256([]byte(v)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1 && want != ""
}

// Authenticator establishes who sent a request from its Authorization
// header: HTTP Basic or a bearer token against the credentials, or the
// agents' join token.
type Authenticator struct {
	// Credentials are the principals and secrets of frameworks and
	// operators (nil: none).
	Credentials *Credentials
	// JoinToken, when set, is the bearer token that proves an agent.
	JoinToken *Secret
}

// Authenticate returns the identity the Authorization header of r
// proves, starting from id (the role of a verified client certificate,
// when there is one). Without the header it returns id unchanged; a
// header that does not prove anyone is ErrBadCredential.
func (a *Authenticator) Authenticate(r *http.Request, id Identity) (Identity, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return id, nil
	}
	c, err := ParseAuthorization(h)
	if err != nil {
		return id, err
	}
	switch {
	case c.Scheme == "Basic":
		if !a.Credentials.Verify(c.Principal, c.Secret) {
			return id, fmt.Errorf("%w: the principal or its secret is wrong", ErrBadCredential)
		}
		id.Principal = c.Principal
	case a.JoinToken.Matches(c.Token):
		if id.Role == "" {
			id.Role = RoleAgent
		}
	default:
		p, ok := a.Credentials.Token(c.Token)
		if !ok {
			return id, fmt.Errorf("%w: the bearer token is not known", ErrBadCredential)
		}
		id.Principal = p
	}
	return id, nil
}

// Transport adds an Authorization header to each request it carries that
// has none, on redirects to other hosts too (where Go's client drops the
// header it was given): the servers of one cluster redirect to their
// leader.
type Transport struct {
	// Base carries the requests; nil is http.DefaultTransport.
	Base http.RoundTripper
	// Header returns the header value, read per request so that a
	// reloaded secret is used from the next request on; "" adds none.
	Header func() string
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(r *http.Request) (*http.Response, error) {
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	if r.Header.Get("Authorization") == "" {
		if h := t.Header(); h != "" {
			r = r.Clone(r.Context())
			r.Header.Set("Authorization", h)
		}
	}
	return base.RoundTrip(r)
}
