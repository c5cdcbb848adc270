package mesos

import (
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func static(role string) []ReservationInfo {
	return []ReservationInfo{{Type: ReservationStatic, Role: role}}
}

func TestParseResources_Good(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want Resources
	}{
		{"empty", "", nil},
		{"blank entries", " ; ;", nil},
		{"scalar", "cpus:4", Resources{ScalarResource("cpus", 4)}},
		{"fraction", "cpus:0.5", Resources{ScalarResource("cpus", 0.5)}},
		{"exponent", "mem:1e3", Resources{ScalarResource("mem", 1000)}},
		{"rounded to millis", "cpus:0.0005", Resources{ScalarResource("cpus", 0.001)}},
		{"zero dropped", "cpus:0;mem:1", Resources{ScalarResource("mem", 1)}},
		{"whitespace", "  cpus : 4 ;  mem:  128  ", Resources{ScalarResource("cpus", 4), ScalarResource("mem", 128)}},
		{"trailing semicolon", "cpus:1;", Resources{ScalarResource("cpus", 1)}},
		{"ranges", "ports:[31000-32000]", Resources{RangesResource("ports", Range{31000, 32000})}},
		{"several ranges", "ports:[1-2, 5-9]", Resources{RangesResource("ports", Range{1, 2}, Range{5, 9})}},
		{"spaced ranges", "ports:[ 1 - 2 ]", Resources{RangesResource("ports", Range{1, 2})}},
		{"overlapping ranges merge", "ports:[5-9,1-6,10-10]", Resources{RangesResource("ports", Range{1, 10})}},
		{"max uint64", "ports:[18446744073709551615-18446744073709551615]", Resources{RangesResource("ports", Range{1<<64 - 1, 1<<64 - 1})}},
		{"empty ranges dropped", "ports:[]", nil},
		{"set", "disks:{a,b,c}", Resources{{Name: "disks", Type: ValueSet, Set: &Set{Item: []string{"a", "b", "c"}}}}},
		{"spaced set", "disks:{ a , b }", Resources{{Name: "disks", Type: ValueSet, Set: &Set{Item: []string{"a", "b"}}}}},
		{"role", "cpus(web):2", Resources{{Name: "cpus", Type: ValueScalar, Scalar: &Scalar{2}, Reservations: static("web")}}},
		{"star role is unreserved", "cpus(*):2", Resources{ScalarResource("cpus", 2)}},
		{"odd but valid role", "cpus(a)b):2", Resources{{Name: "cpus", Type: ValueScalar, Scalar: &Scalar{2}, Reservations: static("a)b")}}},
		{"spaced role", "cpus ( web ) : 2", Resources{{Name: "cpus", Type: ValueScalar, Scalar: &Scalar{2}, Reservations: static("web")}}},
		{"duplicates merge", "cpus:1;cpus:0.5;cpus(*):1", Resources{ScalarResource("cpus", 2.5)}},
		{"roles kept apart", "cpus:1;cpus(web):2;cpus(web):1", Resources{
			ScalarResource("cpus", 1),
			{Name: "cpus", Type: ValueScalar, Scalar: &Scalar{3}, Reservations: static("web")},
		}},
		{"ranges merge across entries", "ports:[1-5];ports:[6-8]", Resources{RangesResource("ports", Range{1, 8})}},
		{"sets unite across entries", "d:{a,b};d:{b,c}", Resources{{Name: "d", Type: ValueSet, Set: &Set{Item: []string{"a", "b", "c"}}}}},
		{"full agent", "cpus:4;mem:4096;ports:[31000-32000];disks:{a,b};cpus(ops):2", Resources{
			ScalarResource("cpus", 4), ScalarResource("mem", 4096),
			RangesResource("ports", Range{31000, 32000}),
			{Name: "disks", Type: ValueSet, Set: &Set{Item: []string{"a", "b"}}},
			{Name: "cpus", Type: ValueScalar, Scalar: &Scalar{2}, Reservations: static("ops")},
		}},
		{"json", `[{"name":"cpus","type":"SCALAR","scalar":{"value":2}},{"name":"ports","type":"RANGES","ranges":{"range":[{"begin":3,"end":4},{"begin":1,"end":3}]}}]`, Resources{
			ScalarResource("cpus", 2), RangesResource("ports", Range{1, 4}),
		}},
		{"json legacy role", ` [{"name":"cpus","type":"SCALAR","scalar":{"value":2},"role":"web"},{"name":"mem","type":"SCALAR","scalar":{"value":2},"role":"*"}]`, Resources{
			{Name: "cpus", Type: ValueScalar, Scalar: &Scalar{2}, Reservations: static("web")},
			ScalarResource("mem", 2),
		}},
		{"json reservations", `[{"name":"cpus","type":"SCALAR","scalar":{"value":"2"},"reservations":[{"role":"web"}]}]`, Resources{
			{Name: "cpus", Type: ValueScalar, Scalar: &Scalar{2}, Reservations: static("web")},
		}},
		{"json merges", `[{"name":"cpus","type":"SCALAR","scalar":{"value":1}},{"name":"cpus","type":"SCALAR","scalar":{"value":1}}]`, Resources{ScalarResource("cpus", 2)}},
		{"json empty", `[]`, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseResources(tc.in)
			if err != nil {
				t.Fatalf("ParseResources(%q): %v", tc.in, err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("ParseResources(%q)\n got %s\nwant %s", tc.in, dump(got), dump(tc.want))
			}
			if err := got.Validate(); err != nil {
				t.Fatalf("result does not validate: %v", err)
			}
		})
	}
}

func TestParseResources_Bad(t *testing.T) {
	cases := []struct {
		in      string
		wantErr string
	}{
		{"cpus:abc", `resource "cpus": "abc" is not a number`},
		{"cpus:-1", `resource "cpus": -1 is negative`},
		{"cpus:NaN", `resource "cpus": "NaN" is not a number`},
		{"cpus:inf", `resource "cpus": "inf" is not a number`},
		{"cpus:Infinity", `resource "cpus": "Infinity" is not a number`},
		{"cpus:0x10", `resource "cpus": "0x10" is not a number`},
		{"cpus:1e999", `resource "cpus": "1e999" is out of range`},
		{"cpus:2e12", `resource "cpus": 2e12 is more than the maximum 1e+12`},
		{"cpus:9e11;cpus:9e11", `resource "cpus" adds up to 1.8e+12, more than the maximum 1e+12`},
		{"cpus:1;;:4", `empty resource name in ":4"`},
		{"(web):4", `empty resource name in "(web):4"`},
		{"cpus4", `resource entry "cpus4" has no ':' between name and value`},
		{"cpus:", `resource "cpus": empty value`},
		{"cpus():1", `resource "cpus": empty role`},
		{"cpus(web:1", `resource entry "cpus(web:1": a role must be written as name(role)`},
		{"cpus(web)x:1", `resource entry "cpus(web)x:1": a role must be written as name(role)`},
		{"cpus(a b):1", `resource "cpus": invalid role "a b": contains whitespace`},
		{"cpus(a//b):1", `resource "cpus": invalid role "a//b": holds an empty component ('//')`},
		{"cpus(..):1", `resource "cpus": invalid role "..": ".." cannot be a component`},
		{"cpus(-a):1", `resource "cpus": invalid role "-a": component "-a" starts with '-'`},
		{"cpus(a:b):1", `resource entry "cpus(a:b):1": a role must be written as name(role)`},
		{`[{"name":"cpus","type":"SCALAR","scalar":{"value":1},"role":"a:b"}]`, `resources JSON element 0 ("cpus"): invalid role "a:b": contains ':', which --resources cannot express`},
		{"cp us:1", `resource name "cp us": contains whitespace`},
		{"cp,us:1", `resource name "cp,us": contains ','`},
		{"ports:[5-1]", `resource "ports": range [5-1] begins after it ends`},
		{"ports:[1-2", `resource "ports": "[1-2" is missing the closing ']'`},
		{"ports:[5]", `resource "ports": range "5" is not of the form begin-end`},
		{"ports:[1-2-3]", `resource "ports": range "1-2-3" is not of the form begin-end`},
		{"ports:[-1-2]", `resource "ports": range "-1-2" is not of the form begin-end`},
		{"ports:[a-2]", `resource "ports": "a" in range "a-2" is not a non-negative integer`},
		{"ports:[1-2,,3-4]", `resource "ports": empty range in "[1-2,,3-4]"`},
		{"ports:[1-99999999999999999999]", `resource "ports": "99999999999999999999" in range "1-99999999999999999999" does not fit in 64 bits`},
		{"disks:{a,b", `resource "disks": "{a,b" is missing the closing '}'`},
		{"disks:{a,,b}", `resource "disks": empty item in "{a,,b}"`},
		{"disks:{a,a}", `resource "disks": item "a" appears twice in "{a,a}"`},
		{"disks:{a{b}", `resource "disks": set item "a{b": contains '{'`},
		{"cpus:1;cpus:[1-2]", `resource "cpus" is given as both SCALAR and RANGES`},
		{"[", `resources JSON: unexpected end of JSON input`},
		{`[{"name":"cpus","type":"SCALAR","scalar":{"value":-1}}]`, `resources JSON element 0 ("cpus"): resource "cpus" has an invalid scalar value -1`},
		{`[{"name":"cpus","type":"SCALAR","scalar":{"value":"NaN"}}]`, `resources JSON element 0 ("cpus"): resource "cpus" has an invalid scalar value NaN`},
		{`[{"name":"","type":"SCALAR","scalar":{"value":1}}]`, `resources JSON element 0: empty resource name`},
		{`[{"name":"cpus","type":"TEXT","text":{"value":"x"}}]`, `resources JSON element 0 ("cpus"): resource "cpus" has unsupported type "TEXT"`},
		{`[{"name":"cpus","type":"SCALAR","ranges":{"range":[]}}]`, `resources JSON element 0 ("cpus"): resource "cpus" of type SCALAR needs exactly a scalar value`},
		{`[{"name":"p","type":"RANGES","ranges":{"range":[{"begin":5,"end":1}]}}]`, `resources JSON element 0 ("p"): range [5-1] begins after it ends`},
		{`[{"name":"cpus","type":"SCALAR","scalar":{"value":1},"allocation_info":{"role":"a"}}]`, `resources JSON element 0 ("cpus"): allocation_info is not allowed in agent resources`},
		{`[{"name":"cpus","type":"SCALAR","scalar":{"value":1},"reservations":[{"type":"DYNAMIC","role":"a"}]}]`, `resources JSON element 0 ("cpus"): reservation type "DYNAMIC" is not allowed in agent resources, only STATIC`},
		{`[{"name":"cpus","type":"SCALAR","scalar":{"value":1},"role":"a","reservation":{"principal":"p"}}]`, `resources JSON element 0 ("cpus"): dynamic reservations (reservation) are not allowed in agent resources`},
		{`[{"name":"cpus","type":"SCALAR","scalar":{"value":1},"role":"a b"}]`, `resources JSON element 0 ("cpus"): invalid role "a b": contains whitespace`},
		{`[{"name":"d","type":"SET","set":{"item":["a,b"]}}]`, `resources JSON element 0 ("d"): set item "a,b": contains ','`},
		{`[{"name":"cpus","type":"SCALAR","scalar":{"value":1}}] x`, `resources JSON: invalid character 'x' after top-level value`},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseResources(tc.in)
			if err == nil {
				t.Fatalf("ParseResources(%q) = %s, want error %q", tc.in, dump(got), tc.wantErr)
			}
			if err.Error() != tc.wantErr {
				t.Fatalf("ParseResources(%q) error\n got %q\nwant %q", tc.in, err, tc.wantErr)
			}
		})
	}
}

func TestParseResources_StringRoundTrip(t *testing.T) {
	in := "cpus:4.25;mem:4096;ports:[31000-32000,1-2];disks:{a,b};cpus(ops):2;gpus:1e9"
	rs, err := ParseResources(in)
	if err != nil {
		t.Fatal(err)
	}
	again, err := ParseResources(rs.String())
	if err != nil {
		t.Fatalf("re-parse %q: %v", rs.String(), err)
	}
	if !reflect.DeepEqual(rs, again) {
		t.Fatalf("round trip through %q\n got %s\nwant %s", rs.String(), dump(again), dump(rs))
	}
}

func TestParseAttributes_Good(t *testing.T) {
	cases := []struct {
		in   string
		want []Attribute
	}{
		{"", nil},
		{"rack:r1", []Attribute{{Name: "rack", Type: ValueText, Text: &Text{"r1"}}}},
		{"rack:1-1", []Attribute{{Name: "rack", Type: ValueText, Text: &Text{"1-1"}}}},
		{"url:http://x:80/y", []Attribute{{Name: "url", Type: ValueText, Text: &Text{"http://x:80/y"}}}},
		{"os: linux mint ", []Attribute{{Name: "os", Type: ValueText, Text: &Text{"linux mint"}}}},
		{"zone:inf", []Attribute{{Name: "zone", Type: ValueText, Text: &Text{"inf"}}}},
		{"level:3", []Attribute{{Name: "level", Type: ValueScalar, Scalar: &Scalar{3}}}},
		{"temp:-1.5", []Attribute{{Name: "temp", Type: ValueScalar, Scalar: &Scalar{-1.5}}}},
		{"zones:{a, b}", []Attribute{{Name: "zones", Type: ValueSet, Set: &Set{Item: []string{"a", "b"}}}}},
		{"ids:[1-5, 4-9,20-30]", []Attribute{{Name: "ids", Type: ValueRanges, Ranges: &Ranges{Range: []Range{{1, 9}, {20, 30}}}}}},
		{"rack:r1;os:linux;level:3;zones:{a,b};ids:[1-5];", []Attribute{
			{Name: "rack", Type: ValueText, Text: &Text{"r1"}},
			{Name: "os", Type: ValueText, Text: &Text{"linux"}},
			{Name: "level", Type: ValueScalar, Scalar: &Scalar{3}},
			{Name: "zones", Type: ValueSet, Set: &Set{Item: []string{"a", "b"}}},
			{Name: "ids", Type: ValueRanges, Ranges: &Ranges{Range: []Range{{1, 5}}}},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseAttributes(tc.in)
			if err != nil {
				t.Fatalf("ParseAttributes(%q): %v", tc.in, err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("ParseAttributes(%q)\n got %s\nwant %s", tc.in, dump(got), dump(tc.want))
			}
		})
	}
}

func TestParseAttributes_Bad(t *testing.T) {
	cases := []struct {
		in      string
		wantErr string
	}{
		{"rack", `attribute entry "rack" has no ':' between name and value`},
		{":r1", `empty attribute name in ":r1"`},
		{"rack:", `attribute "rack": empty value`},
		{"ra ck:r1", `attribute name "ra ck": contains whitespace`},
		{"rack:r1;rack:r2", `attribute "rack" is given twice`},
		{"ids:[5-1]", `attribute "ids": range [5-1] begins after it ends`},
		{"ids:[]", `attribute "ids": no ranges in "[]"`},
		{"ids:[1-2", `attribute "ids": "[1-2" is missing the closing ']'`},
		{"zones:{}", `attribute "zones": no items in "{}"`},
		{"zones:{a,a}", `attribute "zones": item "a" appears twice in "{a,a}"`},
		{"level:1e999", `attribute "level": "1e999" is out of range`},
		{"rack:r\x01", `attribute "rack": value "r\x01": contains control or invalid character '\x01'`},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseAttributes(tc.in)
			if err == nil {
				t.Fatalf("ParseAttributes(%q) = %s, want error %q", tc.in, dump(got), tc.wantErr)
			}
			if err.Error() != tc.wantErr {
				t.Fatalf("ParseAttributes(%q) error\n got %q\nwant %q", tc.in, err, tc.wantErr)
			}
		})
	}
}

func TestValidateRole(t *testing.T) {
	for _, ok := range []string{"*", "web", "a.b", "a-b", "a_b", "..a", "a(b", "a:b", "eng/web", "a/b/c", "a/.b", "a/b-"} {
		if err := ValidateRole(ok); err != nil {
			t.Errorf("ValidateRole(%q) = %v, want nil", ok, err)
		}
	}
	for _, bad := range []string{"", ".", "..", "-a", "a b", "a\tb", "a\x00", "a\x7f", "a\u00a0b",
		"/a", "a/", "a//b", "a/./b", "a/..", "a/*", "*/a", "a/-b", "/"} {
		if err := ValidateRole(bad); err == nil {
			t.Errorf("ValidateRole(%q) = nil, want error", bad)
		}
	}
}

func TestRoleAncestors(t *testing.T) {
	for role, want := range map[string][]string{"eng/web/api": {"eng/web", "eng"}, "eng": nil, "*": nil} {
		if got := RoleAncestors(role); !reflect.DeepEqual(got, want) {
			t.Errorf("RoleAncestors(%q) = %q, want %q", role, got, want)
		}
	}
}

// formatAttributes renders attributes in the --attributes grammar.
func formatAttributes(attrs []Attribute) string {
	var parts []string
	for _, a := range attrs {
		var v string
		switch a.Type {
		case ValueScalar:
			v = strconv.FormatFloat(a.Scalar.Value, 'g', -1, 64)
		case ValueRanges:
			var rg []string
			for _, x := range a.Ranges.Range {
				rg = append(rg, strconv.FormatUint(x.Begin, 10)+"-"+strconv.FormatUint(x.End, 10))
			}
			v = "[" + strings.Join(rg, ",") + "]"
		case ValueSet:
			v = "{" + strings.Join(a.Set.Item, ",") + "}"
		case ValueText:
			v = a.Text.Value
		}
		parts = append(parts, a.Name+":"+v)
	}
	return strings.Join(parts, ";")
}

func FuzzParseResources(f *testing.F) {
	for _, s := range []string{
		"", "cpus:4", "cpus:4;mem:4096;ports:[31000-32000];disks:{a,b};cpus(ops):2",
		"ports:[1-2, 5-9]", "ports:[ 1-2 ]", "cpus(*):0.5", "cpus:1e3;cpus:0.0005",
		"cpus:abc", "ports:[5-1]", ";:4", "cpus(:1", "d:{a,,b}", "cpus:1;cpus:[1-2]",
		`[{"name":"cpus","type":"SCALAR","scalar":{"value":1},"role":"web"}]`,
		`[{"name":"p","type":"RANGES","ranges":{"range":[{"begin":"3","end":9}]}}]`,
		`[{"name":"d","type":"SET","set":{"item":["x","y"]},"reservations":[{"type":"STATIC","role":"r"}]}]`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		rs, err := ParseResources(s)
		if err != nil {
			return
		}
		if err := rs.Validate(); err != nil {
			t.Fatalf("ParseResources(%q) = %s does not validate: %v", s, dump(rs), err)
		}
		again, err := ParseResources(rs.String())
		if err != nil {
			t.Fatalf("re-parse of %q (from %q): %v", rs.String(), s, err)
		}
		if !reflect.DeepEqual(rs, again) {
			t.Fatalf("round trip of %q through %q\n got %s\nwant %s", s, rs.String(), dump(again), dump(rs))
		}
		// The JSON form of a result parses back to the same resources too.
		js, err := json.Marshal(rs)
		if err != nil {
			t.Fatal(err)
		}
		if len(rs) > 0 {
			viaJSON, err := ParseResources(string(js))
			if err != nil {
				t.Fatalf("re-parse of JSON %s: %v", js, err)
			}
			if !reflect.DeepEqual(rs, viaJSON) {
				t.Fatalf("JSON round trip of %q\n got %s\nwant %s", s, dump(viaJSON), dump(rs))
			}
		}
	})
}

func FuzzParseAttributes(f *testing.F) {
	for _, s := range []string{
		"", "rack:r1", "rack:1-1", "rack:r1;os:linux;level:3;zones:{a,b};ids:[1-5]",
		"level:-2.5e3", "ids:[1-2, 2-9]", "x:{}", "x:", ":y", "a:b:c", "url:http://h:1/p",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		attrs, err := ParseAttributes(s)
		if err != nil {
			return
		}
		for _, a := range attrs {
			if err := checkAttribute(a); err != nil {
				t.Fatalf("ParseAttributes(%q) gave an invalid attribute %s: %v", s, dump(a), err)
			}
		}
		again, err := ParseAttributes(formatAttributes(attrs))
		if err != nil {
			t.Fatalf("re-parse of %q (from %q): %v", formatAttributes(attrs), s, err)
		}
		if !reflect.DeepEqual(attrs, again) {
			t.Fatalf("round trip of %q\n got %s\nwant %s", s, dump(again), dump(attrs))
		}
	})
}

// checkAttribute checks that exactly the value of the attribute's type is
// set and that it is well formed.
func checkAttribute(a Attribute) error {
	r := Resource{Name: a.Name, Type: a.Type, Scalar: a.Scalar, Ranges: a.Ranges, Set: a.Set}
	if a.Type == ValueText {
		if a.Text == nil || a.Scalar != nil || a.Ranges != nil || a.Set != nil || a.Text.Value == "" {
			return errorString("TEXT attribute without exactly a text value")
		}
		return nil
	}
	if a.Text != nil {
		return errorString("text value on a non-TEXT attribute")
	}
	if a.Type == ValueScalar && a.Scalar != nil && a.Scalar.Value < 0 {
		r.Scalar = &Scalar{-a.Scalar.Value} // attributes may be negative
	}
	return r.Validate()
}

type errorString string

func (e errorString) Error() string { return string(e) }

func dump(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return err.Error()
	}
	return string(b)
}
