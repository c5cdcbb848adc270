package mesos

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestEnvironmentVariableResolve(t *testing.T) {
	for _, c := range []struct {
		name, v, want, err string
	}{
		{"plain", `{"name":"A","value":"x"}`, "x", ""},
		{"value type", `{"name":"A","type":"VALUE","value":"x"}`, "x", ""},
		{"secret by value", `{"name":"A","type":"SECRET","secret":{"type":"VALUE","value":{"data":"aHVudGVyMg=="}}}`, "hunter2", ""},
		{"secret by value, no type", `{"name":"A","type":"SECRET","secret":{"value":{"data":"aHVudGVyMg=="}}}`, "hunter2", ""},
		{"secret by reference", `{"name":"A","type":"SECRET","secret":{"type":"REFERENCE","reference":{"name":"/db/password"}}}`, "", "secret resolver"},
		{"reference, no type", `{"name":"A","type":"SECRET","secret":{"reference":{"name":"/db/password"}}}`, "", "secret resolver"},
		{"secret missing", `{"name":"A","type":"SECRET"}`, "", "without a secret"},
		{"value missing", `{"name":"A","type":"SECRET","secret":{"type":"VALUE"}}`, "", "without its value"},
		{"not base64", `{"name":"A","type":"SECRET","secret":{"value":{"data":"%%hunter2%%"}}}`, "", "not a Mesos Secret"},
		{"unknown type", `{"name":"A","type":"FILE","value":"x"}`, "", "unknown type"},
	} {
		var v EnvironmentVariable
		if err := json.Unmarshal([]byte(c.v), &v); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		got, err := v.Resolve()
		switch {
		case c.err == "" && (err != nil || got != c.want):
			t.Errorf("%s: Resolve = %q, %v; want %q", c.name, got, err, c.want)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err) || !strings.Contains(err.Error(), "variable A")):
			t.Errorf("%s: error %v, want one naming A and %q", c.name, err, c.err)
		case err != nil && strings.Contains(err.Error(), "hunter2"):
			t.Errorf("%s: error shows the secret: %v", c.name, err)
		}
	}
	var v EnvironmentVariable
	json.Unmarshal([]byte(`{"name":"A","type":"SECRET","secret":{"type":"REFERENCE","reference":{"name":"x"}}}`), &v)
	if _, err := v.Resolve(); !errors.Is(err, ErrSecretReference) {
		t.Errorf("a reference: %v, want ErrSecretReference", err)
	}
}

// FuzzResolveEnvironmentVariable: any secret JSON resolves or fails with
// an error that names the variable and does not repeat the secret.
func FuzzResolveEnvironmentVariable(f *testing.F) {
	f.Add("SECRET", `{"type":"VALUE","value":{"data":"aHVudGVyMg=="}}`)
	f.Add("SECRET", `{"type":"REFERENCE","reference":{"name":"/db/pw","key":"k"}}`)
	f.Add("SECRET", `{"value":{"data":"not base64 hunter2"}}`)
	f.Add("VALUE", ``)
	f.Add("SECRET", `[1,2,3]`)
	f.Fuzz(func(t *testing.T, typ, secret string) {
		v := EnvironmentVariable{Name: "VAR", Type: typ}
		if json.Valid([]byte(secret)) {
			v.Secret = json.RawMessage(secret)
		}
		_, err := v.Resolve()
		if err == nil {
			return
		}
		if !strings.Contains(err.Error(), "VAR") {
			t.Fatalf("error does not name the variable: %v", err)
		}
		if len(v.Secret) >= 12 && strings.Contains(err.Error(), string(v.Secret)) {
			t.Fatalf("error repeats the secret: %v", err)
		}
	})
}
