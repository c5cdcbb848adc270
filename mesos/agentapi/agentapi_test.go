package agentapi

import (
	"strings"
	"testing"
	"time"
)

// FuzzResendAfter: whatever an UPDATE's answer holds, the agent reads a
// wait between 0 and MaxStatusRetryInterval, and the value a server
// writes when it is one.
func FuzzResendAfter(f *testing.F) {
	for _, s := range []string{"", "{}", `{"resend_after_seconds":59.5}`, `{"resend_after_seconds":-1}`,
		`{"resend_after_seconds":1e300}`, `{"resend_after_seconds":"x"}`, "not json", `{"resend_after_seconds":0.000000001}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		d := ResendAfter(strings.NewReader(body))
		if d < 0 || d > MaxStatusRetryInterval {
			t.Fatalf("ResendAfter(%q) = %s, out of [0, %s]", body, d, MaxStatusRetryInterval)
		}
	})
}

func TestResendAfter_ReadsWhatAServerWrites(t *testing.T) {
	for body, want := range map[string]time.Duration{
		`{"resend_after_seconds":59.5}`:  59500 * time.Millisecond,
		`{"resend_after_seconds":1e300}`: MaxStatusRetryInterval,
		`{}`:                             0,
		``:                               0,
		`{"resend_after_seconds":-3}`:    0,
		`garbage`:                        0,
	} {
		if got := ResendAfter(strings.NewReader(body)); got != want {
			t.Errorf("ResendAfter(%q) = %s, want %s", body, got, want)
		}
	}
}
