package mesos

import (
	"encoding/json"
	"testing"
	"time"
)

func TestHealthCheck_DefaultsAreMesos(t *testing.T) {
	var h HealthCheck
	if err := json.Unmarshal([]byte(`{"type":"TCP","tcp":{"port":80}}`), &h); err != nil {
		t.Fatal(err)
	}
	if h.Delay() != 15*time.Second || h.Interval() != 10*time.Second || h.Timeout() != 20*time.Second ||
		h.GracePeriod() != 10*time.Second || h.MaxConsecutiveFailures() != 3 {
		t.Fatalf("defaults: delay %s interval %s timeout %s grace %s failures %d",
			h.Delay(), h.Interval(), h.Timeout(), h.GracePeriod(), h.MaxConsecutiveFailures())
	}
	if err := json.Unmarshal([]byte(`{"type":"TCP","tcp":{"port":80},"delay_seconds":0,"interval_seconds":0.5,
		"timeout_seconds":0,"grace_period_seconds":0,"consecutive_failures":1}`), &h); err != nil {
		t.Fatal(err)
	}
	if h.Delay() != 0 || h.Interval() != 500*time.Millisecond || h.Timeout() != 0 || h.GracePeriod() != 0 || h.MaxConsecutiveFailures() != 1 {
		t.Fatalf("explicit zeroes must not read as defaults: %+v", h)
	}
}

func TestHealthCheck_AsCheckKeepsTargetAndTiming(t *testing.T) {
	path, d := "/health", 2.5
	h := HealthCheck{Type: CheckTypeHTTP, DelaySeconds: &d, HTTP: &HTTPCheckInfo{Scheme: "https", Port: 8080, Path: &path}}
	c := h.AsCheck()
	if c.Type != CheckTypeHTTP || c.HTTP == nil || c.HTTP.Port != 8080 || *c.HTTP.Path != "/health" || c.Delay() != 2500*time.Millisecond {
		t.Fatalf("AsCheck = %+v", c)
	}
	if c := (&HealthCheck{Type: "FOO"}).AsCheck(); c.Type != "" {
		t.Fatalf("an unknown type must read as unset, got %q", c.Type)
	}
}

func TestCheckStatusInfo_EqualComparesResults(t *testing.T) {
	one, two := int32(1), int32(2)
	yes, no := true, false
	a := CheckStatusInfo{Type: CheckTypeCommand, Command: &CommandCheckStatus{ExitCode: &one}}
	cases := []struct {
		b    CheckStatusInfo
		want bool
	}{
		{CheckStatusInfo{Type: CheckTypeCommand, Command: &CommandCheckStatus{ExitCode: &one}}, true},
		{CheckStatusInfo{Type: CheckTypeCommand, Command: &CommandCheckStatus{ExitCode: &two}}, false},
		{EmptyCheckStatus(CheckTypeCommand), false},
		{CheckStatusInfo{Type: CheckTypeCommand}, false},
	}
	for _, c := range cases {
		if got := a.Equal(c.b); got != c.want {
			t.Errorf("%+v == %+v: %v", a, c.b, got)
		}
	}
	if !EmptyCheckStatus(CheckTypeTCP).Equal(EmptyCheckStatus(CheckTypeTCP)) {
		t.Error("two empty results must be equal")
	}
	tcpYes := CheckStatusInfo{Type: CheckTypeTCP, TCP: &TCPCheckStatus{Succeeded: &yes}}
	tcpNo := CheckStatusInfo{Type: CheckTypeTCP, TCP: &TCPCheckStatus{Succeeded: &no}}
	if tcpYes.Equal(tcpNo) || tcpNo.Equal(EmptyCheckStatus(CheckTypeTCP)) {
		t.Error("a TCP result must differ from another and from none")
	}
	b, _ := json.Marshal(EmptyCheckStatus(CheckTypeHTTP))
	if string(b) != `{"type":"HTTP","http":{}}` {
		t.Errorf("an empty HTTP result encodes as %s", b)
	}
}

func TestCheckRequired_ChecksTargets(t *testing.T) {
	base := func() TaskInfo { return TaskInfo{Name: "w", TaskID: TaskID{"t"}, AgentID: AgentID{"a"}} }
	cases := []struct {
		mutate func(*TaskInfo)
		want   string
	}{
		{func(t *TaskInfo) { t.HealthCheck = &HealthCheck{Type: CheckTypeHTTP, HTTP: &HTTPCheckInfo{}} }, "expecting 'health_check.http.port' to be present"},
		{func(t *TaskInfo) { t.HealthCheck = &HealthCheck{Type: CheckTypeTCP, TCP: &TCPCheckInfo{}} }, "expecting 'health_check.tcp.port' to be present"},
		{func(t *TaskInfo) {
			t.HealthCheck = &HealthCheck{Type: CheckTypeCommand, Command: &CommandInfo{Value: "x", URIs: []CommandURI{{}}}}
		}, "expecting 'health_check.command.uris[0].value' to be present"},
		{func(t *TaskInfo) { t.Check = &CheckInfo{Type: CheckTypeTCP, TCP: &CheckTCP{}} }, "expecting 'check.tcp.port' to be present"},
		{func(t *TaskInfo) { t.Check = &CheckInfo{Type: CheckTypeHTTP, HTTP: &CheckHTTP{}} }, "expecting 'check.http.port' to be present"},
		{func(t *TaskInfo) {
			t.Check = &CheckInfo{Type: CheckTypeCommand, Command: &CheckCommand{Command: CommandInfo{Value: "x",
				Environment: &Environment{Variables: []EnvironmentVariable{{}}}}}}
		}, "expecting 'check.command.command.environment.variables[0].name' to be present"},
	}
	for _, c := range cases {
		task := base()
		c.mutate(&task)
		if err := task.CheckRequired(); err == nil || err.Error() != c.want {
			t.Errorf("CheckRequired = %v, want %q", err, c.want)
		}
	}
	ok := base()
	ok.HealthCheck = &HealthCheck{Type: CheckTypeTCP, TCP: &TCPCheckInfo{Port: 1}}
	ok.Check = &CheckInfo{Type: CheckTypeHTTP, HTTP: &CheckHTTP{Port: 2}}
	if err := ok.CheckRequired(); err != nil {
		t.Errorf("complete checks: %v", err)
	}
}
