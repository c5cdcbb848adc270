package mesos

import "encoding/json"

// redactedSecret replaces the secret of a SECRET variable in what mesh
// shows: its type stays, its value is withheld. A secret given by
// reference names where it is kept, which is no secret, and stays.
var redactedSecret = json.RawMessage(`{"type":"VALUE"}`)

// Redacted returns env with the value of every secret withheld, for
// showing; env itself is left as it is (the replicated state and the
// agent still need the value). nil stays nil.
func (env *Environment) Redacted() *Environment {
	if env == nil {
		return nil
	}
	out := &Environment{Variables: make([]EnvironmentVariable, len(env.Variables))}
	for i, v := range env.Variables {
		if v.Type == "SECRET" || len(v.Secret) > 0 {
			var sec Secret
			if json.Unmarshal(v.Secret, &sec) != nil || sec.Reference == nil || sec.Value != nil {
				v.Secret = redactedSecret
			}
			// A SECRET variable carries no plain value; one given
			// anyway is refused at launch, and withheld here too.
			if v.Type == "SECRET" {
				v.Value = ""
			}
		}
		out.Variables[i] = v
	}
	return out
}

// Redacted returns a copy of c whose environment shows no secret value.
func (c *CommandInfo) Redacted() *CommandInfo {
	if c == nil {
		return nil
	}
	out := *c
	out.Environment = c.Environment.Redacted()
	return &out
}

// Redacted returns a copy of e whose command shows no secret value.
func (e ExecutorInfo) Redacted() ExecutorInfo {
	e.Command = e.Command.Redacted()
	return e
}

// Redacted returns a copy of h whose command shows no secret value.
func (h *HealthCheck) Redacted() *HealthCheck {
	if h == nil || h.Command == nil {
		return h
	}
	out := *h
	out.Command = h.Command.Redacted()
	return &out
}
