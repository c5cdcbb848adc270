package main

import (
	"strings"
	"testing"
	"time"

	"mesh/mesos"
	"mesh/server/servertest"
)

// TestMaintenance_CLIScheduleStartStopStatus: the commands against a
// server: a window for the machines of a rack, its status, START, a
// refused clear (a DOWN machine), STOP of every DOWN machine.
func TestMaintenance_CLIScheduleStartStopStatus(t *testing.T) {
	s := servertest.NewServer(t, servertest.Options{})
	addr := s.HTTPAddr()
	a := servertest.NewSimAgent(addr, mesos.Resources{mesos.ScalarResource("cpus", 1), mesos.ScalarResource("mem", 64)})
	a.Hostname = "h1"
	a.Attributes = []mesos.Attribute{{Name: "rack", Type: "TEXT", Text: &mesos.Text{Value: "r1"}}}
	a.Start(t)
	run := func(args ...string) string {
		t.Helper()
		out, err := runMesh(t, append([]string{"maintenance", args[0], "-address", addr}, args[1:]...)...)
		if err != nil {
			t.Fatalf("mesh maintenance %v: %v\n%s", args, err, out)
		}
		return out
	}
	start := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	if out := run("schedule", "-attribute", "rack:r1", "-start", start.Format(time.RFC3339), "-duration", "2h"); !strings.Contains(out, "scheduled 1 machines from "+start.Format(time.RFC3339)+" for 2h0m0s: h1@127.0.0.1") {
		t.Fatalf("schedule: %s", out)
	}
	if out := run("schedule"); !strings.Contains(out, start.Format(time.RFC3339)) || !strings.Contains(out, "h1@127.0.0.1") {
		t.Fatalf("schedule listing: %s", out)
	}
	if out := run("status"); !strings.Contains(out, "h1@127.0.0.1") || !strings.Contains(out, "DRAINING") || !strings.Contains(out, a.ID+"(active)") {
		t.Fatalf("status while draining: %s", out)
	}
	if out := run("start", "-attribute", "rack:r1"); out != "1 machines DOWN: h1@127.0.0.1\n" {
		t.Fatalf("start: %q", out)
	}
	if out := run("status"); !strings.Contains(out, "DOWN") {
		t.Fatalf("status once down: %s", out)
	}
	if out, err := runMesh(t, "maintenance", "schedule", "-address", addr, "-clear"); err == nil || !strings.Contains(err.Error(), "is DOWN and cannot be removed") {
		t.Fatalf("clearing with a DOWN machine: %v\n%s", err, out)
	}
	if out := run("stop", "-all"); out != "1 machines UP: h1@127.0.0.1\n" {
		t.Fatalf("stop: %q", out)
	}
	if out := run("status"); !strings.Contains(out, "no machine is scheduled") {
		t.Fatalf("status once up: %s", out)
	}
}

// TestMaintenance_ParseMachinesAndStart: the -machines and -start forms,
// and what they refuse.
func TestMaintenance_ParseMachinesAndStart(t *testing.T) {
	ms, err := parseMachines("a, b@10.0.0.2,@10.0.0.3")
	want := []mesos.MachineID{{Hostname: "a"}, {Hostname: "b", IP: "10.0.0.2"}, {IP: "10.0.0.3"}}
	if err != nil || len(ms) != 3 || ms[0] != want[0] || ms[1] != want[1] || ms[2] != want[2] {
		t.Fatalf("parseMachines: %v %v", ms, err)
	}
	for _, bad := range []string{"", ",", "@", "a@b@c", "a b"} {
		if _, err := parseMachines(bad); err == nil {
			t.Errorf("parseMachines(%q) accepted", bad)
		}
	}
	now := time.Unix(1000, 0)
	if got, err := parseStart("+10m", now); err != nil || !got.Equal(now.Add(10*time.Minute)) {
		t.Errorf("+10m: %v %v", got, err)
	}
	if got, err := parseStart("now", now); err != nil || !got.Equal(now) {
		t.Errorf("now: %v %v", got, err)
	}
	for _, bad := range []string{"", "+", "+-5m", "tomorrow", "2026-13-01T00:00:00Z"} {
		if _, err := parseStart(bad, now); err == nil {
			t.Errorf("parseStart(%q) accepted", bad)
		}
	}
}

// FuzzParseMachines: no input panics; what is accepted is machines each
// with a hostname or an IP and no separator left in them.
func FuzzParseMachines(f *testing.F) {
	for _, s := range []string{"a", "a@1.2.3.4", "@1.2.3.4", ",,", "a@b@c", "x,y@", " @ "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ms, err := parseMachines(s)
		if err != nil {
			return
		}
		for _, m := range ms {
			if (m.Hostname == "" && m.IP == "") || strings.ContainsAny(m.Hostname+m.IP, "@,") {
				t.Fatalf("%q gave machine %+v", s, m)
			}
		}
		_, _ = parseStart(s, time.Unix(0, 0))
	})
}
