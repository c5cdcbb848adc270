package mesos

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
)

// MaxParsedScalar is the largest scalar ParseResources accepts, for one
// entry and for the sum of entries that merge. Mesos keeps scalars in
// three-decimal fixed point; below this bound the float64 representation
// rounds to the same value however often it is re-rounded.
const MaxParsedScalar = 1e12

// ParseResources parses the Mesos agent --resources grammar, e.g.
//
//	cpus:4;mem:4096;ports:[31000-32000];disks:{a,b};cpus(ops):2
//
// Entries are separated by ';' (empty entries are skipped) and have the
// form name(role):value, whitespace allowed around every token. Without a
// role, or with role "*", the resource is unreserved; any other role makes
// a static reservation (Reservations = [{STATIC, role}]). The value is a
// scalar ("4", "0.5", "1e3"), ranges ("[31000-32000]", "[1-2, 5-9]") or a
// set ("{a,b,c}").
//
// Like Mesos, entries with the same name and role merge (scalars add,
// ranges and sets unite), overlapping or adjacent ranges within an entry
// merge, and entries that come to nothing ("cpus:0", "ports:[]") are
// dropped. One name may not be used with two types. Scalars must be finite,
// non-negative and at most MaxParsedScalar; set items must be unique within
// an entry.
//
// A string that starts with '[' is read as Mesos' JSON form: an array of
// Resource objects. The legacy "role" field is turned into a static
// reservation. Because these are an agent's own resources, the JSON form
// rejects what only a master may attach: allocation_info, dynamic or
// refined reservations, disk info, revocable and shared markers, and
// provider ids.
//
// Names must not contain whitespace, control characters or any of
// ()[]{}:;, and roles must pass ValidateRole and hold no ':' or ';', so
// that Resources.String can always be parsed back.
func ParseResources(s string) (Resources, error) {
	if t := strings.TrimSpace(s); strings.HasPrefix(t, "[") {
		return parseResourcesJSON(t)
	}
	var list []Resource
	for _, entry := range strings.Split(s, ";") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		r, err := parseResourceEntry(entry)
		if err != nil {
			return nil, err
		}
		list = append(list, r)
	}
	return mergeParsed(list)
}

// mergeParsed adds validated resources together, rejecting one name with
// two types and sums beyond MaxParsedScalar.
func mergeParsed(list []Resource) (Resources, error) {
	types := map[string]string{}
	var out Resources
	for i := range list {
		r := &list[i]
		if t, ok := types[r.Name]; ok && t != r.Type {
			return nil, fmt.Errorf("resource %q is given as both %s and %s", r.Name, t, r.Type)
		}
		types[r.Name] = r.Type
		out = out.Add(*r)
	}
	for i := range out {
		if r := &out[i]; r.Type == ValueScalar && r.Scalar.Value > MaxParsedScalar {
			return nil, fmt.Errorf("resource %q adds up to %g, more than the maximum %g", r.Name, r.Scalar.Value, MaxParsedScalar)
		}
	}
	return out, nil
}

// parseResourceEntry parses one name(role):value entry (already trimmed).
func parseResourceEntry(entry string) (Resource, error) {
	key, value, ok := strings.Cut(entry, ":")
	if !ok {
		return Resource{}, fmt.Errorf("resource entry %q has no ':' between name and value", entry)
	}
	key, value = strings.TrimSpace(key), strings.TrimSpace(value)
	name, role := key, ""
	hasRole := false
	if open := strings.IndexByte(key, '('); open >= 0 {
		if !strings.HasSuffix(key, ")") {
			return Resource{}, fmt.Errorf("resource entry %q: a role must be written as name(role)", entry)
		}
		name = strings.TrimSpace(key[:open])
		role = strings.TrimSpace(key[open+1 : len(key)-1])
		hasRole = true
	}
	if name == "" {
		return Resource{}, fmt.Errorf("empty resource name in %q", entry)
	}
	if err := checkName(name); err != nil {
		return Resource{}, fmt.Errorf("resource name %q: %v", name, err)
	}
	r := Resource{Name: name}
	if hasRole {
		if err := checkResourceRole(role); err != nil {
			return Resource{}, fmt.Errorf("resource %q: %v", name, err)
		}
		if role != "*" {
			r.Reservations = []ReservationInfo{{Type: ReservationStatic, Role: role}}
		}
	}
	if value == "" {
		return Resource{}, fmt.Errorf("resource %q: empty value", name)
	}
	what := fmt.Sprintf("resource %q", name)
	switch value[0] {
	case '[':
		rg, err := parseRanges(what, value)
		if err != nil {
			return Resource{}, err
		}
		r.Type, r.Ranges = ValueRanges, &Ranges{Range: rg}
	case '{':
		items, err := parseSet(what, value)
		if err != nil {
			return Resource{}, err
		}
		r.Type, r.Set = ValueSet, &Set{Item: items}
	default:
		v, err := parseNumber(what, value)
		if err != nil {
			return Resource{}, err
		}
		if v < 0 {
			return Resource{}, fmt.Errorf("%s: %s is negative", what, value)
		}
		if v > MaxParsedScalar {
			return Resource{}, fmt.Errorf("%s: %s is more than the maximum %g", what, value, MaxParsedScalar)
		}
		r.Type, r.Scalar = ValueScalar, &Scalar{Value: v}
	}
	return r, nil
}

// parseResourcesJSON reads the JSON form of --resources.
func parseResourcesJSON(s string) (Resources, error) {
	var list []Resource
	if err := json.Unmarshal([]byte(s), &list); err != nil {
		return nil, fmt.Errorf("resources JSON: %v", err)
	}
	for i := range list {
		r := &list[i]
		at := fmt.Sprintf("resources JSON element %d", i)
		if r.Name == "" {
			return nil, fmt.Errorf("%s: empty resource name", at)
		}
		if err := checkName(r.Name); err != nil {
			return nil, fmt.Errorf("%s: resource name %q: %v", at, r.Name, err)
		}
		at = fmt.Sprintf("%s (%q)", at, r.Name)
		if err := checkAgentOwned(r); err != nil {
			return nil, fmt.Errorf("%s: %v", at, err)
		}
		if r.Type == ValueRanges && r.Ranges != nil {
			for _, x := range r.Ranges.Range {
				if x.Begin > x.End {
					return nil, fmt.Errorf("%s: range [%d-%d] begins after it ends", at, x.Begin, x.End)
				}
			}
			// Overlapping ranges merge, as in the text form.
			r.Ranges.Range = normalizeRanges(r.Ranges.Range)
		}
		if err := r.Validate(); err != nil {
			return nil, fmt.Errorf("%s: %v", at, err)
		}
		if r.Type == ValueScalar && r.Scalar.Value > MaxParsedScalar {
			return nil, fmt.Errorf("%s: %g is more than the maximum %g", at, r.Scalar.Value, MaxParsedScalar)
		}
		if r.Type == ValueSet {
			for _, it := range r.Set.Item {
				if err := checkSetItem(it); err != nil {
					return nil, fmt.Errorf("%s: set item %q: %v", at, it, err)
				}
			}
		}
	}
	return mergeParsed(list)
}

// checkAgentOwned rejects what an agent's own resources cannot carry and
// turns a legacy role into a static reservation.
func checkAgentOwned(r *Resource) error {
	switch {
	case r.AllocationInfo != nil:
		return errors.New("allocation_info is not allowed in agent resources")
	case r.Reservation != nil:
		return errors.New("dynamic reservations (reservation) are not allowed in agent resources")
	case r.Disk != nil:
		return errors.New("disk info is not supported in agent resources")
	case r.Revocable != nil:
		return errors.New("revocable resources are not supported in agent resources")
	case r.Shared != nil:
		return errors.New("shared resources are not supported in agent resources")
	case r.ProviderID != nil:
		return errors.New("provider_id is not allowed in agent resources")
	case len(r.Reservations) > 1:
		return errors.New("refined reservations are not allowed in agent resources")
	}
	if len(r.Reservations) == 1 {
		rv := r.Reservations[0]
		if rv.Type != "" && rv.Type != ReservationStatic {
			return fmt.Errorf("reservation type %q is not allowed in agent resources, only STATIC", rv.Type)
		}
		if rv.Principal != "" || rv.Labels != nil {
			return errors.New("a static reservation has no principal or labels")
		}
		if r.Role != "" && r.Role != "*" && r.Role != rv.Role {
			return fmt.Errorf("role %q differs from reservations role %q", r.Role, rv.Role)
		}
		if err := checkResourceRole(rv.Role); err != nil {
			return err
		}
		if rv.Role == "*" {
			return errors.New(`role "*" cannot be reserved`)
		}
		r.Reservations = []ReservationInfo{{Type: ReservationStatic, Role: rv.Role}}
	} else if r.Role != "" {
		if err := checkResourceRole(r.Role); err != nil {
			return err
		}
		if r.Role != "*" {
			r.Reservations = []ReservationInfo{{Type: ReservationStatic, Role: r.Role}}
		}
	}
	r.Role = ""
	return nil
}

// ParseAttributes parses the Mesos agent --attributes grammar, e.g.
//
//	rack:r1;os:linux;level:3;zones:{a,b};ids:[1-5]
//
// Entries are separated by ';' (empty entries are skipped) and split at
// their first ':' into name and value; whitespace around both is ignored.
// A value "[a-b,...]" is RANGES (overlaps merge), "{a,b}" is SET (items
// unique), a decimal number ("3", "-1.5", "2e3") is SCALAR and anything
// else is TEXT ("r1", "1-1", "http://x"). A name may appear only once.
func ParseAttributes(s string) ([]Attribute, error) {
	var out []Attribute
	seen := map[string]bool{}
	for _, entry := range strings.Split(s, ";") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		name, value, ok := strings.Cut(entry, ":")
		if !ok {
			return nil, fmt.Errorf("attribute entry %q has no ':' between name and value", entry)
		}
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if name == "" {
			return nil, fmt.Errorf("empty attribute name in %q", entry)
		}
		if err := checkName(name); err != nil {
			return nil, fmt.Errorf("attribute name %q: %v", name, err)
		}
		if seen[name] {
			return nil, fmt.Errorf("attribute %q is given twice", name)
		}
		seen[name] = true
		if value == "" {
			return nil, fmt.Errorf("attribute %q: empty value", name)
		}
		a, err := parseAttributeValue(name, value)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

func parseAttributeValue(name, value string) (Attribute, error) {
	what := fmt.Sprintf("attribute %q", name)
	a := Attribute{Name: name}
	switch {
	case value[0] == '[':
		rg, err := parseRanges(what, value)
		if err != nil {
			return a, err
		}
		if len(rg) == 0 {
			return a, fmt.Errorf("%s: no ranges in %q", what, value)
		}
		a.Type, a.Ranges = ValueRanges, &Ranges{Range: rg}
	case value[0] == '{':
		items, err := parseSet(what, value)
		if err != nil {
			return a, err
		}
		if len(items) == 0 {
			return a, fmt.Errorf("%s: no items in %q", what, value)
		}
		a.Type, a.Set = ValueSet, &Set{Item: items}
	case isDecimal(value):
		v, err := parseNumber(what, value)
		if err != nil {
			return a, err
		}
		a.Type, a.Scalar = ValueScalar, &Scalar{Value: v}
	default:
		if err := checkText(value); err != nil {
			return a, fmt.Errorf("%s: value %q: %v", what, value, err)
		}
		a.Type, a.Text = ValueText, &Text{Value: value}
	}
	return a, nil
}

// parseRanges parses "[a-b, c-d]", merging overlaps; "[]" is no ranges.
func parseRanges(what, value string) ([]Range, error) {
	if !strings.HasSuffix(value, "]") || len(value) < 2 {
		return nil, fmt.Errorf("%s: %q is missing the closing ']'", what, value)
	}
	inner := strings.TrimSpace(value[1 : len(value)-1])
	if inner == "" {
		return nil, nil
	}
	var out []Range
	for _, part := range strings.Split(inner, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			return nil, fmt.Errorf("%s: empty range in %q", what, value)
		}
		b, e, ok := strings.Cut(part, "-")
		if !ok || strings.Contains(e, "-") {
			return nil, fmt.Errorf("%s: range %q is not of the form begin-end", what, part)
		}
		begin, err := parseUint(what, part, b)
		if err != nil {
			return nil, err
		}
		end, err := parseUint(what, part, e)
		if err != nil {
			return nil, err
		}
		if begin > end {
			return nil, fmt.Errorf("%s: range [%d-%d] begins after it ends", what, begin, end)
		}
		out = append(out, Range{Begin: begin, End: end})
	}
	return normalizeRanges(out), nil
}

func parseUint(what, part, s string) (uint64, error) {
	s = strings.TrimSpace(s)
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, fmt.Errorf("%s: %q in range %q is not a non-negative integer", what, s, part)
		}
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		if s == "" {
			return 0, fmt.Errorf("%s: range %q is not of the form begin-end", what, part)
		}
		return 0, fmt.Errorf("%s: %q in range %q does not fit in 64 bits", what, s, part)
	}
	return v, nil
}

// parseSet parses "{a, b}"; "{}" is no items.
func parseSet(what, value string) ([]string, error) {
	if !strings.HasSuffix(value, "}") || len(value) < 2 {
		return nil, fmt.Errorf("%s: %q is missing the closing '}'", what, value)
	}
	inner := strings.TrimSpace(value[1 : len(value)-1])
	if inner == "" {
		return nil, nil
	}
	var items []string
	seen := map[string]bool{}
	for _, it := range strings.Split(inner, ",") {
		it = strings.TrimSpace(it)
		if it == "" {
			return nil, fmt.Errorf("%s: empty item in %q", what, value)
		}
		if err := checkSetItem(it); err != nil {
			return nil, fmt.Errorf("%s: set item %q: %v", what, it, err)
		}
		if seen[it] {
			return nil, fmt.Errorf("%s: item %q appears twice in %q", what, it, value)
		}
		seen[it] = true
		items = append(items, it)
	}
	return items, nil
}

// parseNumber parses a decimal number, rejecting NaN, Inf and overflow.
func parseNumber(what, s string) (float64, error) {
	if !isDecimal(s) {
		return 0, fmt.Errorf("%s: %q is not a number", what, s)
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, fmt.Errorf("%s: %q is out of range", what, s)
	}
	return v, nil
}

// isDecimal reports whether s is [+-]digits[.digits][e[+-]digits] with at
// least one mantissa digit: no hex, no "inf", no "nan", no underscores.
func isDecimal(s string) bool {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
		digits++
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			digits++
		}
	}
	if digits == 0 {
		return false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		exp := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			exp++
		}
		if exp == 0 {
			return false
		}
	}
	return i == len(s)
}

// nameSpecials are the characters the grammar uses as delimiters.
const nameSpecials = "()[]{}:;,"

// checkName validates a resource or attribute name.
func checkName(name string) error {
	for _, c := range name {
		switch {
		case unicode.IsSpace(c):
			return errors.New("contains whitespace")
		case unicode.IsControl(c) || c == unicode.ReplacementChar:
			return fmt.Errorf("contains control or invalid character %q", c)
		case strings.ContainsRune(nameSpecials, c):
			return fmt.Errorf("contains %q", c)
		}
	}
	return nil
}

// checkSetItem validates one set item; items are trimmed of surrounding
// whitespace and may not contain the set's delimiters.
func checkSetItem(it string) error {
	if it == "" {
		return errors.New("is empty")
	}
	if strings.TrimSpace(it) != it {
		return errors.New("has surrounding whitespace")
	}
	for _, c := range it {
		switch {
		case unicode.IsControl(c) || c == unicode.ReplacementChar:
			return fmt.Errorf("contains control or invalid character %q", c)
		case strings.ContainsRune("{},;", c):
			return fmt.Errorf("contains %q", c)
		}
	}
	return nil
}

// checkText validates a TEXT attribute value.
func checkText(s string) error {
	for _, c := range s {
		if unicode.IsControl(c) || c == unicode.ReplacementChar {
			return fmt.Errorf("contains control or invalid character %q", c)
		}
	}
	return nil
}

// ValidateRole checks a role name as Mesos (1.3 and later) does: "*"
// (unreserved), or a path of '/'-separated components such as "eng/web",
// each non-empty, not ".", ".." or "*", not starting with '-', and free of
// whitespace and control characters.
func ValidateRole(role string) error {
	switch {
	case role == "*":
		return nil
	case role == "":
		return errors.New("empty role")
	case strings.HasPrefix(role, "/") || strings.HasSuffix(role, "/"):
		return fmt.Errorf("invalid role %q: starts or ends with '/'", role)
	case strings.Contains(role, "//"):
		return fmt.Errorf("invalid role %q: holds an empty component ('//')", role)
	}
	for _, part := range strings.Split(role, "/") {
		switch {
		case part == "." || part == ".." || part == "*":
			return fmt.Errorf("invalid role %q: %q cannot be a component", role, part)
		case strings.HasPrefix(part, "-"):
			return fmt.Errorf("invalid role %q: component %q starts with '-'", role, part)
		}
	}
	for _, c := range role {
		switch {
		case unicode.IsSpace(c):
			return fmt.Errorf("invalid role %q: contains whitespace", role)
		case unicode.IsControl(c) || c == unicode.ReplacementChar:
			return fmt.Errorf("invalid role %q: contains control or invalid character %q", role, c)
		}
	}
	return nil
}

// RoleAncestors lists a hierarchical role's ancestors, nearest first:
// "eng/web/api" has "eng/web" and "eng".
func RoleAncestors(role string) []string {
	var out []string
	for i := len(role) - 1; i > 0; i-- {
		if role[i] == '/' {
			out = append(out, role[:i])
		}
	}
	return out
}

// checkResourceRole is ValidateRole plus what the --resources grammar
// cannot express: a role holding ':' or ';'.
func checkResourceRole(role string) error {
	if err := ValidateRole(role); err != nil {
		return err
	}
	if i := strings.IndexAny(role, ":;"); i >= 0 {
		return fmt.Errorf("invalid role %q: contains %q, which --resources cannot express", role, role[i])
	}
	return nil
}
