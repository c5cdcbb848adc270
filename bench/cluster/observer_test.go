package main

import (
	"bytes"
	"os"
	"testing"
	"time"
)

// TestMain lets the test binary run as the failover observer, as the
// benchmark program does, when the small run starts one.
func TestMain(m *testing.M) {
	if servers := os.Getenv(observerEnv); servers != "" {
		os.Exit(observerMain(servers))
	}
	os.Exit(m.Run())
}

func TestObservation_ReadsWhatItWrites(t *testing.T) {
	at := time.Unix(1796601600, 123456789)
	for _, kind := range []string{obsSubscribed, obsOffers, obsEnded} {
		var b bytes.Buffer
		if err := writeObservation(&b, kind, at); err != nil {
			t.Fatal(err)
		}
		k, got, err := parseObservation(string(bytes.TrimSuffix(b.Bytes(), []byte("\n"))))
		if err != nil || k != kind || !got.Equal(at) {
			t.Errorf("%s: read back %q %v (%v)", kind, k, got, err)
		}
	}
	for _, bad := range []string{"", "offers", "offers ", "offers x", "offers -5", "offers 0", "declined 12", "offers 1 2",
		"offers 99999999999999999999", "offers +12", "offers 012"} {
		if _, _, err := parseObservation(bad); err == nil {
			t.Errorf("%q was read as an observation", bad)
		}
	}
}

// FuzzParseObservation: a line is either refused or read as what writes
// the same line.
func FuzzParseObservation(f *testing.F) {
	f.Add("subscribed 1796601600123456789")
	f.Add("offers 1")
	f.Add("ended 0")
	f.Add("offers +12")
	f.Fuzz(func(t *testing.T, line string) {
		kind, at, err := parseObservation(line)
		if err != nil {
			return
		}
		var b bytes.Buffer
		_ = writeObservation(&b, kind, at)
		if b.String() != line+"\n" {
			t.Fatalf("%q read as %s %v, which is written %q", line, kind, at, b.String())
		}
	})
}
