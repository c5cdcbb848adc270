package auth

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestAuthenticator_BasicBearerAndJoinToken(t *testing.T) {
	a := &Authenticator{
		Credentials: NewCredentials([]Credential{{Principal: "ops", Secret: "ops-secret"}}),
		JoinToken:   NewSecret("join-secret"),
	}
	for _, tc := range []struct {
		name, header string
		cert         Identity
		want         Identity
		bad          bool
	}{
		{name: "none", want: Identity{}},
		{name: "certificate only", cert: Identity{Role: "server"}, want: Identity{Role: "server"}},
		{name: "basic", header: BasicHeader("ops", "ops-secret"), want: Identity{Principal: "ops"}},
		{name: "basic with a certificate", header: BasicHeader("ops", "ops-secret"), cert: Identity{Role: "client"}, want: Identity{Principal: "ops", Role: "client"}},
		{name: "basic wrong secret", header: BasicHeader("ops", "nope"), bad: true},
		{name: "basic unknown principal", header: BasicHeader("who", "ops-secret"), bad: true},
		{name: "bearer credential", header: "Bearer ops-secret", want: Identity{Principal: "ops"}},
		{name: "bearer join token", header: "Bearer join-secret", want: Identity{Role: RoleAgent}},
		{name: "bearer unknown", header: "Bearer nope", bad: true},
		{name: "join token as basic", header: BasicHeader("agent", "join-secret"), bad: true},
		{name: "other scheme", header: "Digest x", bad: true},
		{name: "not base64", header: "Basic !!!", bad: true},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		if tc.header != "" {
			r.Header.Set("Authorization", tc.header)
		}
		got, err := a.Authenticate(r, tc.cert)
		if tc.bad {
			if !errors.Is(err, ErrBadCredential) {
				t.Errorf("%s: got %+v, %v; want ErrBadCredential", tc.name, got, err)
			}
			if err != nil && (strings.Contains(err.Error(), "ops-secret") || strings.Contains(err.Error(), "join-secret")) {
				t.Errorf("%s: the error quotes a secret: %v", tc.name, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s: got %+v, %v; want %+v", tc.name, got, err, tc.want)
		}
	}
}

func TestAuthenticator_NoJoinTokenMatchesNothing(t *testing.T) {
	a := &Authenticator{}
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer x")
	if id, err := a.Authenticate(r, Identity{}); err == nil {
		t.Fatalf("an authenticator without credentials or a join token proved %+v", id)
	}
}

func TestLoadSecret_TrimsAndRefuses(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "token")
	if err := os.WriteFile(p, []byte("  tok-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := LoadSecret(p)
	if err != nil || s.Value() != "tok-1" || !s.Matches("tok-1") || s.Matches("tok-2") {
		t.Fatalf("LoadSecret: %v, %q", err, s.Value())
	}
	for _, bad := range []string{"\n\n", "a\nb"} {
		if err := os.WriteFile(p, []byte(bad), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := s.Reload(); err == nil {
			t.Errorf("reload of %q: no error", bad)
		}
	}
	if s.Value() != "tok-1" {
		t.Fatal("a bad file replaced the secret")
	}
	if (*Secret)(nil).Matches("") || NewSecret("").Matches("") {
		t.Fatal("an empty secret matches")
	}
}

func FuzzParseAuthorization(f *testing.F) {
	for _, s := range []string{BasicHeader("ops", "s"), "Bearer tok", "Basic", "bearer  x ", "Basic Og==", "Negotiate abc"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		c, err := ParseAuthorization(h)
		if err != nil {
			if !errors.Is(err, ErrBadCredential) {
				t.Fatalf("error %v is not ErrBadCredential", err)
			}
			return
		}
		switch c.Scheme {
		case "Basic":
			back, err := ParseAuthorization(BasicHeader(c.Principal, c.Secret))
			if err != nil || back != c {
				t.Fatalf("basic round trip: %+v -> %+v, %v", c, back, err)
			}
		case "Bearer":
			if c.Token == "" {
				t.Fatal("an empty bearer token parsed")
			}
		default:
			t.Fatalf("scheme %q parsed", c.Scheme)
		}
	})
}

// BenchmarkAuthenticate measures what authentication adds to a request:
// parsing the header and checking it against 1,000 principals.
func BenchmarkAuthenticate(b *testing.B) {
	creds := make([]Credential, 1000)
	for i := range creds {
		creds[i] = Credential{Principal: "p" + strconv.Itoa(i), Secret: "secret-" + strconv.Itoa(i)}
	}
	a := &Authenticator{Credentials: NewCredentials(creds), JoinToken: NewSecret("join")}
	for name, h := range map[string]string{"basic": BasicHeader("p500", "secret-500"), "bearer": "Bearer secret-500"} {
		b.Run(name, func(b *testing.B) {
			r := httptest.NewRequest("GET", "/", nil)
			r.Header.Set("Authorization", h)
			for i := 0; i < b.N; i++ {
				if id, err := a.Authenticate(r, Identity{}); err != nil || id.Principal != "p500" {
					b.Fatal(id, err)
				}
			}
		})
	}
}

// TestTransport_KeepsTheCredentialAcrossHosts: a redirect to another host
// (a follower pointing at its leader) still carries the credential, which
// Go's client drops on its own.
func TestTransport_KeepsTheCredentialAcrossHosts(t *testing.T) {
	want := BasicHeader("ops", "s")
	got := make(chan string, 1)
	leader := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Get("Authorization")
	}))
	defer leader.Close()
	u, _ := url.Parse(leader.URL)
	// The follower names the leader by another host name than the one
	// the client dialed.
	follower := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://localhost:"+u.Port()+"/state", http.StatusTemporaryRedirect)
	}))
	defer follower.Close()
	for name, c := range map[string]*http.Client{
		"plain":     {},
		"transport": {Transport: &Transport{Header: func() string { return want }}},
	} {
		req, _ := http.NewRequest("GET", follower.URL+"/state", nil)
		if name == "plain" {
			req.Header.Set("Authorization", want)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		h := <-got
		switch {
		case name == "plain" && h != "":
			t.Log("Go's client kept the header across hosts: the Transport is not needed for it")
		case name == "transport" && h != want:
			t.Fatalf("the leader got Authorization %q, want %q", h, want)
		}
	}
}
