package mesos

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestEnvironmentRedacted_WithholdsSecretValuesOnly(t *testing.T) {
	const data = "c2VjcmV0LXZhbHVl" // base64 of "secret-value"
	env := &Environment{Variables: []EnvironmentVariable{
		{Name: "PLAIN", Value: "shown"},
		{Name: "TOKEN", Type: "SECRET", Secret: json.RawMessage(`{"type":"VALUE","value":{"data":"` + data + `"}}`)},
		{Name: "REF", Type: "SECRET", Secret: json.RawMessage(`{"type":"REFERENCE","reference":{"name":"vault/db"}}`)},
		{Name: "BAD", Type: "SECRET", Secret: json.RawMessage(`"not a secret object ` + data + `"`)},
	}}
	before, _ := json.Marshal(env)
	out := env.Redacted()
	after, _ := json.Marshal(out)
	if strings.Contains(string(after), data) {
		t.Fatalf("a secret value is shown: %s", after)
	}
	if !strings.Contains(string(after), `"shown"`) || !strings.Contains(string(after), "vault/db") {
		t.Fatalf("a plain value or a reference is withheld: %s", after)
	}
	if again, _ := json.Marshal(env); string(again) != string(before) {
		t.Fatalf("Redacted changed its receiver: %s", again)
	}
	if out.Variables[1].Type != "SECRET" || string(out.Variables[1].Secret) != `{"type":"VALUE"}` {
		t.Fatalf("redacted secret variable: %+v", out.Variables[1])
	}
	var nilEnv *Environment
	if nilEnv.Redacted() != nil || (*CommandInfo)(nil).Redacted() != nil {
		t.Fatal("nil is not redacted to nil")
	}
	e := ExecutorInfo{Command: &CommandInfo{Value: "x", Environment: env}}
	if b, _ := json.Marshal(e.Redacted()); strings.Contains(string(b), data) {
		t.Fatalf("an executor shows a secret: %s", b)
	}
}
