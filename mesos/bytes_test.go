package mesos

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"
)

// uuid16 is the 16-byte UUID of the spec's examples, "ABEiM0RVZneImaq7zN3u/w==".
var uuid16 = []byte{0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff}

func TestBytes_Unmarshal(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want []byte
	}{
		{"padded", `"ABEiM0RVZneImaq7zN3u/w=="`, uuid16},
		{"unpadded", `"ABEiM0RVZneImaq7zN3u/w"`, uuid16},
		{"whitespace", "\"ABEi M0RV\\nZneI maq7\\tzN3u\\r/w ==\"", uuid16},
		{"url-safe", `"ABEiM0RVZneImaq7zN3u_w=="`, uuid16},
		{"one pad", `"aGk="`, []byte("hi")},
		{"no pad", `"aGk"`, []byte("hi")},
		{"empty", `""`, []byte{}},
		{"null", `null`, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var b Bytes
			if err := json.Unmarshal([]byte(tc.in), &b); err != nil {
				t.Fatalf("Unmarshal(%s): %v", tc.in, err)
			}
			if !bytes.Equal(b, tc.want) || (b == nil) != (tc.want == nil) {
				t.Fatalf("Unmarshal(%s) = %#v, want %#v", tc.in, []byte(b), tc.want)
			}
		})
	}
}

func TestBytes_UnmarshalBad(t *testing.T) {
	for _, in := range []string{`"AAAA="`, `"A"`, `"AB=C"`, `"aGk=="`, `"a*k="`, `"aGk==="`, `12`, `{"x":1}`, `["aGk="]`} {
		var b Bytes
		err := json.Unmarshal([]byte(in), &b)
		if err == nil {
			t.Errorf("Unmarshal(%s) = %#v, want an error", in, []byte(b))
			continue
		}
		if !strings.Contains(err.Error(), "base64") {
			t.Errorf("Unmarshal(%s) error %q does not say what is wrong", in, err)
		}
	}
}

func TestBytes_MarshalPadded(t *testing.T) {
	for in, want := range map[string]string{"hi": `"aGk="`, "h": `"aA=="`, "hi!": `"aGkh"`, "": `""`, string(uuid16): `"ABEiM0RVZneImaq7zN3u/w=="`} {
		got, err := json.Marshal(Bytes(in))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != want {
			t.Errorf("Marshal(%q) = %s, want %s", in, got, want)
		}
	}
	// In a struct with omitempty, nil and empty are both left out.
	type s struct {
		D Bytes `json:"data,omitempty"`
	}
	got, _ := json.Marshal(s{D: Bytes{}})
	if string(got) != `{}` {
		t.Errorf("empty omitempty Bytes = %s", got)
	}
	// Output uses '+' and '/', never the URL alphabet.
	got, _ = json.Marshal(Bytes{0xfb, 0xff})
	if string(got) != `"+/8="` {
		t.Errorf("Marshal = %s, want \"+/8=\"", got)
	}
}

func TestScalar_JSON(t *testing.T) {
	cases := []struct {
		in   string
		want float64
	}{
		{`{"value":0.5}`, 0.5},
		{`{"value":"2.5"}`, 2.5},
		{`{"value":"Infinity"}`, math.Inf(1)},
		{`{"value":"-Infinity"}`, math.Inf(-1)},
		{`{"value":null}`, 0},
		{`{}`, 0},
	}
	for _, tc := range cases {
		var s Scalar
		if err := json.Unmarshal([]byte(tc.in), &s); err != nil {
			t.Errorf("Unmarshal(%s): %v", tc.in, err)
			continue
		}
		if s.Value != tc.want {
			t.Errorf("Unmarshal(%s) = %v, want %v", tc.in, s.Value, tc.want)
		}
	}
	for _, in := range []string{`{"value":"abc"}`, `{"value":true}`, `{"value":"inf"}`, `{"value":""}`} {
		var s Scalar
		if err := json.Unmarshal([]byte(in), &s); err == nil {
			t.Errorf("Unmarshal(%s) = %v, want an error", in, s.Value)
		}
	}
	limits := map[string]Scalar{"cpus": {math.Inf(1)}, "mem": {512}}
	got, err := json.Marshal(limits)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"cpus":{"value":"Infinity"},"mem":{"value":512}}`; string(got) != want {
		t.Fatalf("limits = %s, want %s", got, want)
	}
	var back map[string]Scalar
	if err := json.Unmarshal(got, &back); err != nil || !math.IsInf(back["cpus"].Value, 1) || back["mem"].Value != 512 {
		t.Fatalf("limits round trip = %v, %v", back, err)
	}
}

// The direct read of a plain scalar takes exactly the inputs it should,
// and reads them as the full decoding does.
func TestScalar_PlainForm(t *testing.T) {
	plain := map[string]float64{
		`{"value":0.01}`: 0.01, ` { "value" : -12.5e3 } `: -12500, "{\n\t\"value\":0}": 0,
		`{"value":1E-2}`: 0.01, `{"value":-0}`: 0, `{"value":123456789012345678901234567890}`: 1.2345678901234568e29,
	}
	for in, want := range plain {
		if v, ok := plainScalar([]byte(in)); !ok || v != want {
			t.Errorf("plainScalar(%q) = %v, %v; want %v", in, v, ok, want)
		}
	}
	for _, in := range []string{
		`{"value":"1"}`, `{"value":1,"value":2}`, `{"Value":1}`, `{"value":01}`, `{"value":1.}`, `{"value":.5}`,
		`{"value":1e}`, `{"value":+1}`, `{"value":1e400}`, `{"value":1}x`, `{"value":1`, `{"value":}`, `{"value":0x10}`,
		`{"value":NaN}`, `{"value":1_0}`, `[1]`, ``, `{"value":null}`,
	} {
		if v, ok := plainScalar([]byte(in)); ok {
			t.Errorf("plainScalar(%q) = %v, want it left to the full decoding", in, v)
		}
	}
}

// FuzzScalar_PlainFormMatchesFullDecoding: whatever the direct read of
// a plain scalar accepts, the full decoding accepts with the same value.
func FuzzScalar_PlainFormMatchesFullDecoding(f *testing.F) {
	for _, s := range []string{`{"value":0.5}`, ` {"value" :1e-3 }`, `{"value":-0}`, `{"value":"2"}`, `{"value":1e309}`, `{"value":4.9e-325}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, ok := plainScalar(data)
		if !ok {
			return
		}
		var full Scalar
		if err := full.decodeFull(data); err != nil {
			t.Fatalf("plainScalar(%q) = %v, but the full decoding fails: %v", data, v, err)
		}
		if math.Float64bits(full.Value) != math.Float64bits(v) {
			t.Fatalf("plainScalar(%q) = %v, the full decoding %v", data, v, full.Value)
		}
	})
}

func BenchmarkScalar_UnmarshalJSON(b *testing.B) {
	data := []byte(`{"value":0.01}`)
	b.ReportAllocs()
	for b.Loop() {
		var s Scalar
		if err := s.UnmarshalJSON(data); err != nil {
			b.Fatal(err)
		}
	}
}

func TestInt64Fields_AcceptNumericStrings(t *testing.T) {
	var k KillPolicy
	if err := json.Unmarshal([]byte(`{"grace_period":{"nanoseconds":"5000000000"}}`), &k); err != nil || k.GracePeriod.Nanoseconds != 5e9 {
		t.Fatalf("string nanoseconds: %+v, %v", k.GracePeriod, err)
	}
	var u Unavailability
	if err := json.Unmarshal([]byte(`{"start":{"nanoseconds":1700000000000000000},"duration":{"nanoseconds":3.6e12}}`), &u); err != nil ||
		u.Start.Nanoseconds != 1700000000000000000 || u.Duration.Nanoseconds != 3600000000000 {
		t.Fatalf("number nanoseconds: %+v, %v", u, err)
	}
	var r Ranges
	if err := json.Unmarshal([]byte(`{"range":[{"begin":"31000","end":32000}]}`), &r); err != nil || r.Range[0] != (Range{31000, 32000}) {
		t.Fatalf("ranges: %+v, %v", r, err)
	}
	for _, in := range []string{`{"nanoseconds":1.5}`, `{"nanoseconds":"x"}`, `{"nanoseconds":true}`, `{"nanoseconds":1e30}`} {
		var d DurationInfo
		if err := json.Unmarshal([]byte(in), &d); err == nil {
			t.Errorf("Unmarshal(%s) = %v, want an error", in, d)
		}
	}
	for _, in := range []string{`{"begin":-1,"end":2}`, `{"begin":"-1","end":2}`, `{"begin":1,"end":1e20}`} {
		var x Range
		if err := json.Unmarshal([]byte(in), &x); err == nil {
			t.Errorf("Unmarshal(%s) = %v, want an error", in, x)
		}
	}
	// Output stays a JSON number.
	got, _ := json.Marshal(TimeInfo{Nanoseconds: 1700000000000000000})
	if string(got) != `{"nanoseconds":1700000000000000000}` {
		t.Fatalf("TimeInfo = %s", got)
	}
}
