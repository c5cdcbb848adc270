package acl

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
)

// MaxFileBytes bounds an ACL file.
const MaxFileBytes = 4 << 20

// Parse reads an ACL file in Mesos' JSON format:
//
//	{"permissive": false,
//	 "register_frameworks": [{"principals": {"values": ["a"]}, "roles": {"values": ["eng/%"]}}],
//	 "view_flags": [{"principals": {"type": "ANY"}, "flags": {"type": "NONE"}}]}
//
// An error says where the file is wrong; nothing of a wrong file is used.
func Parse(data []byte) (*ACLs, error) {
	if len(data) > MaxFileBytes {
		return nil, fmt.Errorf("the ACL file holds %d bytes, more than the %d allowed", len(data), MaxFileBytes)
	}
	var top map[string]json.RawMessage
	if err := strictUnmarshal(data, &top); err != nil {
		return nil, fmt.Errorf("the ACL file is not a JSON object: %v", err)
	}
	if top == nil {
		return nil, fmt.Errorf("the ACL file is not a JSON object: it is null")
	}
	out := &ACLs{rules: map[Action][]Rule{}}
	keys := make([]string, 0, len(top))
	for k := range top {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		raw := top[k]
		if k == "permissive" {
			if err := strictUnmarshal(raw, &out.Permissive); err != nil {
				return nil, fmt.Errorf("\"permissive\" must be true or false: %v", err)
			}
			continue
		}
		if ignoredActions[k] {
			out.ignored = append(out.ignored, k)
			continue
		}
		spec, ok := actions[Action(k)]
		if !ok {
			return nil, fmt.Errorf("unknown action %q in the ACL file (known: %s)", k, strings.Join(knownActions(), ", "))
		}
		rules, err := parseRules(raw, spec)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		out.rules[Action(k)] = rules
	}
	return out, nil
}

// parseRules reads the list of rules of one action.
func parseRules(raw json.RawMessage, spec actionSpec) ([]Rule, error) {
	var list []map[string]json.RawMessage
	if err := strictUnmarshal(raw, &list); err != nil {
		return nil, fmt.Errorf("expecting a list of rules: %v", err)
	}
	var out []Rule
	for i, m := range list {
		if m == nil {
			return nil, fmt.Errorf("rule %d is null", i)
		}
		for k := range m {
			if k != "principals" && k != spec.objects {
				return nil, fmt.Errorf("rule %d has an unknown field %q (expecting \"principals\" and %q)", i, k, spec.objects)
			}
		}
		subj, err := parseEntity(m, "principals")
		if err != nil {
			return nil, fmt.Errorf("rule %d: %w", i, err)
		}
		obj, err := parseEntity(m, spec.objects)
		if err != nil {
			return nil, fmt.Errorf("rule %d: %w", i, err)
		}
		out = append(out, splitRecursive(Rule{Subjects: subj, Objects: obj}, spec)...)
	}
	return out, nil
}

// splitRecursive gives each recursive role value ("eng/%") a rule of its
// own, in place: the rules stay in order, so the first match is the same.
func splitRecursive(r Rule, spec actionSpec) []Rule {
	if !spec.roles || r.Objects.Kind != Some {
		return []Rule{r}
	}
	var out []Rule
	var plain []string
	for _, v := range r.Objects.Values {
		if strings.HasSuffix(v, "/%") || strings.HasSuffix(v, "/*") {
			out = append(out, Rule{Subjects: r.Subjects, Objects: Entity{Kind: Some, Values: []string{v}}})
		} else {
			plain = append(plain, v)
		}
	}
	if len(plain) > 0 {
		out = append(out, Rule{Subjects: r.Subjects, Objects: Entity{Kind: Some, Values: plain}})
	}
	return out
}

// entityJSON is an entity as the file writes it.
type entityJSON struct {
	Type   *string  `json:"type"`
	Values []string `json:"values"`
}

func parseEntity(m map[string]json.RawMessage, key string) (Entity, error) {
	raw, ok := m[key]
	if !ok {
		return Entity{}, fmt.Errorf("%q is required", key)
	}
	var e entityJSON
	if err := strictUnmarshal(raw, &e); err != nil {
		return Entity{}, fmt.Errorf("%q: expecting {\"values\": [...]} or {\"type\": \"ANY\"|\"NONE\"}: %v", key, err)
	}
	kind := Some
	if e.Type != nil {
		switch *e.Type {
		case "SOME":
		case "ANY":
			kind = Any
		case "NONE":
			kind = None
		default:
			return Entity{}, fmt.Errorf("%q: unknown type %q (expecting SOME, ANY or NONE)", key, *e.Type)
		}
	}
	if kind != Some {
		if len(e.Values) > 0 {
			return Entity{}, fmt.Errorf("%q: type %s takes no values", key, kind)
		}
		return Entity{Kind: kind}, nil
	}
	if len(e.Values) == 0 {
		return Entity{}, fmt.Errorf("%q names no values: write {\"type\": \"ANY\"} or {\"type\": \"NONE\"} for all or none", key)
	}
	for _, v := range e.Values {
		if v == "" {
			return Entity{}, fmt.Errorf("%q holds an empty value", key)
		}
	}
	return Entity{Kind: Some, Values: e.Values}, nil
}

// strictUnmarshal decodes one JSON value, refusing unknown fields and
// anything after the value.
func strictUnmarshal(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("unexpected data after the JSON value")
	}
	return nil
}

func knownActions() []string {
	out := make([]string, 0, len(actions))
	for a := range actions {
		out = append(out, string(a))
	}
	sort.Strings(out)
	return out
}
