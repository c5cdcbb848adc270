package mesos

import (
	"encoding/json"
	"strings"
	"testing"
)

// constraintsJSON builds one role's constraints from a JSON group list.
func mustConstraints(t testing.TB, js string) *OfferConstraints {
	t.Helper()
	var c OfferConstraints
	if err := json.Unmarshal([]byte(js), &c); err != nil {
		t.Fatalf("bad test constraints %s: %v", js, err)
	}
	return &c
}

func textAttr(name, v string) Attribute {
	return Attribute{Name: name, Type: ValueText, Text: &Text{Value: v}}
}

func TestOfferConstraints_Predicates(t *testing.T) {
	agent := &AgentInfo{
		Hostname: "node-7.pdx1",
		Attributes: []Attribute{
			textAttr("rack", "r1"),
			{Name: "cores", Type: ValueScalar, Scalar: &Scalar{Value: 8}},
		},
		Domain: &DomainInfo{FaultDomain: &FaultDomain{Region: FaultDomainName{Name: "us-west"}, Zone: FaultDomainName{Name: "us-west-2a"}}},
	}
	bare := &AgentInfo{Hostname: "bare"}
	cases := []struct {
		name       string
		constraint string
		agent      *AgentInfo
		holds      bool
	}{
		{"exists", `{"selector":{"attribute_name":"rack"},"predicate":{"exists":{}}}`, agent, true},
		{"exists missing", `{"selector":{"attribute_name":"os"},"predicate":{"exists":{}}}`, agent, false},
		{"not exists", `{"selector":{"attribute_name":"os"},"predicate":{"not_exists":{}}}`, agent, true},
		{"not exists present", `{"selector":{"attribute_name":"rack"},"predicate":{"not_exists":{}}}`, agent, false},
		{"equals", `{"selector":{"attribute_name":"rack"},"predicate":{"text_equals":{"value":"r1"}}}`, agent, true},
		{"equals other", `{"selector":{"attribute_name":"rack"},"predicate":{"text_equals":{"value":"r2"}}}`, agent, false},
		{"equals missing", `{"selector":{"attribute_name":"os"},"predicate":{"text_equals":{"value":"r1"}}}`, agent, false},
		{"equals non-text holds", `{"selector":{"attribute_name":"cores"},"predicate":{"text_equals":{"value":"x"}}}`, agent, true},
		{"not equals", `{"selector":{"attribute_name":"rack"},"predicate":{"text_not_equals":{"value":"r2"}}}`, agent, true},
		{"not equals same", `{"selector":{"attribute_name":"rack"},"predicate":{"text_not_equals":{"value":"r1"}}}`, agent, false},
		{"not equals missing", `{"selector":{"attribute_name":"os"},"predicate":{"text_not_equals":{"value":"r1"}}}`, agent, true},
		{"matches whole", `{"selector":{"attribute_name":"rack"},"predicate":{"text_matches":{"regex":"r[0-9]"}}}`, agent, true},
		{"matches is anchored", `{"selector":{"attribute_name":"rack"},"predicate":{"text_matches":{"regex":"r"}}}`, agent, false},
		{"matches alternation anchored", `{"selector":{"attribute_name":"rack"},"predicate":{"text_matches":{"regex":"x|r"}}}`, agent, false},
		{"matches missing", `{"selector":{"attribute_name":"os"},"predicate":{"text_matches":{"regex":".*"}}}`, agent, false},
		{"not matches", `{"selector":{"attribute_name":"rack"},"predicate":{"text_not_matches":{"regex":"r[2-9]"}}}`, agent, true},
		{"not matches matching", `{"selector":{"attribute_name":"rack"},"predicate":{"text_not_matches":{"regex":"r.*"}}}`, agent, false},
		{"hostname", `{"selector":{"pseudoattribute_type":"HOSTNAME"},"predicate":{"text_matches":{"regex":"node-[0-9]+\\.pdx1"}}}`, agent, true},
		{"hostname exists", `{"selector":{"pseudoattribute_type":"HOSTNAME"},"predicate":{"exists":{}}}`, bare, true},
		{"region", `{"selector":{"pseudoattribute_type":"REGION"},"predicate":{"text_equals":{"value":"us-west"}}}`, agent, true},
		{"zone", `{"selector":{"pseudoattribute_type":"ZONE"},"predicate":{"text_equals":{"value":"us-west-2a"}}}`, agent, true},
		{"zone other", `{"selector":{"pseudoattribute_type":"ZONE"},"predicate":{"text_equals":{"value":"us-west-2b"}}}`, agent, false},
		{"no domain region", `{"selector":{"pseudoattribute_type":"REGION"},"predicate":{"exists":{}}}`, bare, false},
		{"no domain zone not equals", `{"selector":{"pseudoattribute_type":"ZONE"},"predicate":{"text_not_equals":{"value":"z"}}}`, bare, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := mustConstraints(t, `{"role_constraints":{"web":{"groups":[{"attribute_constraints":[`+tc.constraint+`]}]}}}`)
			f, err := CompileOfferConstraints(c)
			if err != nil {
				t.Fatalf("compile: %v", err)
			}
			if got := !f.Excludes("web", tc.agent); got != tc.holds {
				t.Fatalf("holds = %v, want %v (unmet: %q)", got, tc.holds, f.Unmet("web", tc.agent))
			}
			if f.Excludes("other", tc.agent) {
				t.Fatal("a role without constraints is excluded")
			}
		})
	}
}

func TestOfferConstraints_GroupsAreAnyOfAll(t *testing.T) {
	c := mustConstraints(t, `{"role_constraints":{"web":{"groups":[
		{"attribute_constraints":[
			{"selector":{"attribute_name":"rack"},"predicate":{"text_equals":{"value":"r1"}}},
			{"selector":{"attribute_name":"ssd"},"predicate":{"exists":{}}}]},
		{"attribute_constraints":[
			{"selector":{"attribute_name":"rack"},"predicate":{"text_equals":{"value":"r9"}}}]}]}}}`)
	f, err := CompileOfferConstraints(c)
	if err != nil {
		t.Fatal(err)
	}
	r1 := &AgentInfo{Attributes: []Attribute{textAttr("rack", "r1")}}
	r1ssd := &AgentInfo{Attributes: []Attribute{textAttr("rack", "r1"), textAttr("ssd", "yes")}}
	r9 := &AgentInfo{Attributes: []Attribute{textAttr("rack", "r9")}}
	if !f.Excludes("web", r1) {
		t.Error("r1 without ssd holds a group")
	}
	if f.Excludes("web", r1ssd) || f.Excludes("web", r9) {
		t.Error("an agent holding one group is excluded")
	}
	why := f.Unmet("web", r1)
	if !strings.Contains(why, `attribute "ssd" exists`) || !strings.Contains(why, `attribute "rack" text_equals "r9"`) {
		t.Errorf("unmet = %q, want each group's failing constraint", why)
	}
	var nilFilter *OfferConstraintsFilter
	if nilFilter.Excludes("web", r1) || nilFilter.Constrains("web") {
		t.Error("the nil filter excludes")
	}
}

func TestOfferConstraints_ValidationErrors(t *testing.T) {
	one := func(c string) string {
		return `{"role_constraints":{"web":{"groups":[{"attribute_constraints":[` + c + `]}]}}}`
	}
	cases := []struct {
		name, js, want string
	}{
		{"bad regex", one(`{"selector":{"attribute_name":"rack"},"predicate":{"text_matches":{"regex":"r[0-"}}}`), "Failed to construct regex from pattern 'r[0-'"},
		{"regex valid only anchored", one(`{"selector":{"attribute_name":"rack"},"predicate":{"text_matches":{"regex":"a)|(b"}}}`), "Failed to construct regex"},
		{"bad not matches regex", one(`{"selector":{"attribute_name":"rack"},"predicate":{"text_not_matches":{"regex":"(?P<"}}}`), "Failed to construct regex"},
		{"regex too complex", one(`{"selector":{"attribute_name":"rack"},"predicate":{"text_matches":{"regex":"[a-z]{1,600}"}}}`), "too complex"},
		{"no predicate", one(`{"selector":{"attribute_name":"rack"},"predicate":{}}`), "Unknown predicate type"},
		{"missing predicate", one(`{"selector":{"attribute_name":"rack"}}`), "Unknown predicate type"},
		{"two predicates", one(`{"selector":{"attribute_name":"rack"},"predicate":{"exists":{},"not_exists":{}}}`), "more than one predicate"},
		{"no selector", one(`{"predicate":{"exists":{}}}`), "Exactly one of"},
		{"two selectors", one(`{"selector":{"attribute_name":"rack","pseudoattribute_type":"HOSTNAME"},"predicate":{"exists":{}}}`), "Exactly one of"},
		{"unknown pseudoattribute", one(`{"selector":{"pseudoattribute_type":"UNKNOWN"},"predicate":{"exists":{}}}`), "Unknown pseudoattribute type"},
		{"empty groups", `{"role_constraints":{"web":{"groups":[]}}}`, "empty 'RoleConstraints::groups' for role web"},
		{"empty group", `{"role_constraints":{"web":{"groups":[{}]}}}`, "contains an empty RoleConstraints::Group"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := CompileOfferConstraints(mustConstraints(t, tc.js))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one containing %q", err, tc.want)
			}
			if !strings.HasPrefix(err.Error(), "Offer constraints are not valid: ") {
				t.Fatalf("err = %v, want Mesos' prefix", err)
			}
		})
	}
	if err := ValidateOfferConstraintsRoles([]string{"a"}, mustConstraints(t, one(`{"selector":{"attribute_name":"x"},"predicate":{"exists":{}}}`))); err == nil || !strings.Contains(err.Error(), "role 'web' not contained in the set of roles") {
		t.Fatalf("role check: %v", err)
	}
	if err := ValidateOfferConstraintsRoles([]string{"web"}, mustConstraints(t, one(`{"selector":{"attribute_name":"x"},"predicate":{"exists":{}}}`))); err != nil {
		t.Fatalf("role check of a subscribed role: %v", err)
	}
}

// FuzzOfferConstraints feeds arbitrary JSON and patterns to the
// constraint compiler: it must never panic, and a compiled filter must
// evaluate any agent without panicking and agree with Unmet.
func FuzzOfferConstraints(f *testing.F) {
	f.Add(`{"role_constraints":{"web":{"groups":[{"attribute_constraints":[{"selector":{"attribute_name":"rack"},"predicate":{"text_matches":{"regex":"r[0-9]"}}}]}]}}}`, "r1")
	f.Add(`{"role_constraints":{"web":{"groups":[{"attribute_constraints":[{"selector":{"pseudoattribute_type":"HOSTNAME"},"predicate":{"text_not_matches":{"regex":"a)|(b"}}}]}]}}}`, "a")
	f.Add(`{"role_constraints":{"web":{"groups":[{"attribute_constraints":[{"selector":{"pseudoattribute_type":"ZONE"},"predicate":{"not_exists":{}}}]}]}}}`, "")
	f.Add(`{"role_constraints":{"web":{}}}`, "x")
	f.Add(`{"role_constraints":{"web":{"groups":[{"attribute_constraints":[{"selector":{"attribute_name":"rack"},"predicate":{"text_equals":{"value":"\u0000"}}}]}]}}}`, "\x00")
	f.Fuzz(func(t *testing.T, js, value string) {
		var c OfferConstraints
		if json.Unmarshal([]byte(js), &c) != nil {
			return
		}
		filter, err := CompileOfferConstraints(&c)
		if err != nil {
			if filter != nil {
				t.Fatal("an error with a filter")
			}
			if err.Error() == "" {
				t.Fatal("an empty error")
			}
			return
		}
		agent := &AgentInfo{Hostname: value, Attributes: []Attribute{textAttr("rack", value)},
			Domain: &DomainInfo{FaultDomain: &FaultDomain{Zone: FaultDomainName{Name: value}}}}
		for role := range c.RoleConstraints {
			if filter.Excludes(role, agent) != (filter.Unmet(role, agent) != "") {
				t.Fatal("Excludes and Unmet disagree")
			}
		}
	})
}

// FuzzConstraintRegex checks that any pattern either compiles to one that
// matches only whole values or is refused with a message naming it.
func FuzzConstraintRegex(f *testing.F) {
	for _, s := range []string{"r[0-9]", "a)|(b", "(", ".*", "x|y", `\pL+`, "(a{1,100}){1,30}", "[[:alpha:]]"} {
		f.Add(s, "r1")
	}
	f.Fuzz(func(t *testing.T, pattern, value string) {
		re, err := compileConstraintRegex(pattern)
		if err != nil {
			if !strings.Contains(err.Error(), "regex") && !strings.Contains(err.Error(), "Regex") {
				t.Fatalf("error %q does not say it is the regex", err)
			}
			return
		}
		if re.MatchString(value) {
			if loc := re.FindStringIndex(value); loc == nil || loc[0] != 0 || loc[1] != len(value) {
				t.Fatalf("%q matches %q but not whole", pattern, value)
			}
		}
	})
}
