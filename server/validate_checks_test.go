package server

import (
	"encoding/json"
	"testing"

	"mesh/mesos"
)

// TestValidateTaskChecks_MesosMessages holds each bad check, health check
// and max_completion_time to the message Mesos' master gives it.
func TestValidateTaskChecks_MesosMessages(t *testing.T) {
	neg, rel, empty := -1.0, "health", ""
	cases := []struct {
		name string
		task mesos.TaskInfo
		want string
	}{
		{"negative max completion", mesos.TaskInfo{MaxCompletionTime: &mesos.DurationInfo{Nanoseconds: -1}},
			"Task's `max_completion_time` must be non-negative"},
		{"health check without type", mesos.TaskInfo{HealthCheck: &mesos.HealthCheck{}},
			"Task uses invalid health check: HealthCheck must specify 'type'"},
		{"health check of an unknown type name", mesos.TaskInfo{HealthCheck: &mesos.HealthCheck{Type: "FOO"}},
			"Task uses invalid health check: HealthCheck must specify 'type'"},
		{"health check of type UNKNOWN", mesos.TaskInfo{HealthCheck: &mesos.HealthCheck{Type: "UNKNOWN"}},
			"Task uses invalid health check: 'UNKNOWN' is not a valid health check type"},
		{"HTTP health check without http", mesos.TaskInfo{HealthCheck: &mesos.HealthCheck{Type: "HTTP"}},
			"Task uses invalid health check: Expecting 'http' to be set for HTTP health check"},
		{"HTTP health check with a relative path", mesos.TaskInfo{HealthCheck: &mesos.HealthCheck{Type: "HTTP",
			HTTP: &mesos.HTTPCheckInfo{Port: 80, Path: &rel}}},
			"Task uses invalid health check: The path 'health' of HTTP health check must start with '/'"},
		{"HTTP health check with an empty path", mesos.TaskInfo{HealthCheck: &mesos.HealthCheck{Type: "HTTP",
			HTTP: &mesos.HTTPCheckInfo{Port: 80, Path: &empty}}},
			"Task uses invalid health check: The path '' of HTTP health check must start with '/'"},
		{"HTTP health check with scheme ftp", mesos.TaskInfo{HealthCheck: &mesos.HealthCheck{Type: "HTTP",
			HTTP: &mesos.HTTPCheckInfo{Port: 80, Scheme: "ftp"}}},
			"Task uses invalid health check: Unsupported HTTP health check scheme: 'ftp'"},
		{"TCP health check without tcp", mesos.TaskInfo{HealthCheck: &mesos.HealthCheck{Type: "TCP"}},
			"Task uses invalid health check: Expecting 'tcp' to be set for TCP health check"},
		{"COMMAND health check without command", mesos.TaskInfo{HealthCheck: &mesos.HealthCheck{Type: "COMMAND"}},
			"Task uses invalid health check: Expecting 'command' to be set for COMMAND health check"},
		{"COMMAND health check without a value", mesos.TaskInfo{HealthCheck: &mesos.HealthCheck{Type: "COMMAND",
			Command: &mesos.CommandInfo{}}},
			"Task uses invalid health check: Command health check must contain 'shell command'"},
		{"COMMAND health check with a secret and a value", mesos.TaskInfo{HealthCheck: &mesos.HealthCheck{Type: "COMMAND",
			Command: &mesos.CommandInfo{Value: "true", Environment: &mesos.Environment{Variables: []mesos.EnvironmentVariable{
				{Name: "PW", Type: "SECRET", Value: "x", Secret: json.RawMessage(`{"type":"VALUE","value":{"data":"eA=="}}`)}}}}}},
			"Task uses invalid health check: Health check's `CommandInfo` is invalid: Environment variable 'PW' of type 'SECRET' must not have a value set"},
		{"negative grace period", mesos.TaskInfo{HealthCheck: &mesos.HealthCheck{Type: "TCP", TCP: &mesos.TCPCheckInfo{Port: 1},
			GracePeriodSeconds: &neg}},
			"Task uses invalid health check: Expecting 'grace_period_seconds' to be non-negative"},
		{"negative interval", mesos.TaskInfo{HealthCheck: &mesos.HealthCheck{Type: "TCP", TCP: &mesos.TCPCheckInfo{Port: 1},
			IntervalSeconds: &neg}},
			"Task uses invalid health check: Expecting 'interval_seconds' to be non-negative"},
		{"check without type", mesos.TaskInfo{Check: &mesos.CheckInfo{}},
			"Task uses invalid check: CheckInfo must specify 'type'"},
		{"check of type UNKNOWN", mesos.TaskInfo{Check: &mesos.CheckInfo{Type: "UNKNOWN"}},
			"Task uses invalid check: 'UNKNOWN' is not a valid check type"},
		{"COMMAND check without command", mesos.TaskInfo{Check: &mesos.CheckInfo{Type: "COMMAND"}},
			"Task uses invalid check: Expecting 'command' to be set for COMMAND check"},
		{"COMMAND check of an empty executable", mesos.TaskInfo{Check: &mesos.CheckInfo{Type: "COMMAND",
			Command: &mesos.CheckCommand{Command: mesos.CommandInfo{Shell: new(bool)}}}},
			"Task uses invalid check: Command check must contain 'executable path'"},
		{"HTTP check with a relative path", mesos.TaskInfo{Check: &mesos.CheckInfo{Type: "HTTP",
			HTTP: &mesos.CheckHTTP{Port: 80, Path: &rel}}},
			"Task uses invalid check: The path 'health' of HTTP check must start with '/'"},
		{"TCP check without tcp", mesos.TaskInfo{Check: &mesos.CheckInfo{Type: "TCP"}},
			"Task uses invalid check: Expecting 'tcp' to be set for TCP check"},
		{"negative check timeout", mesos.TaskInfo{Check: &mesos.CheckInfo{Type: "TCP", TCP: &mesos.CheckTCP{Port: 1}, TimeoutSeconds: &neg}},
			"Task uses invalid check: Expecting 'timeout_seconds' to be non-negative"},
		{"check before health check", mesos.TaskInfo{Check: &mesos.CheckInfo{}, HealthCheck: &mesos.HealthCheck{}},
			"Task uses invalid check: CheckInfo must specify 'type'"},
	}
	for _, c := range cases {
		err := validateTaskChecks(&c.task)
		if err == nil || err.Error() != c.want {
			t.Errorf("%s: got %v, want %q", c.name, err, c.want)
		}
	}
	path := "/health"
	zero := 0.0
	good := mesos.TaskInfo{
		MaxCompletionTime: &mesos.DurationInfo{Nanoseconds: 0},
		HealthCheck: &mesos.HealthCheck{Type: "HTTP", HTTP: &mesos.HTTPCheckInfo{Port: 80, Scheme: "https", Path: &path},
			DelaySeconds: &zero, GracePeriodSeconds: &zero},
		Check: &mesos.CheckInfo{Type: "COMMAND", Command: &mesos.CheckCommand{Command: mesos.CommandInfo{Value: "true"}}},
	}
	if err := validateTaskChecks(&good); err != nil {
		t.Errorf("valid task: %v", err)
	}
	if err := validateTaskChecks(&mesos.TaskInfo{}); err != nil {
		t.Errorf("a task without checks: %v", err)
	}
}

// FuzzValidateTaskChecks feeds task infos decoded from arbitrary JSON to
// the required-field checks and the master's validation of checks: none
// may panic, and a task they accept has checks an executor can run.
func FuzzValidateTaskChecks(f *testing.F) {
	for _, seed := range []string{
		`{"health_check":{"type":"HTTP","http":{"port":80,"path":"/x","scheme":"https"},"delay_seconds":-1}}`,
		`{"health_check":{"type":"COMMAND","command":{"value":"true","environment":{"variables":[{"name":"A","type":"SECRET"}]}}}}`,
		`{"health_check":{"type":"TCP"},"check":{"type":"HTTP","http":{"port":1,"path":""}}}`,
		`{"check":{"type":"COMMAND","command":{"command":{"shell":false}}},"max_completion_time":{"nanoseconds":-5}}`,
		`{"health_check":{"type":"FOO"},"check":{"type":"UNKNOWN"}}`,
		`{"health_check":{}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var task mesos.TaskInfo
		if json.Unmarshal(b, &task) != nil {
			return
		}
		if task.CheckRequired() != nil || validateTaskChecks(&task) != nil {
			return
		}
		if h := task.HealthCheck; h != nil {
			c := h.AsCheck()
			if c.Delay() < 0 || c.Interval() < 0 || c.Timeout() < 0 || h.GracePeriod() < 0 {
				t.Fatalf("accepted a negative timing: %+v", h)
			}
			switch c.Type {
			case mesos.CheckTypeCommand, mesos.CheckTypeHTTP, mesos.CheckTypeTCP:
			default:
				t.Fatalf("accepted a health check of type %q", c.Type)
			}
		}
		if c := task.Check; c != nil && c.KnownType() == mesos.CheckTypeUnknown {
			t.Fatalf("accepted a check of type UNKNOWN")
		}
	})
}
