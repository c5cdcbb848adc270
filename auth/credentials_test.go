package auth

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseCredentials_JSONAndTextForms(t *testing.T) {
	want := []Credential{{Principal: "ops", Secret: "s3cret-ops"}, {Principal: "fw", Secret: "s3cret-fw"}}
	for name, in := range map[string]string{
		"json": `{"credentials": [{"principal": "ops", "secret": "s3cret-ops"}, {"principal": "fw", "secret": "s3cret-fw"}]}`,
		"text": "# mesh principals\nops s3cret-ops\n\n  fw\ts3cret-fw  \n",
	} {
		got, err := ParseCredentials([]byte(in))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
			t.Fatalf("%s: got %+v, want %+v", name, got, want)
		}
	}
}

func TestParseCredentials_RefusalsNeverQuoteASecret(t *testing.T) {
	const secret = "TOPSECRETVALUE"
	for in, wantErr := range map[string]string{
		`{"credentials": [{"principal": "ops"}]}`:                                   `principal "ops" has no secret`,
		`{"credentials": [{"secret": "TOPSECRETVALUE"}]}`:                           "entry 1 has no principal",
		`{"credentials": [{"principal": "a", "secret": "TOPSECRETVALUE"`:            "the file ends early",
		`{"credentials": [{"principal": "a", "secret": 7}]}`:                        `field "credentials.secret" must be a string`,
		`{"credentials": [{"principal": "a", "secret": "x", "TOPSECRETVALUE": 1}]}`: "unknown field",
		`{"creds": []}`:             "unknown field",
		`{}`:                        `no "credentials" list`,
		"a TOPSECRETVALUE\na other": `principal "a" is named twice`,
		"a TOPSECRETVALUE extra":    "line 1 has 3 fields",
		`{"credentials": [{"principal": "a:b", "secret": "TOPSECRETVALUE"}]}`: "no ':'",
		`{"credentials": []} {"credentials": []}`:                             "more than one JSON value",
	} {
		_, err := ParseCredentials([]byte(in))
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("%q: got error %v, want one saying %q", in, err, wantErr)
			continue
		}
		if strings.Contains(err.Error(), secret) && !strings.Contains(wantErr, "unknown field") {
			t.Errorf("%q: the error %q quotes the secret", in, err)
		}
	}
}

func TestCredentials_VerifyTokenAndReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "credentials")
	if err := os.WriteFile(path, []byte("ops one\nfw two\nx shared\ny shared\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := LoadCredentials(path)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Verify("ops", "one") || c.Verify("ops", "two") || c.Verify("nobody", "") || c.Verify("ops", "") {
		t.Fatal("Verify accepts a wrong secret or refuses the right one")
	}
	if p, ok := c.Token("two"); !ok || p != "fw" {
		t.Fatalf("Token(two) = %q, %v; want fw", p, ok)
	}
	if _, ok := c.Token("shared"); ok {
		t.Fatal("a secret two principals share names one of them as a bearer token")
	}
	if err := os.WriteFile(path, []byte("ops three\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := c.Reload(); err != nil {
		t.Fatal(err)
	}
	if c.Verify("ops", "one") || !c.Verify("ops", "three") || c.Verify("fw", "two") {
		t.Fatal("the reloaded file is not the one checked against")
	}
	if err := os.WriteFile(path, []byte("ops\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := c.Reload(); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Fatalf("reload of a bad file: %v", err)
	}
	if !c.Verify("ops", "three") {
		t.Fatal("a bad file replaced the current credentials")
	}
}

func FuzzParseCredentials(f *testing.F) {
	for _, s := range []string{
		`{"credentials": [{"principal": "ops", "secret": "s"}]}`,
		"ops s\nfw t\n",
		"# comment\n\n",
		`{"credentials": null}`,
		`{"credentials": [{"principal": "", "secret": ""}]}`,
		"{",
		"a b c",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		creds, err := ParseCredentials(data)
		if err != nil {
			return
		}
		c := NewCredentials(creds)
		for _, cr := range creds {
			if cr.Principal == "" || cr.Secret == "" {
				t.Fatalf("accepted an empty principal or secret: %+v", cr)
			}
			if !c.Verify(cr.Principal, cr.Secret) {
				t.Fatalf("a parsed credential does not verify: %q", cr.Principal)
			}
		}
	})
}
