package mesos

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Secret is Mesos' Secret: a reference to a secret kept elsewhere, which
// only a secret resolver can read, or the secret's data itself.
type Secret struct {
	Type      string `json:"type,omitempty"` // REFERENCE or VALUE
	Reference *struct {
		Name string `json:"name"`
		Key  string `json:"key,omitempty"`
	} `json:"reference,omitempty"`
	Value *struct {
		Data Bytes `json:"data"`
	} `json:"value,omitempty"`
}

// ErrSecretReference is returned for a secret given by reference: mesh
// has no secret resolver.
var ErrSecretReference = errors.New("secrets given by reference need a secret resolver, which mesh does not have; give the secret by value")

// Resolve returns the variable's value: its value for type VALUE, the data
// of a secret given by value for type SECRET, as Mesos' default secret
// resolver does. Errors name the variable, never a value.
func (v EnvironmentVariable) Resolve() (string, error) {
	switch v.Type {
	case "", "VALUE":
		return v.Value, nil
	case "SECRET":
	default:
		return "", fmt.Errorf("environment variable %s: unknown type %q (want VALUE or SECRET)", v.Name, v.Type)
	}
	if len(v.Secret) == 0 {
		return "", fmt.Errorf("environment variable %s: type SECRET without a secret", v.Name)
	}
	var sec Secret
	if err := json.Unmarshal(v.Secret, &sec); err != nil {
		// The decoder's message may quote the input: leave it out.
		return "", fmt.Errorf("environment variable %s: the secret is not a Mesos Secret", v.Name)
	}
	switch {
	case sec.Type == "REFERENCE" || (sec.Type == "" && sec.Reference != nil):
		return "", fmt.Errorf("environment variable %s: %w", v.Name, ErrSecretReference)
	case (sec.Type == "VALUE" || sec.Type == "") && sec.Value != nil:
		return string(sec.Value.Data), nil
	default:
		return "", fmt.Errorf("environment variable %s: a secret of type %q without its value", v.Name, sec.Type)
	}
}
