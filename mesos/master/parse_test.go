package master

import (
	"errors"
	"strings"
	"testing"
)

// TestParseCall_AcceptsAndRefuses: well-formed calls decode; each kind of
// bad call is refused with the message that says what was wrong.
func TestParseCall_AcceptsAndRefuses(t *testing.T) {
	for _, body := range []string{
		`{"type":"GET_HEALTH"}`,
		`{"type":"GET_HEALTH","unknown_key":1}`,
		`{"type":"GET_METRICS","get_metrics":{}}`,
		`{"type":"GET_METRICS","get_metrics":{"timeout":{"nanoseconds":5000000000}}}`,
		`{"type":"SET_LOGGING_LEVEL","set_logging_level":{"level":1,"duration":{"nanoseconds":1000}}}`,
		`{"type":"READ_FILE","read_file":{"path":"/x","offset":0,"length":10}}`,
		`{"type":"LIST_FILES","list_files":{"path":"/"}}`,
		`{"type":"TEARDOWN","teardown":{"framework_id":{"value":"f"}}}`,
		`{"type":"MARK_AGENT_GONE","mark_agent_gone":{"agent_id":{"value":"a"}}}`,
		`{"type":"DRAIN_AGENT","drain_agent":{"agent_id":{"value":"a"},"max_grace_period":{"seconds":600},"mark_gone":true}}`,
		`{"type":"DEACTIVATE_AGENT","deactivate_agent":{"agent_id":{"value":"a"}}}`,
		`{"type":"REACTIVATE_AGENT","reactivate_agent":{"agent_id":{"value":"a"}}}`,
		`{"type":"UPDATE_MAINTENANCE_SCHEDULE","update_maintenance_schedule":{"schedule":{}}}`,
		`{"type":"UPDATE_MAINTENANCE_SCHEDULE","update_maintenance_schedule":{"schedule":{"windows":[{"machine_ids":[{"hostname":"h"}],"unavailability":{"start":{"nanoseconds":1}}}]}}}`,
		`{"type":"START_MAINTENANCE","start_maintenance":{"machines":[{"ip":"10.0.0.1"}]}}`,
		`{"type":"STOP_MAINTENANCE","stop_maintenance":{}}`,
	} {
		if _, err := ParseCall([]byte(body)); err != nil {
			t.Errorf("%s: %v", body, err)
		}
	}
	for body, want := range map[string]string{
		`{"type":`:             "Failed to parse body into JSON",
		`[1,2]`:                "a call is a JSON object",
		`{}`:                   "Expecting 'type' to be present",
		`{"type":"GET_PIZZA"}`: `unknown call type "GET_PIZZA"`,
		`{"type":7}`:           "Failed to convert JSON into Call protobuf",
		`{"type":"SET_LOGGING_LEVEL","set_logging_level":{"level":1}}`:                               "Missing required fields: set_logging_level.duration",
		`{"type":"SET_LOGGING_LEVEL","set_logging_level":{"duration":{"nanoseconds":1}}}`:            "Missing required fields: set_logging_level.level",
		`{"type":"SET_LOGGING_LEVEL","set_logging_level":{"level":1,"duration":{}}}`:                 "set_logging_level.duration.nanoseconds",
		`{"type":"SET_LOGGING_LEVEL","set_logging_level":{"level":1,"duration":{"nanoseconds":-1}}}`: "must not be negative",
		`{"type":"SET_LOGGING_LEVEL","set_logging_level":{"level":-1,"duration":{"nanoseconds":1}}}`: "Failed to convert JSON into Call protobuf",
		`{"type":"SET_LOGGING_LEVEL"}`:                   "Expecting 'set_logging_level' to be present",
		`{"type":"GET_METRICS"}`:                         "Expecting 'get_metrics' to be present",
		`{"type":"READ_FILE","read_file":{"path":"/x"}}`: "Missing required fields: read_file.offset",
		`{"type":"LIST_FILES","list_files":{}}`:          "Missing required fields: list_files.path",
		`{"type":"DRAIN_AGENT"}`:                         "Expecting 'drain_agent' to be present",
		`{"type":"DRAIN_AGENT","drain_agent":{}}`:        "Missing required fields: drain_agent.agent_id",
		`{"type":"DRAIN_AGENT","drain_agent":{"agent_id":{"value":"a"},"max_grace_period":{"seconds":-1}}}`: "'drain_agent.max_grace_period' must not be negative",
		`{"type":"DRAIN_AGENT","drain_agent":{"agent_id":{"value":"a"},"max_grace_period":"10s"}}`:          "Failed to convert JSON into Call protobuf",
		`{"type":"DEACTIVATE_AGENT","deactivate_agent":{}}`:                                                 "Missing required fields: deactivate_agent.agent_id",
		`{"type":"REACTIVATE_AGENT"}`:                                             "Expecting 'reactivate_agent' to be present",
		`{"type":"UPDATE_MAINTENANCE_SCHEDULE"}`:                                  "Expecting 'update_maintenance_schedule' to be present",
		`{"type":"UPDATE_MAINTENANCE_SCHEDULE","update_maintenance_schedule":{}}`: "Missing required fields: update_maintenance_schedule.schedule",
		`{"type":"UPDATE_MAINTENANCE_SCHEDULE","update_maintenance_schedule":{"schedule":{"windows":[{"machine_ids":[{"hostname":"h"}]}]}}}`: "update_maintenance_schedule.schedule.windows[].unavailability",
		`{"type":"START_MAINTENANCE"}`:                                      "Expecting 'start_maintenance' to be present",
		`{"type":"STOP_MAINTENANCE"}`:                                       "Expecting 'stop_maintenance' to be present",
		`{"type":"RESERVE_RESOURCES"}`:                                      "Expecting 'reserve_resources' to be present",
		`{"type":"RESERVE_RESOURCES","reserve_resources":{"resources":[]}}`: "Missing required fields: reserve_resources.agent_id",
		`{"type":"DESTROY_VOLUMES","destroy_volumes":{}}`:                   "Missing required fields: destroy_volumes.agent_id",
		`{"type":"SHRINK_VOLUME","shrink_volume":{"volume":{"name":"disk","type":"SCALAR","scalar":{"value":1}}}}`: "Missing required fields: shrink_volume.subtract",
	} {
		_, err := ParseCall([]byte(body))
		if err == nil || !errors.Is(err, ErrParse) || !strings.Contains(Message(err), want) {
			t.Errorf("%s: error %v, want one containing %q", body, err, want)
		}
	}
}

// FuzzParseCall: no input makes the decoder panic; what it accepts has a
// known type and the sub-message that type needs, and every refusal is
// an ErrParse with a message.
func FuzzParseCall(f *testing.F) {
	for _, s := range []string{
		`{"type":"GET_HEALTH"}`, `{"type":"GET_STATE"}`, `{}`, `{"type":`, `null`, `[]`, `"x"`,
		`{"type":"SET_LOGGING_LEVEL","set_logging_level":{"level":1,"duration":{"nanoseconds":1000}}}`,
		`{"type":"SET_LOGGING_LEVEL","set_logging_level":{"level":1}}`,
		`{"type":"GET_METRICS","get_metrics":{"timeout":{"nanoseconds":-5}}}`,
		`{"type":"READ_FILE","read_file":{"path":"/x","offset":18446744073709551615}}`,
		`{"type":"LIST_FILES","list_files":{"path":null}}`,
		`{"type":"DRAIN_AGENT","drain_agent":{"agent_id":{"value":"a"},"max_grace_period":{"seconds":-1,"nanos":5}}}`,
		`{"type":"UPDATE_MAINTENANCE_SCHEDULE","update_maintenance_schedule":{"schedule":{"windows":[{"machine_ids":[{}],"unavailability":null}]}}}`,
		`{"type":"START_MAINTENANCE","start_maintenance":{"machines":[{"hostname":"h"},{"hostname":"h"}]}}`,
		`{"type":"UPDATE_WEIGHTS","update_weights":{"weight_infos":[{"role":"a","weight":2},{"role":"b"}]}}`,
		`{"type":"CREATE_VOLUMES","create_volumes":{"agent_id":{"value":"a"},"volumes":[{"name":"disk","type":"SCALAR","scalar":{"value":1},"disk":{"persistence":{"id":"v"}}}]}}`,
		`{"type":"GROW_VOLUME","grow_volume":{"volume":{"name":"disk"},"addition":null}}`,
		`{"type":"UPDATE_QUOTA","update_quota":{"force":true,"quota_configs":[{"role":"q","guarantees":{"cpus":{"value":1}}},{"limits":{}}]}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		c, err := ParseCall(body)
		if err != nil {
			if !errors.Is(err, ErrParse) || Message(err) == "" {
				t.Fatalf("refusal %v is not a parse error with a message", err)
			}
			return
		}
		if !callTypes[c.Type] {
			t.Fatalf("accepted unknown type %q", c.Type)
		}
		if c.Type == CallSetLoggingLevel && (c.SetLoggingLevel == nil || c.SetLoggingLevel.Duration == nil ||
			c.SetLoggingLevel.Duration.Nanoseconds == nil || *c.SetLoggingLevel.Duration.Nanoseconds < 0 || c.SetLoggingLevel.Level == nil) {
			t.Fatalf("accepted SET_LOGGING_LEVEL without a level and a duration: %s", body)
		}
		if c.Type == CallUpdateMaintenanceSchedule && (c.UpdateMaintenanceSchedule == nil ||
			c.UpdateMaintenanceSchedule.Schedule == nil || c.UpdateMaintenanceSchedule.missingUnavailability()) {
			t.Fatalf("accepted UPDATE_MAINTENANCE_SCHEDULE without a schedule or a window's unavailability: %s", body)
		}
		if c.Type == CallReadFile && (c.ReadFile == nil || c.ReadFile.Path == nil || c.ReadFile.Offset == nil) {
			t.Fatalf("accepted READ_FILE without path and offset: %s", body)
		}
	})
}
