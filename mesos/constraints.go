package mesos

import (
	"errors"
	"fmt"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
)

// OfferConstraints are a framework's constraints on the agents it is
// offered, per role (Mesos 1.10's scheduler OfferConstraints, sent in
// SUBSCRIBE and UPDATE_FRAMEWORK). An agent is offered to a framework in a
// role with constraints only if at least one of the role's groups holds,
// and a group holds when every one of its constraints does.
type OfferConstraints struct {
	RoleConstraints map[string]RoleConstraints `json:"role_constraints,omitempty"`
}

// RoleConstraints are one role's constraint groups, any of which may hold.
type RoleConstraints struct {
	Groups []ConstraintGroup `json:"groups,omitempty"`
}

// ConstraintGroup is a conjunction of attribute constraints.
type ConstraintGroup struct {
	AttributeConstraints []AttributeConstraint `json:"attribute_constraints,omitempty"`
}

// AttributeConstraint tests one (pseudo)attribute of an agent.
type AttributeConstraint struct {
	Selector  *ConstraintSelector  `json:"selector,omitempty"`
	Predicate *ConstraintPredicate `json:"predicate,omitempty"`
}

// Pseudoattribute types a selector may name instead of an attribute.
const (
	PseudoattributeUnknown  = "UNKNOWN"
	PseudoattributeHostname = "HOSTNAME"
	PseudoattributeRegion   = "REGION"
	PseudoattributeZone     = "ZONE"
)

// ConstraintSelector picks what a constraint tests: a named agent
// attribute, or one of the pseudoattributes (the agent's hostname, its
// fault domain's region or zone). Exactly one is set.
type ConstraintSelector struct {
	PseudoattributeType string  `json:"pseudoattribute_type,omitempty"`
	AttributeName       *string `json:"attribute_name,omitempty"`
}

// ConstraintPredicate is what must hold of the selected value. Exactly one
// is set. A text predicate on an attribute that is not TEXT holds, as in
// Mesos; on a missing one, only the negative predicates hold.
type ConstraintPredicate struct {
	Exists         *ConstraintEmpty `json:"exists,omitempty"`
	NotExists      *ConstraintEmpty `json:"not_exists,omitempty"`
	TextEquals     *ConstraintText  `json:"text_equals,omitempty"`
	TextNotEquals  *ConstraintText  `json:"text_not_equals,omitempty"`
	TextMatches    *ConstraintRegex `json:"text_matches,omitempty"`
	TextNotMatches *ConstraintRegex `json:"text_not_matches,omitempty"`
}

// ConstraintEmpty is the body of the exists and not_exists predicates.
type ConstraintEmpty struct{}

// ConstraintText is the value of text_equals and text_not_equals.
type ConstraintText struct {
	Value string `json:"value"`
}

// ConstraintRegex is the RE2 pattern of text_matches and
// text_not_matches; it must match the whole value.
type ConstraintRegex struct {
	Regex string `json:"regex"`
}

// MaxConstraintRegexProgram bounds the compiled size (instructions) of
// one constraint's regular expression, as Mesos bounds its RE2 program
// size, so a framework cannot make every agent check costly.
const MaxConstraintRegexProgram = 1000

// OfferConstraintsFilter is a validated, compiled OfferConstraints. The
// nil filter excludes nothing.
type OfferConstraintsFilter struct {
	roles map[string][][]constraintEval
}

// constraintEval is one compiled AttributeConstraint.
type constraintEval struct {
	pseudo string // set for a pseudoattribute selector
	name   string // else the attribute's name
	kind   string // exists, not_exists, text_equals, ...
	value  string // the text or the pattern as given
	re     *regexp.Regexp
}

// ValidateOfferConstraintsRoles checks that constraints name only roles
// the framework is subscribed to.
func ValidateOfferConstraintsRoles(roles []string, c *OfferConstraints) error {
	if c == nil {
		return nil
	}
	for _, r := range sortedRoleKeys(c.RoleConstraints) {
		if !slices.Contains(roles, r) {
			return fmt.Errorf("Offer constraints specify `role_constraints` for a role '%s' not contained in the set of roles", r)
		}
	}
	return nil
}

// CompileOfferConstraints validates c and compiles it into a filter; nil
// (or no roles) gives the nil filter. The error says what was wrong.
func CompileOfferConstraints(c *OfferConstraints) (*OfferConstraintsFilter, error) {
	if c == nil || len(c.RoleConstraints) == 0 {
		return nil, nil
	}
	f := &OfferConstraintsFilter{roles: map[string][][]constraintEval{}}
	for _, role := range sortedRoleKeys(c.RoleConstraints) {
		rc := c.RoleConstraints[role]
		if len(rc.Groups) == 0 {
			return nil, fmt.Errorf("Offer constraints are not valid: 'OfferConstraints::role_constraints' has an empty 'RoleConstraints::groups' for role %s", role)
		}
		groups := make([][]constraintEval, 0, len(rc.Groups))
		for _, g := range rc.Groups {
			if len(g.AttributeConstraints) == 0 {
				return nil, fmt.Errorf("Offer constraints are not valid: 'OfferConstraints::RoleConstraints::groups' for role %s contains an empty RoleConstraints::Group", role)
			}
			group := make([]constraintEval, 0, len(g.AttributeConstraints))
			for _, ac := range g.AttributeConstraints {
				e, err := compileConstraint(ac)
				if err != nil {
					return nil, fmt.Errorf("Offer constraints are not valid: A role %s has an invalid 'AttributeConstraint': %w", role, err)
				}
				group = append(group, e)
			}
			groups = append(groups, group)
		}
		f.roles[role] = groups
	}
	return f, nil
}

func compileConstraint(ac AttributeConstraint) (constraintEval, error) {
	var e constraintEval
	s := ac.Selector
	switch {
	case s == nil || (s.AttributeName == nil && s.PseudoattributeType == ""):
		return e, errors.New("Exactly one of 'AttributeConstraint::Selector::name' or 'AttributeConstraint::Selector::pseudoattribute_type' must be set")
	case s.AttributeName != nil && s.PseudoattributeType != "":
		return e, errors.New("Exactly one of 'AttributeConstraint::Selector::name' or 'AttributeConstraint::Selector::pseudoattribute_type' must be set")
	case s.AttributeName != nil:
		e.name = *s.AttributeName
	default:
		switch s.PseudoattributeType {
		case PseudoattributeHostname, PseudoattributeRegion, PseudoattributeZone:
			e.pseudo = s.PseudoattributeType
		default:
			return e, fmt.Errorf("Unknown pseudoattribute type %q", s.PseudoattributeType)
		}
	}
	p := ac.Predicate
	if p == nil {
		return e, errors.New("Unknown predicate type")
	}
	n := 0
	set := func(kind string, ok bool) {
		if ok {
			n++
			e.kind = kind
		}
	}
	set("exists", p.Exists != nil)
	set("not_exists", p.NotExists != nil)
	set("text_equals", p.TextEquals != nil)
	set("text_not_equals", p.TextNotEquals != nil)
	set("text_matches", p.TextMatches != nil)
	set("text_not_matches", p.TextNotMatches != nil)
	switch {
	case n == 0:
		return e, errors.New("Unknown predicate type")
	case n > 1:
		return e, errors.New("more than one predicate is set; exactly one must be")
	}
	switch e.kind {
	case "text_equals":
		e.value = p.TextEquals.Value
	case "text_not_equals":
		e.value = p.TextNotEquals.Value
	case "text_matches", "text_not_matches":
		r := p.TextMatches
		if r == nil {
			r = p.TextNotMatches
		}
		re, err := compileConstraintRegex(r.Regex)
		if err != nil {
			return e, err
		}
		e.value, e.re = r.Regex, re
	}
	return e, nil
}

// compileConstraintRegex compiles an RE2 pattern that must match a whole
// value. The pattern is checked alone first, so that one which only
// parses once anchored (such as "a)|(b") is refused.
func compileConstraintRegex(pattern string) (*regexp.Regexp, error) {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return nil, fmt.Errorf("Failed to construct regex from pattern '%s': %v", pattern, err)
	}
	prog, err := syntax.Compile(re.Simplify())
	if err != nil {
		return nil, fmt.Errorf("Failed to construct regex from pattern '%s': %v", pattern, err)
	}
	if len(prog.Inst) > MaxConstraintRegexProgram {
		return nil, fmt.Errorf("Regex '%s' is too complex: program size of %d is larger than maximum of %d allowed", pattern, len(prog.Inst), MaxConstraintRegexProgram)
	}
	full, err := regexp.Compile(`^(?:` + pattern + `)$`)
	if err != nil {
		return nil, fmt.Errorf("Failed to construct regex from pattern '%s': %v", pattern, err)
	}
	return full, nil
}

// Constrains reports whether the filter has constraints for role.
func (f *OfferConstraintsFilter) Constrains(role string) bool {
	if f == nil {
		return false
	}
	_, ok := f.roles[role]
	return ok
}

// Excludes reports whether an agent may not be offered to the framework in
// role: the role has constraints and none of its groups holds.
func (f *OfferConstraintsFilter) Excludes(role string, a *AgentInfo) bool {
	return f.Unmet(role, a) != ""
}

// Unmet says why an agent is excluded for role ("" if it is not): for each
// group, the first of its constraints that does not hold.
func (f *OfferConstraintsFilter) Unmet(role string, a *AgentInfo) string {
	if f == nil {
		return ""
	}
	groups, ok := f.roles[role]
	if !ok {
		return ""
	}
	var failed []string
	for _, g := range groups {
		bad := -1
		for i := range g {
			if !g[i].holds(a) {
				bad = i
				break
			}
		}
		if bad < 0 {
			return ""
		}
		failed = append(failed, g[bad].String())
	}
	if len(failed) == 1 {
		return failed[0] + " does not hold"
	}
	return "no group holds (" + strings.Join(failed, "; ") + " do not hold)"
}

// holds evaluates the constraint on an agent, with Mesos' semantics.
func (e *constraintEval) holds(a *AgentInfo) bool {
	if a == nil {
		a = &AgentInfo{}
	}
	var text string
	exists, isText := false, true
	switch e.pseudo {
	case PseudoattributeHostname:
		text, exists = a.Hostname, true
	case PseudoattributeRegion, PseudoattributeZone:
		if a.Domain != nil && a.Domain.FaultDomain != nil {
			exists = true
			text = a.Domain.FaultDomain.Region.Name
			if e.pseudo == PseudoattributeZone {
				text = a.Domain.FaultDomain.Zone.Name
			}
		}
	default:
		for i := range a.Attributes {
			at := &a.Attributes[i]
			if at.Name != e.name {
				continue
			}
			exists = true
			isText = at.Type == ValueText && at.Text != nil
			if isText {
				text = at.Text.Value
			}
			break
		}
	}
	switch e.kind {
	case "exists":
		return exists
	case "not_exists":
		return !exists
	}
	if !exists {
		return e.kind == "text_not_equals" || e.kind == "text_not_matches"
	}
	if !isText {
		return true
	}
	switch e.kind {
	case "text_equals":
		return text == e.value
	case "text_not_equals":
		return text != e.value
	case "text_matches":
		return e.re.MatchString(text)
	default: // text_not_matches
		return !e.re.MatchString(text)
	}
}

// String describes the constraint, e.g. `attribute "rack" text_equals "r1"`.
func (e *constraintEval) String() string {
	what := fmt.Sprintf("attribute %q", e.name)
	if e.pseudo != "" {
		what = strings.ToLower(e.pseudo)
	}
	switch e.kind {
	case "exists", "not_exists":
		return what + " " + e.kind
	}
	return fmt.Sprintf("%s %s %q", what, e.kind, e.value)
}

func sortedRoleKeys(m map[string]RoleConstraints) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
