// Package acl reads and evaluates access control lists in the JSON format
// of Apache Mesos' local authorizer: per action, an ordered list of rules,
// each naming its subjects (principals) and its objects (roles, users,
// paths, agents…). The first rule whose subjects and objects match the
// request decides; when none does, the file's "permissive" decides.
//
// Unlike Mesos, whose "permissive" defaults to true, a file that does not
// say it is permissive denies what no rule allows: enabling ACLs must not
// leave everything open by mistake.
package acl

import (
	"strings"
)

// Kind says how an entity names its members, as Mesos' ACL.Entity.Type.
type Kind int

// The kinds of an entity.
const (
	// Some names its members in Values.
	Some Kind = iota
	// Any is every member, including an unnamed one (an anonymous caller).
	Any
	// None is no member at all.
	None
)

func (k Kind) String() string {
	switch k {
	case Any:
		return "ANY"
	case None:
		return "NONE"
	}
	return "SOME"
}

// Entity is the subjects or the objects of a rule.
type Entity struct {
	Kind   Kind
	Values []string
}

// Rule is one ACL of an action.
type Rule struct {
	Subjects Entity
	Objects  Entity
}

// ACLs are the parsed rules of one file.
type ACLs struct {
	// Permissive decides the requests no rule matches.
	Permissive bool
	rules      map[Action][]Rule
	// ignored lists the Mesos actions the file gives rules for that mesh
	// has no use for.
	ignored []string
}

// Rules returns the rules of an action, in order.
func (a *ACLs) Rules(act Action) []Rule {
	if a == nil {
		return nil
	}
	return a.rules[act]
}

// Ignored lists the actions of the file that mesh does not check (Mesos
// actions about features mesh lacks, such as nested containers).
func (a *ACLs) Ignored() []string {
	if a == nil {
		return nil
	}
	return a.ignored
}

// Allowed reports whether principal ("" for an anonymous caller) may
// perform act on the object named value. Nil ACLs (no file) allow
// everything.
func (a *ACLs) Allowed(act Action, principal, value string) bool {
	return a.decide(act, principal, Entity{Kind: Some, Values: []string{value}})
}

// AllowedAny reports whether principal may perform act on any object: the
// question asked when an action has no particular object (view_flags,
// access_mesos_logs), which only a rule whose objects are ANY answers yes.
func (a *ACLs) AllowedAny(act Action, principal string) bool {
	return a.decide(act, principal, Entity{Kind: Any})
}

func (a *ACLs) decide(act Action, principal string, object Entity) bool {
	if a == nil {
		return true
	}
	subject := Entity{Kind: Any}
	if principal != "" {
		subject = Entity{Kind: Some, Values: []string{principal}}
	}
	hier := act.hierarchicalRoles()
	for _, r := range a.rules[act] {
		objects := r.Objects
		if hier && isRecursive(objects) {
			// A rule for "eng/%" (or "eng/*") stands for every role nested
			// under eng, and for nothing else: eng itself is not under it.
			parent := objects.Values[0]
			if object.Kind != Some || !strings.HasPrefix(object.Values[0], parent[:len(parent)-1]) {
				continue
			}
			objects = Entity{Kind: Any}
		}
		if matches(subject, r.Subjects) && matches(object, objects) {
			return allows(subject, r.Subjects) && allows(object, objects)
		}
	}
	return a.Permissive
}

// isRecursive reports whether a role rule's objects are one role followed
// by "/%" (Mesos' spelling) or "/*": every role nested under it. Parse
// splits rules so that a recursive value stands alone.
func isRecursive(e Entity) bool {
	return e.Kind == Some && len(e.Values) == 1 &&
		(strings.HasSuffix(e.Values[0], "/%") || strings.HasSuffix(e.Values[0], "/*"))
}

// matches reports whether a rule's entity is about the request's: a rule
// of ANY or NONE is about every named request; a rule of named values
// only about requests all of whose values it names; a request for ANY
// (no particular object, or an anonymous caller) only about rules of ANY
// or NONE.
func matches(req, rule Entity) bool {
	switch req.Kind {
	case None:
		return rule.Kind == None
	case Any:
		return rule.Kind == Any || rule.Kind == None
	}
	if rule.Kind != Some {
		return true
	}
	return subset(req.Values, rule.Values)
}

// allows reports whether a matching rule's entity grants the request's:
// NONE grants nothing named, ANY grants everything, named values grant
// the requests all of whose values they name.
func allows(req, rule Entity) bool {
	switch req.Kind {
	case None:
		return rule.Kind == None
	case Any:
		return rule.Kind == Any
	}
	switch rule.Kind {
	case Any:
		return true
	case None:
		return false
	}
	return subset(req.Values, rule.Values)
}

func subset(vals, of []string) bool {
	for _, v := range vals {
		found := false
		for _, w := range of {
			if v == w {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}
